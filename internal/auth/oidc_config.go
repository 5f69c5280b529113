package auth

import (
	"context"
	"encoding/json"
	"errors"
	"net/url"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/carepost/carepost/internal/access"
	"github.com/carepost/carepost/internal/audit"
	"github.com/carepost/carepost/internal/id"
	"github.com/carepost/carepost/internal/keyring"
	"github.com/carepost/carepost/internal/store"
)

// An organization's SSO provider (settings:write). Mapping groups to roles
// is granting roles, so changing the provider needs a fresh
// re-authentication, and nobody maps a group to a role with permissions
// they do not hold themselves. The client secret is write-only.

// SSOConfig is an organization's provider, without its secret.
type SSOConfig struct {
	Issuer, ClientID string
	ClientSecretSet  bool
	Slug             string
	Scopes           []string
	GroupsClaim      string
	RoleMap          map[string][]string
	DefaultRole      string
	TrustAMR         bool
	Enabled          bool
	// RedirectURL is what to register at the provider.
	RedirectURL          string
	CreatedAt, UpdatedAt time.Time
}

// SSOInput replaces an organization's provider. ClientSecret nil keeps the
// stored secret (required the first time). Empty Scopes mean openid, email
// and profile; an empty GroupsClaim means "groups". DefaultRole, when set,
// is given to people in no mapped group; without it they cannot sign in.
type SSOInput struct {
	Issuer, ClientID string
	ClientSecret     *string
	Slug             string
	Scopes           []string
	GroupsClaim      string
	RoleMap          map[string][]string
	DefaultRole      string
	TrustAMR         bool
	Enabled          bool
}

var (
	slugRE  = regexp.MustCompile(`^[a-z0-9][a-z0-9-]{1,62}$`)
	claimRE = regexp.MustCompile(`^[A-Za-z0-9_:./-]{1,100}$`)
	// RFC 6749 section 3.3: scope-token = 1*( %x21 / %x23-5B / %x5D-7E )
	scopeRE = regexp.MustCompile(`^[\x21\x23-\x5B\x5D-\x7E]{1,100}$`)
)

func secretAAD(orgID, rowID string) keyring.AAD {
	return keyring.AAD{Scope: orgID, Table: "oidc_providers", Column: "client_secret", RowID: rowID}
}

// SSO returns p's organization's provider; store.ErrNotFound if none.
func (s *Service) SSO(ctx context.Context, p Principal) (SSOConfig, error) {
	if err := p.Require(access.SettingsWrite); err != nil {
		return SSOConfig{}, err
	}
	row, err := store.GetOIDCProvider(ctx, s.reader(), p.OrgID)
	if err != nil {
		return SSOConfig{}, err
	}
	return s.ssoView(row), nil
}

func (s *Service) ssoView(r store.OIDCProviderRow) SSOConfig {
	c := SSOConfig{Issuer: r.Issuer, ClientID: r.ClientID, ClientSecretSet: len(r.ClientSecret) > 0, Slug: r.Slug,
		Scopes: strings.Fields(r.Scopes), GroupsClaim: r.GroupsClaim, RoleMap: map[string][]string{},
		DefaultRole: r.DefaultRole, TrustAMR: r.TrustAMR, Enabled: r.Enabled, RedirectURL: s.opts.OIDC.RedirectURL,
		CreatedAt: r.CreatedAt, UpdatedAt: r.UpdatedAt}
	_ = json.Unmarshal([]byte(r.RoleMap), &c.RoleMap) // written by PutSSO only
	return c
}

// PutSSO creates or replaces p's organization's provider (settings:write
// and a fresh re-authentication). It does not contact the provider;
// discovery happens at the first sign-in.
func (s *Service) PutSSO(ctx context.Context, p Principal, in SSOInput) (SSOConfig, error) {
	if err := s.requireFresh(p, access.SettingsWrite); err != nil {
		return SSOConfig{}, err
	}
	row, err := cleanSSO(in)
	if err != nil {
		return SSOConfig{}, err
	}
	m := managerOf(p)
	var out SSOConfig
	err = s.tx(ctx, func(tx *store.Tx) error {
		if err := s.checkRoleMap(ctx, tx, m, in.RoleMap, row.DefaultRole); err != nil {
			return err
		}
		old, err := store.GetOIDCProvider(ctx, tx, p.OrgID)
		switch {
		case err == nil:
			row.ID, row.CreatedAt, row.ClientSecret, row.DEKVersion = old.ID, old.CreatedAt, old.ClientSecret, old.DEKVersion
		case isNotFound(err):
			if in.ClientSecret == nil {
				return inputErr("client_secret", "is required when setting up SSO")
			}
			row.ID, row.CreatedAt = id.New("oidc"), s.now()
		default:
			return err
		}
		if in.ClientSecret != nil {
			if row.ClientSecret, row.DEKVersion, err = s.opts.Keys.Seal(ctx, tx, secretAAD(p.OrgID, row.ID), []byte(*in.ClientSecret)); err != nil {
				return err
			}
		}
		if row.Slug != "" {
			if other, err := store.GetOIDCProviderBySlug(ctx, tx, row.Slug); err == nil && other.OrgID != p.OrgID {
				return inputErr("slug", "this short name is taken; choose another")
			} else if err != nil && !isNotFound(err) {
				return err
			}
		}
		row.OrgID, row.UpdatedAt = p.OrgID, s.now()
		if err := store.PutOIDCProvider(ctx, tx, row); err != nil {
			return err
		}
		out = s.ssoView(row)
		return s.record(ctx, tx, audit.Entry{Chain: p.OrgID, Actor: p.Actor(), Action: "sso.update",
			TargetType: "sso", TargetID: row.ID, Outcome: audit.Success, Details: map[string]string{
				"issuer": row.Issuer, "enabled": strconv.FormatBool(row.Enabled), "trust_amr": strconv.FormatBool(row.TrustAMR),
				"secret_changed": strconv.FormatBool(in.ClientSecret != nil), "groups_mapped": strconv.Itoa(len(in.RoleMap))}})
	})
	return out, err
}

// DeleteSSO removes p's organization's provider and its sign-ins in
// progress (settings:write and a fresh re-authentication). Its users stay,
// but cannot sign in until SSO is set up again with the same issuer.
func (s *Service) DeleteSSO(ctx context.Context, p Principal) error {
	if err := s.requireFresh(p, access.SettingsWrite); err != nil {
		return err
	}
	return s.tx(ctx, func(tx *store.Tx) error {
		row, err := store.GetOIDCProvider(ctx, tx, p.OrgID)
		if err != nil {
			return err
		}
		if _, err := store.DeleteOIDCProvider(ctx, tx, p.OrgID); err != nil {
			return err
		}
		return s.record(ctx, tx, audit.Entry{Chain: p.OrgID, Actor: p.Actor(), Action: "sso.delete",
			TargetType: "sso", TargetID: row.ID, Outcome: audit.Success, Details: map[string]string{"issuer": row.Issuer}})
	})
}

// cleanSSO validates the fields that need no database.
func cleanSSO(in SSOInput) (store.OIDCProviderRow, error) {
	r := store.OIDCProviderRow{Slug: in.Slug, GroupsClaim: in.GroupsClaim, DefaultRole: in.DefaultRole,
		TrustAMR: in.TrustAMR, Enabled: in.Enabled}
	u, err := url.Parse(in.Issuer)
	if err != nil || u.Scheme != "https" || u.Host == "" || u.User != nil || u.RawQuery != "" || u.Fragment != "" || len(in.Issuer) > 500 {
		return r, inputErr("issuer", "must be the provider's https:// issuer URL, without query or fragment")
	}
	r.Issuer = in.Issuer
	if r.ClientID, err = cleanText("client_id", in.ClientID, 200); err != nil {
		return r, err
	}
	if in.ClientSecret != nil && (*in.ClientSecret == "" || len(*in.ClientSecret) > 500) {
		return r, inputErr("client_secret", "must be 1 to 500 characters")
	}
	if r.Slug != "" && !slugRE.MatchString(r.Slug) {
		return r, inputErr("slug", "use 2 to 63 lower-case letters, digits and dashes")
	}
	if r.GroupsClaim == "" {
		r.GroupsClaim = "groups"
	}
	if !claimRE.MatchString(r.GroupsClaim) {
		return r, inputErr("groups_claim", "must be a claim name of letters, digits and _:./-")
	}
	scopes := in.Scopes
	if len(scopes) == 0 {
		scopes = []string{"openid", "email", "profile"}
	}
	for _, sc := range scopes {
		if !scopeRE.MatchString(sc) {
			return r, inputErr("scopes", "each scope is one token without spaces or quotes")
		}
	}
	if !slices.Contains(scopes, "openid") { // Core 3.1.2.1: scope MUST contain openid
		return r, inputErr("scopes", "must include openid")
	}
	r.Scopes = strings.Join(scopes, " ")
	if len(in.RoleMap) > 200 {
		return r, inputErr("role_map", "map at most 200 groups")
	}
	b, err := json.Marshal(in.RoleMap)
	if err != nil {
		return r, err
	}
	r.RoleMap = string(b)
	if in.RoleMap == nil {
		r.RoleMap = "{}"
	}
	return r, nil
}

// checkRoleMap resolves every role the map and the default give, and
// requires the configuring manager to hold all their permissions.
func (s *Service) checkRoleMap(ctx context.Context, tx *store.Tx, m manager, roleMap map[string][]string, def string) error {
	all := access.Set{}
	check := func(field string, roles []string) error {
		perms, _, err := resolveRoles(ctx, tx, m.orgID, roles)
		var ie *InputError
		if errors.As(err, &ie) {
			return inputErr(field, ie.Msg)
		}
		if err != nil {
			return err
		}
		all.Add(perms.List()...)
		return nil
	}
	for group, roles := range roleMap {
		if strings.TrimSpace(group) == "" || len(group) > 200 || len(roles) == 0 {
			return inputErr("role_map", "each group needs a name of at most 200 characters and at least one role")
		}
		if err := check("role_map", roles); err != nil {
			return err
		}
	}
	if def != "" {
		if err := check("default_role", []string{def}); err != nil {
			return err
		}
	}
	if !m.covers(all) {
		return ErrForbidden
	}
	return nil
}
