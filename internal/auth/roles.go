package auth

import (
	"context"
	"errors"
	"strings"

	"github.com/carepost/carepost/internal/access"
	"github.com/carepost/carepost/internal/audit"
	"github.com/carepost/carepost/internal/id"
	"github.com/carepost/carepost/internal/store"
)

// Roles: the built-in ones from package access and an organization's custom
// roles (table roles), built from the documented permission list. Nobody
// creates or edits a role granting more than they hold (access.CanGrant).

func roleFromRow(r store.RoleRow) access.Role {
	return access.Role{ID: r.ID, Name: r.Name, Description: r.Description, Permissions: access.Decode(r.Permissions)}
}

func requireRoleReader(p Principal) error {
	if p.Require(access.UsersRead) == nil || p.Require(access.RolesWrite) == nil {
		return nil
	}
	return ErrForbidden
}

// ListRoles lists the built-in roles, then the organization's custom roles
// by name (users:read or roles:write).
func (s *Service) ListRoles(ctx context.Context, p Principal) ([]access.Role, error) {
	if err := requireRoleReader(p); err != nil {
		return nil, err
	}
	rows, err := store.ListRoles(ctx, s.reader(), p.OrgID)
	if err != nil {
		return nil, err
	}
	out := access.BuiltIn()
	for _, r := range rows {
		out = append(out, roleFromRow(r))
	}
	return out, nil
}

// GetRole reads a built-in role by name or a custom role by id; a custom
// role of another organization is store.ErrNotFound.
func (s *Service) GetRole(ctx context.Context, p Principal, roleID string) (access.Role, error) {
	if err := requireRoleReader(p); err != nil {
		return access.Role{}, err
	}
	if r, ok := access.BuiltInRole(roleID); ok {
		return r, nil
	}
	r, err := store.GetRole(ctx, s.reader(), p.OrgID, roleID)
	if err != nil {
		return access.Role{}, err
	}
	return roleFromRow(r), nil
}

// roleInput validates a custom role's name, description and permissions.
func roleInput(name, description string, perms []string) (string, string, access.Set, error) {
	set, err := access.Parse(perms)
	if err != nil {
		return "", "", nil, inputErr("permissions", err.Error())
	}
	if len(set) == 0 {
		return "", "", nil, inputErr("permissions", "a role needs at least one permission")
	}
	name = strings.TrimSpace(name)
	if err := access.ValidateCustom(name, set); err != nil {
		return "", "", nil, inputErr("name", err.Error())
	}
	description = strings.TrimSpace(description)
	if description != "" {
		if description, err = cleanText("description", description, 500); err != nil {
			return "", "", nil, err
		}
	}
	return name, description, set, nil
}

func nameTaken(err error) error {
	if errors.Is(err, store.ErrConflict) {
		return inputErr("name", "the organization already has a role with this name")
	}
	return err
}

// CreateRole adds a custom role (roles:write); p must hold every permission
// it grants.
func (s *Service) CreateRole(ctx context.Context, p Principal, name, description string, perms []string) (access.Role, error) {
	if err := p.Require(access.RolesWrite); err != nil {
		return access.Role{}, err
	}
	name, description, set, err := roleInput(name, description, perms)
	if err != nil {
		return access.Role{}, err
	}
	if !access.CanGrant(p.grantable(), set) {
		return access.Role{}, ErrForbidden
	}
	now := s.now()
	row := store.RoleRow{ID: id.New("role"), OrgID: p.OrgID, Name: name, Description: description,
		Permissions: set.Encode(), CreatedAt: now, UpdatedAt: now}
	err = s.tx(ctx, func(tx *store.Tx) error {
		if err := store.InsertRole(ctx, tx, row); err != nil {
			return nameTaken(err)
		}
		return s.record(ctx, tx, audit.Entry{Chain: p.OrgID, Actor: p.Actor(), Action: "role.create",
			TargetType: "role", TargetID: row.ID, Outcome: audit.Success,
			Details: map[string]string{"permissions": row.Permissions}})
	})
	if err != nil {
		return access.Role{}, err
	}
	return roleFromRow(row), nil
}

// UpdateRole changes a custom role (roles:write); p must hold every
// permission it grants before and after. Users holding the role get the
// new permissions at their next request. Built-in roles cannot be changed.
func (s *Service) UpdateRole(ctx context.Context, p Principal, roleID, name, description string, perms []string) (access.Role, error) {
	if err := p.Require(access.RolesWrite); err != nil {
		return access.Role{}, err
	}
	if _, ok := access.BuiltInRole(roleID); ok {
		return access.Role{}, inputErr("id", "built-in roles cannot be changed")
	}
	name, description, set, err := roleInput(name, description, perms)
	if err != nil {
		return access.Role{}, err
	}
	var out access.Role
	err = s.tx(ctx, func(tx *store.Tx) error {
		if _, err := store.LockOrganization(ctx, tx, p.OrgID); err != nil {
			return err
		}
		row, err := store.GetRole(ctx, tx, p.OrgID, roleID)
		if err != nil {
			return err
		}
		if !access.CanGrant(p.grantable(), set) || !access.CanGrant(p.grantable(), access.Decode(row.Permissions)) {
			return ErrForbidden
		}
		previous := row.Permissions
		row.Name, row.Description, row.Permissions, row.UpdatedAt = name, description, set.Encode(), s.now()
		if err := store.UpdateRole(ctx, tx, row); err != nil {
			return nameTaken(err)
		}
		out = roleFromRow(row)
		return s.record(ctx, tx, audit.Entry{Chain: p.OrgID, Actor: p.Actor(), Action: "role.update",
			TargetType: "role", TargetID: row.ID, Outcome: audit.Success,
			Details: map[string]string{"permissions": row.Permissions, "previous": previous}})
	})
	return out, err
}

// DeleteRole removes a custom role (roles:write), refused while any user
// holds it.
func (s *Service) DeleteRole(ctx context.Context, p Principal, roleID string) error {
	if err := p.Require(access.RolesWrite); err != nil {
		return err
	}
	if _, ok := access.BuiltInRole(roleID); ok {
		return inputErr("id", "built-in roles cannot be deleted")
	}
	return s.tx(ctx, func(tx *store.Tx) error {
		// The lock serializes with SetRoles, so the role cannot be
		// assigned between the count and the delete.
		if _, err := store.LockOrganization(ctx, tx, p.OrgID); err != nil {
			return err
		}
		if _, err := store.GetRole(ctx, tx, p.OrgID, roleID); err != nil {
			return err
		}
		n, err := store.CountRoleAssignments(ctx, tx, p.OrgID, roleID)
		if err != nil {
			return err
		}
		if n > 0 {
			return inputErr("id", "the role is assigned to users; take it from them first")
		}
		if err := store.DeleteRole(ctx, tx, p.OrgID, roleID); err != nil {
			return err
		}
		return s.record(ctx, tx, audit.Entry{Chain: p.OrgID, Actor: p.Actor(), Action: "role.delete",
			TargetType: "role", TargetID: roleID, Outcome: audit.Success})
	})
}
