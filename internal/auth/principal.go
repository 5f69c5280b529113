package auth

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"slices"
	"time"

	"github.com/carepost/carepost/internal/access"
	"github.com/carepost/carepost/internal/audit"
	"github.com/carepost/carepost/internal/store"
)

// Client is what the HTTP edge knows about the caller.
type Client struct{ IP, UserAgent string }

// Principal is an authenticated caller: a person with a session, or an API
// key acting for its owner. Every operation takes one and is scoped to its
// OrgID (HIPAA 164.312(a)(2)(i), unique user identification: UserID always
// names one person).
type Principal struct {
	OrgID     string
	UserID    string // the person, or the API key's owner
	APIKeyID  string // set when an API key authenticated
	SessionID string // set when a session authenticated
	Email     string // staff identity, not PHI
	Name      string
	Perms     access.Set
	Roles     []string
	// ReauthAt is the last entry of password and second factor in this
	// session (sign-in counts); zero for API keys.
	ReauthAt time.Time
	// BreakGlassUntil is when active emergency access ends; zero if none.
	BreakGlassUntil time.Time

	// rolePerms are the permissions from roles alone, without break-glass
	// additions: what p may grant to others.
	rolePerms access.Set
}

// grantable is what p may hand out through roles and API keys: never the
// permissions of emergency access, which belong to its holder and expire.
func (p Principal) grantable() access.Set {
	if p.rolePerms != nil {
		return p.rolePerms
	}
	if p.BreakGlassUntil.IsZero() {
		return p.Perms
	}
	out := access.Set{}
	for perm := range p.Perms {
		if !slices.Contains(access.PermissionsBreakGlass, perm) {
			out[perm] = true
		}
	}
	return out
}

// Actor is the audit actor: the API key when one authenticated, else the
// user.
func (p Principal) Actor() audit.Actor {
	if p.APIKeyID != "" {
		return audit.Actor{Type: audit.ActorAPIKey, ID: p.APIKeyID}
	}
	return audit.Actor{Type: audit.ActorUser, ID: p.UserID}
}

// Require returns ErrForbidden unless p holds every permission in perms.
func (p Principal) Require(perms ...access.Permission) error {
	if p.OrgID == "" || p.UserID == "" {
		return ErrForbidden
	}
	for _, perm := range perms {
		if !p.Perms.Has(perm) {
			return ErrForbidden
		}
	}
	return nil
}

// FreshAuth reports whether p re-entered password and second factor within
// window before now. API keys never are fresh: sensitive changes need a
// person.
func (p Principal) FreshAuth(now time.Time, window time.Duration) bool {
	if p.SessionID == "" || p.ReauthAt.IsZero() {
		return false
	}
	// A ReauthAt slightly ahead of now (another node's clock) still
	// counts; one far ahead does not.
	d := now.Sub(p.ReauthAt)
	return d <= window && d > -window
}

// requireFresh checks perms, then freshness.
func (s *Service) requireFresh(p Principal, perms ...access.Permission) error {
	if err := p.Require(perms...); err != nil {
		return err
	}
	if !p.FreshAuth(s.now(), s.opts.ReauthWindow) {
		return ErrReauthRequired
	}
	return nil
}

// requirePerson refuses API keys: some actions belong to a person in a
// session (changing one's own password or second factor).
func requirePerson(p Principal) error {
	if p.OrgID == "" || p.UserID == "" || p.SessionID == "" {
		return ErrForbidden
	}
	return nil
}

// rolePerms resolves role names (built-in) and ids (custom, of orgID) to the
// union of their permissions. Unknown roles grant nothing; validate input
// with resolveRoles instead.
func rolePerms(ctx context.Context, q store.Querier, orgID string, roles []string) (access.Set, error) {
	set, _, err := resolve(ctx, q, orgID, roles)
	return set, err
}

// resolveRoles validates requested roles and returns their permissions and
// the normalized, sorted, de-duplicated list.
func resolveRoles(ctx context.Context, q store.Querier, orgID string, roles []string) (access.Set, []string, error) {
	set, unknown, err := resolve(ctx, q, orgID, roles)
	if err != nil {
		return nil, nil, err
	}
	if len(unknown) > 0 {
		return nil, nil, inputErr("roles", fmt.Sprintf("unknown role %q", unknown[0]))
	}
	out := slices.Clone(roles)
	slices.Sort(out)
	return set, slices.Compact(out), nil
}

func resolve(ctx context.Context, q store.Querier, orgID string, roles []string) (access.Set, []string, error) {
	set := access.Set{}
	var unknown []string
	for _, r := range roles {
		if ps, ok := access.BuiltInPermissions(r); ok {
			set.Add(ps...)
			continue
		}
		row, err := store.GetRole(ctx, q, orgID, r)
		if errors.Is(err, store.ErrNotFound) {
			unknown = append(unknown, r)
			continue
		}
		if err != nil {
			return nil, nil, err
		}
		set.Add(access.Decode(row.Permissions).List()...)
	}
	return set, unknown, nil
}

// userPrincipal builds the principal of a user from their current roles
// and any active break-glass grant (HIPAA 164.312(a)(2)(ii)).
func (s *Service) userPrincipal(ctx context.Context, q store.Querier, orgID, userID, email, name string) (Principal, error) {
	roles, err := store.UserRoles(ctx, q, orgID, userID)
	if err != nil {
		return Principal{}, err
	}
	perms, err := rolePerms(ctx, q, orgID, roles)
	if err != nil {
		return Principal{}, err
	}
	p := Principal{OrgID: orgID, UserID: userID, Email: email, Name: name, Perms: perms, Roles: roles,
		rolePerms: maps.Clone(perms)}
	g, err := store.ActiveBreakGlass(ctx, q, orgID, userID, s.now())
	switch {
	case err == nil:
		p.Perms.Add(access.PermissionsBreakGlass...)
		p.BreakGlassUntil = g.ExpiresAt
	case !errors.Is(err, store.ErrNotFound):
		return Principal{}, err
	}
	return p, nil
}

// manager is who performs an administrative action: a principal, or the
// system (the CLI), which holds every permission.
type manager struct {
	orgID  string
	actor  audit.Actor
	perms  access.Set // nil: the system
	selfID string     // the acting user, "" for the system
}

func managerOf(p Principal) manager {
	return manager{orgID: p.OrgID, actor: p.Actor(), perms: p.grantable(), selfID: p.UserID}
}

// cliActor is the audit actor of `carepost user` and `carepost init`.
var cliActor = audit.Actor{Type: audit.ActorSystem, ID: "cli"}

func systemManager(orgID string) manager { return manager{orgID: orgID, actor: cliActor} }

// covers reports whether the manager may grant (or take away) want: nobody
// hands out, or acts on someone holding, more than they hold themselves.
func (m manager) covers(want access.Set) bool {
	return m.perms == nil || access.CanGrant(m.perms, want)
}
