package config

import (
	"net/url"
	"reflect"
	"strings"
)

// redacted replaces a password or secret in printable output.
const redacted = "xxxxx"

// Redacted returns a copy of c that is safe to print or log: a field tagged
// secret is replaced by "xxxxx" (or zeroed, if not a string) and a password
// in any URL, in the user part or a password query parameter, becomes
// "xxxxx". c itself is not changed.
func (c *Config) Redacted() *Config {
	out := c.clone()
	redactFields(reflect.ValueOf(out).Elem(), configSchema().fields)
	return out
}

// redactFields redacts every field of root listed in fields.
func redactFields(root reflect.Value, fields []field) {
	for _, f := range fields {
		v := root.FieldByIndex(f.index)
		switch {
		case f.secret && v.Kind() == reflect.String:
			if v.String() != "" {
				v.SetString(redacted)
			}
		case f.secret:
			v.SetZero()
		case v.Kind() == reflect.String:
			v.SetString(redactURL(v.String()))
		case v.Kind() == reflect.Slice && v.Type().Elem().Kind() == reflect.String:
			for i := range v.Len() {
				e := v.Index(i)
				e.SetString(redactURL(e.String()))
			}
		}
	}
}

// redactURL replaces the password in a URL, if s is one and has one.
func redactURL(s string) string {
	scheme := strings.Index(s, "://")
	if scheme < 0 {
		return s
	}
	u, err := url.Parse(s)
	ats := strings.Count(s[scheme:], "@")
	if err != nil || ats > 1 || (ats == 1 && u.User == nil) {
		// QUIRK: unparseable, or an "@" the parser did not take as the end
		// of the user part, as with an unescaped "/", "?", "#" or "@" in a
		// password. Hide everything between "user:" and the last "@": this
		// can hide more than a password (a port, with an "@" in the query),
		// never less.
		return redactUserinfo(s, scheme+3)
	}
	changed := false
	if _, has := u.User.Password(); has {
		u.User = url.UserPassword(u.User.Username(), redacted)
		changed = true
	}
	q := u.Query()
	for k := range q {
		if strings.Contains(strings.ToLower(k), "password") {
			q.Set(k, redacted)
			changed = true
		}
	}
	if !changed {
		return s
	}
	u.RawQuery = q.Encode()
	return u.String()
}

// redactUserinfo hides what lies between the first ":" after start and the
// last "@" in s.
func redactUserinfo(s string, start int) string {
	at := strings.LastIndex(s, "@")
	if at < start {
		return s
	}
	colon := strings.Index(s[start:at], ":")
	if colon < 0 {
		return s
	}
	return s[:start+colon+1] + redacted + s[at:]
}
