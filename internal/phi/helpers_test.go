package phi

import (
	"testing"

	"github.com/carepost/carepost/internal/workload"
)

// detect runs one detector over text as the scanner would.
func detect(d detector, text string) (int, Confidence) { return d.scan(NewText(text)) }

type detCase struct {
	text  string
	count int
	conf  Confidence
}

// runCases checks each case's count and confidence.
func runCases(t *testing.T, d detector, cases []detCase) {
	t.Helper()
	for _, c := range cases {
		n, conf := detect(d, c.text)
		if n != c.count || conf != c.conf {
			t.Errorf("%s in %q: %d (%s), want %d (%s)", d.name(), c.text, n, conf, c.count, c.conf)
		}
	}
}

// campaign is the standard workload's 8 KB HTML campaign
// (/work/shared/workload/campaign.html), as text.
func campaign(tb testing.TB) string {
	tb.Helper()
	b := workload.Campaign()
	return HTMLText(string(b))
}
