package outbox_test

import (
	"context"
	"fmt"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/carepost/carepost/internal/store/storetest"
)

// BenchmarkSubmit measures the accept path without HTTP: validate, build,
// seal, index, commit with events, webhooks, audit and the delivery job,
// from 32 concurrent submitters sharing group commit.
func BenchmarkSubmit(b *testing.B) {
	a, org := setupB(b, storetest.Default())
	text := strings.Repeat("Your appointment is confirmed. Please bring your insurance card.\n", 75)
	var n atomic.Int64
	b.SetParallelism(16)
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		ctx := context.Background()
		for pb.Next() {
			d := draft(fmt.Sprintf("p%d@dest.example", n.Add(1)))
			d.Text = text
			if _, err := a.Outbox.Submit(ctx, sub(org, d)); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "msgs/s")
}
