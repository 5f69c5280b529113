package segment

import (
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/carepost/carepost/internal/contact"
)

// workloadFields are the standard workload's fields, the clinical ones PHI.
func workloadFields() []contact.Field {
	return append(append([]contact.Field{}, contact.BuiltIns...),
		contact.Field{Key: "birth_date", Type: contact.TypeDate, PHI: true, Tag: 16},
		contact.Field{Key: "condition", Type: contact.TypeText, PHI: true, Tag: 17},
		contact.Field{Key: "last_visit", Type: contact.TypeDate, PHI: true, Tag: 18},
		contact.Field{Key: "plan", Type: contact.TypeText, Tag: 19},
		contact.Field{Key: "visits", Type: contact.TypeNumber, Tag: 20},
		contact.Field{Key: "tags", Type: contact.TypeList, Tag: 21},
		contact.Field{Key: "vip", Type: contact.TypeBoolean, Tag: 22},
	)
}

var today = time.Date(2026, 12, 1, 15, 30, 0, 0, time.UTC)

func date(s string) contact.Value {
	d, err := time.Parse(time.DateOnly, s)
	if err != nil {
		panic(err)
	}
	return contact.Value{Type: contact.TypeDate, Date: d}
}

func text(s string) contact.Value { return contact.Value{Type: contact.TypeText, Text: s} }

// patient is a contact with the given custom values.
func patient(fields map[string]contact.Value) *contact.Contact {
	return &contact.Contact{ID: "con_1", OrgID: "org_1", Email: "p@patients.test", Status: contact.Subscribed, Fields: fields,
		Timezone: "America/Chicago", CreatedAt: today.AddDate(-1, 0, 0)}
}

func eval(t *testing.T, src string, c *contact.Contact) bool {
	t.Helper()
	p, err := Compile(src, workloadFields())
	if err != nil {
		t.Fatalf("compile %q: %v", src, err)
	}
	ev := &evaluation{p: p, now: today, today: time.Date(2026, 12, 1, 0, 0, 0, 0, time.UTC)}
	for _, v := range p.vars {
		ev.names = append(ev.names, "_h_"+v.name)
	}
	ev.sets = make([]map[string]struct{}, len(p.calls))
	ev.count = make([]map[string]int, len(p.calls))
	ok, err := ev.matcher().match(c)
	if err != nil {
		t.Fatalf("evaluate %q: %v", src, err)
	}
	return ok
}

func TestTheWorkloadSegment(t *testing.T) {
	t.Parallel()
	const src = `condition == "diabetes" and days_since(last_visit) > 180 and age >= 40`
	cases := []struct {
		name   string
		fields map[string]contact.Value
		want   bool
	}{
		{"matches", map[string]contact.Value{"condition": text("diabetes"), "last_visit": date("2026-01-15"), "birth_date": date("1980-05-01")}, true},
		{"visited recently", map[string]contact.Value{"condition": text("diabetes"), "last_visit": date("2026-11-01"), "birth_date": date("1980-05-01")}, false},
		{"too young", map[string]contact.Value{"condition": text("diabetes"), "last_visit": date("2026-01-15"), "birth_date": date("1990-01-01")}, false},
		// Turns 40 tomorrow: 39 today.
		{"40 tomorrow", map[string]contact.Value{"condition": text("diabetes"), "last_visit": date("2026-01-15"), "birth_date": date("1986-12-02")}, false},
		{"40 today", map[string]contact.Value{"condition": text("diabetes"), "last_visit": date("2026-01-15"), "birth_date": date("1986-12-01")}, true},
		{"other condition", map[string]contact.Value{"condition": text("asthma"), "last_visit": date("2026-01-15"), "birth_date": date("1980-05-01")}, false},
		// An unknown last visit is not "more than 180 days ago".
		{"no last visit", map[string]contact.Value{"condition": text("diabetes"), "birth_date": date("1980-05-01")}, false},
		{"no birth date", map[string]contact.Value{"condition": text("diabetes"), "last_visit": date("2026-01-15")}, false},
	}
	for _, c := range cases {
		if got := eval(t, src, patient(c.fields)); got != c.want {
			t.Errorf("%s: got %v, want %v", c.name, got, c.want)
		}
	}
	p, _ := Compile(src, workloadFields())
	if !p.UsesPHI() || strings.Join(p.Fields(), ",") != "condition,last_visit,birth_date" {
		t.Fatalf("phi %v fields %v", p.UsesPHI(), p.Fields())
	}
}

func TestUnsetValues(t *testing.T) {
	t.Parallel()
	none := patient(nil)
	for src, want := range map[string]bool{
		`visits > 2`:       false,
		`not (visits > 2)`: true, // the condition is false; its negation true
		`visits <= 2`:      false,
		`has(visits)`:      false,
		`not has(visits)`:  true,
		`vip`:              false,
		`not vip`:          true,
		`"a" in tags`:      false,
		`plan != "gold"`:   false,
		`plan != "gold" or status == "subscribed"`: true,
		`has(age)`:                      false,
		`timezone == "America/Chicago"`: true,
		`locale == "en-US"`:             false,
		`days_since(created_at) >= 365`: true,
		`consent`:                       false,
		`not suppressed`:                true,
	} {
		if got := eval(t, src, none); got != want {
			t.Errorf("%s: got %v, want %v", src, got, want)
		}
	}
	set := patient(map[string]contact.Value{"visits": {Type: contact.TypeNumber, Number: 3}, "vip": {Type: contact.TypeBoolean, Bool: true},
		"tags": {Type: contact.TypeList, List: []string{"a", "b"}}, "plan": text("silver")})
	for src, want := range map[string]bool{
		`visits > 2`: true, `not (visits > 2)`: false, `vip`: true, `"a" in tags`: true, `plan != "gold"`: true,
		`len(tags) == 2 and any(tags, # startsWith "b")`: true, `plan in ["gold", "silver"]`: true, `plan matches "^s"`: true,
		`visits * 2 == 6`: true, `lower(plan) == "silver" ? vip : false`: true,
	} {
		if got := eval(t, src, set); got != want {
			t.Errorf("%s: got %v, want %v", src, got, want)
		}
	}
}

func TestErrorsPointAtTheBadToken(t *testing.T) {
	t.Parallel()
	cases := []struct {
		src          string
		line, column int
		msg          string
	}{
		{`condtion == "diabetes"`, 1, 1, "unknown field condtion (did you mean condition?)"},
		{"condition == \"diabetes\" and\n  days_since(last_vist) > 180", 2, 14, "unknown field last_vist"},
		{`age >= "forty"`, 1, 5, "mismatched types number and text"},
		{`condition == "diabetes" and`, 1, 27, "the expression ends too early"},
		{`visits + 1`, 1, 1, "must be a condition"},
		{`has_event(condition)`, 1, 11, "has_event: the event name must be written in the expression"},
		{`has_event("portal_login", 0)`, 1, 27, "between 1 and 3650"},
		{`has(1)`, 1, 5, "has() takes a field name"},
		{`$env["condition"] == "x"`, 1, 1, "unknown name $env"},
		{`let x = 1; x > 0`, 1, 5, "let is not supported"},
		{`in_list(plan)`, 1, 9, "list id must be written"},
		{`now() > created_at`, 1, 1, ""},
	}
	for _, c := range cases {
		_, err := Compile(c.src, workloadFields())
		var e *Error
		if !errors.As(err, &e) {
			t.Errorf("%q: error %v, want *Error", c.src, err)
			continue
		}
		if e.Line != c.line || e.Column != c.column || !strings.Contains(e.Message, c.msg) {
			t.Errorf("%q: got line %d column %d %q, want %d:%d containing %q", c.src, e.Line, e.Column, e.Message, c.line, c.column, c.msg)
		}
		if c.msg != "" && c.line > 0 && e.Snippet != "" {
			lines := strings.Split(e.Snippet, "\n")
			caret := lines[len(lines)-1]
			if !strings.HasSuffix(caret, "^") || len(caret) != len(" | ")+c.column {
				t.Errorf("%q: caret line %q does not point at column %d", c.src, caret, c.column)
			}
		}
	}
}
