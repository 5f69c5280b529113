package segment

import (
	"time"

	"github.com/carepost/carepost/internal/contact"
)

// The language's variables besides the organization's fields. Built-in
// contact fields (email, phone, first_name, last_name) come from the schema
// like custom ones; these are the contact's clear columns and what is
// derived from them.
//
//	status        subscribed, unsubscribed, bounced or complained (a suppressed
//	              address reads as bounced or complained)
//	timezone      IANA zone name; unset when unknown
//	locale        BCP 47 tag; unset when unknown
//	consent       the contact's marketing authorization is valid today
//	suppressed    delivery refuses the address (hard bounce, complaint)
//	created_at    when the contact was added (a date)
//	age           full years since birth_date, when the organization has a
//	              date field birth_date and no field named age
var columns = []column{
	{name: "status", kind: kindText},
	{name: "timezone", kind: kindText, nullable: true},
	{name: "locale", kind: kindText, nullable: true},
	{name: "consent", kind: kindBool},
	{name: "suppressed", kind: kindBool},
	{name: "created_at", kind: kindDate},
}

// ageField is the date field the age shorthand reads.
const ageField = "birth_date"

type kind int

const (
	kindText kind = iota
	kindNumber
	kindDate
	kindBool
	kindList
)

func kindOf(t contact.FieldType) kind {
	switch t {
	case contact.TypeNumber:
		return kindNumber
	case contact.TypeDate:
		return kindDate
	case contact.TypeBoolean:
		return kindBool
	case contact.TypeList:
		return kindList
	}
	return kindText
}

// zero is the value the type checker sees for a variable of k.
func (k kind) zero() any {
	switch k {
	case kindNumber:
		return float64(0)
	case kindDate:
		return time.Time{}
	case kindBool:
		return false
	case kindList:
		return []string{}
	}
	return ""
}

type column struct {
	name     string
	kind     kind
	nullable bool
}

// Functions of the language. Their arguments marked "constant" must be
// literals: carepost reads what they need once per evaluation (a query per
// call), not once per contact.
//
//	days_since(d)                 whole days from date d to today (negative in the future)
//	days_until(d)                 whole days from today to date d
//	age(d)                        full years from date d to today
//	today()                       today's date (UTC)
//	has(f)                        field f is set for the contact
//	has_event(name[, days])       the contact has an event named name (constant), in the
//	                              last days (constant) days when given
//	event_count(name[, days])     how many such events
//	opened([days | campaign])     the contact opened campaign mail (a person, not a
//	                              privacy proxy): any, first opened in the last days,
//	                              or of one campaign id (constant)
//	clicked([days | campaign])    the same for clicks
//	in_list(id)                   the contact is a subscribed member of list id (constant)
var functionTypes = map[string][]any{
	"days_since":  {new(func(time.Time) int)},
	"days_until":  {new(func(time.Time) int)},
	"age":         {new(func(time.Time) int)},
	"today":       {new(func() time.Time)},
	"has":         {new(func(any) bool)},
	"has_event":   {new(func(string) bool), new(func(string, int) bool)},
	"event_count": {new(func(string) int), new(func(string, int) int)},
	"opened":      {new(func() bool), new(func(int) bool), new(func(string) bool)},
	"clicked":     {new(func() bool), new(func(int) bool), new(func(string) bool)},
	"in_list":     {new(func(string) bool)},
}

// Builtins of expr left out: now() reads the wall clock (the language has
// today(), which every contact of one evaluation shares).
var disabledBuiltins = []string{"now"}

// MaxDays bounds a days argument (ten years).
const MaxDays = 3650

// MaxLength bounds an expression's source, in bytes.
const MaxLength = 4096

// typeName is how error messages name Go types: in the language's words.
var typeNames = map[string]string{
	"float64":   "number",
	"int":       "number",
	"string":    "text",
	"bool":      "boolean",
	"time.Time": "date",
	"[]string":  "list",
}
