package smtptest_test

import (
	"bytes"
	"context"
	"strings"
	"testing"

	"github.com/carepost/carepost/internal/smtpclient"
	"github.com/carepost/carepost/internal/smtptest"
	"github.com/carepost/carepost/internal/testpki"
)

// TestLeanSink: carepost's own client delivers over verified STARTTLS with
// pipelining to the lean sink, which counts each message once — a line
// that is a lone "." inside a message (sent dot-stuffed) does not end it
// early, and a line longer than the sink's buffer is read through.
func TestLeanSink(t *testing.T) {
	t.Parallel()
	ca := testpki.NewCA(t, "lean sink CA")
	sink := smtptest.NewLeanSink(t, ca.Leaf(t, []string{smtptest.MXHost}, testpki.Options{}))
	c, err := smtpclient.Dial(context.Background(), smtpclient.DialOptions{Host: smtptest.MXHost, Addr: sink.Addr(),
		TLS: smtpclient.RequireVerified, RootCAs: ca.Pool})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	if st := c.TLS(); st.Version == 0 || !st.Verified {
		t.Fatal("the session is not verified TLS")
	}
	msgs := []string{
		"Subject: one\r\n\r\nfirst line\r\n.\r\nafter a lone dot\r\n",
		"Subject: two\r\n\r\n" + strings.Repeat("x", 100<<10) + "\r\n.\r\n",
		"Subject: three\r\n\r\n..\r\n",
	}
	for i, m := range msgs {
		res, err := c.Send(context.Background(), "a@clinic.test", []string{"b@patients.test"}, bytes.NewReader([]byte(m)), smtpclient.SendOptions{})
		if err != nil {
			t.Fatalf("message %d: %v", i, err)
		}
		if got := sink.Delivered(); got != int64(i+1) {
			t.Fatalf("after message %d (%+v) the sink counts %d", i, res, got)
		}
	}
	if sink.Connections() != 1 {
		t.Fatalf("%d connections, want 1", sink.Connections())
	}
}
