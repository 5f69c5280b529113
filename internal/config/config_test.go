package config

import (
	"errors"
	"net/netip"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
)

// writeFile writes a config file into a fresh temporary folder.
func writeFile(t *testing.T, text string) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), "carepost.toml")
	if err := os.WriteFile(path, []byte(text), 0o600); err != nil {
		t.Fatal(err)
	}
	return path
}

func TestDefaultsValidate(t *testing.T) {
	t.Parallel()
	for name, c := range map[string]*Config{
		"unresolved": Defaults(),
		"resolved":   resolved(Defaults()),
		"loaded":     mustLoad(t, "", nil),
	} {
		if err := c.Validate(); err != nil {
			t.Errorf("%s defaults: %v", name, err)
		}
	}
	if !IsLoopback(Defaults().HTTP.Listen) {
		t.Errorf("default http.listen %q is not loopback", Defaults().HTTP.Listen)
	}
}

func resolved(c *Config) *Config { c.Resolve(); return c }

func mustLoad(t *testing.T, path string, environ []string) *Config {
	t.Helper()
	c, err := Load(path, environ)
	if err != nil {
		t.Fatalf("Load: %v", err)
	}
	return c
}

// TestLayers checks the order defaults, file, environment, flags: each layer
// overrides the ones before it and leaves other keys alone.
func TestLayers(t *testing.T) {
	t.Parallel()
	file := `
[http]
listen = "127.0.0.1:9000"
max_body = "10MiB"
trusted_proxies = ["10.0.0.0/8"]

[jobs]
workers = 5

[log]
level = "debug"
`
	env := []string{
		"CAREPOST_JOBS_WORKERS=7",
		"CAREPOST_LOG_LEVEL=warn",
		"CAREPOST_HTTP_TRUSTED_PROXIES=192.168.0.0/16, ::1/128",
		"PATH=/usr/bin",
	}
	flags := [][2]string{{"log.level", "error"}}

	tests := []struct {
		name  string
		file  bool
		env   bool
		flags bool
		check func(t *testing.T, c *Config)
	}{
		{"defaults", false, false, false, func(t *testing.T, c *Config) {
			want := Defaults()
			if !reflect.DeepEqual(c, want) {
				t.Errorf("Load with no file or environment = %+v, want Defaults %+v", c, want)
			}
		}},
		{"file overrides defaults", true, false, false, func(t *testing.T, c *Config) {
			eq(t, "http.listen", c.HTTP.Listen, "127.0.0.1:9000")
			eq(t, "http.max_body", c.HTTP.MaxBody, 10*MiB)
			eq(t, "http.trusted_proxies", c.HTTP.TrustedProxies, []netip.Prefix{netip.MustParsePrefix("10.0.0.0/8")})
			eq(t, "jobs.workers", c.Jobs.Workers, 5)
			eq(t, "log.level", c.Log.Level, "debug")
			eq(t, "http.tls (not in file)", c.HTTP.TLS, TLSSelfSigned)
		}},
		{"environment overrides file", true, true, false, func(t *testing.T, c *Config) {
			eq(t, "jobs.workers", c.Jobs.Workers, 7)
			eq(t, "log.level", c.Log.Level, "warn")
			eq(t, "http.trusted_proxies", c.HTTP.TrustedProxies, []netip.Prefix{
				netip.MustParsePrefix("192.168.0.0/16"), netip.MustParsePrefix("::1/128")})
			eq(t, "http.listen (file only)", c.HTTP.Listen, "127.0.0.1:9000")
		}},
		{"flags override environment", true, true, true, func(t *testing.T, c *Config) {
			eq(t, "log.level", c.Log.Level, "error")
			eq(t, "jobs.workers (environment only)", c.Jobs.Workers, 7)
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			var path string
			var environ []string
			if tt.file {
				path = writeFile(t, file)
			}
			if tt.env {
				environ = env
			}
			c := mustLoad(t, path, environ)
			if tt.flags {
				for _, f := range flags {
					if err := c.Set(f[0], f[1]); err != nil {
						t.Fatal(err)
					}
				}
			}
			tt.check(t, c)
			if err := resolved(c).Validate(); err != nil {
				t.Errorf("Validate: %v", err)
			}
		})
	}
}

func eq[T any](t *testing.T, what string, got, want T) {
	t.Helper()
	if !reflect.DeepEqual(got, want) {
		t.Errorf("%s = %v, want %v", what, got, want)
	}
}

func TestEnvironment(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name     string
		environ  []string
		warnings []string // variable names warned about
		errs     []string // substrings of the error, none for success
	}{
		{"other CAREPOST_ variables are not config", []string{
			"CAREPOST_TEST_POSTGRES_URL=postgres://x", "CAREPOST_KEK=secret", "CAREPOST_CONFIG=/etc/carepost.toml",
		}, nil, nil},
		{"misspelt key is a warning", []string{"CAREPOST_HTTP_LISTN=:1", "CAREPOST_DATA_DIRR=/x"},
			[]string{"CAREPOST_HTTP_LISTN", "CAREPOST_DATA_DIRR"}, nil},
		{"the variable kek_env names is not warned about", []string{
			"CAREPOST_KEYS_KEK_ENV=CAREPOST_KEYS_KEK", "CAREPOST_KEYS_KEK=secret",
		}, nil, nil},
		{"empty counts as unset", []string{"CAREPOST_JOBS_WORKERS="}, nil, nil},
		{"bad values are all reported", []string{"CAREPOST_JOBS_WORKERS=many", "CAREPOST_HTTP_MAX_BODY=big"}, nil, []string{
			`environment variable CAREPOST_JOBS_WORKERS: jobs.workers: "many" is not an integer`,
			`environment variable CAREPOST_HTTP_MAX_BODY: http.max_body: "big" is not a size`,
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			c, err := Load("", tt.environ)
			if tt.errs != nil {
				if err == nil {
					t.Fatal("Load succeeded")
				}
				for _, want := range tt.errs {
					if !strings.Contains(err.Error(), want) {
						t.Errorf("Load error %q does not contain %q", err, want)
					}
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if len(c.Warnings()) != len(tt.warnings) {
				t.Fatalf("warnings = %q, want one for each of %q", c.Warnings(), tt.warnings)
			}
			for i, name := range tt.warnings {
				if !strings.Contains(c.Warnings()[i], name) {
					t.Errorf("warning %q does not name %s", c.Warnings()[i], name)
				}
			}
		})
	}
}

func TestFileErrors(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		file string
		want []string // substrings of the error
	}{
		{"unknown key", "[http]\nlisten = \"127.0.0.1:1\"\nlistn = \"x\"\n",
			[]string{`line 3: unknown key "http.listn"`}},
		{"unknown section reported once", "[smtp]\nhost = \"x\"\nport = 25\n",
			[]string{`line 1: unknown key "smtp"`}},
		{"several unknown keys", "workers = 1\n[jobs]\nworkerz = 2\n[log]\nlevl = \"x\"\n",
			[]string{`line 1: unknown key "workers"`, `line 3: unknown key "jobs.workerz"`, `line 5: unknown key "log.levl"`}},
		{"dotted unknown key", "http.listn = \"x\"\n", []string{`unknown key "http.listn"`}},
		{"bad duration names the key and line", "[keys]\n\nrotation_interval = \"often\"\n",
			[]string{"line 3", "keys.rotation_interval", `"often" is not a duration`}},
		{"wrong type", "[jobs]\nworkers = \"many\"\n", []string{"jobs.workers"}},
		{"syntax error", "[log]\nlevel = \n", []string{"toml: line 2"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			path := writeFile(t, tt.file)
			_, err := Load(path, nil)
			if err == nil {
				t.Fatal("Load succeeded")
			}
			for _, w := range append(tt.want, path) {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error %q does not contain %q", err, w)
				}
			}
		})
	}
	if _, err := Load(filepath.Join(t.TempDir(), "missing.toml"), nil); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("Load of a missing file = %v, want ErrNotExist", err)
	}
}

func TestSet(t *testing.T) {
	t.Parallel()
	tests := []struct {
		key, value string
		get        func(*Config) any
		want       any
		err        string
	}{
		{"http.listen", "[::1]:443", func(c *Config) any { return c.HTTP.Listen }, "[::1]:443", ""},
		{"demo.enabled", "true", func(c *Config) any { return c.Demo.Enabled }, true, ""},
		{"database.max_conns", "50", func(c *Config) any { return c.Database.MaxConns }, 50, ""},
		{"keys.rotation_interval", "0", func(c *Config) any { return c.Keys.RotationInterval }, Duration(0), ""},
		{"audit.retention", "2555d", func(c *Config) any { return c.Audit.Retention }, Duration(2555 * day), ""},
		{"http.max_body", "25MB", func(c *Config) any { return c.HTTP.MaxBody }, 25 * MB, ""},
		{"http.trusted_proxies", "", func(c *Config) any { return c.HTTP.TrustedProxies }, []netip.Prefix(nil), ""},
		{"http.trusted_proxies", "10.0.0.0/8,,fd00::/8 ", func(c *Config) any { return c.HTTP.TrustedProxies },
			[]netip.Prefix{netip.MustParsePrefix("10.0.0.0/8"), netip.MustParsePrefix("fd00::/8")}, ""},
		{"http.trusted_proxies", "10.0.0.0/8,nonsense", nil, nil, "http.trusted_proxies:"},
		{"demo.enabled", "maybe", nil, nil, `demo.enabled: "maybe" is not true or false`},
		{"jobs.fetch_poll_interval", "soon", nil, nil, `jobs.fetch_poll_interval: "soon" is not a duration`},
		{"http.listn", "x", nil, nil, `unknown key "http.listn"`},
		{"HTTP.LISTEN", "x", nil, nil, "unknown key"},
	}
	for _, tt := range tests {
		t.Run(tt.key+"="+tt.value, func(t *testing.T) {
			t.Parallel()
			c := Defaults()
			err := c.Set(tt.key, tt.value)
			if tt.err != "" {
				if err == nil || !strings.Contains(err.Error(), tt.err) {
					t.Fatalf("Set error = %v, want %q", err, tt.err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			eq(t, tt.key, tt.get(c), tt.want)
		})
	}
}

func TestResolve(t *testing.T) {
	t.Parallel()
	dir := filepath.Join("var", "lib", "carepost")
	tests := []struct {
		name  string
		set   map[string]string
		check func(t *testing.T, c *Config)
	}{
		{"paths in data.dir", nil, func(t *testing.T, c *Config) {
			eq(t, "database.url", c.Database.URL, filepath.Join(dir, "carepost.db"))
			eq(t, "keys.kek_file", c.Keys.KEKFile, filepath.Join(dir, "kek.key"))
			eq(t, "http.cert_file", c.HTTP.CertFile, filepath.Join(dir, "tls", "cert.pem"))
			eq(t, "http.key_file", c.HTTP.KeyFile, filepath.Join(dir, "tls", "key.pem"))
			eq(t, "http.public_url", c.HTTP.PublicURL, "https://127.0.0.1:8443")
		}},
		{"set values are kept", map[string]string{
			"database.url": "postgres://db/carepost", "keys.kek_file": "/etc/kek", "http.public_url": "https://mail.example.org",
		}, func(t *testing.T, c *Config) {
			eq(t, "database.url", c.Database.URL, "postgres://db/carepost")
			eq(t, "keys.kek_file", c.Keys.KEKFile, "/etc/kek")
			eq(t, "http.public_url", c.HTTP.PublicURL, "https://mail.example.org")
		}},
		{"url_file and kek_env leave their alternatives empty", map[string]string{
			"database.url_file": "/run/secrets/db", "keys.kek_env": "CAREPOST_KEK",
		}, func(t *testing.T, c *Config) {
			eq(t, "database.url", c.Database.URL, "")
			eq(t, "keys.kek_file", c.Keys.KEKFile, "")
		}},
		{"tls files: no generated paths", map[string]string{"http.tls": "files"}, func(t *testing.T, c *Config) {
			eq(t, "http.cert_file", c.HTTP.CertFile, "")
		}},
		{"tls off: http public URL", map[string]string{"http.tls": "off", "http.listen": "0.0.0.0:80"}, func(t *testing.T, c *Config) {
			eq(t, "http.public_url", c.HTTP.PublicURL, "http://localhost")
		}},
		{"all interfaces: localhost", map[string]string{"http.listen": "[::]:8443"}, func(t *testing.T, c *Config) {
			eq(t, "http.public_url", c.HTTP.PublicURL, "https://localhost:8443")
		}},
		{"IPv6 loopback", map[string]string{"http.listen": "[::1]:443"}, func(t *testing.T, c *Config) {
			eq(t, "http.public_url", c.HTTP.PublicURL, "https://[::1]")
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			c := Defaults()
			c.Data.Dir = dir
			for k, v := range tt.set {
				if err := c.Set(k, v); err != nil {
					t.Fatal(err)
				}
			}
			c.Resolve()
			tt.check(t, c)
			again := c.clone()
			again.Resolve()
			eq(t, "resolved twice", again, c)
		})
	}
}

func TestWithDefaults(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	c := &Config{Data: Data{Dir: dir}, Jobs: Jobs{Workers: 3}}
	got := c.WithDefaults()
	eq(t, "jobs.workers (set)", got.Jobs.Workers, 3)
	eq(t, "http.listen (zero)", got.HTTP.Listen, Defaults().HTTP.Listen)
	eq(t, "audit.retention (zero)", got.Audit.Retention, MinRetention)
	eq(t, "database.url (derived)", got.Database.URL, filepath.Join(dir, "carepost.db"))
	if err := got.Validate(); err != nil {
		t.Errorf("Validate: %v", err)
	}
	if c.HTTP.Listen != "" {
		t.Error("WithDefaults changed its receiver")
	}
}

func TestDatabaseURL(t *testing.T) {
	t.Parallel()
	path := writeFile(t, "  postgres://carepost:s3cret@db:5432/carepost\n")
	c := Defaults()
	c.Database.URLFile = path
	c.Resolve()
	url, err := c.DatabaseURL()
	eq(t, "DatabaseURL from url_file", url, "postgres://carepost:s3cret@db:5432/carepost")
	if err != nil {
		t.Fatal(err)
	}
	if strings.Contains(c.TOML(), "s3cret") {
		t.Error("TOML shows the password held in url_file")
	}

	c = resolved(Defaults())
	url, err = c.DatabaseURL()
	eq(t, "DatabaseURL default", url, filepath.Join("carepost-data", "carepost.db"))
	if err != nil {
		t.Fatal(err)
	}

	c.Database.URL, c.Database.URLFile = "", filepath.Join(t.TempDir(), "missing")
	if _, err := c.DatabaseURL(); err == nil || !strings.Contains(err.Error(), "database.url_file") {
		t.Errorf("DatabaseURL with a missing url_file = %v", err)
	}
}

func TestIsLoopback(t *testing.T) {
	t.Parallel()
	for listen, want := range map[string]bool{
		"127.0.0.1:8443": true,
		"127.0.0.2:80":   true,
		"[::1]:8443":     true,
		"localhost:8443": true,
		"LocalHost:1":    true,
		":8443":          false,
		"0.0.0.0:8443":   false,
		"[::]:8443":      false,
		"10.1.2.3:8443":  false,
		"example.org:1":  false,
		"127.0.0.1":      false, // no port: not a listen address
		"":               false,
	} {
		if got := IsLoopback(listen); got != want {
			t.Errorf("IsLoopback(%q) = %v, want %v", listen, got, want)
		}
	}
}

func TestSlogLevel(t *testing.T) {
	t.Parallel()
	for level, want := range map[string]string{"debug": "DEBUG", "warn": "WARN", "error": "ERROR", "bogus": "INFO"} {
		if got := (Log{Level: level}).SlogLevel().String(); got != want {
			t.Errorf("SlogLevel(%q) = %s, want %s", level, got, want)
		}
	}
}
