package contact

import (
	"context"
	"encoding/json"
	"fmt"
	"regexp"
	"slices"
	"time"

	"github.com/carepost/carepost/internal/store"
)

// FieldType is the type of a field's values.
type FieldType string

// Field types.
const (
	TypeText    FieldType = "text"    // UTF-8 text, at most MaxText bytes
	TypeNumber  FieldType = "number"  // a finite float64
	TypeDate    FieldType = "date"    // a calendar date, YYYY-MM-DD
	TypeBoolean FieldType = "boolean" // true or false
	TypeList    FieldType = "list"    // a set of strings, optionally from Options
)

// Field is one field of an organization's contacts: a built-in (the
// addresses and names) or a custom field the organization defined.
type Field struct {
	Key   string
	Label string
	Type  FieldType
	// PHI fields are sealed at rest, masked for principals without
	// phi:read, and their reads by people are audited. Built-in fields
	// are always PHI; a custom field is PHI unless defined otherwise.
	PHI bool
	// Options restricts a list field's values (empty: any).
	Options []string
	// Tag numbers the field in the sealed encoding (built-ins 1-4).
	Tag       int
	BuiltIn   bool
	CreatedAt time.Time
}

// The built-in fields and their tags. Tags up to firstCustomTag-1 are
// reserved for built-ins.
const (
	tagEmail       = 1
	tagPhone       = 2
	tagFirstName   = 3
	tagLastName    = 4
	firstCustomTag = 16
)

// BuiltIns are the fields every contact has. In a healthcare context a
// patient's name, address and phone number identify them (HIPAA
// 164.514(b)(2)(i)), so all four are PHI, always. Timezone, locale and the
// subscription status are not fields: they are plain columns, never PHI.
var BuiltIns = []Field{
	{Key: "email", Label: "E-mail", Type: TypeText, PHI: true, Tag: tagEmail, BuiltIn: true},
	{Key: "phone", Label: "Phone", Type: TypeText, PHI: true, Tag: tagPhone, BuiltIn: true},
	{Key: "first_name", Label: "First name", Type: TypeText, PHI: true, Tag: tagFirstName, BuiltIn: true},
	{Key: "last_name", Label: "Last name", Type: TypeText, PHI: true, Tag: tagLastName, BuiltIn: true},
}

// reserved keys name built-ins, columns or parts of a contact's view, so
// no custom field may take them.
var reserved = []string{"email", "phone", "first_name", "last_name", "timezone", "locale", "status", "id",
	"created_at", "updated_at", "consent", "lists", "suppressed", "fields", "events"}

var keyPattern = regexp.MustCompile(`^[a-z][a-z0-9_]{0,39}$`)

// Schema is an organization's fields at one moment.
type Schema struct {
	Fields []Field // built-ins, then custom fields in tag order
	byKey  map[string]*Field
	byTag  map[int]*Field
}

func newSchema(custom []Field) *Schema {
	s := &Schema{Fields: append(slices.Clone(BuiltIns), custom...), byKey: map[string]*Field{}, byTag: map[int]*Field{}}
	for i := range s.Fields {
		f := &s.Fields[i]
		s.byKey[f.Key] = f
		s.byTag[f.Tag] = f
	}
	return s
}

// Field returns the field named key.
func (s *Schema) Field(key string) (Field, bool) {
	f, ok := s.byKey[key]
	if !ok {
		return Field{}, false
	}
	return *f, true
}

// Custom returns the custom fields in tag order.
func (s *Schema) Custom() []Field { return s.Fields[len(BuiltIns):] }

// Schema reads an organization's current fields.
func (s *Service) Schema(ctx context.Context, orgID string) (*Schema, error) {
	return loadSchema(ctx, s.deps.DB.Reader(), orgID)
}

func loadSchema(ctx context.Context, q store.Querier, orgID string) (*Schema, error) {
	rows, err := store.ListContactFields(ctx, q, orgID, false)
	if err != nil {
		return nil, err
	}
	custom := make([]Field, 0, len(rows))
	for _, r := range rows {
		f := Field{Key: r.Key, Label: r.Label, Type: FieldType(r.Type), PHI: r.PHI, Tag: r.Tag, CreatedAt: r.CreatedAt}
		if err := json.Unmarshal([]byte(r.Options), &f.Options); err != nil {
			return nil, fmt.Errorf("contact field %s: options: %w", r.Key, err)
		}
		custom = append(custom, f)
	}
	return newSchema(custom), nil
}

// validType reports whether t is a field type.
func validType(t FieldType) bool {
	switch t {
	case TypeText, TypeNumber, TypeDate, TypeBoolean, TypeList:
		return true
	}
	return false
}
