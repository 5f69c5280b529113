package config

import (
	"errors"
	"fmt"
	"math/big"
	"strconv"
	"strings"
	"time"
)

// Duration is a time.Duration written in Go syntax ("90s", "15m", "1h30m")
// or with a leading number of days ("90d", "2192d", "1d12h"). It marshals
// to the shortest of those forms that means the same.
type Duration time.Duration

const day = 24 * time.Hour

// maxDays is the largest day count a Duration holds.
const maxDays = int64(1<<63-1) / int64(day)

// ParseDuration parses a duration in Go syntax, optionally starting with a
// whole number of days: "90d", "1d12h", "-2d", "500ms".
func ParseDuration(s string) (Duration, error) {
	d, err := parseDuration(s)
	if err != nil {
		return 0, fmt.Errorf("%q is not a duration (use Go syntax like 30s, 15m, 2h, or days like 90d): %w", s, err)
	}
	return d, nil
}

func parseDuration(s string) (Duration, error) {
	rest, neg := s, false
	if rest != "" && (rest[0] == '-' || rest[0] == '+') {
		neg, rest = rest[0] == '-', rest[1:]
	}
	if rest == "" {
		return 0, errors.New("empty")
	}
	var days int64
	if i := strings.IndexByte(rest, 'd'); i >= 0 { // no Go unit contains a d
		n, err := strconv.ParseInt(rest[:i], 10, 64)
		if err != nil || i == 0 || rest[0] == '+' || rest[0] == '-' {
			return 0, errors.New("days must be a whole number before the d")
		}
		if n > maxDays {
			return 0, errors.New("out of range")
		}
		days, rest = n, rest[i+1:]
	}
	var sub time.Duration
	if rest != "" {
		if rest[0] == '+' || rest[0] == '-' {
			return 0, errors.New("sign inside the duration")
		}
		var err error
		if sub, err = time.ParseDuration(rest); err != nil {
			return 0, errors.New(strings.TrimPrefix(err.Error(), "time: "))
		}
	}
	whole := time.Duration(days) * day
	if whole > time.Duration(1<<63-1)-sub {
		return 0, errors.New("out of range")
	}
	d := whole + sub
	if neg {
		d = -d
	}
	return Duration(d), nil
}

// Duration is d as a time.Duration.
func (d Duration) Duration() time.Duration { return time.Duration(d) }

// String formats d in the shortest form ParseDuration reads back: "90d",
// "36h", "1h30m", "1.5s", "0s".
func (d Duration) String() string {
	if d == 0 {
		return "0s"
	}
	sign, u := "", uint64(d)
	if d < 0 {
		sign, u = "-", -u
	}
	withDays, withoutDays := formatDuration(u, true), formatDuration(u, false)
	if len(withDays) < len(withoutDays) {
		return sign + withDays
	}
	return sign + withoutDays
}

// formatDuration writes u nanoseconds as days (optionally), hours and
// minutes, then time.Duration's form of the remaining seconds, leaving out
// zero parts.
func formatDuration(u uint64, days bool) string {
	var b strings.Builder
	if days {
		if n := u / uint64(day); n > 0 {
			b.WriteString(strconv.FormatUint(n, 10) + "d")
			u %= uint64(day)
		}
	}
	if n := u / uint64(time.Hour); n > 0 {
		b.WriteString(strconv.FormatUint(n, 10) + "h")
		u %= uint64(time.Hour)
	}
	if n := u / uint64(time.Minute); n > 0 {
		b.WriteString(strconv.FormatUint(n, 10) + "m")
		u %= uint64(time.Minute)
	}
	if u > 0 {
		b.WriteString(time.Duration(u).String())
	}
	return b.String()
}

// MarshalText implements encoding.TextMarshaler.
func (d Duration) MarshalText() ([]byte, error) { return []byte(d.String()), nil }

// UnmarshalText implements encoding.TextUnmarshaler.
func (d *Duration) UnmarshalText(text []byte) error {
	v, err := ParseDuration(string(text))
	if err != nil {
		return err
	}
	*d = v
	return nil
}

// Size is a number of bytes, written as a plain number or with a decimal
// (KB, MB, GB, TB: powers of 1000) or binary (KiB, MiB, GiB, TiB: powers of
// 1024) unit: "25MB", "10MiB", "1.5GB", "1048576". Units are not case
// sensitive and may follow a space.
type Size int64

// Size units.
const (
	B   Size = 1
	KB  Size = 1000
	MB       = 1000 * KB
	GB       = 1000 * MB
	TB       = 1000 * GB
	KiB Size = 1024
	MiB      = 1024 * KiB
	GiB      = 1024 * MiB
	TiB      = 1024 * GiB
)

// sizeUnits are in the order String prefers them.
var sizeUnits = []struct {
	name string
	size Size
}{
	{"TB", TB}, {"TiB", TiB}, {"GB", GB}, {"GiB", GiB},
	{"MB", MB}, {"MiB", MiB}, {"KB", KB}, {"KiB", KiB}, {"B", B},
}

// ParseSize parses a byte size: "25MB", "10 MiB", "1.5GB", "4096".
func ParseSize(s string) (Size, error) {
	n, err := parseSize(s)
	if err != nil {
		return 0, fmt.Errorf("%q is not a size (use a number of bytes or units like 25MB, 10MiB): %w", s, err)
	}
	return n, nil
}

func parseSize(s string) (Size, error) {
	s = strings.TrimSpace(s)
	end := strings.IndexFunc(s, func(r rune) bool { return (r < '0' || r > '9') && r != '.' })
	if end < 0 {
		end = len(s)
	}
	num, unitName := s[:end], strings.TrimSpace(s[end:])
	if num == "" || num[0] == '.' || num[len(num)-1] == '.' || strings.Count(num, ".") > 1 {
		return 0, errors.New("no number")
	}
	unit, ok := B, unitName == ""
	for _, u := range sizeUnits {
		if strings.EqualFold(unitName, u.name) {
			unit, ok = u.size, true
		}
	}
	if !ok {
		return 0, fmt.Errorf("unknown unit %q", unitName)
	}
	r, ok := new(big.Rat).SetString(num)
	if !ok {
		return 0, errors.New("bad number")
	}
	r.Mul(r, new(big.Rat).SetInt64(int64(unit)))
	if !r.IsInt() {
		return 0, errors.New("not a whole number of bytes")
	}
	if !r.Num().IsInt64() {
		return 0, errors.New("out of range")
	}
	return Size(r.Num().Int64()), nil
}

// Bytes is s as a number of bytes.
func (s Size) Bytes() int64 { return int64(s) }

// String formats s in the shortest exact form ParseSize reads back,
// preferring larger and decimal units on a tie: "50MB", "10MiB", "1500B".
func (s Size) String() string {
	if s == 0 {
		return "0B"
	}
	best := ""
	for _, u := range sizeUnits {
		if s%u.size != 0 {
			continue
		}
		if f := strconv.FormatInt(int64(s/u.size), 10) + u.name; best == "" || len(f) < len(best) {
			best = f
		}
	}
	return best
}

// MarshalText implements encoding.TextMarshaler.
func (s Size) MarshalText() ([]byte, error) { return []byte(s.String()), nil }

// UnmarshalText implements encoding.TextUnmarshaler.
func (s *Size) UnmarshalText(text []byte) error {
	v, err := ParseSize(string(text))
	if err != nil {
		return err
	}
	*s = v
	return nil
}
