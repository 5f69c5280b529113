package campaign

import (
	"testing"
	"time"
)

// FuzzScheduleInput: whatever a client sends as send_at and timezone, the
// parser answers an instant in UTC or a field error, never a panic.
func FuzzScheduleInput(f *testing.F) {
	for _, seed := range [][2]string{
		{"2026-03-02T09:00", "America/Chicago"}, {"2026-03-02 09:00:30", "Europe/Berlin"}, {"2026-03-02T09:00:00-05:00", ""},
		{"2026-13-40T25:61", "UTC"}, {"", ""}, {"2026-03-08T02:30", "America/New_York"}, {"tomorrow", "Local"}, {"2026-03-02T09:00", "../../etc/passwd"},
	} {
		f.Add(seed[0], seed[1])
	}
	f.Fuzz(func(t *testing.T, sendAt, tz string) {
		at, zone, err := ScheduleInput{SendAt: sendAt, Timezone: tz}.parse()
		if err != nil {
			return
		}
		if at.Location() != time.UTC || zone == "" {
			t.Fatalf("accepted %q in %q as %v in %q", sendAt, tz, at, zone)
		}
	})
}
