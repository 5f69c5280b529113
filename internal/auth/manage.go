package auth

import (
	"context"
	"slices"
	"strconv"
	"strings"

	"github.com/carepost/carepost/internal/access"
	"github.com/carepost/carepost/internal/audit"
	"github.com/carepost/carepost/internal/store"
)

// Administrative actions on users. Each is recorded with the administrator
// as actor and the user as target. Beyond its permission, an administrator
// may act only on users whose permissions they hold themselves (see
// manager.covers), so an administrator without phi:read cannot demote,
// disable or reset an owner, and an organization always keeps one active
// owner.

// SetRoles replaces a user's roles (users:write and a fresh
// re-authentication).
func (s *Service) SetRoles(ctx context.Context, p Principal, userID string, roles []string) (User, error) {
	if err := s.visibleThenFresh(ctx, p, userID); err != nil {
		return User{}, err
	}
	m := managerOf(p)
	var out User
	err := s.tx(ctx, func(tx *store.Tx) error {
		if _, err := store.LockOrganization(ctx, tx, m.orgID); err != nil {
			return err
		}
		target, row, err := userView(ctx, tx, m.orgID, userID)
		if err != nil {
			return err
		}
		if len(roles) == 0 {
			return inputErr("roles", "give the user at least one role")
		}
		newPerms, newRoles, err := resolveRoles(ctx, tx, m.orgID, roles)
		if err != nil {
			return err
		}
		oldPerms, err := rolePerms(ctx, tx, m.orgID, target.Roles)
		if err != nil {
			return err
		}
		if !m.covers(newPerms) || !m.covers(oldPerms) {
			return ErrForbidden
		}
		if row.Status == store.UserActive && slices.Contains(target.Roles, access.Owner) && !slices.Contains(newRoles, access.Owner) {
			if err := keepOwner(ctx, tx, m.orgID, "roles"); err != nil {
				return err
			}
		}
		if err := store.SetUserRoles(ctx, tx, m.orgID, userID, newRoles); err != nil {
			return err
		}
		err = s.record(ctx, tx, audit.Entry{Chain: m.orgID, Actor: m.actor, Action: "user.roles",
			TargetType: "user", TargetID: userID, Outcome: audit.Success,
			Details: map[string]string{"roles": strings.Join(newRoles, " "), "previous": strings.Join(target.Roles, " ")}})
		target.Roles = newRoles
		out = target
		return err
	})
	return out, err
}

// keepOwner refuses a change that would leave the organization without an
// active owner. The caller holds the organization's lock.
func keepOwner(ctx context.Context, tx *store.Tx, orgID, field string) error {
	n, err := store.CountActiveWithRole(ctx, tx, orgID, access.Owner)
	if err != nil {
		return err
	}
	if n <= 1 {
		return inputErr(field, "the organization must keep at least one active owner")
	}
	return nil
}

// DisableUser disables a user (users:write). In the same transaction it ends
// every session, revokes every API key, drops sign-ins in progress and ends
// emergency access. Disabling oneself or the last owner is refused.
func (s *Service) DisableUser(ctx context.Context, p Principal, userID string) error {
	if err := p.Require(access.UsersWrite); err != nil {
		return err
	}
	return s.disableUser(ctx, managerOf(p), userID)
}

func (s *Service) disableUser(ctx context.Context, m manager, userID string) error {
	if userID == m.selfID {
		return inputErr("id", "you cannot disable your own account")
	}
	return s.tx(ctx, func(tx *store.Tx) error {
		if _, err := store.LockOrganization(ctx, tx, m.orgID); err != nil {
			return err
		}
		target, row, err := s.manageable(ctx, tx, m, userID)
		if err != nil || row.Status == store.UserDisabled {
			return err
		}
		if slices.Contains(target.Roles, access.Owner) {
			if err := keepOwner(ctx, tx, m.orgID, "id"); err != nil {
				return err
			}
		}
		now := s.now()
		if err := store.SetUserStatus(ctx, tx, m.orgID, userID, store.UserDisabled, now); err != nil {
			return err
		}
		ended, err := store.EndUserSessions(ctx, tx, m.orgID, userID, "", now, "user_disabled")
		if err != nil {
			return err
		}
		revoked, err := store.RevokeUserAPIKeys(ctx, tx, m.orgID, userID, now)
		if err != nil {
			return err
		}
		if err := store.DeleteUserLoginFlows(ctx, tx, userID); err != nil {
			return err
		}
		if _, err := store.EndBreakGlass(ctx, tx, m.orgID, userID, now); err != nil {
			return err
		}
		return s.record(ctx, tx, audit.Entry{Chain: m.orgID, Actor: m.actor, Action: "user.disable",
			TargetType: "user", TargetID: userID, Outcome: audit.Success,
			Details: map[string]string{"sessions_ended": strconv.Itoa(ended), "apikeys_revoked": strconv.Itoa(revoked)}})
	})
}

// EnableUser re-enables a disabled user (users:write). Their sessions and
// API keys stay ended.
func (s *Service) EnableUser(ctx context.Context, p Principal, userID string) error {
	if err := p.Require(access.UsersWrite); err != nil {
		return err
	}
	m := managerOf(p)
	return s.tx(ctx, func(tx *store.Tx) error {
		_, row, err := s.manageable(ctx, tx, m, userID)
		if err != nil || row.Status == store.UserActive {
			return err
		}
		if err := store.SetUserStatus(ctx, tx, m.orgID, userID, store.UserActive, s.now()); err != nil {
			return err
		}
		return s.record(ctx, tx, audit.Entry{Chain: m.orgID, Actor: m.actor, Action: "user.enable",
			TargetType: "user", TargetID: userID, Outcome: audit.Success})
	})
}

// ResetMFA removes a user's TOTP, passkeys and recovery codes and ends their
// sessions (users:write and a fresh re-authentication). Their next sign-in
// must enrol a second factor again.
func (s *Service) ResetMFA(ctx context.Context, p Principal, userID string) error {
	if err := s.visibleThenFresh(ctx, p, userID); err != nil {
		return err
	}
	return s.resetMFA(ctx, managerOf(p), userID)
}

func (s *Service) resetMFA(ctx context.Context, m manager, userID string) error {
	return s.tx(ctx, func(tx *store.Tx) error {
		_, row, err := s.manageable(ctx, tx, m, userID)
		if err != nil {
			return err
		}
		now := s.now()
		if err := store.SetUserTOTP(ctx, tx, m.orgID, userID, store.UserTOTP{DEKVersion: row.DEKVersion}, now); err != nil {
			return err
		}
		if err := store.DeleteWebAuthnCredentials(ctx, tx, userID); err != nil {
			return err
		}
		if err := store.DeleteRecoveryCodes(ctx, tx, userID); err != nil {
			return err
		}
		ended, err := store.EndUserSessions(ctx, tx, m.orgID, userID, "", now, "mfa_reset")
		if err != nil {
			return err
		}
		if err := store.DeleteUserLoginFlows(ctx, tx, userID); err != nil {
			return err
		}
		return s.record(ctx, tx, audit.Entry{Chain: m.orgID, Actor: m.actor, Action: "auth.mfa.reset",
			TargetType: "user", TargetID: userID, Outcome: audit.Success,
			Details: map[string]string{"sessions_ended": strconv.Itoa(ended)}})
	})
}

// manageable reads a user of m's organization that m may act on.
func (s *Service) manageable(ctx context.Context, tx *store.Tx, m manager, userID string) (User, store.UserRow, error) {
	target, row, err := userView(ctx, tx, m.orgID, userID)
	if err != nil {
		return User{}, store.UserRow{}, err
	}
	perms, err := rolePerms(ctx, tx, m.orgID, target.Roles)
	if err != nil {
		return User{}, store.UserRow{}, err
	}
	if !m.covers(perms) {
		return User{}, store.UserRow{}, ErrForbidden
	}
	return target, row, nil
}

// The same operations for `carepost user`, with the system actor "cli",
// scoped by organization id. Users are named by e-mail address.

// AdminCreateUser creates a user in orgID; see CreateUser.
func (s *Service) AdminCreateUser(ctx context.Context, orgID string, in NewUser) (User, string, error) {
	prep, err := s.prepareUser(ctx, in)
	if err != nil {
		return User{}, "", err
	}
	var u User
	err = s.tx(ctx, func(tx *store.Tx) error {
		var err error
		u, err = s.insertUser(ctx, tx, systemManager(orgID), prep)
		return err
	})
	if err != nil {
		return User{}, "", err
	}
	return u, prep.oneTime, nil
}

// AdminDisableUser disables the user of orgID with this address; see
// DisableUser.
func (s *Service) AdminDisableUser(ctx context.Context, orgID, email string) error {
	u, err := s.findByEmail(ctx, orgID, email)
	if err != nil {
		return err
	}
	return s.disableUser(ctx, systemManager(orgID), u.ID)
}

// AdminResetMFA resets the second factors of the user of orgID with this
// address; see ResetMFA.
func (s *Service) AdminResetMFA(ctx context.Context, orgID, email string) error {
	u, err := s.findByEmail(ctx, orgID, email)
	if err != nil {
		return err
	}
	return s.resetMFA(ctx, systemManager(orgID), u.ID)
}

// AdminListUsers lists the users of orgID; store.ErrNotFound if there is no
// such organization.
func (s *Service) AdminListUsers(ctx context.Context, orgID string) ([]User, error) {
	if _, err := store.GetOrganization(ctx, s.reader(), orgID); err != nil {
		return nil, err
	}
	return s.listUsers(ctx, orgID)
}

func (s *Service) findByEmail(ctx context.Context, orgID, email string) (store.UserRow, error) {
	u, err := store.GetUserByEmailKey(ctx, s.reader(), emailKey(email))
	if err != nil {
		return store.UserRow{}, err
	}
	if u.OrgID != orgID {
		return store.UserRow{}, store.ErrNotFound
	}
	return u, nil
}

// visibleThenFresh checks, in this order, the permission, that the user
// exists in p's organization (another organization's id is ErrNotFound,
// never a request to re-authenticate), and that p re-authenticated recently.
func (s *Service) visibleThenFresh(ctx context.Context, p Principal, userID string) error {
	if err := p.Require(access.UsersWrite); err != nil {
		return err
	}
	if _, _, err := userView(ctx, s.reader(), p.OrgID, userID); err != nil {
		return err
	}
	return s.requireFresh(p, access.UsersWrite)
}
