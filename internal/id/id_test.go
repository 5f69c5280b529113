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

// TestIDsInOneMillisecondSortInOrder: an enrolment makes thousands of ids
// at one instant; they must sort in the order they were made (tables keyed
// by them take their inserts in one place), stay distinct, and still be
// far apart (no id gives away its neighbour).
func TestIDsInOneMillisecondSortInOrder(t *testing.T) {
	at := time.Date(2026, 6, 1, 12, 0, 0, 0, time.UTC)
	var list []string
	for range 20000 {
		list = append(list, NewAt("wfr", at))
	}
	if !sort.StringsAreSorted(list) {
		t.Fatal("ids made in one millisecond do not sort in the order they were made")
	}
	seen := map[string]bool{}
	for _, s := range list {
		if seen[s] {
			t.Fatalf("duplicate id %s", s)
		}
		seen[s] = true
	}
	close := 0
	for i := 1; i < len(list); i++ {
		if list[i][:len(list[i])-2] == list[i-1][:len(list[i-1])-2] {
			close++
		}
	}
	if close > len(list)/100 {
		t.Fatalf("%d of %d consecutive ids differ only in their last two characters", close, len(list))
	}
	// An earlier millisecond (a clock set back, a test's fake clock) gets
	// fresh bits and still sorts by its time.
	earlier := NewAt("wfr", at.Add(-time.Second))
	if earlier >= list[0] {
		t.Fatalf("an id a second earlier (%s) sorts after %s", earlier, list[0])
	}
}

// TestIDsAreUniqueAcrossGoroutines: goroutines on a fake clock's instant
// and one on the real clock make ids side by side (as the workflow engine
// on an injected clock and the audit log on the real one do); each
// goroutine's ids still sort in its own order, and none repeats.
func TestIDsAreUniqueAcrossGoroutines(t *testing.T) {
	at := time.Date(2026, 6, 1, 12, 0, 0, 0, time.UTC)
	out := make(chan []string)
	for g := range 5 {
		go func() {
			var l []string
			for range 5000 {
				if g == 4 {
					l = append(l, New("aud"))
				} else {
					l = append(l, NewAt("evt", at))
				}
			}
			out <- l
		}()
	}
	seen := map[string]bool{}
	for range 5 {
		l := <-out
		if !sort.StringsAreSorted(l) {
			t.Fatal("one goroutine's ids do not sort in its order")
		}
		for _, s := range l {
			if seen[s] {
				t.Fatalf("duplicate id %s", s)
			}
			seen[s] = true
		}
	}
}
