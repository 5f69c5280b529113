package config

import (
	"strings"
	"testing"
	"time"
)

func TestParseDuration(t *testing.T) {
	t.Parallel()
	tests := []struct {
		in   string
		want time.Duration
		str  string // String of the result
	}{
		{"90d", 90 * day, "90d"},
		{"2192d", 2192 * day, "2192d"},
		{"1d12h", 36 * time.Hour, "36h"},
		{"100d1s", 100*day + time.Second, "100d1s"},
		{"0d", 0, "0s"},
		{"0", 0, "0s"},
		{"30s", 30 * time.Second, "30s"},
		{"120s", 2 * time.Minute, "2m"},
		{"90m", 90 * time.Minute, "1h30m"},
		{"1.5s", 1500 * time.Millisecond, "1.5s"},
		{"50ms", 50 * time.Millisecond, "50ms"},
		{"1h0m1ms", time.Hour + time.Millisecond, "1h1ms"},
		{"-2d", -2 * day, "-2d"},
		{"+15m", 15 * time.Minute, "15m"},
		{"106751d", 106751 * day, "106751d"},
	}
	for _, tt := range tests {
		t.Run(tt.in, func(t *testing.T) {
			t.Parallel()
			d, err := ParseDuration(tt.in)
			if err != nil {
				t.Fatal(err)
			}
			if d.Duration() != tt.want {
				t.Errorf("ParseDuration(%q) = %v, want %v", tt.in, d.Duration(), tt.want)
			}
			if d.String() != tt.str {
				t.Errorf("String = %q, want %q", d.String(), tt.str)
			}
		})
	}
}

func TestParseDurationErrors(t *testing.T) {
	t.Parallel()
	for _, in := range []string{
		"", "-", "d", "90", "1.5d", "d5h", "1d2d", "1d-2h", "--1s", "+-1s", "1 d", "1D",
		"soon", "5x", "999999999d", "106751d24h", "1_0d", "١d",
	} {
		t.Run(in, func(t *testing.T) {
			t.Parallel()
			d, err := ParseDuration(in)
			if err == nil {
				t.Fatalf("ParseDuration(%q) = %v, want an error", in, d)
			}
			if !strings.Contains(err.Error(), "is not a duration") || !strings.Contains(err.Error(), "90d") {
				t.Errorf("error %q should say what a duration looks like", err)
			}
		})
	}
}

func TestParseSize(t *testing.T) {
	t.Parallel()
	tests := []struct {
		in   string
		want Size
		str  string
	}{
		{"0", 0, "0B"},
		{"4096", 4096, "4KiB"},
		{"1500", 1500, "1500B"},
		{"25MB", 25_000_000, "25MB"},
		{"50MB", 50 * MB, "50MB"},
		{"10MiB", 10 << 20, "10MiB"},
		{"10 mib", 10 << 20, "10MiB"},
		{"1kb", 1000, "1KB"},
		{"1.5GB", 1_500_000_000, "1500MB"},
		{"0.5KiB", 512, "512B"},
		{"2TiB", 2 << 40, "2TiB"},
		{"1000000", 1_000_000, "1MB"},
		{"7B", 7, "7B"},
	}
	for _, tt := range tests {
		t.Run(tt.in, func(t *testing.T) {
			t.Parallel()
			s, err := ParseSize(tt.in)
			if err != nil {
				t.Fatal(err)
			}
			if s != tt.want || s.Bytes() != int64(tt.want) {
				t.Errorf("ParseSize(%q) = %d, want %d", tt.in, s, tt.want)
			}
			if s.String() != tt.str {
				t.Errorf("String = %q, want %q", s.String(), tt.str)
			}
		})
	}
}

func TestParseSizeErrors(t *testing.T) {
	t.Parallel()
	for _, in := range []string{
		"", "MB", "-1", "-1MB", "1.5B", "0.1", "1..5MB", ".5MB", "5.MB", "1e3", "10 megabytes",
		"10M", "9999999999999TB", "1.2.3", "0x10",
	} {
		t.Run(in, func(t *testing.T) {
			t.Parallel()
			if s, err := ParseSize(in); err == nil {
				t.Fatalf("ParseSize(%q) = %d, want an error", in, s)
			} else if !strings.Contains(err.Error(), "is not a size") {
				t.Errorf("error %q should say it is not a size", err)
			}
		})
	}
}
