package workflow_test

import (
	"os"
	"runtime"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/carepost/carepost/internal/segment"
	"github.com/carepost/carepost/internal/store/storetest"
)

// BenchmarkJourney enrols WORKFLOW_BENCH_CONTACTS contacts (default
// 10,000) of a list in the six-step workflow of the issue — send, wait,
// branch, send, add to segment, end — and runs it on the fake clock. The
// job client is not started, so nothing is delivered: the figures are
// enrolment (the list trigger's paged bulk enrolment) and step execution
// (claims, conditions, rendering, outbox submissions with policy, sealing,
// events and audit, history, counters), not SMTP. It reports step
// executions per second and the heap and RSS after each phase.
//
//	WORKFLOW_BENCH_CONTACTS=100000 go test ./internal/workflow -run '^$' -bench Journey -benchtime 1x
func BenchmarkJourney(b *testing.B) {
	n := 10000
	if v, err := strconv.Atoi(os.Getenv("WORKFLOW_BENCH_CONTACTS")); err == nil && v > 0 {
		n = v
	}
	track := os.Getenv("WORKFLOW_BENCH_TRACK") != "0"
	for range b.N {
		e := setup(b, storetest.Default())
		if os.Getenv("WORKFLOW_BENCH_FROZEN_CLOCK") == "" {
			e.clock.Tick(time.Microsecond) // time passes while the engine works (clocktest.Clock.Tick)
		}
		welcome := e.template("Welcome", "Welcome to the program",
			`<html><body><p>Hello {{ .Contact.FirstName | default "there" }},</p>`+strings.Repeat(`<p>Thank you for joining the program.</p>`, 20)+
				`<p><a href="https://clinic.example/program">About the program</a></p></body></html>`)
		reminder := e.template("Reminder", "Time for your check-up", `<p>Book at <a href="https://clinic.example/book">our site</a></p>`)
		audience := e.list("Audience")
		seg := e.segment("Reminded", segment.Static, "")
		batch := 500
		if v, err := strconv.Atoi(os.Getenv("WORKFLOW_BENCH_BATCH")); err == nil && v > 0 {
			batch = v
		}
		e.a.Workflows.SetBatch(batch)
		start := time.Now()
		e.programContacts(audience, n, func(i int) string {
			if i%2 == 0 {
				return "diabetes"
			}
			return "asthma"
		})
		b.Logf("%d contacts created in %v", n, time.Since(start).Round(time.Millisecond))
		trackJSON := ""
		if !track {
			trackJSON = `, "track": false`
		}
		wid := e.workflow(`{"name": "Bench", "sender": {"address": "care@clinic.example"}, "require_consent": false,
			"trigger": {"type": "list", "list_id": %q},
			"steps": [
			  {"id": "welcome", "type": "send", "template_id": %q`+trackJSON+`},
			  {"id": "pause", "type": "wait", "duration": "2d"},
			  {"id": "route", "type": "branch", "branches": [{"if": {"field": "program", "op": "eq", "value": "diabetes"}, "next": "reminder"}], "fallback": "reminder"},
			  {"id": "reminder", "type": "send", "template_id": %q`+trackJSON+`},
			  {"id": "tag", "type": "add_to_segment", "segment_id": %q},
			  {"id": "done", "type": "end"}]}`, audience, welcome, reminder, seg)
		mem := func(phase string) {
			var ms runtime.MemStats
			runtime.GC()
			runtime.ReadMemStats(&ms)
			b.Logf("%s: heap in use %d MiB, RSS %s", phase, ms.HeapInuse>>20, rss())
		}
		mem("before enrolment")
		t0 := time.Now()
		enrolled, err := e.a.Workflows.RunEnrolment(e.ctx, e.org, wid, "list:"+audience)
		if err != nil || enrolled != int64(n) {
			b.Fatalf("enrolled %d of %d: %v", enrolled, n, err)
		}
		enrol := time.Since(t0)
		mem("after enrolment")
		// RunDue stops at its budget (30 s), as a job would and re-arm:
		// run it until nothing is due.
		drain := func() int {
			total := 0
			for {
				n, err := e.a.Workflows.RunDue(e.ctx)
				if err != nil {
					b.Fatal(err)
				}
				if n == 0 {
					return total
				}
				total += n
			}
		}
		t1 := time.Now()
		s1 := drain()
		first := time.Since(t1)
		mem("after the first send")
		e.clock.Advance(49 * time.Hour)
		t2 := time.Now()
		s2 := drain()
		second := time.Since(t2)
		mem("after the end")
		steps := s1 + s2
		if want := 6 * n; steps != want+n { // the wait step executes twice per contact: parking, then releasing
			b.Logf("executed %d steps, expected %d", steps, want+n)
		}
		if got := e.sent(""); got != 2*n {
			b.Fatalf("%d messages, want %d", got, 2*n)
		}
		b.ReportMetric(float64(n)/enrol.Seconds(), "enrolled/s")
		b.ReportMetric(float64(steps)/(first+second).Seconds(), "steps/s")
		b.ReportMetric(float64(n*6)/(first+second).Seconds(), "workflow-steps/s")
		b.Logf("contacts %d: enrol %v; welcome phase %d steps in %v; rest %d steps in %v", n, enrol.Round(time.Millisecond),
			s1, first.Round(time.Millisecond), s2, second.Round(time.Millisecond))
	}
}

// rss reads the process's resident set size.
func rss() string {
	data, err := os.ReadFile("/proc/self/status")
	if err != nil {
		return "?"
	}
	for _, line := range strings.Split(string(data), "\n") {
		if strings.HasPrefix(line, "VmRSS:") {
			return strings.TrimSpace(strings.TrimPrefix(line, "VmRSS:"))
		}
	}
	return "?"
}
