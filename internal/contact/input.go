package contact

import (
	"errors"
	"strings"
	"sync"
	"time"

	"golang.org/x/text/language"

	"github.com/carepost/carepost/internal/message"
)

// Input is a change to a contact as the API gives it. A nil pointer leaves
// the value as it is; a pointer to "" clears it. Fields holds JSON-decoded
// values by field key; a nil value clears the field.
type Input struct {
	Email, Phone, FirstName, LastName *string
	Timezone, Locale                  *string
	Status                            *Status
	Fields                            map[string]any
}

// patch is a validated, normalized change.
type patch struct {
	email              *string
	phone, first, last *string
	timezone, locale   *string
	status             *Status
	fields             map[string]*Value
}

// Errors of built-in values; they name the rule, never the value.
var (
	errEmail    = errors.New("not a valid e-mail address")
	errPhone    = errors.New("not a phone number (7 to 15 digits, optionally starting with +)")
	errTimezone = errors.New("not an IANA time zone name (e.g. America/Chicago)")
	errLocale   = errors.New("not a BCP 47 language tag (e.g. en-US)")
	errName     = errors.New("names are at most 256 characters, without control characters")
)

// patch validates in against the schema. Field errors are prefixed with
// prefix ("contacts[3].").
func (in Input) patch(s *Schema, prefix string) (patch, message.FieldErrors) {
	var p patch
	var errs message.FieldErrors
	bad := func(field string, err error) {
		errs = append(errs, &message.FieldError{Field: prefix + field, Msg: err.Error()})
	}
	norm := func(field string, v *string, fn func(string) (string, error)) *string {
		if v == nil {
			return nil
		}
		t := strings.TrimSpace(*v)
		if t == "" {
			return &t
		}
		n, err := fn(t)
		if err != nil {
			bad(field, err)
			return nil
		}
		return &n
	}
	p.email = norm("email", in.Email, normalizeEmail)
	p.phone = norm("phone", in.Phone, normalizePhone)
	p.first = norm("first_name", in.FirstName, normalizeName)
	p.last = norm("last_name", in.LastName, normalizeName)
	p.timezone = norm("timezone", in.Timezone, normalizeTimezone)
	p.locale = norm("locale", in.Locale, normalizeLocale)
	if in.Status != nil {
		if !validStatus(*in.Status) {
			bad("status", errors.New("must be subscribed, unsubscribed, bounced or complained"))
		} else {
			p.status = in.Status
		}
	}
	for key, raw := range in.Fields {
		f, ok := s.Field(key)
		if !ok || f.BuiltIn {
			bad("fields."+key, errors.New("no such custom field (define it first)"))
			continue
		}
		if p.fields == nil {
			p.fields = map[string]*Value{}
		}
		if raw == nil {
			p.fields[key] = nil
			continue
		}
		v, err := ValueFromJSON(f, raw)
		if err != nil {
			bad("fields."+key, err)
			continue
		}
		p.fields[key] = &v
	}
	return p, errs
}

// apply writes the patch onto c.
func (p patch) apply(c *Contact) {
	set := func(dst *string, v *string) {
		if v != nil {
			*dst = *v
		}
	}
	set(&c.Email, p.email)
	set(&c.Phone, p.phone)
	set(&c.FirstName, p.first)
	set(&c.LastName, p.last)
	set(&c.Timezone, p.timezone)
	set(&c.Locale, p.locale)
	if p.status != nil {
		c.Status = *p.status
	}
	for k, v := range p.fields {
		if v == nil {
			delete(c.Fields, k)
			continue
		}
		if c.Fields == nil {
			c.Fields = map[string]Value{}
		}
		c.Fields[k] = *v
	}
}

func normalizeEmail(s string) (string, error) {
	a, err := message.NormalizeAddress(message.Address{Email: s})
	if err != nil || len(a.Email) > 254 {
		return "", errEmail
	}
	return a.Email, nil
}

// normalizePhone keeps a leading + and the digits, dropping the usual
// separators; ITU-T E.164 numbers have at most 15 digits.
func normalizePhone(s string) (string, error) {
	var b strings.Builder
	for i, r := range s {
		switch {
		case r >= '0' && r <= '9':
			b.WriteRune(r)
		case r == '+' && i == 0:
			b.WriteRune(r)
		case r == ' ' || r == '-' || r == '.' || r == '(' || r == ')':
		default:
			return "", errPhone
		}
	}
	digits := strings.TrimPrefix(b.String(), "+")
	if len(digits) < 7 || len(digits) > 15 {
		return "", errPhone
	}
	return b.String(), nil
}

func normalizeName(s string) (string, error) {
	if checkText(s, 256) != nil || strings.ContainsAny(s, "\n\r\t") {
		return "", errName
	}
	return s, nil
}

var zones sync.Map // name -> struct{}: names time.LoadLocation accepted

func normalizeTimezone(s string) (string, error) {
	if _, ok := zones.Load(s); ok {
		return s, nil
	}
	if s == "Local" || len(s) > 64 {
		return "", errTimezone
	}
	if _, err := time.LoadLocation(s); err != nil {
		return "", errTimezone
	}
	zones.Store(s, struct{}{})
	return s, nil
}

func normalizeLocale(s string) (string, error) {
	if len(s) > 35 {
		return "", errLocale
	}
	t, err := language.Parse(s)
	if err != nil {
		return "", errLocale
	}
	return t.String(), nil
}
