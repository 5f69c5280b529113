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
// workload, personalized) as an 8 KB HTML message.
func campaignMessage(b *testing.B) []byte {
	b.Helper()
	html := workload.Campaign()
	body := strings.NewReplacer("{{first_name}}", "Jane", "{{last_name}}", "Patient",
		"{{last_visit}}", "2025-03-14", "{{condition}}", "diabetes", "{{plan}}", "Gold PPO").Replace(string(html))
	return []byte("From: Clinic <" + sender + ">\r\n" +
		"To: <" + recipient + ">\r\n" +
		"Subject: Your check-up is due\r\n" +
		"MIME-Version: 1.0\r\n" +
		"Content-Type: text/html; charset=utf-8\r\n" +
		"\r\n" + body)
}

// BenchmarkSend sends the campaign message over verified STARTTLS to a
// loopback sink, on one reused connection and on a new connection per
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

	b.Run("reused-connection", func(b *testing.B) {
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
