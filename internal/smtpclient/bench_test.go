package smtpclient_test

import (
	"bytes"
	"context"
	"strings"
	"testing"

	"github.com/carepost/carepost/internal/smtpclient"
	"github.com/carepost/carepost/internal/smtptest"
	"github.com/carepost/carepost/internal/workload"
)

// campaignMessage is the standard workload's campaign.html (package
// workload, personalized) as an 8 KB HTML message with CRLF line endings,
// as message.Build makes every message carepost sends (so that Send can
// use BDAT).
func campaignMessage(b *testing.B) []byte {
	b.Helper()
	html := strings.ReplaceAll(strings.ReplaceAll(string(workload.Campaign()), "\r\n", "\n"), "\n", "\r\n")
	body := strings.NewReplacer("{{first_name}}", "Jane", "{{last_name}}", "Patient",
		"{{last_visit}}", "2025-03-14", "{{condition}}", "diabetes", "{{plan}}", "Gold PPO").Replace(html)
	return []byte("From: Clinic <" + sender + ">\r\n" +
		"To: <" + recipient + ">\r\n" +
		"Subject: Your check-up is due\r\n" +
		"MIME-Version: 1.0\r\n" +
		"Content-Type: text/html; charset=utf-8\r\n" +
		"\r\n" + body)
}

// BenchmarkSend sends the campaign message over verified STARTTLS to a
// loopback sink, on one reused connection (by BDAT, the sink offering
// CHUNKING, and by DATA with NoChunking) and on a new connection per
// message.
func BenchmarkSend(b *testing.B) {
	msg := campaignMessage(b)
	sink, ca := smtptest.NewTLSSink(b, smtptest.Options{DiscardData: true})
	opts := options(sink.Addr(), smtpclient.RequireVerified, ca.Pool)
	ctx := context.Background()
	send := func(b *testing.B, c *smtpclient.Conn) {
		if _, err := c.Send(ctx, sender, []string{recipient}, bytes.NewReader(msg), smtpclient.SendOptions{}); err != nil {
			b.Fatal(err)
		}
	}

	reused := func(b *testing.B, opts smtpclient.DialOptions) {
		c, err := smtpclient.Dial(ctx, opts)
		if err != nil {
			b.Fatal(err)
		}
		defer c.Close()
		b.SetBytes(int64(len(msg)))
		n := 0
		for b.Loop() {
			send(b, c)
			n++
		}
		b.ReportMetric(float64(n)/b.Elapsed().Seconds(), "msgs/s")
	}
	b.Run("reused-connection", func(b *testing.B) { reused(b, opts) })
	b.Run("reused-connection-data", func(b *testing.B) {
		opts := opts
		opts.NoChunking = true
		reused(b, opts)
	})

	b.Run("new-connection", func(b *testing.B) {
		b.SetBytes(int64(len(msg)))
		n := 0
		for b.Loop() {
			c, err := smtpclient.Dial(ctx, opts)
			if err != nil {
				b.Fatal(err)
			}
			send(b, c)
			if err := c.Close(); err != nil {
				b.Fatal(err)
			}
			n++
		}
		b.ReportMetric(float64(n)/b.Elapsed().Seconds(), "msgs/s")
	})
}
