package segment

import (
	"errors"
	"testing"
	"time"

	"github.com/carepost/carepost/internal/contact"
)

// FuzzCompile feeds arbitrary text to the compile path: it must return a
// Program or an *Error with a position inside the source, never panic,
// and a Program must evaluate (or fail with an EvalError) on contacts
// with and without values.
func FuzzCompile(f *testing.F) {
	for _, s := range []string{
		`condition == "diabetes" and days_since(last_visit) > 180 and age >= 40`,
		`has_event("appointment_missed", 30) or opened("cmp_x") or clicked(7)`,
		`not (visits > 2) and "a" in tags and vip`,
		`any(tags, # startsWith "b") ? plan == "gold" : has(plan)`,
		`event_count("portal_login") >= 2 && in_list("lst_1")`,
		`plan matches "^(gold|silver)$" and len(plan) > 3`,
		"condition ==\n",
		`$env.condition`,
		`let x = 1; x`,
		`int(plan) > 3`,
		`today() > created_at`,
	} {
		f.Add(s)
	}
	fields := workloadFields()
	full := patient(map[string]contact.Value{"condition": text("diabetes"), "last_visit": date("2026-01-15"), "birth_date": date("1980-05-01"),
		"plan": text("gold"), "visits": {Type: contact.TypeNumber, Number: 3}, "tags": {Type: contact.TypeList, List: []string{"a", "b"}},
		"vip": {Type: contact.TypeBoolean, Bool: true}})
	empty := patient(nil)
	f.Fuzz(func(t *testing.T, src string) {
		p, err := Compile(src, fields)
		if err != nil {
			var e *Error
			if !errors.As(err, &e) {
				t.Fatalf("%q: error %T %v is not an *Error", src, err, err)
			}
			if e.Line < 1 || e.Column < 1 || e.Message == "" {
				t.Fatalf("%q: error without a position: %#v", src, e)
			}
			return
		}
		ev := &evaluation{p: p, now: today, today: time.Date(2026, 12, 1, 0, 0, 0, 0, time.UTC),
			sets: make([]map[string]struct{}, len(p.calls)), count: make([]map[string]int, len(p.calls))}
		for _, v := range p.vars {
			ev.names = append(ev.names, "_h_"+v.name)
		}
		m := ev.matcher()
		for _, c := range []*contact.Contact{full, empty} {
			if _, err := m.match(c); err != nil {
				var ee *EvalError
				if !errors.As(err, &ee) {
					t.Fatalf("%q: evaluation error %T %v", src, err, err)
				}
			}
		}
	})
}
