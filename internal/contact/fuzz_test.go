package contact

import (
	"bytes"
	"errors"
	"io"
	"reflect"
	"strings"
	"testing"
	"time"
)

// fuzzSchema has a field of every type.
func fuzzSchema() *Schema {
	return newSchema([]Field{
		{Key: "birth_date", Type: TypeDate, PHI: true, Tag: 16},
		{Key: "condition", Type: TypeText, PHI: true, Tag: 17},
		{Key: "visits", Type: TypeNumber, PHI: true, Tag: 18},
		{Key: "smoker", Type: TypeBoolean, PHI: true, Tag: 19},
		{Key: "programs", Type: TypeList, PHI: false, Tag: 20, Options: []string{"a1c", "diet", "walk"}},
	})
}

// FuzzCSVRows feeds arbitrary files through the import's reader and
// mapper: it must never panic, a row it accepts must carry a normalized
// address, and no reason it gives may contain a cell's content — the
// report must never echo a value.
func FuzzCSVRows(f *testing.F) {
	f.Add([]byte("email,first_name,birth_date,visits,smoker,programs,marketing_consent\nada@patients.test,Ada,1960-01-02,3,yes,diet;walk,yes\n"))
	f.Add([]byte("email,birth_date\n\"quoted,comma\"@x.test,1960-13-40\nbare\"quote@x.test,\n"))
	f.Add([]byte("\uFEFFEmail,Condition\r\n  Ben@Example.ORG ,asthma\r\n"))
	f.Add([]byte("email,email\n"))
	f.Add([]byte("email,programs\nx@y.test,diet;nope\n\"unterminated\n"))
	sch := fuzzSchema()
	f.Fuzz(func(t *testing.T, data []byte) {
		cr := newCSV(bytes.NewReader(data))
		rec, err := cr.Read()
		if err != nil {
			return
		}
		header := append([]string(nil), rec...)
		targets, herrs := resolveColumns(header, nil, sch, true)
		checkReasons(t, header, header, herrs)
		if len(herrs) > 0 {
			return
		}
		for range 1000 {
			rec, err := cr.Read()
			if errors.Is(err, io.EOF) {
				return
			}
			if err != nil {
				if reason, _ := recordError(err); strings.ContainsAny(reason, "@\n") {
					t.Fatalf("reason %q", reason)
				}
				continue
			}
			if len(rec) != len(header) {
				continue
			}
			p, _, errs := mapRow(header, targets, rec)
			checkReasons(t, rec, header, errs)
			if len(errs) == 0 {
				if p.email == nil || *p.email == "" || strings.ContainsAny(*p.email, " \r\n") {
					t.Fatalf("accepted row without a clean address: %q", rec)
				}
			}
		}
	})
}

// checkReasons fails if an error's reason holds any of the row's cells
// longer than three bytes that is not part of the fixed wording.
func checkReasons(t *testing.T, row, header []string, errs []cellError) {
	t.Helper()
	for _, e := range errs {
		reason := e.Reason
		for _, h := range header { // header names are column names, not values
			reason = strings.ReplaceAll(reason, "("+h+")", "")
		}
		for _, cell := range row {
			cell = strings.TrimSpace(cell)
			if len(cell) > 3 && strings.Contains(reason, cell) && !fixedWording(cell) {
				t.Fatalf("reason %q echoes the cell %q", e.Reason, cell)
			}
		}
	}
}

func fixedWording(cell string) bool {
	const words = "the file has no header row a column name appears twice in the header has no name more than 200 columns " +
		"no column maps to email maps to a field that does not exist two columns map to the same field mapping names a column " +
		"the header does not have consent settings is required not yes or no not a number not a date (want YYYY-MM-DD) " +
		"not a boolean (want true/false, yes/no or 1/0) not a list of strings not text too long contains control characters " +
		"or invalid UTF-8 not one of the field's options too many list items not a valid e-mail address not a phone number " +
		"(7 to 15 digits, optionally starting with +) names are at most 256 characters, without control characters " +
		"not an IANA time zone name (e.g. America/Chicago) not a BCP 47 language tag (e.g. en-US) must be subscribed, " +
		"unsubscribed, bounced or complained maps to @consent but the import has no"
	return strings.Contains(words, cell)
}

// FuzzSealedMap decodes arbitrary bytes as a sealed map: never a panic, and
// what encodes decodes to the same contact.
func FuzzSealedMap(f *testing.F) {
	sch := fuzzSchema()
	c := Contact{Email: "ada@patients.test", FirstName: "Ada", Fields: map[string]Value{
		"birth_date": {Type: TypeDate, Date: time.Date(1960, 1, 2, 0, 0, 0, 0, time.UTC)},
		"visits":     {Type: TypeNumber, Number: 3.5}, "smoker": {Type: TypeBoolean, Bool: true},
		"condition": {Type: TypeText, Text: "asthma"}}}
	f.Add(encodePHI(&c, sch))
	f.Add([]byte{mapVersion, 17, kindList, 0xff, 0xff, 0xff, 0xff, 0x0f})
	f.Fuzz(func(t *testing.T, b []byte) {
		var got Contact
		if err := decodePHI(b, sch, &got); err != nil {
			return
		}
		again := encodePHI(&got, sch)
		var back Contact
		if err := decodePHI(again, sch, &back); err != nil || !reflect.DeepEqual(normalizeForCompare(got), normalizeForCompare(back)) {
			t.Fatalf("round trip changed the contact: %+v -> %+v (%v)", got, back, err)
		}
	})
}

func normalizeForCompare(c Contact) Contact {
	for k, v := range c.Fields {
		if v.Type == TypeList && len(v.List) == 0 {
			v.List = nil
			c.Fields[k] = v
		}
	}
	if len(c.Fields) == 0 {
		c.Fields = nil
	}
	return c
}
