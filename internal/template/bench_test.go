package template

import (
	"strings"
	"testing"
	"time"

	"github.com/carepost/carepost/internal/workload"
)

// benchTemplate is the standard workload's campaign.html
// (/work/shared/workload) in this package's syntax: {{first_name}} is
// {{.Contact.FirstName | default "there"}}, {{last_visit}} a long date in
// the contact's timezone, and the personalized link carries the plan
// rather than the condition, which the PHI lint refuses in a URL.
func benchTemplate(b *testing.B) *Compiled {
	b.Helper()
	html := strings.NewReplacer(
		"resources/{{condition}}", "resources/{{.Contact.Fields.plan}}",
		"{{first_name}}", `{{.Contact.FirstName | default "there"}}`,
		"{{last_name}}", "{{.Contact.LastName}}",
		"{{last_visit}}", `{{date "long" .Contact.Fields.last_visit}}`,
		"{{condition}}", "{{.Contact.Fields.condition}}",
		"{{plan}}", "{{.Contact.Fields.plan}}").Replace(string(workload.Campaign()))
	fs := FieldSet{"first_name": true, "last_name": true, "condition": true, "last_visit": true, "plan": false}
	p, err := Prepare(Source{Subject: "Time for your check-up", Preheader: "Book a visit in two minutes", HTML: html}, fs)
	if err != nil {
		b.Fatal(err)
	}
	c, err := Compile(p.Source)
	if err != nil {
		b.Fatal(err)
	}
	return c
}

func benchContacts(n int) []Contact {
	conditions := []string{"diabetes", "hypertension", "asthma", "copd"}
	plans := []string{"Bronze", "Silver", "Gold", "Medicare Advantage"}
	zones := []string{"America/New_York", "America/Chicago", "America/Denver", "America/Los_Angeles"}
	out := make([]Contact, n)
	for i := range out {
		out[i] = Contact{ID: "con_" + string(rune('a'+i%26)), Email: "patient@example.org", FirstName: "Jane", LastName: "Doe",
			Timezone: zones[i%4], Fields: map[string]any{
				"condition": conditions[i%4], "plan": plans[(i/4)%4],
				"last_visit": Date{Year: 2025, Month: time.Month(1 + i%12), Day: 1 + i%28},
			}}
	}
	return out
}

// BenchmarkRenderCampaign renders the standard 8 KB campaign for one
// contact per operation: NewData (timezone, field normalization) and
// every part (subject, preheader, HTML, derived text).
func BenchmarkRenderCampaign(b *testing.B) {
	c := benchTemplate(b)
	contacts := benchContacts(1024)
	now := time.Now()
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		d := NewData(contacts[i%len(contacts)], now, Links{Unsubscribe: "https://carepost.example/u/x"})
		if _, err := c.Render(&d); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkRenderCampaignParallel is the same on every core, as a
// campaign's delivery workers run it.
func BenchmarkRenderCampaignParallel(b *testing.B) {
	c := benchTemplate(b)
	contacts := benchContacts(1024)
	now := time.Now()
	b.ReportAllocs()
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		i := 0
		for pb.Next() {
			d := NewData(contacts[i%len(contacts)], now, Links{})
			if _, err := c.Render(&d); err != nil {
				b.Error(err)
				return
			}
			i++
		}
	})
}
