package smtpclient_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/carepost/carepost/internal/smtpclient"
	"github.com/carepost/carepost/internal/smtptest"
	"github.com/carepost/carepost/internal/testpki"
)

// setup starts a TLS sink with opts and a verified connection to it.
func setup(t *testing.T, opts smtptest.Options) (*smtptest.Sink, *smtpclient.Conn) {
	t.Helper()
	sink, ca := smtptest.NewTLSSink(t, opts)
	c, err := smtpclient.Dial(t.Context(), options(sink.Addr(), smtpclient.RequireVerified, ca.Pool))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = c.Close() })
	return sink, c
}

func TestDataTemporaryFailureThenSuccess(t *testing.T) {
	t.Parallel()
	sink, c := setup(t, smtptest.Options{Script: smtptest.Script{TempFailData: 1}})
	_, err := c.Send(t.Context(), sender, []string{recipient}, bytes.NewReader(message("")), smtpclient.SendOptions{})
	e := asError(t, err)
	if !e.Temporary() || e.Stage != smtpclient.StageData || e.Code != 451 || e.Enhanced != "4.3.0" {
		t.Fatalf("first attempt: %v (%+v), want temporary 451 4.3.0 at data", err, e)
	}
	assertNoPHIInError(t, err)
	mustSend(t, c, string(message("")))
	if msgs := sink.Messages(); len(msgs) != 1 || len(sink.Conns()) != 1 {
		t.Fatalf("%d messages over %d connections, want 1 over 1", len(msgs), len(sink.Conns()))
	}
}

func TestDataPermanentFailure(t *testing.T) {
	t.Parallel()
	sink, c := setup(t, smtptest.Options{Script: smtptest.Script{RejectData: true}})
	res, err := c.Send(t.Context(), sender, []string{recipient}, bytes.NewReader(message("")), smtpclient.SendOptions{})
	e := asError(t, err)
	if !e.Permanent() || e.Stage != smtpclient.StageData || e.Code != 554 || e.Enhanced != "5.6.0" {
		t.Fatalf("got %v, want permanent 554 5.6.0 at data", err)
	}
	if res.Data.Code != 554 {
		t.Errorf("Data status = %+v", res.Data)
	}
	assertNoPHIInError(t, err)
	if n := len(sink.Messages()); n != 0 {
		t.Fatalf("sink accepted %d", n)
	}
}

func TestPartialRecipients(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name     string
		rcpts    []string
		rejected []string
		wantErr  bool
	}{
		{"one of three refused", []string{"a@r.test", "gone@r.test", "c@r.test"}, []string{"gone@r.test"}, false},
		{"all refused", []string{"gone@r.test", "left@r.test"}, []string{"gone@r.test", "left@r.test"}, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			sink, c := setup(t, smtptest.Options{Script: smtptest.Script{RejectRcpt: tt.rejected}})
			res, err := c.Send(t.Context(), sender, tt.rcpts, bytes.NewReader(message("")), smtpclient.SendOptions{})
			if len(res.Rcpts) != len(tt.rcpts) {
				t.Fatalf("%d results for %d recipients", len(res.Rcpts), len(tt.rcpts))
			}
			var accepted []string
			for i, r := range res.Rcpts {
				if r.Rcpt != tt.rcpts[i] {
					t.Errorf("result %d is for %q", i, r.Rcpt)
				}
				refused := strings.HasPrefix(r.Rcpt, "gone") || strings.HasPrefix(r.Rcpt, "left")
				if r.Accepted == refused || (refused && (r.Code != 550 || r.Enhanced != "5.1.1")) {
					t.Errorf("result %+v", r)
				}
				if r.Accepted {
					accepted = append(accepted, r.Rcpt)
				}
			}
			if tt.wantErr {
				if e := asError(t, err); !e.Permanent() || e.Stage != smtpclient.StageRcpt {
					t.Fatalf("got %v, want permanent rcpt error", err)
				}
				assertNoContent(t, sink)
				// The connection stays usable: the next Send resets and delivers.
				mustSend(t, c, "Subject: next\r\n\r\nok\r\n")
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			msgs, err := sink.WaitFor(1, 5*time.Second)
			if err != nil {
				t.Fatal(err)
			}
			if got := strings.Join(msgs[0].Rcpts, ","); got != strings.Join(accepted, ",") {
				t.Errorf("sink delivered to %s, want %s", got, strings.Join(accepted, ","))
			}
		})
	}
}

func TestDropMidDataIsTemporary(t *testing.T) {
	t.Parallel()
	sink, ca := smtptest.NewTLSSink(t, smtptest.Options{Script: smtptest.Script{DropData: 1, DropAfterBytes: 100}})
	opts := options(sink.Addr(), smtpclient.RequireVerified, ca.Pool)
	big := message(strings.Repeat("filler line for a long message\r\n", 2000))
	c, err := smtpclient.Dial(t.Context(), opts)
	if err != nil {
		t.Fatal(err)
	}
	_, err = c.Send(t.Context(), sender, []string{recipient}, bytes.NewReader(big), smtpclient.SendOptions{})
	if e := asError(t, err); !e.Temporary() || e.Stage != smtpclient.StageData || e.Code != 0 {
		t.Fatalf("got %v, want a temporary network error at data", err)
	}
	if err := c.Reset(t.Context()); err == nil {
		t.Fatal("Reset worked on a dropped connection")
	}
	_ = c.Close()
	if _, _, err := dialSend(t, opts, smtpclient.SendOptions{}); err != nil {
		t.Fatalf("retry on a new connection: %v", err)
	}
	if msgs := sink.Messages(); len(msgs) != 1 || len(sink.Conns()) != 2 {
		t.Fatalf("%d messages over %d connections, want 1 over 2", len(msgs), len(sink.Conns()))
	}
}

func TestConnectionReuse(t *testing.T) {
	t.Parallel()
	sink, c := setup(t, smtptest.Options{})
	for i := range 10 {
		if i > 0 {
			if err := c.Reset(t.Context()); err != nil {
				t.Fatal(err)
			}
		}
		mustSend(t, c, fmt.Sprintf("Subject: %d\r\n\r\nmessage %d\r\n", i, i))
	}
	if err := c.Close(); err != nil {
		t.Fatalf("QUIT: %v", err)
	}
	if _, err := sink.WaitFor(10, 5*time.Second); err != nil {
		t.Fatal(err)
	}
	conns := sink.Conns()
	if len(conns) != 1 || conns[0].Transactions != 10 {
		t.Fatalf("conns = %+v, want 1 connection with 10 transactions", conns)
	}
}

func TestRequireTLSOption(t *testing.T) {
	t.Parallel()
	ca := testpki.NewCA(t, "test CA")
	valid := ca.Leaf(t, []string{smtptest.MXHost}, testpki.Options{})
	self := testpki.SelfSigned(t, []string{smtptest.MXHost}, testpki.Options{})
	tests := []struct {
		name    string
		sink    smtptest.Options
		policy  smtpclient.TLSPolicy
		deliver bool
	}{
		{"not advertised", smtptest.Options{Cert: &valid}, smtpclient.RequireVerified, false},
		{"advertised, unverified session", smtptest.Options{Cert: &self, RequireTLS: true}, smtpclient.Opportunistic, false},
		{"advertised, verified session", smtptest.Options{Cert: &valid, RequireTLS: true}, smtpclient.RequireVerified, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			sink := smtptest.NewSink(t, tt.sink)
			_, _, err := dialSend(t, options(sink.Addr(), tt.policy, ca.Pool), smtpclient.SendOptions{RequireTLS: true})
			if !tt.deliver {
				e := asError(t, err)
				if e.Kind != smtpclient.KindTLS || e.Enhanced != "5.7.30" || !errors.Is(err, smtpclient.ErrRequireTLSRefused) {
					t.Fatalf("got %v, want the REQUIRETLS refusal", err)
				}
				assertNothingDelivered(t, sink)
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if msgs, err := sink.WaitFor(1, 5*time.Second); err != nil || !msgs[0].RequireTLS {
				t.Fatalf("sink: %v, REQUIRETLS not seen in %+v", err, msgs)
			}
		})
	}
}

func TestPipelining(t *testing.T) {
	t.Parallel()
	rcpts := []string{"a@r.test", "b@r.test", "c@r.test", "d@r.test", "e@r.test", "f@r.test"}
	roundTrips := func(t *testing.T, proxy *smtptest.ProxyOptions, noChunking bool) (int, bool) {
		sink := smtptest.NewSink(t, smtptest.Options{})
		addr := sink.Addr()
		if proxy != nil {
			addr = smtptest.NewStripTLSProxy(t, addr, *proxy).Addr()
		}
		opts := options(addr, smtpclient.InsecureNoTLS, nil)
		opts.NoChunking = noChunking
		c, err := smtpclient.Dial(t.Context(), opts)
		if err != nil {
			t.Fatal(err)
		}
		advertised := c.Supports("PIPELINING")
		if _, err := c.Send(t.Context(), sender, rcpts, bytes.NewReader([]byte("Subject: x\r\n\r\nhi\r\n")), smtpclient.SendOptions{}); err != nil {
			t.Fatal(err)
		}
		_ = c.Close()
		return sink.Conns()[0].RoundTrips, advertised
	}
	chunked, advertised := roundTrips(t, nil, false)
	if !advertised {
		t.Fatal("the sink does not advertise PIPELINING")
	}
	pipelined, _ := roundTrips(t, nil, true)
	serial, advertised := roundTrips(t, &smtptest.ProxyOptions{Strip: []string{"PIPELINING"}}, false)
	if advertised {
		t.Fatal("the proxy did not strip PIPELINING")
	}
	t.Logf("round trips: %d with BDAT, %d with pipelined DATA, %d without pipelining", chunked, pipelined, serial)
	// BDAT: EHLO, MAIL+RCPTs+BDAT+message, QUIT. Pipelined DATA: one more,
	// for the message after the 354. Serial: one more per RCPT and one for
	// DATA.
	if chunked >= pipelined || pipelined+len(rcpts) > serial || pipelined > 5 {
		t.Fatalf("round trips: %d with BDAT, %d pipelined, %d without; want BDAT fewer than pipelined, and pipelined at least %d fewer than without",
			chunked, pipelined, serial, len(rcpts))
	}
}

func TestRefusedBeforeMail(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name  string
		sink  smtptest.Options
		send  smtpclient.SendOptions
		rcpt  string
		want  error
		kind  smtpclient.Kind
		stage smtpclient.Stage
	}{
		{"over SIZE", smtptest.Options{MaxMessageBytes: 100}, smtpclient.SendOptions{}, recipient, smtpclient.ErrMessageTooLarge, smtpclient.KindPermanent, smtpclient.StageMail},
		{"SMTPUTF8 not advertised", smtptest.Options{}, smtpclient.SendOptions{SMTPUTF8: true}, recipient, smtpclient.ErrSMTPUTF8Unsupported, smtpclient.KindPermanent, smtpclient.StageMail},
		{"non-ASCII without SMTPUTF8", smtptest.Options{}, smtpclient.SendOptions{}, "jöns@r.test", smtpclient.ErrInvalidAddress, smtpclient.KindPermanent, smtpclient.StageRcpt},
		{"command injection", smtptest.Options{}, smtpclient.SendOptions{}, "a@r.test>\r\nRCPT TO:<b@r.test", smtpclient.ErrInvalidAddress, smtpclient.KindPermanent, smtpclient.StageRcpt},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			sink, c := setup(t, tt.sink)
			_, err := c.Send(t.Context(), sender, []string{tt.rcpt}, bytes.NewReader(message("")), tt.send)
			e := asError(t, err)
			if !errors.Is(err, tt.want) || e.Kind != tt.kind || e.Stage != tt.stage {
				t.Fatalf("got %v, want %v (%v at %v)", err, tt.want, tt.kind, tt.stage)
			}
			assertNothingDelivered(t, sink)
			mustSend(t, c, "Subject: small\r\n\r\nok\r\n") // still usable
		})
	}
}

func TestTimeoutsAndCancellation(t *testing.T) {
	t.Parallel()
	sink := smtptest.NewSink(t, smtptest.Options{Script: smtptest.Script{GreetingDelay: 10 * time.Second}})
	opts := options(sink.Addr(), smtpclient.InsecureNoTLS, nil)
	opts.Timeouts.Greeting = 100 * time.Millisecond
	_, err := smtpclient.Dial(t.Context(), opts)
	if e := asError(t, err); !e.Temporary() || e.Stage != smtpclient.StageGreeting {
		t.Fatalf("got %v, want a temporary greeting timeout", err)
	}

	opts.Timeouts.Greeting = time.Minute
	ctx, cancel := context.WithTimeout(t.Context(), 100*time.Millisecond)
	defer cancel()
	_, err = smtpclient.Dial(ctx, opts)
	if e := asError(t, err); !e.Temporary() || !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("got %v, want the context's deadline", err)
	}
}

func TestLineEndingsAndDotsOnTheWire(t *testing.T) {
	t.Parallel()
	sink, c := setup(t, smtptest.Options{})
	in := "Subject: dots\n\n.leading\n..two\r\nbare\rcr\n.\nend"
	mustSend(t, c, in)
	msgs, err := sink.WaitFor(1, 5*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	want := "Subject: dots\r\n\r\n.leading\r\n..two\r\nbare\r\ncr\r\n.\r\nend\r\n"
	if string(msgs[0].Data) != want {
		t.Fatalf("received %q, want %q", msgs[0].Data, want)
	}
}
