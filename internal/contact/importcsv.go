package contact

import (
	"errors"
	"strconv"
	"strings"
	"unicode/utf8"
)

// The CSV mapper: a header and a column → field mapping resolved into
// targets, then each record turned into a patch or into cell errors. Errors
// carry the column's header name and a fixed reason — never the cell.

// ConsentColumn is the mapping target of a column that says, per row,
// whether the patient gave the marketing authorization described by the
// import's consent settings (yes/no, true/false, 1/0).
const ConsentColumn = "@consent"

// MaxColumns bounds a CSV header.
const MaxColumns = 200

type targetKind int

const (
	tIgnore targetKind = iota
	tEmail
	tPhone
	tFirstName
	tLastName
	tTimezone
	tLocale
	tStatus
	tField
	tConsent
)

var builtinTargets = map[string]targetKind{"email": tEmail, "phone": tPhone, "first_name": tFirstName,
	"last_name": tLastName, "timezone": tTimezone, "locale": tLocale, "status": tStatus, ConsentColumn: tConsent}

// target is what one column feeds. Field is a snapshot of the custom field
// when the mapping was resolved.
type target struct {
	Kind  targetKind
	Key   string
	Field Field
}

// cellError is one problem of a row: the column's header name ("" for
// the whole row) and a fixed reason.
type cellError struct {
	Column string
	Reason string
}

// Header and mapping problems.
var (
	errHeaderEmpty  = errors.New("the file has no header row")
	errHeaderDup    = errors.New("a column name appears twice in the header")
	errHeaderBlank  = errors.New("a column has no name in the header")
	errHeaderWide   = errors.New("the header has more than 200 columns")
	errNoEmail      = errors.New("no column maps to email")
	errMapUnknown   = errors.New("maps to a field that does not exist")
	errMapTwice     = errors.New("two columns map to the same field")
	errMapMissing   = errors.New("the mapping names a column the header does not have")
	errMapConsent   = errors.New("maps to @consent but the import has no consent settings")
	errRequired     = errors.New("is required")
	errConsentValue = errors.New("not yes or no")
)

// resolveColumns matches a header to the mapping (header name → target
// key; an empty mapping maps columns named like fields to them). Columns
// not mapped are ignored.
func resolveColumns(header []string, mapping map[string]string, sch *Schema, consent bool) ([]target, []cellError) {
	var errs []cellError
	if len(header) == 0 || (len(header) == 1 && strings.TrimSpace(header[0]) == "") {
		return nil, []cellError{{Reason: errHeaderEmpty.Error()}}
	}
	if len(header) > MaxColumns {
		return nil, []cellError{{Reason: errHeaderWide.Error()}}
	}
	seen := map[string]bool{}
	used := map[string]string{}
	targets := make([]target, len(header))
	for i, h := range header {
		h = strings.TrimSpace(strings.TrimPrefix(h, "\uFEFF"))
		header[i] = h
		if h == "" || !utf8.ValidString(h) || len(h) > 128 {
			errs = append(errs, cellError{Column: "#" + strconv.Itoa(i+1), Reason: errHeaderBlank.Error()})
			continue
		}
		if seen[h] {
			errs = append(errs, cellError{Column: h, Reason: errHeaderDup.Error()})
			continue
		}
		seen[h] = true
		key, ok := mapping[h]
		if len(mapping) == 0 {
			key, ok = strings.ToLower(strings.ReplaceAll(h, " ", "_")), true
		}
		if !ok || key == "" {
			continue
		}
		t, err := resolveTarget(key, sch, consent, len(mapping) == 0)
		if err != nil {
			errs = append(errs, cellError{Column: h, Reason: err.Error()})
			continue
		}
		if t.Kind == tIgnore {
			continue
		}
		if other, dup := used[key]; dup {
			errs = append(errs, cellError{Column: h, Reason: errMapTwice.Error() + " (" + other + ")"})
			continue
		}
		used[key] = h
		targets[i] = t
	}
	for col := range mapping {
		if !seen[col] {
			errs = append(errs, cellError{Column: col, Reason: errMapMissing.Error()})
		}
	}
	if _, ok := used["email"]; !ok && len(errs) == 0 {
		errs = append(errs, cellError{Reason: errNoEmail.Error()})
	}
	return targets, errs
}

func resolveTarget(key string, sch *Schema, consent, auto bool) (target, error) {
	if k, ok := builtinTargets[key]; ok {
		if k == tConsent && !consent {
			return target{}, errMapConsent
		}
		return target{Kind: k, Key: key}, nil
	}
	f, ok := sch.Field(key)
	if !ok || f.BuiltIn {
		if auto {
			return target{}, nil // automatic mapping: columns that match nothing are ignored
		}
		return target{}, errMapUnknown
	}
	return target{Kind: tField, Key: key, Field: f}, nil
}

// mapRow turns one record into a patch (with the e-mail address set) and
// whether the row grants consent; any problem is a cell error instead.
func mapRow(header []string, targets []target, rec []string) (patch, bool, []cellError) {
	var p patch
	var errs []cellError
	grant := false
	for i, t := range targets {
		if t.Kind == tIgnore || i >= len(rec) {
			continue
		}
		cell := strings.TrimSpace(rec[i])
		if cell == "" {
			if t.Kind == tEmail {
				errs = append(errs, cellError{Column: header[i], Reason: errRequired.Error()})
			}
			continue // empty cells leave values as they are
		}
		if err := p.set(t, cell, &grant); err != nil {
			errs = append(errs, cellError{Column: header[i], Reason: err.Error()})
		}
	}
	return p, grant, errs
}

// set reads one non-empty cell into the patch.
func (p *patch) set(t target, cell string, grant *bool) error {
	str := func(dst **string, fn func(string) (string, error)) error {
		v, err := fn(cell)
		if err != nil {
			return err
		}
		*dst = &v
		return nil
	}
	switch t.Kind {
	case tEmail:
		return str(&p.email, normalizeEmail)
	case tPhone:
		return str(&p.phone, normalizePhone)
	case tFirstName:
		return str(&p.first, normalizeName)
	case tLastName:
		return str(&p.last, normalizeName)
	case tTimezone:
		return str(&p.timezone, normalizeTimezone)
	case tLocale:
		return str(&p.locale, normalizeLocale)
	case tStatus:
		st := Status(strings.ToLower(cell))
		if !validStatus(st) {
			return errors.New("must be subscribed, unsubscribed, bounced or complained")
		}
		p.status = &st
	case tConsent:
		b, ok := parseBool(cell)
		if !ok {
			return errConsentValue
		}
		*grant = b
	case tField:
		v, err := ParseValue(t.Field, cell)
		if err != nil {
			return err
		}
		if p.fields == nil {
			p.fields = map[string]*Value{}
		}
		p.fields[t.Key] = &v
	}
	return nil
}
