package config

import (
	"encoding"
	"fmt"
	"reflect"
	"strconv"
	"strings"
	"unicode/utf8"
)

// TOML renders c as a TOML document that Load reads back to an equal
// Config: every key, with its help as a comment. `carepost config` prints
// c.Redacted().TOML(), the effective configuration.
func (c *Config) TOML() string {
	var b strings.Builder
	b.WriteString("# carepost configuration. Every key is shown; see `carepost config --help`.\n")
	v, def := reflect.ValueOf(c).Elem(), reflect.ValueOf(Defaults()).Elem()
	section := ""
	for _, f := range configSchema().fields {
		if f.section != section {
			section = f.section
			fmt.Fprintf(&b, "\n[%s]\n", section)
		}
		value, defValue := tomlValue(v.FieldByIndex(f.index)), tomlValue(def.FieldByIndex(f.index))
		help := f.doc
		if value != defValue {
			help += " (default " + defValue + ")"
		}
		writeComment(&b, help)
		fmt.Fprintf(&b, "%s = %s\n", strings.TrimPrefix(f.key, f.section+"."), value)
	}
	return b.String()
}

// writeComment writes text as "# " lines of at most about 80 columns.
func writeComment(b *strings.Builder, text string) {
	line := "#"
	for _, word := range strings.Fields(text) {
		if len(line) > 1 && len(line)+1+len(word) > 80 {
			b.WriteString(line + "\n")
			line = "#"
		}
		line += " " + word
	}
	b.WriteString(line + "\n")
}

// tomlValue is v as a TOML value: text types as strings, lists as arrays.
func tomlValue(v reflect.Value) string {
	if m, ok := v.Interface().(encoding.TextMarshaler); ok {
		text, err := m.MarshalText()
		if err != nil {
			return tomlString("")
		}
		return tomlString(string(text))
	}
	switch v.Kind() {
	case reflect.String:
		return tomlString(v.String())
	case reflect.Bool:
		return strconv.FormatBool(v.Bool())
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64:
		return strconv.FormatInt(v.Int(), 10)
	case reflect.Slice:
		parts := make([]string, v.Len())
		for i := range parts {
			parts[i] = tomlValue(v.Index(i))
		}
		return "[" + strings.Join(parts, ", ") + "]"
	}
	return tomlString(fmt.Sprint(v.Interface())) // newSchema allows no other kinds
}

// tomlString quotes s as a TOML basic string (TOML 1.0 "String").
func tomlString(s string) string {
	s = strings.ToValidUTF8(s, string(utf8.RuneError))
	var b strings.Builder
	b.WriteByte('"')
	for _, r := range s {
		switch r {
		case '"':
			b.WriteString(`\"`)
		case '\\':
			b.WriteString(`\\`)
		case '\b':
			b.WriteString(`\b`)
		case '\t':
			b.WriteString(`\t`)
		case '\n':
			b.WriteString(`\n`)
		case '\f':
			b.WriteString(`\f`)
		case '\r':
			b.WriteString(`\r`)
		default:
			if r < 0x20 || r == 0x7f {
				fmt.Fprintf(&b, `\u%04X`, r)
			} else {
				b.WriteRune(r)
			}
		}
	}
	b.WriteByte('"')
	return b.String()
}
