package smtptest_test

import (
	"bytes"
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/carepost/carepost/internal/smtpclient"
	"github.com/carepost/carepost/internal/smtptest"
	"github.com/carepost/carepost/internal/testpki"
)

// TestLeanSink: carepost's own client delivers over verified STARTTLS with
// pipelining to the lean sink, which counts each message once, by BDAT
// when the message is canonical and by DATA otherwise or with NoChunking.
// By DATA, a line that is a lone "." inside a message (sent dot-stuffed)
// does not end it early, and a line longer than the sink's buffer is read
// through; by BDAT, the chunk is skipped by its size, whatever its lines.
func TestLeanSink(t *testing.T) {
	t.Parallel()
	msgs := []struct {
		body      string
		canonical bool // BDAT can carry it unchanged
	}{
		{"Subject: one\r\n\r\nfirst line\r\n.\r\nafter a lone dot\r\n", true},
		{"Subject: two\r\n\r\n" + strings.Repeat("x", 100<<10) + "\r\n.\r\n", false}, // a line over 998 octets
		{"Subject: three\r\n\r\n..\r\n", true},
		{"Subject: four\r\n\r\n" + strings.Repeat(".dotted line\r\n", 10000), true}, // larger than the sink's buffer
	}
	for _, noChunking := range []bool{false, true} {
		t.Run(fmt.Sprintf("NoChunking=%v", noChunking), func(t *testing.T) {
			t.Parallel()
			ca := testpki.NewCA(t, "lean sink CA")
			sink := smtptest.NewLeanSink(t, ca.Leaf(t, []string{smtptest.MXHost}, testpki.Options{}))
			// Short timeouts: a sink that misread a chunk's end would
			// otherwise hold the test for the client's five minutes.
			c, err := smtpclient.Dial(context.Background(), smtpclient.DialOptions{Host: smtptest.MXHost, Addr: sink.Addr(),
				TLS: smtpclient.RequireVerified, RootCAs: ca.Pool, NoChunking: noChunking,
				Timeouts: smtpclient.Timeouts{Command: 10 * time.Second, Data: 10 * time.Second}})
			if err != nil {
				t.Fatal(err)
			}
			defer c.Close()
			if st := c.TLS(); st.Version == 0 || !st.Verified {
				t.Fatal("the session is not verified TLS")
			}
			chunked := int64(0)
			for i, m := range msgs {
				res, err := c.Send(context.Background(), "a@clinic.test", []string{"b@patients.test"}, bytes.NewReader([]byte(m.body)), smtpclient.SendOptions{})
				if err != nil {
					t.Fatalf("message %d: %v", i, err)
				}
				if m.canonical && !noChunking {
					chunked++
				}
				if got, gotChunked := sink.Delivered(), sink.Chunked(); got != int64(i+1) || gotChunked != chunked {
					t.Fatalf("after message %d (%+v) the sink counts %d, %d by BDAT; want %d, %d", i, res, got, gotChunked, i+1, chunked)
				}
			}
			if sink.Connections() != 1 {
				t.Fatalf("%d connections, want 1", sink.Connections())
			}
		})
	}
}
