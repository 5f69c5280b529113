package config

import (
	"reflect"
	"testing"
)

// The seed corpora are in testdata/fuzz; f.Add keeps a few here too so the
// targets run meaningfully even without them.

func FuzzParseDuration(f *testing.F) {
	for _, s := range []string{"90d", "1d12h", "-2d", "1.5s", "0", "", "d", "106751d23h"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		d, err := ParseDuration(s)
		if err != nil {
			return
		}
		back, err := ParseDuration(d.String())
		if err != nil {
			t.Fatalf("ParseDuration(%q) = %v, whose String %q does not parse: %v", s, int64(d), d.String(), err)
		}
		if back != d {
			t.Fatalf("ParseDuration(%q) = %d, but its String %q parses to %d", s, int64(d), d.String(), int64(back))
		}
	})
}

func FuzzParseSize(f *testing.F) {
	for _, s := range []string{"25MB", "10MiB", "1.5GB", "4096", "0.5KiB", "", "1e3", "9223372036854775807"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		n, err := ParseSize(s)
		if err != nil {
			return
		}
		if n < 0 {
			t.Fatalf("ParseSize(%q) = %d, negative", s, n)
		}
		back, err := ParseSize(n.String())
		if err != nil || back != n {
			t.Fatalf("ParseSize(%q) = %d, but its String %q parses to %d, %v", s, n, n.String(), back, err)
		}
	})
}

// FuzzDecode feeds arbitrary config files to the decoder: it must not
// panic, and whatever it accepts must survive a round trip through TOML.
func FuzzDecode(f *testing.F) {
	f.Add([]byte("[http]\nlisten = \"127.0.0.1:1\"\nmax_body = \"1MiB\"\ntrusted_proxies = [\"10.0.0.0/8\"]\n"))
	f.Add([]byte("[keys]\nrotation_interval = \"0\"\n[smtp]\nx = 1\n"))
	f.Add([]byte("http.listn = 1\n[jobs]\nworkers = 3\n"))
	f.Fuzz(func(t *testing.T, data []byte) {
		c := Defaults()
		if err := c.decode("fuzz.toml", data); err != nil {
			return
		}
		back := Defaults()
		if err := back.decode("fuzz.toml", []byte(c.TOML())); err != nil {
			t.Fatalf("TOML output does not decode: %v\n%s", err, c.TOML())
		}
		sameEmptySlices(back, c) // [] loads as empty, not nil
		if !reflect.DeepEqual(back, c) {
			t.Fatalf("round trip changed the config:\n got %+v\nwant %+v", back, c)
		}
	})
}
