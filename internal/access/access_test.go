package access

import (
	"os"
	"slices"
	"strings"
	"testing"
)

func TestBuiltInRolesFollowMinimumNecessary(t *testing.T) {
	t.Parallel()
	cases := []struct {
		role    string
		must    []Permission
		mustNot []Permission
	}{
		{Owner, All, nil},
		{Admin, []Permission{UsersWrite, RolesWrite, APIKeysWrite, AuditRead, BreakGlass}, []Permission{PHIRead, MessagesReadAll, ContactsRead}},
		{Compliance, []Permission{AuditRead, ReportsRead}, []Permission{MessagesReadAll, PHIRead, ContactsRead, UsersWrite}},
		{Sender, []Permission{MessagesSend}, []Permission{MessagesReadAll, PHIRead, UsersRead}},
		{Marketer, []Permission{ContactsRead, CampaignsWrite, WorkflowsWrite, SegmentsWrite}, []Permission{PHIRead, MessagesReadAll, UsersWrite}},
		{Analyst, []Permission{ReportsRead}, []Permission{PHIRead, ContactsRead, AuditRead}},
	}
	for _, c := range cases {
		r, ok := BuiltInRole(c.role)
		if !ok {
			t.Fatalf("no built-in role %s", c.role)
		}
		for _, p := range c.must {
			if !r.Permissions.Has(p) {
				t.Errorf("%s lacks %s", c.role, p)
			}
		}
		for _, p := range c.mustNot {
			if r.Permissions.Has(p) {
				t.Errorf("%s holds %s", c.role, p)
			}
		}
	}
}

func TestParseRefusesUnknownAndDecodeDropsThem(t *testing.T) {
	t.Parallel()
	if _, err := Parse([]string{"contacts:read", "root:everything"}); err == nil || !strings.Contains(err.Error(), "root:everything") {
		t.Fatalf("Parse = %v", err)
	}
	s := Decode("contacts:read retired:permission phi:read")
	if len(s) != 2 || !s.Has(PHIRead) {
		t.Fatalf("Decode = %v", s.List())
	}
	if got := Decode(s.Encode()); !got.Covers(s) || !s.Covers(got) {
		t.Fatal("Encode/Decode do not round-trip")
	}
}

func TestMaskingAndMessageVisibility(t *testing.T) {
	t.Parallel()
	marketer, _ := BuiltInRole(Marketer)
	owner, _ := BuiltInRole(Owner)
	if got := MaskPHI(marketer.Permissions, "diabetes"); got != Masked {
		t.Fatalf("marketer sees %q", got)
	}
	if got := MaskPHI(owner.Permissions, "diabetes"); got != "diabetes" {
		t.Fatalf("owner sees %q", got)
	}
	compliance, _ := BuiltInRole(Compliance)
	sender, _ := BuiltInRole(Sender)
	if CanReadMessage(compliance.Permissions, "user_c", "user_s") {
		t.Fatal("compliance officer reads message content")
	}
	if !CanReadMessage(sender.Permissions, "user_s", "user_s") || CanReadMessage(sender.Permissions, "user_t", "user_s") {
		t.Fatal("sender visibility wrong")
	}
	if SuppressSmall(marketer.Permissions, 7, SmallCellFloor) != -1 || SuppressSmall(marketer.Permissions, 11, SmallCellFloor) != 11 {
		t.Fatal("small cells not suppressed")
	}
}

func TestCustomRoleValidationAndGrantLimits(t *testing.T) {
	t.Parallel()
	if err := ValidateCustom("Front desk", NewSet(MessagesSend)); err != nil {
		t.Fatal(err)
	}
	for _, name := range []string{"", "owner", "Administrator", "bad<name>", strings.Repeat("x", 70)} {
		if ValidateCustom(name, NewSet(MessagesSend)) == nil {
			t.Errorf("name %q accepted", name)
		}
	}
	if ValidateCustom("Empty", NewSet()) == nil {
		t.Error("role without permissions accepted")
	}
	admin, _ := BuiltInRole(Admin)
	if CanGrant(admin.Permissions, NewSet(PHIRead)) {
		t.Fatal("an admin can grant phi:read they do not hold")
	}
}

// TestPermissionListIsDocumented keeps docs/ACCESS.md in step with All.
func TestPermissionListIsDocumented(t *testing.T) {
	t.Parallel()
	doc, err := os.ReadFile("../../docs/ACCESS.md")
	if err != nil {
		t.Fatal(err)
	}
	for _, p := range All {
		if !strings.Contains(string(doc), "`"+string(p)+"`") {
			t.Errorf("docs/ACCESS.md does not document %s", p)
		}
	}
}

func TestBuiltInPermissionsMatchTheRoles(t *testing.T) {
	for _, r := range BuiltIn() {
		got, ok := BuiltInPermissions(r.ID)
		if !ok || !slices.Equal(got, r.Permissions.List()) {
			t.Fatalf("%s: BuiltInPermissions = %v, %v; the role holds %v", r.ID, got, ok, r.Permissions.List())
		}
		got[0] = "changed"
		if again, _ := BuiltInPermissions(r.ID); again[0] == "changed" {
			t.Fatalf("%s: a caller's change reached the shared definition", r.ID)
		}
	}
	if _, ok := BuiltInPermissions("role_custom"); ok {
		t.Fatal("a custom role id resolved as built in")
	}
}
