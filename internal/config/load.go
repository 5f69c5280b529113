package config

import (
	"errors"
	"fmt"
	"os"
	"reflect"
	"strconv"
	"strings"

	"github.com/BurntSushi/toml"
)

// Load builds a Config from Defaults, then the TOML file at path (skipped
// when path is ""), then the CAREPOST_ variables in environ (as from
// os.Environ). It neither resolves derived paths nor validates, because
// flags come after it: apply them with Set, then call Resolve and Validate.
//
// A key the file does not know is an error; a CAREPOST_ variable that
// matches no key is a warning, in Warnings.
func Load(path string, environ []string) (*Config, error) {
	c := Defaults()
	if path != "" {
		data, err := os.ReadFile(path)
		if err != nil {
			return nil, fmt.Errorf("read config file: %w", err)
		}
		if err := c.decode(path, data); err != nil {
			return nil, err
		}
	}
	warnings, err := c.applyEnv(environ)
	if err != nil {
		return nil, err
	}
	c.warnings = warnings
	return c, nil
}

// decode overlays the TOML document data, read from the file name, on c:
// keys it has override, keys it lacks keep their value.
func (c *Config) decode(name string, data []byte) error {
	md, err := toml.Decode(string(data), c)
	if err != nil {
		return fmt.Errorf("config file %s: %w", name, err)
	}
	var errs []error
	undecoded := map[string]bool{}
	for _, k := range md.Undecoded() {
		undecoded[k.String()] = true
		if len(k) > 1 && undecoded[k[:len(k)-1].String()] {
			continue // inside an unknown table: report the table only
		}
		where := "config file " + name
		if line := lineOf(data, k); line > 0 {
			where += fmt.Sprintf(": line %d", line)
		}
		errs = append(errs, fmt.Errorf("%s: unknown key %q", where, k.String()))
	}
	return errors.Join(errs...)
}

// errProbe marks the value lineOf looks for.
var errProbe = errors.New("config: line probe")

// lineProbe fails to decode, so the toml package reports where it is.
type lineProbe struct{}

func (*lineProbe) UnmarshalTOML(any) error { return errProbe }

// lineOf is the line of key in the TOML document data, or 0 if unknown.
// The toml package does not report positions of undecoded keys, but it does
// for decoding errors, so lineOf decodes data again into a struct that has
// only key, of a type that fails.
func lineOf(data []byte, key toml.Key) int {
	t := reflect.TypeFor[lineProbe]()
	for i := len(key) - 1; i >= 0; i-- {
		t = reflect.StructOf([]reflect.StructField{{
			Name: "F",
			Type: t,
			Tag:  reflect.StructTag("toml:" + strconv.Quote(key[i])),
		}})
	}
	_, err := toml.Decode(string(data), reflect.New(t).Interface())
	var pe toml.ParseError
	if errors.As(err, &pe) && pe.Message == errProbe.Error() {
		return pe.Position.Line
	}
	return 0
}

// applyEnv sets every key whose CAREPOST_<SECTION>_<KEY> variable is in
// environ and not empty. It returns warnings for variables that start with
// a section name but match no key, and every bad value as one error.
func (c *Config) applyEnv(environ []string) (warnings []string, err error) {
	s := configSchema()
	var errs []error
	var unknown []string
	for _, kv := range environ {
		name, value, ok := strings.Cut(kv, "=")
		if !ok || value == "" || !strings.HasPrefix(name, envPrefix) {
			continue
		}
		f := s.byEnv[name]
		if f == nil {
			if s.looksLikeConfig(name) {
				unknown = append(unknown, name)
			}
			continue
		}
		if err := c.Set(f.key, value); err != nil {
			errs = append(errs, fmt.Errorf("environment variable %s: %w", name, err))
		}
	}
	for _, name := range unknown {
		if name != c.Keys.KEKEnv { // the KEK itself may live in a CAREPOST_KEYS_ variable
			warnings = append(warnings, fmt.Sprintf("environment variable %s matches no configuration key; ignored", name))
		}
	}
	return warnings, errors.Join(errs...)
}

// looksLikeConfig reports whether an environment variable name starts with
// CAREPOST_ and a section, as a misspelt key would.
func (s *schema) looksLikeConfig(name string) bool {
	rest := strings.TrimPrefix(name, envPrefix)
	for _, sec := range s.sections {
		if strings.HasPrefix(rest, strings.ToUpper(sec)+"_") {
			return true
		}
	}
	return false
}
