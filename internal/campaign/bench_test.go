package campaign_test

import (
	"bytes"
	"context"
	"os"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/carepost/carepost/internal/campaign"
	"github.com/carepost/carepost/internal/contact"
	"github.com/carepost/carepost/internal/store/storetest"
	"github.com/carepost/carepost/internal/workload"
)

func benchContacts(b *testing.B) int {
	if v, err := strconv.Atoi(os.Getenv("CAREPOST_BENCH_CONTACTS")); err == nil && v > 0 {
		return v
	}
	return 20000
}

// genContacts runs the standard generator for n contacts.
func genContacts(b *testing.B, n int) []byte {
	b.Helper()
	out, err := workload.Contacts(n)
	if err != nil {
		b.Skipf("standard workload not available: %v", err)
	}
	return out
}

// workloadTemplate is campaign.html in carepost's template syntax: the
// personalized link carries the plan instead of the condition, which the
// PHI lint refuses in a URL (as package template's benchmark does).
func workloadTemplate(b *testing.B) string {
	b.Helper()
	html := workload.Campaign()
	return strings.NewReplacer(
		"{{first_name}}", `{{.Contact.FirstName | default "there"}}`,
		"{{last_name}}", "{{.Contact.LastName}}",
		"{{last_visit}}", `{{date "long" .Contact.Fields.last_visit}}`,
		"resources/{{condition}}", "resources/{{.Contact.Fields.plan}}",
		"{{condition}}", "{{.Contact.Fields.condition}}",
		"{{plan}}", "{{.Contact.Fields.plan}}",
	).Replace(string(html))
}

// importWorkload imports the CSV into the env's list through package
// contact's import (marketing_consent "yes" is an authorization).
func (e *env) importWorkload(b *testing.B, data []byte) {
	b.Helper()
	ctx := context.Background()
	for _, f := range []contact.FieldInput{{Key: "birth_date", Type: contact.TypeDate}, {Key: "insurance_status", Type: contact.TypeText},
		{Key: "zip", Type: contact.TypeText}} {
		if _, err := e.a.Contacts.CreateField(ctx, e.actor(), f); err != nil {
			b.Fatal(err)
		}
	}
	imp, err := e.a.Contacts.CreateImport(ctx, e.actor(), contact.ImportRequest{ListID: e.list,
		Mapping: workload.Mapping(contact.ConsentColumn),
		Consent: &contact.Authorization{Method: contact.Electronic, TextVersion: "mkt-auth-2026", ExpiresAt: e.clock.Now().AddDate(2, 0, 0)}})
	if err != nil {
		b.Fatal(err)
	}
	if _, err := e.a.Contacts.AddImportPart(ctx, e.actor(), imp.ID, bytes.NewReader(data)); err != nil {
		b.Fatal(err)
	}
	if _, err := e.a.Contacts.StartImport(ctx, e.actor(), imp.ID); err != nil {
		b.Fatal(err)
	}
	if err := e.a.Contacts.RunImport(ctx, e.org, imp.ID); err != nil {
		b.Fatal(err)
	}
}

// BenchmarkCampaignEnqueue is the standard campaign workload up to the
// outbox: N contacts (CAREPOST_BENCH_CONTACTS, default 20,000) from
// gen-contacts.py --seed 7 imported into a list (about 80% with a
// marketing authorization), campaign.html as a campaign that uses PHI,
// then
//
//   - prepare: the audience streamed into recipient rows and batch jobs
//     (prepared/s);
//   - enqueue: every batch run by 4 workers, as River runs them —
//     contacts loaded and opened, skips decided, each message rendered,
//     decided by the policy engine, tracked, built, sealed and committed
//     through the outbox with its recipient row (enqueued/s counts
//     contacts settled, sent or skipped; sent/s the messages).
//
// Delivery workers do not run. Peak RSS is the process's (import
// included). Run (docs/BENCHMARKS.md):
//
//	CAREPOST_BENCH_CONTACTS=100000 go test ./internal/campaign -run '^$' -bench CampaignEnqueue -benchtime 1x -timeout 60m
func BenchmarkCampaignEnqueue(b *testing.B) {
	n := benchContacts(b)
	data := genContacts(b, n)
	// The product's batch and chunk sizes (0: Options' default).
	e := setup(b, storetest.Default(), func(o *campaign.Options) { o.BatchSize, o.Chunk = 500, 0 })
	benchClock(e.clock)
	e.importWorkload(b, data)
	e.tpl = e.template(workloadTemplate(b))
	ctx := context.Background()
	runtime.GC()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		c := e.create(nil)
		start, cpu0 := time.Now(), workload.CPUTime()
		c, err := e.svc.Send(ctx, e.admin(), c.ID)
		if err != nil {
			b.Fatal(err)
		}
		if err := e.svc.Prepare(ctx, e.org, c.ID); err != nil {
			b.Fatal(err)
		}
		prepared, prepCPU := time.Since(start), workload.CPUTime()-cpu0
		c = e.get(c.ID)
		if c.Targeted != int64(n) {
			b.Fatalf("targeted %d of %d", c.Targeted, n)
		}
		start, cpu0 = time.Now(), workload.CPUTime()
		epoch := e.epoch(c.ID)
		next := make(chan int)
		var wg sync.WaitGroup
		for range 4 {
			wg.Go(func() {
				for batch := range next {
					if err := e.svc.RunBatch(ctx, e.org, c.ID, batch, epoch); err != nil {
						b.Error(err)
					}
				}
			})
		}
		for batch := 0; batch < c.Batches; batch++ {
			next <- batch
		}
		close(next)
		wg.Wait()
		enqueued, enqCPU := time.Since(start), workload.CPUTime()-cpu0
		rep := e.report(c.ID, e.admin())
		if rep.Pending.N != 0 || e.get(c.ID).State != campaign.Completed {
			b.Fatalf("not completed: %+v", rep)
		}
		b.ReportMetric(float64(n)/prepared.Seconds(), "prepared/s")
		b.ReportMetric(float64(prepCPU.Microseconds())/float64(n), "prepare-cpu-µs/contact")
		b.ReportMetric(float64(n)/enqueued.Seconds(), "enqueued/s")
		b.ReportMetric(float64(rep.Sent.N)/enqueued.Seconds(), "sent/s")
		b.ReportMetric(float64(enqCPU.Microseconds())/float64(n), "enqueue-cpu-µs/contact")
	}
	b.ReportMetric(float64(peakRSS())/(1<<20), "peak-RSS-MiB")
	b.ReportMetric(0, "ns/op")
}

// peakRSS is the process's peak resident set (VmHWM), or 0 where that is
// not available.
func peakRSS() int64 { return procValue("/proc/self/status", "VmHWM:") << 10 }

// bytesWritten is what the process has written so far (write_bytes of
// /proc/self/io: what reached the block layer, the WAL, the database file
// and their syncs), or 0 where that is not available.
func bytesWritten() int64 { return procValue("/proc/self/io", "write_bytes:") }

// procValue is the number after key in a /proc file ("VmHWM:  1234 kB"
// gives 1234), or 0.
func procValue(path, key string) int64 {
	data, err := os.ReadFile(path)
	if err != nil {
		return 0
	}
	for _, line := range strings.Split(string(data), "\n") {
		if rest, ok := strings.CutPrefix(line, key); ok {
			n, _ := strconv.ParseInt(strings.TrimSuffix(strings.TrimSpace(rest), " kB"), 10, 64)
			return n
		}
	}
	return 0
}

// benchClock makes the clock tick for a benchmark (clocktest.Clock.Tick),
// unless CAREPOST_BENCH_FROZEN_CLOCK is set.
func benchClock(c *clock) {
	if os.Getenv("CAREPOST_BENCH_FROZEN_CLOCK") == "" {
		c.Tick(time.Microsecond)
	}
}
