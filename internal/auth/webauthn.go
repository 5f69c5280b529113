package auth

// Passkeys: WebAuthn public-key credentials (W3C Web Authentication Level 2
// and Level 3) as a second factor, verified with go-webauthn.
//
// A passkey stands where a TOTP code stands: after the password (or after
// an SSO sign-in the organization does not trust for MFA), never instead of
// it. carepost is the relying party; its RP ID is the host of
// http.public_url (Level 3 section 5.1.4.1: a registrable domain suffix of
// the origin, never an IP address) and the only accepted origin is the
// public URL's (section 7.1 step 9, 7.2 step 13), so a response collected on
// any other site fails. Attestation is "none" (section 8.7): carepost does
// not restrict authenticator models, and no attestation CA is trusted.
//
// Every ceremony is two requests. Begin makes a fresh challenge (16+ random
// bytes, section 13.4.3) and stores the library's session data, with an
// expiry of ceremonyTTL, server-side: in login_flows.ceremony during a
// sign-in, in sessions.ceremony when a signed-in person adds a passkey. The
// client never holds it. Finish takes the stored ceremony (a conditional
// UPDATE clears it, so each challenge is answered once even under racing
// requests) and only then verifies the response. A replayed assertion
// therefore finds no ceremony, and a failed attempt spends its challenge.
//
// Credential records are stored per user as JSON with the counter mirrored
// in a column. A sign-in must carry a signature counter greater than the
// stored one unless both are zero (section 7.2 step 22; synced passkeys
// report zero); otherwise go-webauthn raises its clone warning, and
// carepost refuses the sign-in, audits it and raises an
// "auth.passkey.clone" alert. The user handle is users.webauthn_handle,
// 32 random bytes with no personal data (section 14.6.1).

import (
	"context"
	"encoding/json"
	"errors"
	"time"

	"github.com/go-webauthn/webauthn/protocol"
	"github.com/go-webauthn/webauthn/webauthn"

	"github.com/carepost/carepost/internal/store"
)

// WebAuthnOptions configure carepost as a WebAuthn relying party.
type WebAuthnOptions struct {
	// RPID is the relying party ID: the host of http.public_url or a
	// registrable suffix of it. Empty means passkeys are unavailable (an IP
	// address cannot be an RP ID).
	RPID string
	// RPName is the name authenticators show. Default "carepost".
	RPName string
	// Origins are the origins a ceremony may come from. Default
	// "https://" + RPID.
	Origins []string
}

// AMRWebAuthn is recorded on sessions signed in with a passkey.
//
// QUIRK: RFC 8176 offers "hwk" and "swk" (hardware- or software-secured
// key), but with "none" attestation carepost cannot tell which (a synced
// passkey is not hardware-bound), so it records the ceremony it verified.
const AMRWebAuthn = "webauthn"

// ceremonyTTL is how long a begun ceremony may be answered: the default
// timeout go-webauthn sends to the browser.
const ceremonyTTL = 5 * time.Minute

// Errors of the passkey ceremonies.
var (
	// ErrPasskeysUnavailable: the server has no relying party ID (its public
	// URL names an IP address), so passkeys cannot be used.
	ErrPasskeysUnavailable = errors.New("passkeys are not available on this server")
	// ErrPasskeyRejected: the authenticator's response failed verification,
	// answered no challenge in progress, or was used already.
	ErrPasskeyRejected = errors.New("the passkey was not accepted")
	// ErrNoPasskey: the account has no passkey to sign in with.
	ErrNoPasskey = errors.New("no passkey is registered for this account")
)

// Passkey is a registered credential, as shown to its owner.
type Passkey struct {
	ID, Name               string
	CreatedAt, LastUsedAt  time.Time
	BackedUp, Discoverable bool
}

// PasskeysAvailable reports whether passkeys can be used on this server.
func (s *Service) PasskeysAvailable() bool { return s.opts.WebAuthn.RPID != "" }

// relyingParty is the go-webauthn relying party for this server.
func (s *Service) relyingParty() (*webauthn.WebAuthn, error) {
	o := s.opts.WebAuthn
	if o.RPID == "" {
		return nil, ErrPasskeysUnavailable
	}
	origins, name := o.Origins, o.RPName
	if len(origins) == 0 {
		origins = []string{"https://" + o.RPID}
	}
	if name == "" {
		name = "carepost"
	}
	return webauthn.New(&webauthn.Config{RPID: o.RPID, RPDisplayName: name, RPOrigins: origins,
		AttestationPreference: protocol.PreferNoAttestation,
		// A second factor needs presence, not necessarily verification
		// (section 6.2.3); a discoverable credential is what people call a
		// passkey, so prefer one.
		AuthenticatorSelection: protocol.AuthenticatorSelection{
			ResidentKey: protocol.ResidentKeyRequirementPreferred, UserVerification: protocol.VerificationPreferred}})
}

// passkeyUser is a user as go-webauthn sees them.
type passkeyUser struct {
	u     store.UserRow
	rows  []store.WebAuthnCredentialRow
	creds []webauthn.Credential
}

var _ webauthn.User = passkeyUser{}

func (p passkeyUser) WebAuthnID() []byte                         { return p.u.WebAuthnHandle }
func (p passkeyUser) WebAuthnName() string                       { return p.u.Email }
func (p passkeyUser) WebAuthnDisplayName() string                { return p.u.Name }
func (p passkeyUser) WebAuthnCredentials() []webauthn.Credential { return p.creds }

// row returns the stored row of the credential with this id.
func (p passkeyUser) row(credID []byte) (store.WebAuthnCredentialRow, bool) {
	for _, r := range p.rows {
		if string(r.CredentialID) == string(credID) {
			return r, true
		}
	}
	return store.WebAuthnCredentialRow{}, false
}

// loadPasskeyUser reads u's credential records.
func loadPasskeyUser(ctx context.Context, q store.Querier, u store.UserRow) (passkeyUser, error) {
	rows, err := store.ListWebAuthnCredentials(ctx, q, u.OrgID, u.ID)
	if err != nil {
		return passkeyUser{}, err
	}
	pu := passkeyUser{u: u, rows: rows}
	for _, r := range rows {
		var c webauthn.Credential
		if err := json.Unmarshal([]byte(r.Credential), &c); err != nil {
			return passkeyUser{}, errors.New("passkey " + r.ID + ": stored credential record is damaged")
		}
		pu.creds = append(pu.creds, c)
	}
	return pu, nil
}

func passkeyView(r store.WebAuthnCredentialRow) Passkey {
	p := Passkey{ID: r.ID, Name: r.Name, CreatedAt: r.CreatedAt, LastUsedAt: r.LastUsedAt}
	var c webauthn.Credential
	if json.Unmarshal([]byte(r.Credential), &c) == nil {
		p.BackedUp = c.Flags.BackupState
		p.Discoverable = c.Extensions.RK != nil && *c.Extensions.RK
	}
	return p
}

// ceremony is what Begin stores server-side for Finish.
type ceremony struct {
	Kind      string               `json:"kind"` // "register" or "login"
	Session   webauthn.SessionData `json:"session"`
	ExpiresAt time.Time            `json:"expires_at"`
}

func (s *Service) encodeCeremony(kind string, sd *webauthn.SessionData) (string, error) {
	b, err := json.Marshal(ceremony{Kind: kind, Session: *sd, ExpiresAt: s.now().Add(ceremonyTTL)})
	return string(b), err
}

// openCeremony decodes a taken ceremony; false when there was none, it is
// of another kind, or it expired.
func (s *Service) openCeremony(raw, kind string) (webauthn.SessionData, bool) {
	var c ceremony
	if raw == "" || json.Unmarshal([]byte(raw), &c) != nil || c.Kind != kind || !s.now().Before(c.ExpiresAt) {
		return webauthn.SessionData{}, false
	}
	return c.Session, true
}

// passkeyName cleans the name a person gives a passkey.
func passkeyName(name string) (string, error) {
	if name == "" {
		return "Passkey", nil
	}
	return cleanText("name", name, 100)
}
