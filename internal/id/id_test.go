package id

import (
	"sort"
	"testing"
	"time"
)

func TestIDsAreUniqueOrderedAndValid(t *testing.T) {
	t.Parallel()
	base := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	seen := map[string]bool{}
	var list []string
	for i := 0; i < 2000; i++ {
		s := NewAt("msg", base.Add(time.Duration(i)*time.Millisecond))
		if seen[s] {
			t.Fatalf("duplicate id %s", s)
		}
		seen[s] = true
		if !Valid("msg", s) {
			t.Fatalf("Valid(%q) = false", s)
		}
		list = append(list, s)
	}
	if !sort.StringsAreSorted(list) {
		t.Fatal("ids made in time order do not sort in time order")
	}
}

func TestValidRejects(t *testing.T) {
	t.Parallel()
	good := New("org")
	for _, s := range []string{"", "org_", "msg" + good[3:], good + "a", good[:len(good)-1] + "I", "org-" + good[4:]} {
		if Valid("org", s) {
			t.Errorf("Valid(%q) = true", s)
		}
	}
}
