package config

import (
	"net/netip"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"
)

// TestTOMLRoundTrip renders configurations and loads them back.
func TestTOMLRoundTrip(t *testing.T) {
	t.Parallel()
	changed := Defaults()
	changed.Data.Dir = `C:\carepost "data"` + "\t\x01é"
	changed.Database.URL = "postgres://carepost@db/carepost"
	changed.Database.MaxConns = 99
	changed.Keys.KEKEnv = "CAREPOST_KEK"
	changed.Keys.RotationInterval = 0
	changed.Keys.CurrentTTL = Duration(1500 * time.Millisecond)
	changed.HTTP.Listen = "[::1]:0"
	changed.HTTP.TLS = TLSFiles
	changed.HTTP.CertFile, changed.HTTP.KeyFile = "/etc/tls/cert.pem", "/etc/tls/key.pem"
	changed.HTTP.MaxBody = 10 * MiB
	changed.HTTP.TrustedProxies = []netip.Prefix{netip.MustParsePrefix("10.0.0.0/8"), netip.MustParsePrefix("fd00::/8")}
	changed.Audit.Retention = Duration(2555*day + time.Hour)
	changed.Jobs.Workers = 1
	changed.Log.Format = "json"
	changed.Demo.Enabled = true

	for name, c := range map[string]*Config{
		"defaults": Defaults(),
		"resolved": resolved(Defaults()),
		"changed":  changed,
	} {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			text := c.TOML()
			path := filepath.Join(t.TempDir(), "carepost.toml")
			if err := os.WriteFile(path, []byte(text), 0o600); err != nil {
				t.Fatal(err)
			}
			back, err := Load(path, nil)
			if err != nil {
				t.Fatalf("Load of TOML output: %v\n%s", err, text)
			}
			sameEmptySlices(back, c) // [] loads as empty, not nil
			if !reflect.DeepEqual(back, c) {
				t.Errorf("round trip changed the config:\n got %+v\nwant %+v\n%s", back, c, text)
			}
		})
	}
}

func TestTOMLShowsDefaultsOfChangedKeys(t *testing.T) {
	t.Parallel()
	c := Defaults()
	c.Jobs.Workers = 3
	text := c.TOML()
	for _, want := range []string{
		"[jobs]\n# how many background jobs run at once on this node (default 20)\nworkers = 3\n",
		"\nlisten = \"127.0.0.1:8443\"\n",
		"\ntrusted_proxies = []\n",
		"\nretention = \"2192d\"\n",
	} {
		if !strings.Contains(text, want) {
			t.Errorf("TOML output lacks %q:\n%s", want, text)
		}
	}
	for _, line := range strings.Split(text, "\n")[1:] {
		if strings.HasPrefix(line, "#") && len(line) > 80 && strings.Count(line, " ") > 1 {
			t.Errorf("comment line longer than 80 columns: %q", line)
		}
	}
}

// sameEmptySlices gives back the nil-or-empty form c has for every empty
// slice field, since TOML cannot tell them apart.
func sameEmptySlices(back, c *Config) {
	bv, cv := reflect.ValueOf(back).Elem(), reflect.ValueOf(c).Elem()
	for _, f := range configSchema().fields {
		b, w := bv.FieldByIndex(f.index), cv.FieldByIndex(f.index)
		if b.Kind() == reflect.Slice && b.Len() == 0 && w.Len() == 0 {
			b.Set(w)
		}
	}
}
