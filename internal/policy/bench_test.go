package policy_test

import (
	"testing"

	"github.com/carepost/carepost/internal/message"
	"github.com/carepost/carepost/internal/policy"
	"github.com/carepost/carepost/internal/store/storetest"
	"github.com/carepost/carepost/internal/workload"
)

// BenchmarkCampaignMessage is the policy cost of one campaign message to
// one recipient: Inspect (which the outbox does anyway), Evaluate (the
// content scan, with the organization's compiled policy cached) and
// Decide, on the standard workload's 8 KB campaign.html.
//
//	go test -run '^$' -bench . ./internal/policy
func BenchmarkCampaignMessage(b *testing.B) {
	e := setup(b, storetest.Default())
	html := workload.Campaign()
	raw, err := message.Build(message.Draft{From: message.Address{Email: "care@clinic.example"}, To: []message.Address{{Email: "pat@example.org"}},
		Subject: "Time for your check-up", HTML: string(html), Text: "Hi, it is time for your check-up."}, message.BuildOptions{})
	if err != nil {
		b.Fatal(err)
	}
	b.SetBytes(int64(len(raw)))
	b.ReportAllocs()
	for b.Loop() {
		p, err := message.Inspect(raw, message.Limits{})
		if err != nil {
			b.Fatal(err)
		}
		ev, err := e.engine.Evaluate(e.ctx, policy.Message{OrgID: e.org, TLSOnly: true, Parsed: p})
		if err != nil {
			b.Fatal(err)
		}
		if _, err := ev.Decide(e.ctx, "pat@example.org"); err != nil {
			b.Fatal(err)
		}
	}
}
