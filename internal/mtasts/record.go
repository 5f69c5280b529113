package mtasts

import (
	"errors"
	"fmt"
	"strings"
)

// Record is an MTA-STS TXT record, "v=STSv1; id=20240101T000000",
// published at "_mta-sts.<domain>" (RFC 8461 section 3.1).
type Record struct {
	// ID identifies the current policy version: 1 to 32 letters and
	// digits. A new id tells senders to fetch the policy again.
	ID string
	// Extensions are the other key=value fields, in order.
	Extensions []Extension
}

// Extension is a key/value field this package does not interpret.
type Extension struct {
	Key, Value string
}

// ErrNotSTS is returned by ParseRecord for a TXT record that is not an
// MTA-STS record at all: it does not begin with "v=STSv1". Such records
// are ignored (RFC 8461 section 3.1).
var ErrNotSTS = errors.New("mtasts: not an STSv1 record")

// ParseRecord parses an MTA-STS TXT record (RFC 8461 section 3.1):
//
//	sts-text-record = sts-version 1*(sts-field-delim sts-field) [sts-field-delim]
//	sts-field-delim = *WSP ";" *WSP
//	sts-version     = %s"v=STSv1"
//	sts-id          = %s"id=" 1*32(ALPHA / DIGIT)
//	sts-extension   = sts-ext-name "=" sts-ext-value
//	sts-ext-name    = (ALPHA / DIGIT) 0*31(ALPHA / DIGIT / "_" / "-" / ".")
//	sts-ext-value   = 1*(%x21-3A / %x3C / %x3E-7E)
//
// Section 3.1 is silent on repeated fields; as section 3.2 says for the
// policy, the first id counts.
func ParseRecord(txt string) (Record, error) {
	rest, ok := strings.CutPrefix(txt, "v=STSv1")
	if !ok || rest != "" && rest[0] != ';' && rest[0] != ' ' && rest[0] != '\t' {
		return Record{}, ErrNotSTS
	}
	var rec Record
	first := true
	for {
		after, ok := cutDelim(rest)
		if !ok {
			if first {
				return Record{}, syntaxErr("record", "expected ';' after v=STSv1")
			}
			return Record{}, syntaxErr("record", "expected ';' between fields")
		}
		if after == "" && !first {
			break // the optional final delimiter
		}
		if after == "" {
			return Record{}, syntaxErr("record", "missing id")
		}
		field, remain := splitField(after)
		key, value, ok := strings.Cut(field, "=")
		if !ok || !validKey(key) {
			return Record{}, syntaxErr("record", "field is not key=value")
		}
		switch key {
		case "id":
			if !validID(value) {
				return Record{}, syntaxErr("record", "id must be 1 to 32 letters and digits")
			}
			if rec.ID == "" {
				rec.ID = value
			}
		default:
			if !validExtValue(value) {
				return Record{}, syntaxErr("record", fmt.Sprintf("bad value for %q", key))
			}
			rec.Extensions = append(rec.Extensions, Extension{key, value})
		}
		first = false
		if remain == "" {
			break
		}
		rest = remain
	}
	if rec.ID == "" {
		return Record{}, syntaxErr("record", "missing id")
	}
	return rec, nil
}

// cutDelim removes an sts-field-delim from the front of s.
func cutDelim(s string) (string, bool) {
	s = strings.TrimLeft(s, " \t")
	s, ok := strings.CutPrefix(s, ";")
	return strings.TrimLeft(s, " \t"), ok
}

// splitField splits s at the end of the first field: where whitespace or
// ';' begins.
func splitField(s string) (field, rest string) {
	if i := strings.IndexAny(s, "; \t"); i >= 0 {
		return s[:i], s[i:]
	}
	return s, ""
}

func validKey(k string) bool {
	if k == "" || len(k) > 32 || !isAlnum(k[0]) {
		return false
	}
	for i := 1; i < len(k); i++ {
		if c := k[i]; !isAlnum(c) && c != '_' && c != '-' && c != '.' {
			return false
		}
	}
	return true
}

func validID(v string) bool {
	if v == "" || len(v) > 32 {
		return false
	}
	for i := 0; i < len(v); i++ {
		if !isAlnum(v[i]) {
			return false
		}
	}
	return true
}

func validExtValue(v string) bool {
	if v == "" {
		return false
	}
	for i := 0; i < len(v); i++ {
		if c := v[i]; c < 0x21 || c > 0x7e || c == ';' || c == '=' {
			return false
		}
	}
	return true
}

func isAlnum(c byte) bool {
	return c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9'
}
