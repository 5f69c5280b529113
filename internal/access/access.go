// Package access is carepost's role-based access control: the documented
// list of permissions, the built-in roles, custom roles built from the same
// list, and the data-level limits that go beyond yes/no (PHI masking,
// message visibility).
//
// A principal's permissions are the union of its roles' permissions. An API
// key carries scopes, a subset of its owner's permissions at creation; what
// the key may do is the intersection of its scopes and its owner's current
// permissions, so demoting a user also narrows their keys. Break-glass
// access adds PermissionsBreakGlass for a limited time.
//
// HIPAA 164.308(a)(4) (information access management) and the "minimum
// necessary" standard, 164.502(b): roles grant only what the job needs;
// administration (users, keys, settings) is separate from reading PHI, so an
// administrator does not see patient data unless they also hold phi:read.
package access

import (
	"fmt"
	"slices"
	"sort"
	"strings"
)

// Permission names one capability, "<area>:<verb>".
type Permission string

// The permission list. Custom roles choose from it; docs/ACCESS.md repeats it
// for administrators, and a test keeps the two in step.
const (
	UsersRead       Permission = "users:read"          // list users and their roles
	UsersWrite      Permission = "users:write"         // create, disable, reset MFA, assign roles
	RolesWrite      Permission = "roles:write"         // create and edit custom roles
	APIKeysWrite    Permission = "apikeys:write"       // create and revoke the organization's API keys
	SessionsManage  Permission = "sessions:manage"     // list and end other users' sessions
	SettingsWrite   Permission = "settings:write"      // organization settings, SSO, session timeouts
	DomainsWrite    Permission = "domains:write"       // sender domains and DKIM keys
	KeysManage      Permission = "keys:manage"         // rotate the organization's data keys
	PolicyWrite     Permission = "policy:write"        // encryption policy
	WebhooksWrite   Permission = "webhooks:write"      // webhook endpoints
	AuditRead       Permission = "audit:read"          // read and export the audit log
	ReportsRead     Permission = "reports:read"        // aggregate reports, no PHI
	AlertsRead      Permission = "alerts:read"         // security alerts
	MessagesSend    Permission = "messages:send"       // send secure mail (API, SMTP, console)
	MessagesReadAll Permission = "messages:read_all"   // read any message's content, not only one's own
	MessagesRevoke  Permission = "messages:revoke"     // revoke portal messages of others
	ContactsRead    Permission = "contacts:read"       // read contacts (PHI fields masked without phi:read)
	ContactsWrite   Permission = "contacts:write"      // create, import, edit, delete contacts
	PHIRead         Permission = "phi:read"            // see contact fields marked PHI
	SegmentsWrite   Permission = "segments:write"      // define segments
	TemplatesWrite  Permission = "templates:write"     // edit templates
	CampaignsWrite  Permission = "campaigns:write"     // create and send campaigns
	WorkflowsWrite  Permission = "workflows:write"     // define and publish workflows
	FormsWrite      Permission = "forms:write"         // define secure forms
	SMSSend         Permission = "sms:send"            // send secure text notifications
	BreakGlass      Permission = "breakglass:activate" // activate emergency access
)

// All lists every permission in a stable order.
var All = []Permission{
	UsersRead, UsersWrite, RolesWrite, APIKeysWrite, SessionsManage, SettingsWrite,
	DomainsWrite, KeysManage, PolicyWrite, WebhooksWrite, AuditRead, ReportsRead, AlertsRead,
	MessagesSend, MessagesReadAll, MessagesRevoke, ContactsRead, ContactsWrite, PHIRead,
	SegmentsWrite, TemplatesWrite, CampaignsWrite, WorkflowsWrite, FormsWrite, SMSSend, BreakGlass,
}

// PermissionsBreakGlass are granted for the duration of emergency access
// (HIPAA 164.312(a)(2)(ii)): reading PHI and any message.
var PermissionsBreakGlass = []Permission{PHIRead, MessagesReadAll, ContactsRead}

// Valid reports whether p is on the list.
func Valid(p Permission) bool { return slices.Contains(All, p) }

// Set is a set of permissions.
type Set map[Permission]bool

// NewSet builds a Set.
func NewSet(ps ...Permission) Set {
	s := Set{}
	for _, p := range ps {
		s[p] = true
	}
	return s
}

// Has reports whether the set holds p.
func (s Set) Has(p Permission) bool { return s[p] }

// Add adds ps to the set.
func (s Set) Add(ps ...Permission) {
	for _, p := range ps {
		s[p] = true
	}
}

// Intersect returns the permissions in both sets.
func (s Set) Intersect(o Set) Set {
	out := Set{}
	for p := range s {
		if o[p] {
			out[p] = true
		}
	}
	return out
}

// Covers reports whether s holds every permission of o.
func (s Set) Covers(o Set) bool {
	for p := range o {
		if !s[p] {
			return false
		}
	}
	return true
}

// List returns the permissions sorted.
func (s Set) List() []Permission {
	out := make([]Permission, 0, len(s))
	for p := range s {
		out = append(out, p)
	}
	sort.Slice(out, func(i, j int) bool { return out[i] < out[j] })
	return out
}

// Strings returns the sorted permission names.
func (s Set) Strings() []string {
	out := make([]string, 0, len(s))
	for _, p := range s.List() {
		out = append(out, string(p))
	}
	return out
}

// Parse reads permission names, refusing unknown ones with a message that
// names them.
func Parse(names []string) (Set, error) {
	s := Set{}
	var bad []string
	for _, n := range names {
		p := Permission(strings.TrimSpace(n))
		if !Valid(p) {
			bad = append(bad, n)
			continue
		}
		s[p] = true
	}
	if len(bad) > 0 {
		return nil, fmt.Errorf("unknown permission %s (see the documented permission list)", strings.Join(bad, ", "))
	}
	return s, nil
}

// Encode stores a set as space-separated names.
func (s Set) Encode() string { return strings.Join(s.Strings(), " ") }

// Decode reads an encoded set, skipping names no longer on the list (a
// permission removed in a later version grants nothing).
func Decode(encoded string) Set {
	s := Set{}
	for _, n := range strings.Fields(encoded) {
		if p := Permission(n); Valid(p) {
			s[p] = true
		}
	}
	return s
}
