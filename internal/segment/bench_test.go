package segment_test

import (
	"bytes"
	"context"
	"os"
	"strconv"
	"testing"
	"time"

	"github.com/carepost/carepost/internal/contact"
	"github.com/carepost/carepost/internal/segment"
	"github.com/carepost/carepost/internal/store/storetest"
	stdworkload "github.com/carepost/carepost/internal/workload"
)

// BenchmarkSegment is the standard segment-1m run (docs/BENCHMARKS.md):
// the workload's contacts (gen-contacts.py, seed 7) imported through the
// real CSV import, then whole evaluations of
//
//	condition == "diabetes" and days_since(last_visit) > 180 and age >= 40
//
// (three PHI fields: every contact's sealed map is opened) and, for
// comparison, of one field not marked PHI (nothing is decrypted). It
// reports contacts/s (wall clock) and cpu-µs/contact (process user+system
// time). CAREPOST_BENCH_CONTACTS sets the size (default 100000; the
// standard run is 1000000); CAREPOST_WORKLOAD_DIR the folder of
// gen-contacts.py (default: shared/workload beside the repository, or
// /work/shared/workload). The driver is storetest.Default()
// (CAREPOST_TEST_DRIVER).
//
//	CAREPOST_BENCH_CONTACTS=1000000 go test ./internal/segment -run '^$' -bench Segment -benchtime 3x -timeout 60m
func BenchmarkSegment(b *testing.B) {
	n := 100000
	if v := os.Getenv("CAREPOST_BENCH_CONTACTS"); v != "" {
		var err error
		if n, err = strconv.Atoi(v); err != nil || n < 1 {
			b.Fatalf("CAREPOST_BENCH_CONTACTS=%q", v)
		}
	}
	data := workloadCSV(b, n)
	e := setup(b, storetest.Default())
	ctx := context.Background()
	e.workloadFields(b)
	start := time.Now()
	e.importCSV(b, data)
	b.Logf("imported %d contacts in %v (%.0f rows/s)", n, time.Since(start).Round(time.Millisecond), float64(n)/time.Since(start).Seconds())
	for _, c := range []struct{ name, expr string }{
		{"workload-phi", `condition == "diabetes" and days_since(last_visit) > 180 and age >= 40`},
		{"clear-field", `plan == "gold" and status == "subscribed"`},
	} {
		sg, err := e.svc.Create(ctx, e.ownerA, segment.Input{Name: c.name, Kind: segment.Dynamic, Expression: c.expr})
		if err != nil {
			b.Fatal(err)
		}
		b.Run(c.name, func(b *testing.B) {
			var members int
			cpu0 := stdworkload.CPUTime()
			start := time.Now()
			for b.Loop() {
				members = 0
				for _, err := range e.svc.Members(ctx, e.orgA, sg.ID) {
					if err != nil {
						b.Fatal(err)
					}
					members++
				}
			}
			elapsed, cpu := time.Since(start), stdworkload.CPUTime()-cpu0
			total := float64(n) * float64(b.N)
			b.ReportMetric(total/elapsed.Seconds(), "contacts/s")
			b.ReportMetric(float64(cpu.Microseconds())/total, "cpu-µs/contact")
			b.ReportMetric(float64(members), "members")
		})
	}
}

// workloadCSV runs the standard generator.
func workloadCSV(b *testing.B, n int) []byte {
	b.Helper()
	out, err := stdworkload.Contacts(n)
	if err != nil {
		b.Skipf("standard workload not available: %v", err)
	}
	return out
}

// workloadFields defines gen-contacts.py's columns in organization A, the
// clinical and identifying ones PHI (as a healthcare organization would),
// the plan not.
func (e *env) workloadFields(b *testing.B) {
	b.Helper()
	no := false
	for _, f := range []contact.FieldInput{
		{Key: "birth_date", Type: contact.TypeDate},
		{Key: "condition", Type: contact.TypeText},
		{Key: "last_visit", Type: contact.TypeDate},
		{Key: "insurance_status", Type: contact.TypeText},
		{Key: "plan", Type: contact.TypeText, PHI: &no},
		{Key: "zip", Type: contact.TypeText},
	} {
		if _, err := e.app.Contacts.CreateField(context.Background(), contact.As(e.ownerA), f); err != nil {
			b.Fatal(err)
		}
	}
}

// importCSV runs a whole import in organization A, inline.
func (e *env) importCSV(b *testing.B, data []byte) {
	b.Helper()
	ctx := context.Background()
	a := contact.As(e.ownerA)
	imp, err := e.app.Contacts.CreateImport(ctx, a, contact.ImportRequest{
		Mapping: stdworkload.Mapping(contact.ConsentColumn),
		Consent: &contact.Authorization{Method: contact.Electronic, TextVersion: "mkt-auth-2026", ExpiresAt: e.clock.Now().AddDate(2, 0, 0)}})
	if err != nil {
		b.Fatal(err)
	}
	const part = 8 << 20
	for off := 0; off < len(data); off += part {
		if _, err := e.app.Contacts.AddImportPart(ctx, a, imp.ID, bytes.NewReader(data[off:min(off+part, len(data))])); err != nil {
			b.Fatal(err)
		}
	}
	if _, err := e.app.Contacts.StartImport(ctx, a, imp.ID); err != nil {
		b.Fatal(err)
	}
	if err := e.app.Contacts.RunImport(ctx, e.orgA, imp.ID); err != nil {
		b.Fatal(err)
	}
	done, err := e.app.Contacts.GetImport(ctx, a, imp.ID)
	if err != nil || done.State != contact.ImportCompleted {
		b.Fatalf("import: %+v %v", done, err)
	}
}
