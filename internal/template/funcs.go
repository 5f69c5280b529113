package template

import (
	"fmt"
	"reflect"
	"strings"
	"time"

	"golang.org/x/text/cases"
	"golang.org/x/text/language"
)

// The function set templates may call besides the text/template built-ins
// (and, or, not, eq, ne, lt, le, gt, ge, len, index, slice, print, printf,
// println, urlquery). Each is pure: no I/O, no access to anything but its
// arguments, so a template cannot reach beyond the data it is given.
//
//	default "there" .X     .X, or "there" when .X is missing or blank
//	upper / lower / title  case mapping (title: "jane doe" → "Jane Doe")
//	trim                   strip leading and trailing white space
//	date "long" .X         a Date, time or ISO date string formatted with a
//	                       Go layout or a name: short 01/02/2006, medium
//	                       Jan 2, 2006, long January 2, 2006, iso 2006-01-02,
//	                       datetime January 2, 2006 at 3:04 PM MST
func funcs() map[string]any {
	return map[string]any{
		"default": defaultValue,
		"upper":   func(v any) string { return strings.ToUpper(str(v)) },
		"lower":   func(v any) string { return strings.ToLower(str(v)) },
		"title":   titleCase,
		"trim":    func(v any) string { return strings.TrimSpace(str(v)) },
		"date":    formatDate,
		printFunc: str,
	}
}

var namedLayouts = map[string]string{
	"short":    "01/02/2006",
	"medium":   "Jan 2, 2006",
	"long":     "January 2, 2006",
	"iso":      time.DateOnly,
	"datetime": "January 2, 2006 at 3:04 PM MST",
	"time":     "3:04 PM MST",
}

func formatDate(layout string, v any) string {
	if l, ok := namedLayouts[layout]; ok {
		layout = l
	}
	switch x := v.(type) {
	case nil:
		return ""
	case time.Time:
		if x.IsZero() {
			return ""
		}
		return x.Format(layout) // NewData put it in the contact's timezone
	case Date:
		if x.IsZero() {
			return ""
		}
		return x.Time().Format(layout)
	case string:
		if d, err := ParseDate(x); err == nil {
			return d.Time().Format(layout)
		}
		if t, err := time.Parse(time.RFC3339, x); err == nil {
			return t.Format(layout)
		}
		return x
	}
	return str(v)
}

func defaultValue(def, v any) any {
	if blank(v) {
		return def
	}
	return v
}

// blank is what default replaces: nothing, white space, a zero date or an
// empty list. Zero and false are values (0 missed appointments), not blanks.
func blank(v any) bool {
	switch x := v.(type) {
	case nil:
		return true
	case string:
		return strings.TrimSpace(x) == ""
	case Date:
		return x.IsZero()
	case time.Time:
		return x.IsZero()
	}
	rv := reflect.ValueOf(v)
	switch rv.Kind() {
	case reflect.Slice, reflect.Map, reflect.Array:
		return rv.Len() == 0
	case reflect.Pointer, reflect.Interface:
		return rv.IsNil()
	}
	return false
}

func titleCase(v any) string {
	// A Caser holds state: one per call keeps templates safe to run
	// concurrently. Titles are rare enough for the allocation not to matter.
	return cases.Title(language.Und).String(strings.ToLower(str(v)))
}

func str(v any) string {
	switch x := v.(type) {
	case nil:
		return ""
	case string:
		return x
	case fmt.Stringer:
		return x.String()
	}
	return fmt.Sprint(v)
}
