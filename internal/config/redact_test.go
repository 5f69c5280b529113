package config

import (
	"reflect"
	"strings"
	"testing"
)

func TestRedacted(t *testing.T) {
	t.Parallel()
	c := Defaults()
	c.Database.URL = "postgres://carepost:hunter2@db.internal:5432/carepost?sslmode=verify-full"
	c.HTTP.PublicURL = "https://mail.example.org"
	c.Keys.KEKEnv = "CAREPOST_KEK"
	before := c.clone()

	r := c.Redacted()
	eq(t, "database.url", r.Database.URL, "postgres://carepost:xxxxx@db.internal:5432/carepost?sslmode=verify-full")
	eq(t, "http.public_url (no password)", r.HTTP.PublicURL, c.HTTP.PublicURL)
	eq(t, "keys.kek_env (a name, not a secret)", r.Keys.KEKEnv, "CAREPOST_KEK")
	if strings.Contains(r.TOML(), "hunter2") {
		t.Error("Redacted().TOML() shows the password")
	}
	if !reflect.DeepEqual(c, before) {
		t.Errorf("Redacted changed the original: %+v", c)
	}
}

// secretRoot stands in for a Config with a section holding a secret, which
// carepost's own sections avoid (secrets are references to files).
type secretRoot struct {
	Mail struct {
		Relay    string   `toml:"relay" doc:"relay URL"`
		Password string   `toml:"password" doc:"relay password" secret:"true"`
		Pin      int      `toml:"pin" doc:"pin" secret:"true"`
		Mirrors  []string `toml:"mirrors" doc:"mirror URLs"`
	} `toml:"mail"`
}

func TestRedactSecretField(t *testing.T) {
	t.Parallel()
	s, err := newSchema(reflect.TypeFor[secretRoot]())
	if err != nil {
		t.Fatal(err)
	}
	var root secretRoot
	v := reflect.ValueOf(&root).Elem()
	for key, value := range map[string]string{
		"mail.relay":    "smtp://relay:pw1@smtp.example.org",
		"mail.password": "hunter2",
		"mail.pin":      "1234",
		"mail.mirrors":  "https://a.example.org, https://u:pw2@b.example.org",
	} {
		if err := s.set(v, key, value); err != nil {
			t.Fatal(err)
		}
	}
	if err := s.set(v, "mail.pin", "hunter3"); err == nil || strings.Contains(err.Error(), "hunter3") {
		t.Errorf("Set of a bad secret = %v; want an error that does not echo it", err)
	}
	redactFields(v, s.fields)
	eq(t, "relay", root.Mail.Relay, "smtp://relay:xxxxx@smtp.example.org")
	eq(t, "password", root.Mail.Password, "xxxxx")
	eq(t, "pin", root.Mail.Pin, 0)
	eq(t, "mirrors", root.Mail.Mirrors, []string{"https://a.example.org", "https://u:xxxxx@b.example.org"})
}

func TestRedactURL(t *testing.T) {
	t.Parallel()
	for in, want := range map[string]string{
		"postgres://u:p@h/db":                      "postgres://u:xxxxx@h/db",
		"postgresql://u@h/db":                      "postgresql://u@h/db",
		"postgres://h/db?user=u&password=p":        "postgres://h/db?password=xxxxx&user=u",
		"postgres://u:p%2Fq@h/db":                  "postgres://u:xxxxx@h/db",
		"postgres://u:pa/ss@h/db":                  "postgres://u:xxxxx@h/db", // unescaped "/" in the password
		"postgres://u:pa?ss@h:5432/db":             "postgres://u:xxxxx@h:5432/db",
		"postgres://u:p@ss#w@h/db":                 "postgres://u:xxxxx@h/db",
		"/var/lib/carepost/carepost.db":            "/var/lib/carepost/carepost.db",
		"sqlite:///var/lib/carepost/carepost.db":   "sqlite:///var/lib/carepost/carepost.db",
		"https://mail.example.org/portal?to=a@b.c": "https://mail.example.org/portal?to=a@b.c",
		"https://h:8443/x?to=a@b.c":                "https://h:xxxxx@b.c", // over-redacted: ambiguous
		"":                                         "",
	} {
		if got := redactURL(in); got != want {
			t.Errorf("redactURL(%q) = %q, want %q", in, got, want)
		}
	}
}
