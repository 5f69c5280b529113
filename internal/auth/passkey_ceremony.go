package auth

import (
	"context"
	"encoding/json"
	"errors"
	"strconv"

	"github.com/go-webauthn/webauthn/protocol"
	"github.com/go-webauthn/webauthn/webauthn"

	"github.com/carepost/carepost/internal/id"
	"github.com/carepost/carepost/internal/store"
)

// The two ceremonies, independent of where their state is kept (a login
// flow or a session): begin returns the options for the browser and the
// ceremony to store; verify checks a response against a taken ceremony and
// returns "" or the audit reason of the refusal.

// beginRegistration starts a registration ceremony for u (WebAuthn Level 3
// section 7.1): PublicKeyCredentialCreationOptions listing u's passkeys as
// excludeCredentials, so one authenticator is not registered twice.
func (s *Service) beginRegistration(ctx context.Context, q store.Querier, u store.UserRow) (json.RawMessage, string, error) {
	rp, err := s.relyingParty()
	if err != nil {
		return nil, "", err
	}
	pu, err := loadPasskeyUser(ctx, q, u)
	if err != nil {
		return nil, "", err
	}
	creation, sd, err := rp.BeginRegistration(pu, webauthn.WithExclusions(webauthn.Credentials(pu.creds).CredentialDescriptors()))
	if err != nil {
		return nil, "", err
	}
	return s.ceremonyOut("register", creation, sd)
}

// beginAssertion starts an authentication ceremony for u (section 7.2)
// allowing only u's own passkeys; ErrNoPasskey when u has none.
func (s *Service) beginAssertion(ctx context.Context, q store.Querier, u store.UserRow) (json.RawMessage, string, error) {
	rp, err := s.relyingParty()
	if err != nil {
		return nil, "", err
	}
	pu, err := loadPasskeyUser(ctx, q, u)
	if err != nil {
		return nil, "", err
	}
	if len(pu.creds) == 0 {
		return nil, "", ErrNoPasskey
	}
	assertion, sd, err := rp.BeginLogin(pu)
	if err != nil {
		return nil, "", err
	}
	return s.ceremonyOut("login", assertion, sd)
}

func (s *Service) ceremonyOut(kind string, options any, sd *webauthn.SessionData) (json.RawMessage, string, error) {
	out, err := json.Marshal(options)
	if err != nil {
		return nil, "", err
	}
	cer, err := s.encodeCeremony(kind, sd)
	if err != nil {
		return nil, "", err
	}
	return out, cer, nil
}

// verifyRegistration checks a registration response (section 7.1 steps
// 5–27: client data type, challenge and origin, RP ID hash, flags,
// attestation) against the taken ceremony raw and, when it holds, stores
// the new passkey named name for u.
func (s *Service) verifyRegistration(ctx context.Context, tx *store.Tx, raw string, u store.UserRow, name string, response []byte) (string, error) {
	rp, err := s.relyingParty()
	if err != nil {
		return "", err
	}
	sd, ok := s.openCeremony(raw, "register")
	if !ok {
		return "no_ceremony", nil
	}
	parsed, err := protocol.ParseCredentialCreationResponseBytes(response)
	if err != nil {
		s.refused("registration", u, err)
		return "bad_response", nil
	}
	pu, err := loadPasskeyUser(ctx, tx, u)
	if err != nil {
		return "", err
	}
	cred, err := rp.CreateCredential(pu, sd, parsed)
	if err != nil {
		s.refused("registration", u, err)
		return "bad_passkey", nil
	}
	taken, err := store.WebAuthnCredentialIDTaken(ctx, tx, cred.ID)
	if err != nil || taken {
		return "duplicate_passkey", err
	}
	record, err := json.Marshal(cred)
	if err != nil {
		return "", err
	}
	return "", store.InsertWebAuthnCredential(ctx, tx, store.WebAuthnCredentialRow{ID: id.New("pky"), OrgID: u.OrgID,
		UserID: u.ID, CredentialID: cred.ID, Credential: string(record), Name: name,
		SignCount: int64(cred.Authenticator.SignCount), CreatedAt: s.now()})
}

// verifyAssertion checks an authentication response (section 7.2 steps
// 5–24: allowed credential, user handle, client data, RP ID hash, flags,
// signature, signature counter) against the taken ceremony raw, and records
// the use. A counter that did not advance is refused and alerted.
func (s *Service) verifyAssertion(ctx context.Context, tx *store.Tx, raw string, u store.UserRow, response []byte) (string, error) {
	rp, err := s.relyingParty()
	if err != nil {
		return "", err
	}
	sd, ok := s.openCeremony(raw, "login")
	if !ok {
		return "no_ceremony", nil
	}
	parsed, err := protocol.ParseCredentialRequestResponseBytes(response)
	if err != nil {
		s.refused("assertion", u, err)
		return "bad_response", nil
	}
	pu, err := loadPasskeyUser(ctx, tx, u)
	if err != nil {
		return "", err
	}
	cred, err := rp.ValidateLogin(pu, sd, parsed)
	if err != nil {
		s.refused("assertion", u, err)
		return "bad_passkey", nil
	}
	row, ok := pu.row(cred.ID)
	if !ok {
		return "bad_passkey", nil
	}
	if cred.Authenticator.CloneWarning {
		return "clone_warning", s.raiseAlert(ctx, tx, u.OrgID, "auth.passkey.clone", SeverityHigh, map[string]string{
			"user_id": u.ID, "passkey_id": row.ID, "stored_count": strconv.FormatInt(row.SignCount, 10),
			"presented_count": strconv.FormatUint(uint64(parsed.Response.AuthenticatorData.Counter), 10)})
	}
	record, err := json.Marshal(cred)
	if err != nil {
		return "", err
	}
	fresh, err := store.RecordWebAuthnUse(ctx, tx, row.ID, string(record), row.SignCount, int64(cred.Authenticator.SignCount), s.now())
	if err != nil || !fresh {
		return "counter_race", err
	}
	return "", nil
}

// refused logs why go-webauthn refused a response, for the operator. The
// library's messages name protocol checks, never keys or personal data.
func (s *Service) refused(what string, u store.UserRow, err error) {
	var pe *protocol.Error
	if errors.As(err, &pe) {
		s.opts.Log.Info("passkey "+what+" refused", "user", u.ID, "type", pe.Type, "details", pe.Details)
		s.opts.Log.Debug("passkey "+what+" refused", "user", u.ID, "info", pe.DevInfo)
		return
	}
	s.opts.Log.Info("passkey "+what+" refused", "user", u.ID, "err", err)
}
