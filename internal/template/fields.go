package template

// FieldSet tells the PHI lint which contact fields are PHI: field name →
// true when the field is PHI. Package contact provides it from its field
// metadata; the names are those of .Contact.Fields, plus the built-in
// names below for the Contact struct fields.
//
// A field the set does not name is treated as PHI: a template may be
// written before its field exists, and the lint fails closed.
type FieldSet map[string]bool

// Built-in field names: what .Contact.FirstName and friends are called in
// a FieldSet.
const (
	FieldFirstName = "first_name"
	FieldLastName  = "last_name"
	FieldEmail     = "email"
	FieldPhone     = "phone"
)

// DefaultFields is the field set used until the organization defines its
// own: names, contact details, birth date and condition are PHI (HIPAA
// 164.514(b)(2) lists names, addresses, dates and contact numbers among
// the identifiers; a condition is health information).
func DefaultFields() FieldSet {
	return FieldSet{
		FieldFirstName: true, FieldLastName: true, FieldEmail: true, FieldPhone: true,
		"birth_date": true, "condition": true,
	}
}

// PHI reports whether name is PHI in s. Unknown names are.
func (s FieldSet) PHI(name string) bool {
	phi, ok := s[name]
	return phi || !ok
}

// contactFields maps the Contact struct's fields to their FieldSet names;
// "" marks fields that carry no PHI (ids and settings).
var contactFields = map[string]string{
	"ID":        "",
	"Email":     FieldEmail,
	"FirstName": FieldFirstName,
	"LastName":  FieldLastName,
	"Phone":     FieldPhone,
	"Timezone":  "",
	"Locale":    "",
}
