package delivery_test

import (
	"context"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/carepost/carepost/internal/config"
	"github.com/carepost/carepost/internal/delivery"
	"github.com/carepost/carepost/internal/dkim"
	"github.com/carepost/carepost/internal/smtptest"
	"github.com/carepost/carepost/internal/store/storetest"
	"github.com/carepost/carepost/internal/workload"
)

// algSigners signs every message with one algorithm's key: the seam the
// sender domains fill in production, with keys made here.
type algSigners struct{ s *dkim.Signer }

func (a algSigners) Signer(context.Context, string, string) (delivery.Signer, error) { return a.s, nil }

func newAlgSigners(b *testing.B, alg dkim.Algorithm) algSigners {
	keys, err := dkim.GenerateKeys(senderDomain)
	if err != nil {
		b.Fatal(err)
	}
	s, err := dkim.NewSigner(senderDomain, keys, alg)
	if err != nil {
		b.Fatal(err)
	}
	return algSigners{s}
}

// BenchmarkEndToEnd measures deliveries per second from outbox.Submit to a
// loopback sink over verified TLS (STARTTLS, MTA-STS enforce), DKIM-signed,
// sealed at rest and audited, with 20 connections to the one domain, while
// 16 goroutines submit. BenchmarkDrain queues the messages first and
// measures delivery alone. Run (see docs/BENCHMARKS.md):
//
//	go test ./internal/delivery -run '^$' -bench . -benchtime 4000x
func BenchmarkEndToEnd(b *testing.B) {
	for _, alg := range []dkim.Algorithm{dkim.RSASHA256, dkim.Ed25519SHA256} {
		b.Run(string(alg), func(b *testing.B) { benchDelivery(b, alg, false) })
	}
}

func BenchmarkDrain(b *testing.B) {
	for _, alg := range []dkim.Algorithm{dkim.RSASHA256, dkim.Ed25519SHA256} {
		b.Run(string(alg), func(b *testing.B) { benchDelivery(b, alg, true) })
	}
}

func benchDelivery(b *testing.B, alg dkim.Algorithm, drain bool) {
	w := newWorld(b)
	sink := w.discardSink("dest.test")
	n := w.startNode(nodeOptions{driver: storetest.Default(), mxPort: port(b, sink.Addr()), signers: newAlgSigners(b, alg),
		paused: drain, edit: func(c *config.Config) {
			c.Delivery.ConnectionsPerDomain, c.Jobs.Workers = 20, 40
		}})
	body := "Your results are ready. " + canary()
	n.submit(body, []string{"warmup@dest.test"}, nil)
	if !drain {
		if _, err := sink.WaitFor(1, 30*time.Second); err != nil {
			b.Fatal(err)
		}
	}
	b.ResetTimer()
	start := time.Now()
	var wg sync.WaitGroup
	next := make(chan int)
	for range 16 {
		wg.Go(func() {
			for i := range next {
				n.submit(body, []string{rcpt("p"+strconv.Itoa(i), "dest.test")}, nil)
			}
		})
	}
	for i := 0; i < b.N; i++ {
		next <- i
	}
	close(next)
	wg.Wait()
	accepted := time.Since(start)
	cpu0 := workload.CPUTime() // the sink runs in this process too, so its CPU counts
	if drain {
		start = time.Now()
		n.start()
	}
	waitTransactions(b, sink, b.N+1)
	elapsed := time.Since(start)
	b.StopTimer()
	if drain {
		// CPU per message is what contention from other processes on the
		// machine does not change; the rates are wall-clock figures.
		b.ReportMetric(float64((workload.CPUTime()-cpu0).Microseconds())/float64(b.N), "cpu-µs/msg")
	}
	b.ReportMetric(float64(b.N)/elapsed.Seconds(), "delivered/s")
	b.ReportMetric(float64(b.N)/accepted.Seconds(), "accepted/s")
	b.ReportMetric(float64(len(sink.Conns())), "connections")
	b.ReportMetric(0, "ns/op")
}

// waitTransactions polls the sink's counters (Sink.WaitFor copies every
// message on every arrival, which would slow the sink it measures).
func waitTransactions(b *testing.B, sink *smtptest.Sink, n int) {
	deadline := time.Now().Add(10 * time.Minute)
	for {
		got := 0
		for _, c := range sink.Conns() {
			got += c.Transactions
		}
		if got >= n {
			return
		}
		if time.Now().After(deadline) {
			b.Fatalf("%d of %d messages delivered", got, n)
		}
		time.Sleep(10 * time.Millisecond)
	}
}
