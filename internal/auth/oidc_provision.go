package auth

import (
	"context"
	"crypto/rand"
	"encoding/json"
	"slices"
	"strconv"
	"strings"

	"github.com/carepost/carepost/internal/access"
	"github.com/carepost/carepost/internal/audit"
	"github.com/carepost/carepost/internal/id"
	"github.com/carepost/carepost/internal/store"
)

// ssoActor is the audit actor of changes SSO makes on its own: accounts
// provisioned and roles set from the provider's groups.
var ssoActor = audit.Actor{Type: audit.ActorSystem, ID: "sso"}

// signInSSO finds or provisions the person in the provider's organization,
// sets their roles from the mapping, and answers a session (the provider's
// amr is trusted and names a second factor) or a login flow at carepost's
// second-factor stage. Everything happens in one transaction with its
// audit entries.
func (s *Service) signInSSO(ctx context.Context, prov store.OIDCProviderRow, idn ssoIdentity, c Client) (SSOResult, error) {
	var out SSOResult
	reason, userID := "", ""
	err := s.tx(ctx, func(tx *store.Tx) error {
		out, reason, userID = SSOResult{}, "", ""
		org, err := store.GetOrganization(ctx, tx, prov.OrgID)
		if err != nil {
			return err
		}
		roles, err := mappedRoles(ctx, tx, prov, idn.Groups)
		if err != nil {
			return err
		}
		u, err := store.GetUserBySSO(ctx, tx, prov.Issuer, idn.Subject)
		switch {
		case org.Status != store.OrgActive:
			reason = "org_disabled"
		case len(roles) == 0:
			reason = "no_role"
		case err == nil && u.OrgID != prov.OrgID:
			reason = "other_org" // the subject belongs to another organization's account
		case err == nil && u.Status != store.UserActive:
			reason, userID = "disabled", u.ID
		case isNotFound(err):
			if u, reason, err = s.provision(ctx, tx, prov, idn, roles); err != nil {
				return err
			}
		case err != nil:
			return err
		default:
			if err := s.syncRoles(ctx, tx, u, roles); err != nil {
				return err
			}
		}
		if reason != "" {
			return nil
		}
		userID = u.ID
		out, err = s.ssoSession(ctx, tx, prov, u, idn, c)
		return err
	})
	if err != nil {
		return SSOResult{}, err
	}
	if reason != "" {
		return SSOResult{}, s.ssoFailed(ctx, prov.OrgID, userID, c, reason)
	}
	return out, nil
}

// ssoSession ends the provider's part: FinishFlow when the provider's amr
// is trusted and names a second factor (RFC 8176), otherwise a new flow at
// enroll_mfa or mfa.
func (s *Service) ssoSession(ctx context.Context, tx *store.Tx, prov store.OIDCProviderRow, u store.UserRow, idn ssoIdentity, c Client) (SSOResult, error) {
	trusted := prov.TrustAMR && slices.ContainsFunc(idn.AMR, func(v string) bool { return mfaAMR[v] })
	mfa, err := s.mfaStatus(ctx, tx, u)
	if err != nil {
		return SSOResult{}, err
	}
	now := s.now()
	token, hash := newToken()
	row := store.LoginFlowRow{ID: id.New("lgf"), TokenHash: hash, OrgID: u.OrgID, UserID: u.ID,
		Stage: string(firstStage(u, mfa)), AMR: AMRSSO, ClientIP: c.IP, CreatedAt: now, ExpiresAt: now.Add(s.opts.LoginFlowTTL)}
	if err := store.InsertLoginFlow(ctx, tx, row); err != nil {
		return SSOResult{}, err
	}
	next := row.Stage
	if trusted {
		next = "complete"
	}
	err = s.record(ctx, tx, audit.Entry{Chain: u.OrgID, Actor: audit.Actor{Type: audit.ActorUser, ID: u.ID},
		Action: "auth.login", TargetType: "user", TargetID: u.ID, Outcome: audit.Success, ClientIP: c.IP, UserAgent: c.UserAgent,
		Details: map[string]string{"method": MethodSSO, "step": "sso", "idp_amr": strings.Join(idn.AMR, " "),
			"amr_trusted": strconv.FormatBool(trusted), "next": next}})
	if err != nil {
		return SSOResult{}, err
	}
	if !trusted {
		f := flowView(row, mfa)
		f.Token = token
		return SSOResult{Flow: &f}, nil
	}
	amr := make([]string, 0, len(idn.AMR))
	for _, v := range idn.AMR {
		amr = append(amr, "idp:"+v)
	}
	sess, err := s.FinishFlow(ctx, tx, row.ID, amr, c)
	if err != nil {
		return SSOResult{}, err
	}
	return SSOResult{Session: &sess}, nil
}

// provision creates the person's account just in time: the verified e-mail
// address, no password, the mapped roles, linked to (issuer, sub). It
// never takes over an existing account with the same address.
func (s *Service) provision(ctx context.Context, tx *store.Tx, prov store.OIDCProviderRow, idn ssoIdentity, roles []string) (store.UserRow, string, error) {
	if !idn.EmailVerified {
		return store.UserRow{}, "email_unverified", nil
	}
	email, key, err := cleanEmail(idn.Email)
	if err != nil {
		return store.UserRow{}, "bad_email", nil
	}
	if _, err := store.GetUserByEmailKey(ctx, tx, key); err == nil {
		return store.UserRow{}, "email_in_use", nil
	} else if !isNotFound(err) {
		return store.UserRow{}, "", err
	}
	name, err := cleanText("name", idn.Name, 200)
	if err != nil {
		name = email[:strings.IndexByte(email, '@')]
	}
	handle := make([]byte, 32) // WebAuthn user handle: random, no personal data
	if _, err := rand.Read(handle); err != nil {
		return store.UserRow{}, "", err
	}
	now := s.now()
	u := store.UserRow{ID: id.New("usr"), OrgID: prov.OrgID, Email: email, EmailKey: key, Name: name,
		Status: store.UserActive, WebAuthnHandle: handle, CreatedAt: now, UpdatedAt: now}
	if err := store.InsertUser(ctx, tx, u); err != nil {
		return store.UserRow{}, "", err
	}
	if err := store.SetUserSSO(ctx, tx, u.OrgID, u.ID, prov.Issuer, idn.Subject); err != nil {
		return store.UserRow{}, "", err
	}
	if err := store.SetUserRoles(ctx, tx, u.OrgID, u.ID, roles); err != nil {
		return store.UserRow{}, "", err
	}
	return u, "", s.record(ctx, tx, audit.Entry{Chain: u.OrgID, Actor: ssoActor, Action: "user.create",
		TargetType: "user", TargetID: u.ID, Outcome: audit.Success,
		Details: map[string]string{"roles": strings.Join(roles, " "), "via": "sso"}})
}

// syncRoles makes u's roles the mapped ones. The last active owner keeps
// the owner role: a provider's group change must not leave the
// organization without one.
func (s *Service) syncRoles(ctx context.Context, tx *store.Tx, u store.UserRow, roles []string) error {
	current, err := store.UserRoles(ctx, tx, u.OrgID, u.ID)
	if err != nil {
		return err
	}
	if slices.Contains(current, access.Owner) && !slices.Contains(roles, access.Owner) {
		if _, err := store.LockOrganization(ctx, tx, u.OrgID); err != nil {
			return err
		}
		if keepOwner(ctx, tx, u.OrgID, "roles") != nil {
			roles = append(slices.Clone(roles), access.Owner)
			slices.Sort(roles)
		}
	}
	if slices.Equal(current, roles) {
		return nil
	}
	if err := store.SetUserRoles(ctx, tx, u.OrgID, u.ID, roles); err != nil {
		return err
	}
	return s.record(ctx, tx, audit.Entry{Chain: u.OrgID, Actor: ssoActor, Action: "user.roles",
		TargetType: "user", TargetID: u.ID, Outcome: audit.Success,
		Details: map[string]string{"roles": strings.Join(roles, " "), "previous": strings.Join(current, " "), "via": "sso"}})
}

// mappedRoles are the roles the person's groups map to, or the default
// role when none does; sorted, without duplicates, and without roles that
// no longer exist (a custom role deleted since the mapping was made).
func mappedRoles(ctx context.Context, q store.Querier, prov store.OIDCProviderRow, groups []string) ([]string, error) {
	var m map[string][]string
	if err := json.Unmarshal([]byte(prov.RoleMap), &m); err != nil {
		return nil, err
	}
	var roles []string
	for _, g := range groups {
		roles = append(roles, m[g]...)
	}
	if len(roles) == 0 && prov.DefaultRole != "" {
		roles = []string{prov.DefaultRole}
	}
	_, unknown, err := resolve(ctx, q, prov.OrgID, roles)
	if err != nil {
		return nil, err
	}
	roles = slices.DeleteFunc(roles, func(r string) bool { return slices.Contains(unknown, r) })
	slices.Sort(roles)
	return slices.Compact(roles), nil
}

// ssoFailed audits a refused SSO sign-in and returns ErrSSORefused.
func (s *Service) ssoFailed(ctx context.Context, chain, userID string, c Client, reason string) error {
	e := audit.Entry{Chain: chain, Actor: audit.Actor{Type: audit.ActorSystem, ID: "anonymous"}, Action: "auth.login",
		Outcome: audit.Failure, ClientIP: c.IP, UserAgent: c.UserAgent,
		Details: map[string]string{"method": MethodSSO, "step": "sso", "reason": reason}}
	if userID != "" {
		e.Actor, e.TargetType, e.TargetID = audit.Actor{Type: audit.ActorUser, ID: userID}, "user", userID
	}
	if err := s.tx(ctx, func(tx *store.Tx) error { return s.record(ctx, tx, e) }); err != nil {
		return err
	}
	return ErrSSORefused
}
