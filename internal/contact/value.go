package contact

import (
	"errors"
	"math"
	"slices"
	"strconv"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"
)

// Limits on values. They keep a contact's sealed map small, which is what
// keeps Scan fast.
const (
	MaxText     = 2048 // bytes of a text value
	MaxListItem = 256  // bytes of one list item
	MaxListLen  = 100  // items of a list value
)

// ListSeparator separates a list's items in a CSV cell.
const ListSeparator = ";"

// Value is one field value. Only the member of its Type is meaningful.
type Value struct {
	Type   FieldType
	Text   string
	Number float64
	Date   time.Time // midnight UTC
	Bool   bool
	List   []string
}

// Any returns the value as a plain Go value: string, float64, time.Time,
// bool or []string — what an expression engine's environment takes.
func (v Value) Any() any {
	switch v.Type {
	case TypeNumber:
		return v.Number
	case TypeDate:
		return v.Date
	case TypeBoolean:
		return v.Bool
	case TypeList:
		return v.List
	default:
		return v.Text
	}
}

// JSON returns the value as the API shows it: dates as YYYY-MM-DD.
func (v Value) JSON() any {
	if v.Type == TypeDate {
		return v.Date.Format(time.DateOnly)
	}
	if v.Type == TypeList && v.List == nil {
		return []string{}
	}
	return v.Any()
}

// String formats the value for a CSV cell.
func (v Value) String() string {
	switch v.Type {
	case TypeNumber:
		return strconv.FormatFloat(v.Number, 'f', -1, 64)
	case TypeDate:
		return v.Date.Format(time.DateOnly)
	case TypeBoolean:
		return strconv.FormatBool(v.Bool)
	case TypeList:
		return strings.Join(v.List, ListSeparator)
	default:
		return v.Text
	}
}

// Value errors. They name the rule, never the value.
var (
	errNotNumber  = errors.New("not a number")
	errNotDate    = errors.New("not a date (want YYYY-MM-DD)")
	errNotBoolean = errors.New("not a boolean (want true/false, yes/no or 1/0)")
	errNotList    = errors.New("not a list of strings")
	errNotText    = errors.New("not text")
	errTooLong    = errors.New("too long")
	errControl    = errors.New("contains control characters or invalid UTF-8")
	errOption     = errors.New("not one of the field's options")
	errListLen    = errors.New("too many list items")
)

// ParseValue reads a CSV cell (already trimmed, not empty) as a value of f.
func ParseValue(f Field, s string) (Value, error) {
	v := Value{Type: f.Type}
	switch f.Type {
	case TypeNumber:
		n, err := strconv.ParseFloat(s, 64)
		if err != nil || math.IsInf(n, 0) || math.IsNaN(n) {
			return Value{}, errNotNumber
		}
		v.Number = n
	case TypeDate:
		d, err := time.Parse(time.DateOnly, s)
		if err != nil {
			return Value{}, errNotDate
		}
		v.Date = d
	case TypeBoolean:
		b, ok := parseBool(s)
		if !ok {
			return Value{}, errNotBoolean
		}
		v.Bool = b
	case TypeList:
		for item := range strings.SplitSeq(s, ListSeparator) {
			if item = strings.TrimSpace(item); item != "" {
				v.List = append(v.List, item)
			}
		}
		return checkList(f, v)
	default:
		if err := checkText(s, MaxText); err != nil {
			return Value{}, err
		}
		v.Text = s
	}
	return v, nil
}

// ValueFromJSON converts a JSON-decoded value (string, float64, bool or
// []any) to a value of f. Dates are strings; a number may also come as a
// string and a list as one string with ListSeparator.
func ValueFromJSON(f Field, raw any) (Value, error) {
	switch x := raw.(type) {
	case string:
		x = strings.TrimSpace(x)
		if f.Type == TypeText {
			if err := checkText(x, MaxText); err != nil {
				return Value{}, err
			}
			return Value{Type: TypeText, Text: x}, nil
		}
		return ParseValue(f, x)
	case float64:
		if f.Type != TypeNumber || math.IsInf(x, 0) || math.IsNaN(x) {
			return Value{}, typeError(f.Type)
		}
		return Value{Type: TypeNumber, Number: x}, nil
	case bool:
		if f.Type != TypeBoolean {
			return Value{}, typeError(f.Type)
		}
		return Value{Type: TypeBoolean, Bool: x}, nil
	case []any:
		if f.Type != TypeList {
			return Value{}, typeError(f.Type)
		}
		v := Value{Type: TypeList}
		for _, item := range x {
			s, ok := item.(string)
			if !ok {
				return Value{}, errNotList
			}
			if s = strings.TrimSpace(s); s != "" {
				v.List = append(v.List, s)
			}
		}
		return checkList(f, v)
	}
	return Value{}, typeError(f.Type)
}

func typeError(t FieldType) error {
	switch t {
	case TypeNumber:
		return errNotNumber
	case TypeDate:
		return errNotDate
	case TypeBoolean:
		return errNotBoolean
	case TypeList:
		return errNotList
	}
	return errNotText
}

func checkList(f Field, v Value) (Value, error) {
	if len(v.List) > MaxListLen {
		return Value{}, errListLen
	}
	slices.Sort(v.List)
	v.List = slices.Compact(v.List)
	for _, item := range v.List {
		if err := checkText(item, MaxListItem); err != nil {
			return Value{}, err
		}
		if len(f.Options) > 0 && !slices.Contains(f.Options, item) {
			return Value{}, errOption
		}
	}
	return v, nil
}

// checkText refuses invalid UTF-8 and control characters other than tab
// and line ends, and values longer than limit bytes.
func checkText(s string, limit int) error {
	if len(s) > limit {
		return errTooLong
	}
	if !utf8.ValidString(s) {
		return errControl
	}
	for _, r := range s {
		if unicode.IsControl(r) && r != '\t' && r != '\n' && r != '\r' {
			return errControl
		}
	}
	return nil
}

func parseBool(s string) (bool, bool) {
	switch strings.ToLower(s) {
	case "true", "yes", "y", "1":
		return true, true
	case "false", "no", "n", "0":
		return false, true
	}
	return false, false
}
