package auth

import (
	"context"
	"crypto/subtle"
	"encoding/json"
	"errors"
	"slices"
	"strings"

	"github.com/coreos/go-oidc/v3/oidc"
	"golang.org/x/oauth2"

	"github.com/carepost/carepost/internal/audit"
	"github.com/carepost/carepost/internal/store"
)

// BeginSSO starts a sign-in at the provider of the organization named by
// orgRef (its id, or its provider's slug): the authorization request of
// OpenID Connect Core 1.0 section 3.1.2.1 with response_type=code, the
// configured scopes, a nonce and a PKCE S256 challenge (RFC 7636 section
// 4.2). An unknown, disabled or unreachable provider is ErrSSOUnavailable.
func (s *Service) BeginSSO(ctx context.Context, orgRef string) (SSOStart, error) {
	if !s.SSOAvailable() {
		return SSOStart{}, ErrSSOUnavailable
	}
	prov, err := s.providerFor(ctx, orgRef)
	if err != nil {
		return SSOStart{}, err
	}
	op, err := s.discover(ctx, prov.Issuer)
	if err != nil {
		s.opts.Log.Warn("SSO provider unreachable", "org", prov.OrgID, "err", err)
		return SSOStart{}, ErrSSOUnavailable
	}
	state, hash := newToken()
	nonce, _ := newToken()
	verifier := oauth2.GenerateVerifier() // 32 random bytes, RFC 7636 section 4.1
	now := s.now()
	err = s.tx(ctx, func(tx *store.Tx) error {
		if _, err := store.DeleteExpiredOIDCStates(ctx, tx, now); err != nil {
			return err
		}
		return store.InsertOIDCState(ctx, tx, store.OIDCStateRow{StateHash: hash, OrgID: prov.OrgID, Nonce: nonce,
			Verifier: verifier, CreatedAt: now, ExpiresAt: now.Add(stateTTL)})
	})
	if err != nil {
		return SSOStart{}, err
	}
	u := s.oauthConfig(prov, op, "").AuthCodeURL(state, oidc.Nonce(nonce), oauth2.S256ChallengeOption(verifier))
	return SSOStart{URL: u, State: state, ExpiresAt: now.Add(stateTTL)}, nil
}

// providerFor finds an enabled provider by organization id or slug, of an
// active organization.
func (s *Service) providerFor(ctx context.Context, orgRef string) (store.OIDCProviderRow, error) {
	orgRef = strings.TrimSpace(orgRef)
	prov, err := store.GetOIDCProviderBySlug(ctx, s.reader(), strings.ToLower(orgRef))
	if isNotFound(err) && orgRef != "" {
		prov, err = store.GetOIDCProvider(ctx, s.reader(), orgRef)
	}
	if isNotFound(err) {
		return store.OIDCProviderRow{}, ErrSSOUnavailable
	}
	if err != nil {
		return store.OIDCProviderRow{}, err
	}
	org, err := store.GetOrganization(ctx, s.reader(), prov.OrgID)
	if err != nil {
		return store.OIDCProviderRow{}, err
	}
	if !prov.Enabled || org.Status != store.OrgActive {
		return store.OIDCProviderRow{}, ErrSSOUnavailable
	}
	return prov, nil
}

func (s *Service) oauthConfig(prov store.OIDCProviderRow, op *oidc.Provider, secret string) *oauth2.Config {
	return &oauth2.Config{ClientID: prov.ClientID, ClientSecret: secret, Endpoint: op.Endpoint(),
		RedirectURL: s.opts.OIDC.RedirectURL, Scopes: strings.Fields(prov.Scopes)}
}

// FinishSSO completes a sign-in from the provider's redirect: the state it
// returned, and the code, or the error it reported (RFC 6749 section
// 4.1.2.1). The state is spent first, whatever follows. The result is a
// session, or a flow needing carepost's second factor; a refusal is
// ErrSSORefused, and an unknown, used or expired state ErrFlowExpired.
func (s *Service) FinishSSO(ctx context.Context, state, code, providerError string, c Client) (SSOResult, error) {
	c = Client{IP: c.ip(), UserAgent: cleanUserAgent(c.UserAgent)}
	st, err := s.takeState(ctx, state, c)
	if err != nil {
		return SSOResult{}, err
	}
	prov, err := store.GetOIDCProvider(ctx, s.reader(), st.OrgID)
	switch {
	case isNotFound(err) || err == nil && !prov.Enabled:
		return SSOResult{}, s.ssoFailed(ctx, st.OrgID, "", c, "sso_disabled")
	case err != nil:
		return SSOResult{}, err
	case providerError != "":
		return SSOResult{}, s.ssoFailed(ctx, st.OrgID, "", c, "provider_error")
	}
	idn, reason, err := s.identity(ctx, prov, st, code)
	if err != nil {
		return SSOResult{}, err
	}
	if reason != "" {
		return SSOResult{}, s.ssoFailed(ctx, st.OrgID, "", c, reason)
	}
	return s.signInSSO(ctx, prov, idn, c)
}

// takeState spends the state, in its own transaction so a failure later
// cannot give it back.
func (s *Service) takeState(ctx context.Context, state string, c Client) (store.OIDCStateRow, error) {
	var st store.OIDCStateRow
	err := s.tx(ctx, func(tx *store.Tx) error {
		var err error
		if st, err = store.TakeOIDCState(ctx, tx, hashToken(state)); err != nil {
			return err
		}
		return nil
	})
	if err == nil && s.now().Before(st.ExpiresAt) {
		return st, nil
	}
	if err != nil && !isNotFound(err) {
		return store.OIDCStateRow{}, err
	}
	chain, reason := audit.SystemChain, "unknown_state"
	if err == nil {
		chain, reason = st.OrgID, "expired_state"
	}
	if rerr := s.ssoFailed(ctx, chain, "", c, reason); !errors.Is(rerr, ErrSSORefused) {
		return store.OIDCStateRow{}, rerr
	}
	return store.OIDCStateRow{}, ErrFlowExpired
}

// ssoIdentity is what a verified ID token says about the person.
type ssoIdentity struct {
	Subject, Email, Name string
	EmailVerified        bool
	Groups, AMR          []string
}

// identity exchanges the code and verifies the ID token (Core 3.1.3.5 and
// 3.1.3.7), returning the identity or the audit reason of a refusal.
func (s *Service) identity(ctx context.Context, prov store.OIDCProviderRow, st store.OIDCStateRow, code string) (ssoIdentity, string, error) {
	op, err := s.discover(ctx, prov.Issuer)
	if err != nil {
		s.opts.Log.Warn("SSO provider unreachable", "org", prov.OrgID, "err", err)
		return ssoIdentity{}, "discovery_failed", nil
	}
	secret, err := s.opts.Keys.Open(ctx, s.reader(), secretAAD(prov.OrgID, prov.ID), prov.ClientSecret)
	if err != nil {
		return ssoIdentity{}, "", err
	}
	hctx := oidc.ClientContext(ctx, s.httpClient())
	tok, err := s.oauthConfig(prov, op, string(secret)).Exchange(hctx, code, oauth2.VerifierOption(st.Verifier))
	if err != nil {
		var re *oauth2.RetrieveError
		if errors.As(err, &re) { // the provider's error code only: its body is not for logs
			s.opts.Log.Info("SSO code exchange refused", "org", prov.OrgID, "status", re.Response.StatusCode, "error_code", re.ErrorCode)
		} else {
			s.opts.Log.Warn("SSO code exchange failed", "org", prov.OrgID, "err", err)
		}
		return ssoIdentity{}, "exchange_failed", nil
	}
	raw, _ := tok.Extra("id_token").(string)
	if raw == "" {
		return ssoIdentity{}, "no_id_token", nil
	}
	idt, err := op.Verifier(&oidc.Config{ClientID: prov.ClientID, Now: s.opts.Clock}).Verify(hctx, raw)
	var expired *oidc.TokenExpiredError
	switch {
	case errors.As(err, &expired):
		return ssoIdentity{}, "expired_token", nil
	case err != nil:
		s.opts.Log.Info("SSO ID token refused", "org", prov.OrgID, "err", err)
		return ssoIdentity{}, "bad_id_token", nil
	case subtle.ConstantTimeCompare([]byte(idt.Nonce), []byte(st.Nonce)) != 1:
		return ssoIdentity{}, "bad_nonce", nil
	}
	return claimsOf(idt, prov)
}

func claimsOf(idt *oidc.IDToken, prov store.OIDCProviderRow) (ssoIdentity, string, error) {
	var all map[string]json.RawMessage
	if err := idt.Claims(&all); err != nil {
		return ssoIdentity{}, "bad_id_token", nil
	}
	var c struct {
		Email    string   `json:"email"`
		Verified any      `json:"email_verified"` // a boolean; some providers send "true"
		Name     string   `json:"name"`
		AZP      string   `json:"azp"`
		AMR      []string `json:"amr"`
	}
	if err := idt.Claims(&c); err != nil {
		return ssoIdentity{}, "bad_id_token", nil
	}
	// Core 3.1.3.7 steps 4 and 5: with several audiences azp must be
	// present, and when present it must be our client_id.
	if (len(idt.Audience) > 1 || c.AZP != "") && c.AZP != prov.ClientID {
		return ssoIdentity{}, "bad_azp", nil
	}
	idn := ssoIdentity{Subject: idt.Subject, Email: c.Email, Name: c.Name,
		EmailVerified: c.Verified == true || c.Verified == "true", Groups: stringList(all[prov.GroupsClaim])}
	for _, v := range c.AMR {
		if len(v) <= 32 && len(idn.AMR) < 10 && claimRE.MatchString(v) {
			idn.AMR = append(idn.AMR, v)
		}
	}
	if idn.Subject == "" || len(idn.Subject) > 255 {
		return ssoIdentity{}, "bad_subject", nil
	}
	return idn, "", nil
}

// stringList reads a claim that is a string or an array of strings.
func stringList(raw json.RawMessage) []string {
	var list []string
	if json.Unmarshal(raw, &list) == nil {
		return slices.DeleteFunc(list, func(s string) bool { return s == "" })
	}
	var one string
	if json.Unmarshal(raw, &one) == nil && one != "" {
		return []string{one}
	}
	return nil
}
