package access

import (
	"fmt"
	"regexp"
	"strings"
)

// Role is a named set of permissions: built in, or custom to an
// organization (ID "role_…").
type Role struct {
	ID          string // built-in roles: their name; custom roles: "role_…"
	Name        string
	Description string
	Permissions Set
	BuiltIn     bool
}

// The built-in role names.
const (
	Owner      = "owner"
	Admin      = "admin"
	Compliance = "compliance"
	Sender     = "sender"
	Marketer   = "marketer"
	Analyst    = "analyst"
)

// BuiltIn returns the built-in roles, freshly built so callers may not alter
// the definitions.
func BuiltIn() []Role {
	return []Role{
		{ID: Owner, Name: "Owner", BuiltIn: true,
			Description: "Everything, including PHI and all message content. Keep to very few people.",
			Permissions: NewSet(All...)},
		{ID: Admin, Name: "Administrator", BuiltIn: true,
			Description: "Runs the organization: users, roles, keys, domains, settings, policy, webhooks, audit. No PHI or message content.",
			Permissions: NewSet(UsersRead, UsersWrite, RolesWrite, APIKeysWrite, SessionsManage, SettingsWrite,
				DomainsWrite, KeysManage, PolicyWrite, WebhooksWrite, AuditRead, ReportsRead, AlertsRead, BreakGlass)},
		{ID: Compliance, Name: "Compliance officer", BuiltIn: true,
			Description: "Audit log and reports, security alerts and user lists. No message content, no PHI.",
			Permissions: NewSet(AuditRead, ReportsRead, AlertsRead, UsersRead)},
		{ID: Sender, Name: "Sender", BuiltIn: true,
			Description: "Sends secure mail and text and sees their own messages.",
			Permissions: NewSet(MessagesSend, SMSSend)},
		{ID: Marketer, Name: "Marketer", BuiltIn: true,
			Description: "Contacts, segments, templates, campaigns, workflows and forms. PHI fields masked unless granted phi:read.",
			Permissions: NewSet(ContactsRead, ContactsWrite, SegmentsWrite, TemplatesWrite, CampaignsWrite,
				WorkflowsWrite, FormsWrite, ReportsRead)},
		{ID: Analyst, Name: "Analyst", BuiltIn: true,
			Description: "Aggregate reports without PHI.",
			Permissions: NewSet(ReportsRead)},
	}
}

// builtInPerms is each built-in role's permissions, sorted, computed once:
// every authenticated request resolves its roles, and building the roles
// afresh for it was a measurable part of an API request.
var builtInPerms = func() map[string][]Permission {
	m := map[string][]Permission{}
	for _, r := range BuiltIn() {
		m[r.ID] = r.Permissions.List()
	}
	return m
}()

// BuiltInPermissions returns the permissions of the built-in role with this
// id, sorted; the caller gets its own copy.
func BuiltInPermissions(id string) ([]Permission, bool) {
	ps, ok := builtInPerms[id]
	return append([]Permission(nil), ps...), ok
}

// BuiltInRole returns the built-in role with this id.
func BuiltInRole(id string) (Role, bool) {
	for _, r := range BuiltIn() {
		if r.ID == id {
			return r, true
		}
	}
	return Role{}, false
}

var roleName = regexp.MustCompile(`^[\pL\pN][\pL\pN _.'-]{0,63}$`)

// ValidateCustom checks a custom role's name and permissions, returning a
// message that names the problem.
func ValidateCustom(name string, perms Set) error {
	name = strings.TrimSpace(name)
	if !roleName.MatchString(name) {
		return fmt.Errorf("role name must be 1 to 64 letters, digits, spaces or . _ ' -")
	}
	for _, r := range BuiltIn() {
		if strings.EqualFold(r.ID, name) || strings.EqualFold(r.Name, name) {
			return fmt.Errorf("role name %q is taken by a built-in role", name)
		}
	}
	if len(perms) == 0 {
		return fmt.Errorf("a role needs at least one permission")
	}
	return nil
}

// Union merges the permissions of roles.
func Union(roles []Role) Set {
	s := Set{}
	for _, r := range roles {
		for p := range r.Permissions {
			s[p] = true
		}
	}
	return s
}

// CanGrant reports whether a principal holding have may give others the
// permissions in want: nobody hands out more than they hold (no escalation
// through role assignment or API key scopes).
func CanGrant(have, want Set) bool { return have.Covers(want) }
