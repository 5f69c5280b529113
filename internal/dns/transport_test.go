package dns_test

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/carepost/carepost/internal/dns"
	"github.com/carepost/carepost/internal/dns/dnstest"
)

func TestSlowServerTimesOutAfterEveryAttempt(t *testing.T) {
	t.Parallel()
	srv := dnstest.New(t)
	srv.AddMX("slow.example.test", 10, "mx.example.test")
	srv.SetDelay("slow.example.test", time.Second)
	r, err := dns.New(dns.Options{Servers: []string{srv.Addr()}, Timeout: 100 * time.Millisecond, Attempts: 2})
	if err != nil {
		t.Fatal(err)
	}
	_, _, err = r.LookupMX(context.Background(), "slow.example.test")
	if !errors.Is(err, dns.ErrTemporary) || !strings.Contains(err.Error(), "timeout") {
		t.Fatalf("err = %v, want a temporary timeout", err)
	}
	if n := srv.Queries("slow.example.test", "MX"); n != 2 {
		t.Fatalf("server saw %d queries, want 2 attempts", n)
	}
}

func TestFailingServerFallsThroughToTheNext(t *testing.T) {
	t.Parallel()
	bad, good := dnstest.New(t), dnstest.New(t)
	bad.AddMX("example.test", 10, "mx.example.test")
	bad.SetServFail("example.test", true)
	good.AddMX("example.test", 10, "mx.example.test")
	r, err := dns.New(dns.Options{Servers: []string{bad.Addr(), good.Addr()}, Timeout: 5 * time.Second, Attempts: 1})
	if err != nil {
		t.Fatal(err)
	}
	mxs, _, err := r.LookupMX(context.Background(), "example.test")
	if err != nil || len(mxs) != 1 {
		t.Fatalf("LookupMX = %v, %v", mxs, err)
	}
	if bad.Queries("example.test", "MX") != 1 || good.Queries("example.test", "MX") != 1 {
		t.Fatal("want one query to each server")
	}
}

func TestCanceledContextIsTemporary(t *testing.T) {
	t.Parallel()
	_, r := setup(t, false)
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	_, _, err := r.LookupMX(ctx, "example.test")
	if !errors.Is(err, dns.ErrTemporary) || !errors.Is(err, context.Canceled) {
		t.Fatalf("err = %v, want temporary wrapping context.Canceled", err)
	}
}
