package config

import (
	"encoding"
	"errors"
	"fmt"
	"net/netip"
	"reflect"
	"strconv"
	"strings"
	"sync"
)

// envPrefix starts every configuration environment variable.
const envPrefix = "CAREPOST_"

// field is one configuration key, found by walking Config's struct tags.
type field struct {
	key     string // "http.listen"
	section string // "http"
	env     string // "CAREPOST_HTTP_LISTEN"
	index   []int  // path from the root struct, for FieldByIndex
	typ     reflect.Type
	doc     string
	secret  bool
}

// schema is the table of keys of one root struct type.
type schema struct {
	fields   []field
	byKey    map[string]*field
	byEnv    map[string]*field
	sections []string
}

// configSchema is built once; it is read-only afterwards.
var configSchema = sync.OnceValue(func() *schema {
	s, err := newSchema(reflect.TypeFor[Config]())
	if err != nil {
		panic("config: " + err.Error()) // a programming error, caught by every test
	}
	return s
})

// newSchema walks root: each exported struct field with a toml tag is a
// section, each field of a section with a toml tag is a key.
func newSchema(root reflect.Type) (*schema, error) {
	s := &schema{byKey: map[string]*field{}, byEnv: map[string]*field{}}
	for _, sec := range reflect.VisibleFields(root) {
		name := tomlName(sec)
		if name == "" {
			continue
		}
		if sec.Type.Kind() != reflect.Struct {
			return nil, fmt.Errorf("section %s is %s, not a struct", name, sec.Type)
		}
		s.sections = append(s.sections, name)
		for _, f := range reflect.VisibleFields(sec.Type) {
			key := tomlName(f)
			if key == "" {
				continue
			}
			if !settable(f.Type) {
				return nil, fmt.Errorf("key %s.%s has unsupported type %s", name, key, f.Type)
			}
			s.fields = append(s.fields, field{
				key:     name + "." + key,
				section: name,
				env:     envPrefix + strings.ToUpper(name+"_"+key),
				index:   append(append([]int(nil), sec.Index...), f.Index...),
				typ:     f.Type,
				doc:     f.Tag.Get("doc"),
				secret:  f.Tag.Get("secret") == "true",
			})
		}
	}
	for i := range s.fields {
		f := &s.fields[i]
		if s.byKey[f.key] != nil || s.byEnv[f.env] != nil {
			return nil, fmt.Errorf("key %s is declared twice", f.key)
		}
		s.byKey[f.key], s.byEnv[f.env] = f, f
	}
	return s, nil
}

// tomlName is the field's TOML name, or "" when it has none.
func tomlName(f reflect.StructField) string {
	if !f.IsExported() {
		return ""
	}
	name, _, _ := strings.Cut(f.Tag.Get("toml"), ",")
	if name == "-" {
		return ""
	}
	return name
}

var textUnmarshaler = reflect.TypeFor[encoding.TextUnmarshaler]()

// settable reports whether set can parse a value of type t.
func settable(t reflect.Type) bool {
	if t.Kind() == reflect.Slice && !reflect.PointerTo(t).Implements(textUnmarshaler) {
		return scalar(t.Elem())
	}
	return scalar(t)
}

func scalar(t reflect.Type) bool {
	if reflect.PointerTo(t).Implements(textUnmarshaler) {
		return true
	}
	switch t.Kind() {
	case reflect.String, reflect.Bool, reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64:
		return true
	}
	return false
}

// Set sets the key (dotted, as in "http.listen") from its text form: what a
// flag or an environment variable holds. Lists are comma-separated; an empty
// value is an empty list.
func (c *Config) Set(key, value string) error {
	return configSchema().set(reflect.ValueOf(c).Elem(), key, value)
}

// set sets key in root, a value of the schema's root type.
func (s *schema) set(root reflect.Value, key, value string) error {
	f := s.byKey[key]
	if f == nil {
		return fmt.Errorf("unknown key %q", key)
	}
	if err := set(root.FieldByIndex(f.index), value); err != nil {
		if f.secret {
			return fmt.Errorf("%s: invalid value", key) // never echo a secret
		}
		return fmt.Errorf("%s: %w", key, err)
	}
	return nil
}

// set parses text into v, which has a type settable accepts.
func set(v reflect.Value, text string) error {
	if v.Kind() != reflect.Slice || reflect.PointerTo(v.Type()).Implements(textUnmarshaler) {
		return setScalar(v, text)
	}
	var parts []string
	for _, p := range strings.Split(text, ",") {
		if p = strings.TrimSpace(p); p != "" {
			parts = append(parts, p)
		}
	}
	list := reflect.MakeSlice(v.Type(), len(parts), len(parts))
	for i, p := range parts {
		if err := setScalar(list.Index(i), p); err != nil {
			return err
		}
	}
	if len(parts) == 0 {
		list = reflect.Zero(v.Type())
	}
	v.Set(list)
	return nil
}

func setScalar(v reflect.Value, text string) error {
	if u, ok := v.Addr().Interface().(encoding.TextUnmarshaler); ok {
		return u.UnmarshalText([]byte(text))
	}
	switch v.Kind() {
	case reflect.String:
		v.SetString(text)
	case reflect.Bool:
		b, err := strconv.ParseBool(text)
		if err != nil {
			return fmt.Errorf("%q is not true or false", text)
		}
		v.SetBool(b)
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64:
		n, err := strconv.ParseInt(text, 10, v.Type().Bits())
		if err != nil {
			return fmt.Errorf("%q is not an integer", text)
		}
		v.SetInt(n)
	default:
		return errors.New("unsupported type " + v.Type().String()) // newSchema refuses these
	}
	return nil
}

// format is the text form of v that set reads back.
func format(v reflect.Value) string {
	if v.Kind() == reflect.Slice {
		if _, ok := v.Interface().(encoding.TextMarshaler); !ok {
			parts := make([]string, v.Len())
			for i := range parts {
				parts[i] = format(v.Index(i))
			}
			return strings.Join(parts, ",")
		}
	}
	if m, ok := v.Interface().(encoding.TextMarshaler); ok {
		text, err := m.MarshalText()
		if err != nil {
			return fmt.Sprint(v.Interface())
		}
		return string(text)
	}
	return fmt.Sprint(v.Interface())
}

// Key describes one configuration key, for `carepost config` help and the
// documentation.
type Key struct {
	Name    string // dotted key: "http.listen"
	Env     string // environment variable: "CAREPOST_HTTP_LISTEN"
	Type    string // "string", "int", "bool", "duration", "size", "[]cidr", ...
	Default string // the default in the form Set accepts; "" when empty
	Doc     string // one line of help, from the field's doc tag
	Secret  bool   // tagged secret: blanked by Redacted
}

// Keys lists every configuration key in declaration order.
func Keys() []Key {
	s := configSchema()
	def := reflect.ValueOf(Defaults()).Elem()
	keys := make([]Key, len(s.fields))
	for i, f := range s.fields {
		keys[i] = Key{
			Name:    f.key,
			Env:     f.env,
			Type:    typeName(f.typ),
			Default: format(def.FieldByIndex(f.index)),
			Doc:     f.doc,
			Secret:  f.secret,
		}
	}
	return keys
}

var ownPackage = reflect.TypeFor[Duration]().PkgPath()

// typeName names t for help output.
func typeName(t reflect.Type) string {
	switch {
	case t == reflect.TypeFor[netip.Prefix]():
		return "cidr"
	case t.PkgPath() == ownPackage && t.Name() != "":
		return strings.ToLower(t.Name())
	case t.Kind() == reflect.Slice:
		return "[]" + typeName(t.Elem())
	}
	return t.Kind().String()
}
