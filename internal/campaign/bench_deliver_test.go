package campaign_test

import (
	"context"
	"crypto/tls"
	"encoding/pem"
	"io"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"runtime/debug"
	"runtime/pprof"
	"runtime/trace"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/carepost/carepost/internal/app"
	"github.com/carepost/carepost/internal/campaign"
	"github.com/carepost/carepost/internal/config"
	"github.com/carepost/carepost/internal/delivery"
	"github.com/carepost/carepost/internal/dkim"
	"github.com/carepost/carepost/internal/dns/dnstest"
	"github.com/carepost/carepost/internal/smtptest"
	"github.com/carepost/carepost/internal/store/storetest"
	"github.com/carepost/carepost/internal/testpki"
	"github.com/carepost/carepost/internal/workload"
)

// signers signs every message with one key, or not at all (nil): the
// "DKIM off" run.
type signers struct{ s *dkim.Signer }

func (g signers) Signer(context.Context, string, string) (delivery.Signer, error) {
	if g.s == nil {
		return nil, nil
	}
	return g.s, nil
}

// BenchmarkCampaignDeliver is the standard campaign-100k run
// (/work/shared/workload/README.md) on one node: N contacts
// (CAREPOST_BENCH_CONTACTS) imported, campaign.html sent to them with
// tracking, and delivered over verified STARTTLS (MTA-STS enforce, a test
// CA) to a loopback sink (benchSink) through 20 connections, once signed with
// RSA-2048 DKIM and once unsigned. Every part runs on the node's own job
// client as in production: the prepare job, the batch jobs (render, skip,
// track, outbox), delivery. msgs/s is from the send to the last message
// the sink accepted; cpu-ms/1k-msgs is the process's (the sink included).
// The collector runs at serve's target (app.GCPercent) unless GOGC is
// set. The job engine runs with the configuration's defaults unless
// CAREPOST_BENCH_CAMPAIGN_WORKERS (jobs.campaign_workers) or
// CAREPOST_BENCH_WORKERS (jobs.workers) say otherwise;
// CAREPOST_BENCH_CPUPROFILE writes a CPU profile of the measured part,
// CAREPOST_BENCH_TRACE an execution trace of it (go tool trace -pprof=sync
// or syscall: who waits for the writer, and on which fsync), and
// CAREPOST_BENCH_TIMELINE=1 logs the processors in use every quarter
// second. disk-KiB/msg is what the process wrote to disk per message (the
// log, the checkpoints into the database file).
//
//	CAREPOST_BENCH_CONTACTS=100000 go test ./internal/campaign -run '^$' -bench CampaignDeliver -benchtime 1x -timeout 120m
func BenchmarkCampaignDeliver(b *testing.B) {
	for _, alg := range []string{"rsa2048", "nodkim"} {
		b.Run(alg, func(b *testing.B) { benchDeliver(b, alg) })
	}
}

func benchDeliver(b *testing.B, alg string) {
	n := benchContacts(b)
	data := genContacts(b, n)
	dnsSrv, ca := dnstest.New(b), testpki.NewCA(b, "campaign bench CA")
	caFile := filepath.Join(b.TempDir(), "ca.pem")
	if err := os.WriteFile(caFile, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: ca.Cert.Raw}), 0o600); err != nil {
		b.Fatal(err)
	}
	stsPort := mtaSTS(b, ca, "version: STSv1\nmode: enforce\nmx: mx.patients.test\nmax_age: 86400\n")
	dnsSrv.AddMX("patients.test", 10, "mx.patients.test")
	dnsSrv.AddA("mx.patients.test", "127.0.0.1")
	dnsSrv.AddTXT("_mta-sts.patients.test", "v=STSv1; id=20260101T000000")
	dnsSrv.AddA("mta-sts.patients.test", "127.0.0.1")
	leaf := ca.Leaf(b, []string{"mx.patients.test"}, testpki.Options{})
	sink := newBenchSink(b, leaf)
	_, sinkPort, _ := net.SplitHostPort(sink.addr())
	mxPort, _ := strconv.Atoi(sinkPort)

	// The collector's target is serve's (app.GCPercent) unless GOGC is
	// set: the benchmark measures the product as it runs.
	if os.Getenv("GOGC") == "" {
		prev := debug.SetGCPercent(app.GCPercent)
		b.Cleanup(func() { debug.SetGCPercent(prev) })
	}
	var sg signers
	if alg == "rsa2048" {
		keys, err := dkim.GenerateKeys("clinic.test")
		if err != nil {
			b.Fatal(err)
		}
		if sg.s, err = dkim.NewSigner("clinic.test", keys, dkim.RSASHA256); err != nil {
			b.Fatal(err)
		}
	}
	e := setupWith(b, storetest.Default(), setupOptions{
		config: func(c *config.Config) {
			c.Demo.Enabled = false
			d := &c.Delivery
			d.DNSServers, d.MXPort, d.MTASTSPort, d.ExtraRoots = []string{dnsSrv.Addr()}, mxPort, stsPort, caFile
			d.LocalName, d.ConnectionsPerDomain = "carepost.test", 20
			c.Jobs.CampaignWorkers = benchEnvInt("CAREPOST_BENCH_CAMPAIGN_WORKERS", 0)
			c.Jobs.Workers = benchEnvInt("CAREPOST_BENCH_WORKERS", c.Jobs.Workers)
		},
		app:    app.Options{DNSServers: []string{dnsSrv.Addr()}, Signers: sg},
		verify: dnsSrv.AddTXT,
	})
	benchClock(e.clock)
	e.importWorkload(b, data)
	e.tpl = e.template(workloadTemplate(b))
	ctx := context.Background()
	name, from, tpl := "Check-up", sender, e.tpl
	c, err := e.a.Campaigns.Create(ctx, e.admin(), campaign.Input{Name: &name, FromEmail: &from, TemplateID: &tpl,
		Audience: &campaign.Audience{Lists: []string{e.list}}})
	if err != nil {
		b.Fatal(err)
	}
	e.run()
	b.ResetTimer()
	stopProfile := recordTo(b, "CAREPOST_BENCH_CPUPROFILE", pprof.StartCPUProfile, pprof.StopCPUProfile)
	stopTrace := recordTo(b, "CAREPOST_BENCH_TRACE", trace.Start, trace.Stop)
	start, cpu0, written0 := time.Now(), workload.CPUTime(), bytesWritten()
	if _, err := e.a.Campaigns.Send(ctx, e.admin(), c.ID); err != nil {
		b.Fatal(err)
	}
	var enqueued time.Duration
	var sent int64
	deadline := time.Now().Add(2 * time.Hour)
	// CAREPOST_BENCH_TIMELINE=1 logs the processors in use and the messages
	// delivered every quarter second.
	timeline, lastTick, lastCPU := os.Getenv("CAREPOST_BENCH_TIMELINE") != "", start, cpu0
	for {
		if enqueued == 0 {
			if cur := e.get(c.ID); cur.State == campaign.Completed {
				enqueued = time.Since(start)
				sent = e.report(c.ID, e.admin()).Sent.N
			}
		}
		got := sink.delivered()
		if timeline && time.Since(lastTick) >= 250*time.Millisecond {
			c := workload.CPUTime()
			b.Logf("t=%5.2fs cores=%.2f delivered=%d", time.Since(start).Seconds(), float64(c-lastCPU)/float64(time.Since(lastTick)), got)
			lastTick, lastCPU = time.Now(), c
		}
		if enqueued > 0 && got >= sent {
			break
		}
		if time.Now().After(deadline) {
			b.Fatalf("%d of %d delivered", got, sent)
		}
		time.Sleep(20 * time.Millisecond)
	}
	elapsed, cpu := time.Since(start), workload.CPUTime()-cpu0
	stopProfile()
	stopTrace()
	b.StopTimer()
	b.ReportMetric(float64(sent)/elapsed.Seconds(), "msgs/s")
	b.ReportMetric(float64(sent)/enqueued.Seconds(), "enqueued-msgs/s")
	b.ReportMetric(float64(cpu.Milliseconds())/float64(sent)*1000, "cpu-ms/1k-msgs")
	b.ReportMetric(float64(sent), "messages")
	b.ReportMetric(float64(bytesWritten()-written0)/float64(sent)/1024, "disk-KiB/msg")
	b.ReportMetric(float64(sink.connections()), "connections")
	b.ReportMetric(float64(peakRSS())/(1<<20), "peak-RSS-MiB")
	b.ReportMetric(0, "ns/op")
}

// recordTo starts a recording of the measured part (a CPU profile, an
// execution trace) into the file the environment variable name names, and
// returns what ends it, safe to call more than once; without the variable
// it records nothing.
func recordTo(b *testing.B, name string, start func(io.Writer) error, stop func()) func() {
	p := os.Getenv(name)
	if p == "" {
		return func() {}
	}
	f, err := os.Create(p)
	if err != nil {
		b.Fatal(err)
	}
	if err := start(f); err != nil {
		b.Fatal(err)
	}
	var once sync.Once
	end := func() { once.Do(func() { stop(); f.Close() }) }
	b.Cleanup(end)
	return end
}

// benchSink is the run's receiving MX: smtptest.LeanSink, or go-smtp's
// server (smtptest.Sink) with CAREPOST_BENCH_SINK=go-smtp. Both run on the
// cores being measured; the lean one costs a few microseconds per message
// where go-smtp's costs about 120 (docs/BENCHMARKS.md, "The sink").
type benchSink struct {
	lean *smtptest.LeanSink
	full *smtptest.Sink
}

func newBenchSink(b *testing.B, leaf tls.Certificate) benchSink {
	if os.Getenv("CAREPOST_BENCH_SINK") == "go-smtp" {
		return benchSink{full: smtptest.NewSink(b, smtptest.Options{Cert: &leaf, DiscardData: true})}
	}
	return benchSink{lean: smtptest.NewLeanSink(b, leaf)}
}

func (s benchSink) addr() string {
	if s.lean != nil {
		return s.lean.Addr()
	}
	return s.full.Addr()
}

func (s benchSink) delivered() int64 {
	if s.lean != nil {
		return s.lean.Delivered()
	}
	n := 0
	for _, c := range s.full.Conns() {
		n += c.Transactions
	}
	return int64(n)
}

func (s benchSink) connections() int64 {
	if s.lean != nil {
		return s.lean.Connections()
	}
	return int64(len(s.full.Conns()))
}

// mtaSTS serves one MTA-STS policy over HTTPS (certificates from ca for
// whatever name is asked) and returns its port.
func mtaSTS(b *testing.B, ca *testpki.CA, policy string) int {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		b.Fatal(err)
	}
	srv := &http.Server{ReadHeaderTimeout: 5 * time.Second,
		Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			if r.URL.Path != "/.well-known/mta-sts.txt" {
				http.NotFound(w, r)
				return
			}
			w.Header().Set("Content-Type", "text/plain")
			_, _ = w.Write([]byte(policy))
		}),
		TLSConfig: &tls.Config{GetCertificate: func(hi *tls.ClientHelloInfo) (*tls.Certificate, error) {
			c := ca.Leaf(b, []string{hi.ServerName}, testpki.Options{})
			return &c, nil
		}}}
	go func() { _ = srv.ServeTLS(ln, "", "") }()
	b.Cleanup(func() { _ = srv.Close() })
	return ln.Addr().(*net.TCPAddr).Port
}

// benchEnvInt is the positive integer in the environment variable name,
// else def.
func benchEnvInt(name string, def int) int {
	if n, err := strconv.Atoi(os.Getenv(name)); err == nil && n > 0 {
		return n
	}
	return def
}
