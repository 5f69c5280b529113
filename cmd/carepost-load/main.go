// Command carepost-load measures carepost on the machine it runs on. It
// starts a real `carepost serve` process in a fresh folder, bootstraps an
// organization and an API key with the CLI, verifies a sender domain
// against its own loopback DNS server, and drives one of the standard runs
// (see ../shared/workload and docs/BENCHMARKS.md):
//
//	api    32 clients post single-recipient ~5 KB messages to POST
//	       /api/v1/messages until N are accepted: requests/s and p50/p99
//	smtp   clients submit over SMTP (STARTTLS, AUTH with the API key)
//	e2e    as api, and waits until a loopback STARTTLS sink has received
//	       every message: delivered messages/s, DKIM-signed, sealed at rest,
//	       audited, over verified TLS (MTA-STS enforce)
//
// It prints the rate, latency percentiles, the server's CPU seconds per
// 1,000 messages and its peak resident memory. Run it from the repository
// root: go run ./cmd/carepost-load -mode api -n 100000.
package main

import (
	"context"
	"flag"
	"fmt"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"runtime"
	"time"
)

func main() {
	mode := flag.String("mode", "api", "api, smtp or e2e")
	n := flag.Int("n", 20000, "messages to send")
	c := flag.Int("c", 32, "concurrent clients")
	size := flag.Int("size", 5000, "message body size in bytes")
	bin := flag.String("bin", "", "carepost binary (default: go build ./cmd/carepost)")
	dbURL := flag.String("database-url", "", "PostgreSQL URL (default: SQLite in the run folder)")
	conns := flag.Int("connections", 20, "delivery connections to the sink")
	acceptOnly := flag.Bool("accept-only", false, "api and smtp modes: hold delivery back (delivery.rate_per_domain = 1) so the server's CPU goes to accepting alone")
	keep := flag.Bool("keep", false, "keep the run folder")
	flag.Parse()
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	defer stop()
	if err := run(ctx, *mode, *n, *c, *size, *bin, *dbURL, *conns, *acceptOnly, *keep); err != nil {
		fmt.Fprintln(os.Stderr, "carepost-load:", err)
		os.Exit(1)
	}
}

func run(ctx context.Context, mode string, n, c, size int, bin, dbURL string, conns int, acceptOnly, keep bool) error {
	if acceptOnly && mode == "e2e" {
		return fmt.Errorf("-accept-only holds delivery back: it cannot be used with -mode e2e")
	}
	dir, err := os.MkdirTemp("", "carepost-load-")
	if err != nil {
		return err
	}
	if !keep {
		defer os.RemoveAll(dir)
	} else {
		fmt.Println("run folder:", dir)
	}
	if bin == "" {
		if bin, err = buildBinary(dir); err != nil {
			return err
		}
	}
	authority, err := newCA()
	if err != nil {
		return err
	}
	caFile := filepath.Join(dir, "ca.pem")
	if err := authority.writePEM(caFile); err != nil {
		return err
	}
	mxCert, err := authority.leaf(mxHost)
	if err != nil {
		return err
	}
	stsCert, err := authority.leaf(stsHost)
	if err != nil {
		return err
	}
	z := &zone{txt: map[string][]string{}}
	z.addTXT("_mta-sts."+destDomain, "v=STSv1; id=load1")
	dnsAddr, stopDNS, err := startDNS(z)
	if err != nil {
		return err
	}
	defer stopDNS()
	stsPort, stopSTS, err := startMTASTS(stsCert)
	if err != nil {
		return err
	}
	defer stopSTS()
	sk, mxPort, err := startSink(mxCert)
	if err != nil {
		return err
	}
	s := &server{bin: bin, dir: dir}
	if err := s.writeConfig(serverConfig{dbURL: dbURL, dnsAddr: dnsAddr, caFile: caFile, mxPort: mxPort, stsPort: stsPort,
		connections: conns, batch: 200, acceptOnly: acceptOnly}); err != nil {
		return err
	}
	if err := s.bootstrap(); err != nil {
		return err
	}
	if err := s.start(); err != nil {
		return err
	}
	defer s.stop()
	if err := s.verifyDomain(ctx, z, "sender.test"); err != nil {
		return err
	}
	cpu0, _, _ := procStats(s.cmd.Process.Pid)
	var res *result
	switch mode {
	case "api", "e2e":
		res = runAPI(ctx, s, n, c, size)
	case "smtp":
		res = runSMTP(ctx, s, n, c, size)
	default:
		return fmt.Errorf("unknown mode %q", mode)
	}
	report(mode, res)
	if mode == "e2e" {
		start := time.Now().Add(-res.elapsed)
		deadline := time.Now().Add(30 * time.Minute)
		for sk.delivered.Load() < res.accepted && time.Now().Before(deadline) && ctx.Err() == nil {
			time.Sleep(50 * time.Millisecond)
		}
		last := time.Unix(0, sk.last.Load())
		span := last.Sub(start)
		fmt.Printf("delivered %d of %d to the sink in %s: %.0f messages/s end to end (connections %d, without DKIM-Signature %d)\n",
			sk.delivered.Load(), res.accepted, span.Round(time.Millisecond), float64(sk.delivered.Load())/span.Seconds(), sk.conns.Load(), sk.unsigned.Load())
	}
	cpu1, rss, err := procStats(s.cmd.Process.Pid)
	if err == nil && res.accepted > 0 {
		fmt.Printf("server: %.2f CPU seconds per 1,000 messages, peak RSS %d MiB\n",
			(cpu1-cpu0).Seconds()*1000/float64(res.accepted), rss>>20)
	}
	fmt.Printf("machine: %d CPUs, %s/%s, %s\n", runtime.NumCPU(), runtime.GOOS, runtime.GOARCH, runtime.Version())
	// The figures depend on the build (an RSA signature costs about 40% less
	// with BoringCrypto, docs/BUILD.md): say which one ran.
	if out, err := exec.Command(bin, "version").Output(); err == nil {
		fmt.Printf("server build: %s", out)
	}
	return nil
}

func report(mode string, r *result) {
	fmt.Printf("%s: accepted %d in %s: %.0f messages/s; latency p50 %s p99 %s; errors %d\n", mode, r.accepted,
		r.elapsed.Round(time.Millisecond), float64(r.accepted)/r.elapsed.Seconds(),
		r.percentile(0.50).Round(10*time.Microsecond), r.percentile(0.99).Round(10*time.Microsecond), r.errors)
	if r.firstErr != "" {
		fmt.Println("first error:", r.firstErr)
	}
}
