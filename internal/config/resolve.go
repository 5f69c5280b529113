package config

import (
	"errors"
	"fmt"
	"net"
	"net/netip"
	"os"
	"path/filepath"
	"reflect"
	"strings"
)

// WithDefaults returns a copy of c with every zero field set to its default
// and derived paths resolved, for configurations built in code:
//
//	cfg := (&config.Config{Data: config.Data{Dir: t.TempDir()}}).WithDefaults()
//
// Zero means unset here, so a field whose zero value means something
// (keys.rotation_interval = 0 disables rotation) must be set on the result,
// or start from Defaults instead. Load starts from Defaults, so a zero in a
// file, the environment or a flag is kept.
func (c *Config) WithDefaults() *Config {
	out := c.clone()
	v, def := reflect.ValueOf(out).Elem(), reflect.ValueOf(Defaults()).Elem()
	for _, f := range configSchema().fields {
		if fv := v.FieldByIndex(f.index); fv.IsZero() {
			fv.Set(def.FieldByIndex(f.index))
		}
	}
	out.Resolve()
	return out
}

// Resolve fills the settings that default to paths in data.dir or follow
// from other settings; it keeps any that are set. Call it after the last
// Set and before Validate. Resolving twice changes nothing.
//
//   - database.url: <data.dir>/carepost.db, unless url_file is set
//   - keys.kek_file: <data.dir>/kek.key, unless kek_env is set
//   - http.cert_file, http.key_file: <data.dir>/tls/cert.pem and key.pem
//     when http.tls is self-signed
//   - http.public_url: https://<listen> (http:// when tls is off), with
//     localhost for an unspecified host
func (c *Config) Resolve() {
	dir := c.Data.Dir
	if c.Database.URL == "" && c.Database.URLFile == "" {
		c.Database.URL = filepath.Join(dir, "carepost.db")
	}
	if c.Keys.KEKFile == "" && c.Keys.KEKEnv == "" {
		c.Keys.KEKFile = filepath.Join(dir, "kek.key")
	}
	if c.HTTP.TLS == TLSSelfSigned {
		if c.HTTP.CertFile == "" {
			c.HTTP.CertFile = filepath.Join(dir, "tls", "cert.pem")
		}
		if c.HTTP.KeyFile == "" {
			c.HTTP.KeyFile = filepath.Join(dir, "tls", "key.pem")
		}
	}
	if c.HTTP.PublicURL == "" {
		c.HTTP.PublicURL = defaultPublicURL(c.HTTP.Listen, c.HTTP.TLS)
	}
}

// defaultPublicURL is the URL of a server listening on listen, or "" when
// listen is not host:port (Validate reports that).
func defaultPublicURL(listen, tlsMode string) string {
	host, port, err := net.SplitHostPort(listen)
	if err != nil {
		return ""
	}
	if ip, err := netip.ParseAddr(host); host == "" || (err == nil && ip.IsUnspecified()) {
		host = "localhost"
	}
	scheme, defaultPort := "https", "443"
	if tlsMode == TLSOff {
		scheme, defaultPort = "http", "80"
	}
	if port == defaultPort {
		if strings.Contains(host, ":") { // IPv6
			host = "[" + host + "]"
		}
		return scheme + "://" + host
	}
	return scheme + "://" + net.JoinHostPort(host, port)
}

// DatabaseURL is the database URL: database.url, or the contents of
// database.url_file with surrounding white space removed. Call it after
// Resolve.
func (c *Config) DatabaseURL() (string, error) {
	if c.Database.URLFile == "" {
		if c.Database.URL == "" {
			return "", errors.New("database.url is empty; call Resolve first")
		}
		return c.Database.URL, nil
	}
	data, err := os.ReadFile(c.Database.URLFile)
	if err != nil {
		return "", fmt.Errorf("database.url_file: %w", err)
	}
	url := strings.TrimSpace(string(data))
	if url == "" {
		return "", fmt.Errorf("database.url_file: %s is empty", c.Database.URLFile)
	}
	return url, nil
}

// IsLoopback reports whether a host:port listen address accepts connections
// only from this machine: a loopback IP or localhost. An empty or
// unspecified host (all interfaces), a host name or an unparseable address
// is not loopback.
func IsLoopback(listen string) bool {
	host, _, err := net.SplitHostPort(listen)
	if err != nil {
		return false
	}
	if strings.EqualFold(host, "localhost") {
		return true
	}
	ip, err := netip.ParseAddr(host)
	return err == nil && ip.IsLoopback()
}

// clone is a deep copy of c: lists are copied, not shared.
func (c *Config) clone() *Config {
	out := *c
	v := reflect.ValueOf(&out).Elem()
	for _, f := range configSchema().fields {
		if fv := v.FieldByIndex(f.index); fv.Kind() == reflect.Slice && !fv.IsNil() {
			cp := reflect.MakeSlice(fv.Type(), fv.Len(), fv.Len())
			reflect.Copy(cp, fv)
			fv.Set(cp)
		}
	}
	out.warnings = append([]string(nil), c.warnings...)
	return &out
}
