package message

import (
	"strconv"
	"strings"
)

// FieldError names one invalid field of a Draft in the REST API's terms
// ("to[2].email", "headers.X-Foo", "attachments[0].content_type") and says
// which rule it broke. Msg never contains the field's value: values are
// addresses, subjects and file names, any of which can be PHI.
type FieldError struct {
	Field string `json:"field"`
	Msg   string `json:"message"`
}

func (e *FieldError) Error() string { return e.Field + ": " + e.Msg }

// FieldErrors is every problem Validate found, in field order, so a client
// can fix them all at once. errors.As(err, &fe) with fe a *FieldError finds
// the first.
type FieldErrors []*FieldError

func (l FieldErrors) Error() string {
	msgs := make([]string, len(l))
	for i, e := range l {
		msgs[i] = e.Error()
	}
	return "invalid message: " + strings.Join(msgs, "; ")
}

// Unwrap lets errors.As and errors.Is see each FieldError.
func (l FieldErrors) Unwrap() []error {
	errs := make([]error, len(l))
	for i, e := range l {
		errs[i] = e
	}
	return errs
}

// fieldErrors collects FieldErrors while validating.
type fieldErrors struct{ l FieldErrors }

func (f *fieldErrors) add(field, msg string) {
	f.l = append(f.l, &FieldError{Field: field, Msg: msg})
}

// addErr records err's text, which for the errors of this package never
// carries the value.
func (f *fieldErrors) addErr(field string, err error) {
	f.add(field, err.Error())
}

func (f *fieldErrors) err() error {
	if len(f.l) == 0 {
		return nil
	}
	return f.l
}

// indexed returns "name[i]".
func indexed(name string, i int) string {
	return name + "[" + strconv.Itoa(i) + "]"
}

// keyPath returns "prefix.key" for a map key supplied by the client, with
// every byte outside printable ASCII replaced by "_" and the key cut at 64
// bytes: a header name carrying CR LF must not carry them into the error.
func keyPath(prefix, key string) string {
	var b strings.Builder
	b.WriteString(prefix)
	b.WriteByte('.')
	for i := 0; i < len(key) && i < 64; i++ {
		c := key[i]
		if c <= ' ' || c >= 0x7f {
			c = '_'
		}
		b.WriteByte(c)
	}
	return b.String()
}
