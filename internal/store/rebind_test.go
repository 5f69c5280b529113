package store

import (
	"testing"
	"time"
)

func TestRebind(t *testing.T) {
	t.Parallel()
	cases := []struct{ in, want string }{
		{"SELECT 1", "SELECT 1"},
		{"SELECT ? , ?", "SELECT $1 , $2"},
		{"SELECT '?', \"a?\", ? -- what?\n, ?", "SELECT '?', \"a?\", $1 -- what?\n, $2"},
	}
	for _, c := range cases {
		if got := rebind(Postgres, c.in); got != c.want {
			t.Errorf("rebind(%q) = %q, want %q", c.in, got, c.want)
		}
		if got := rebind(SQLite, c.in); got != c.in {
			t.Errorf("sqlite rebind changed %q", c.in)
		}
	}
}

func TestMicrosRoundTrip(t *testing.T) {
	t.Parallel()
	now := time.Now().Truncate(time.Microsecond)
	if got := FromMicros(Micros(now)); !got.Equal(now) {
		t.Fatalf("round trip %v -> %v", now, got)
	}
	if !FromMicros(Micros(time.Time{})).IsZero() {
		t.Fatal("zero time does not round-trip")
	}
}
