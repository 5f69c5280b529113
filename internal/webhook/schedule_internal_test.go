package webhook

import (
	"testing"
	"time"
)

func TestDefaultScheduleSpansMoreThanADay(t *testing.T) {
	t.Parallel()
	o := Options{Jitter: -1}.WithDefaults()
	now := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	at := now
	var delays []time.Duration
	for n := 1; ; n++ {
		next, ok := o.nextAttempt(n, at)
		if !ok {
			if n != 8 {
				t.Fatalf("schedule ended after attempt %d, want 8", n)
			}
			break
		}
		delays = append(delays, next.Sub(at))
		at = next
	}
	want := []time.Duration{5 * time.Second, 5 * time.Minute, 30 * time.Minute, 2 * time.Hour, 5 * time.Hour, 10 * time.Hour, 10 * time.Hour}
	if len(delays) != len(want) {
		t.Fatalf("delays %v, want %v", delays, want)
	}
	for i := range want {
		if delays[i] != want[i] {
			t.Fatalf("delays %v, want %v", delays, want)
		}
		if i > 0 && delays[i] < delays[i-1] {
			t.Fatalf("delays shrink: %v", delays)
		}
	}
	if total := at.Sub(now); total < 24*time.Hour {
		t.Fatalf("retries span %s, want at least 24h", total)
	}
}

func TestJitterOnlyDelays(t *testing.T) {
	t.Parallel()
	o := Options{}.WithDefaults()
	now := time.Now()
	for i := 0; i < 200; i++ {
		next, ok := o.nextAttempt(2, now)
		d := next.Sub(now)
		if !ok || d < 5*time.Minute || d > 5*time.Minute+30*time.Second {
			t.Fatalf("attempt 3 after %s, want 5m to 5m30s", d)
		}
	}
	if _, ok := o.nextAttempt(0, now); ok {
		t.Fatal("attempt 0 has a successor")
	}
}

func TestClassify(t *testing.T) {
	t.Parallel()
	for status, want := range map[int]outcome{
		200: succeeded, 204: succeeded, 299: succeeded,
		410: gone,
		0:   retry, 301: retry, 302: retry, 400: retry, 404: retry, 429: retry, 500: retry, 503: retry,
	} {
		if got := classify(status); got != want {
			t.Errorf("classify(%d) = %v, want %v", status, got, want)
		}
	}
}

func TestOptionsValidate(t *testing.T) {
	t.Parallel()
	if err := (Options{}).Validate(); err != nil {
		t.Fatalf("zero options: %v", err)
	}
	bad := Options{Timeout: -1, Schedule: []time.Duration{}, Jitter: 2}
	if err := bad.Validate(); err == nil {
		t.Fatal("bad options accepted")
	}
	if err := (Options{Schedule: []time.Duration{0, -time.Second}}).Validate(); err == nil {
		t.Fatal("negative delay accepted")
	}
}
