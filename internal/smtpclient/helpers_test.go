package smtpclient_test

import (
	"bytes"
	"context"
	"crypto/x509"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/carepost/carepost/internal/smtpclient"
	"github.com/carepost/carepost/internal/smtptest"
)

// canary is PHI that must never reach a server the policy did not approve.
const canary = "PHI-CANARY-3f9a71 Jane Q. Patient, HbA1c 9.1%, insulin dose change"

const (
	sender    = "reminders@clinic.test"
	recipient = "jane.patient@family.test"
)

// message is a small RFC 5322 message carrying the canary.
func message(extra string) []byte {
	return []byte("From: Clinic <" + sender + ">\r\n" +
		"To: <" + recipient + ">\r\n" +
		"Subject: Your results\r\n" +
		"\r\n" +
		"Dear patient,\r\n" + canary + "\r\n" + extra)
}

// options for a test connection: short timeouts, the test CA trusted.
func options(addr string, policy smtpclient.TLSPolicy, roots *x509.CertPool) smtpclient.DialOptions {
	return smtpclient.DialOptions{
		Host:      smtptest.MXHost,
		Addr:      addr,
		LocalName: "out.carepost.test",
		TLS:       policy,
		RootCAs:   roots,
		Timeouts:  smtpclient.Timeouts{Connect: 5 * time.Second, Greeting: 5 * time.Second, Command: 5 * time.Second, Data: 10 * time.Second},
	}
}

// dialSend dials and, if that worked, sends message("") to recipient.
func dialSend(t *testing.T, opts smtpclient.DialOptions, sendOpts smtpclient.SendOptions) (*smtpclient.Conn, smtpclient.SendResult, error) {
	t.Helper()
	ctx := t.Context()
	c, err := smtpclient.Dial(ctx, opts)
	if err != nil {
		return nil, smtpclient.SendResult{}, err
	}
	t.Cleanup(func() { _ = c.Close() })
	res, err := c.Send(ctx, sender, []string{recipient}, bytes.NewReader(message("")), sendOpts)
	return c, res, err
}

// mustSend sends on an open connection and fails the test on error.
func mustSend(t *testing.T, c *smtpclient.Conn, body string) smtpclient.SendResult {
	t.Helper()
	res, err := c.Send(context.Background(), sender, []string{recipient}, strings.NewReader(body), smtpclient.SendOptions{})
	if err != nil {
		t.Fatalf("send: %v", err)
	}
	return res
}

// asError unwraps err as *smtpclient.Error, failing the test otherwise.
func asError(t *testing.T, err error) *smtpclient.Error {
	t.Helper()
	var e *smtpclient.Error
	if !errors.As(err, &e) {
		t.Fatalf("error %v (%T) is not an *smtpclient.Error", err, err)
	}
	return e
}

// assertNothingDelivered checks that the sink saw no MAIL, accepted no
// message, and that neither the content nor the recipient appears in
// anything it recorded.
func assertNothingDelivered(t *testing.T, sink *smtptest.Sink) {
	t.Helper()
	if n := sink.Mails(); n != 0 {
		t.Errorf("sink saw %d MAIL commands", n)
	}
	if bytes.Contains(sink.Wire(), []byte(recipient)) {
		t.Errorf("the recipient reached the sink's wire")
	}
	assertNoContent(t, sink)
}

// assertNoContent checks that the sink accepted no message and that the
// canary appears in nothing it recorded.
func assertNoContent(t *testing.T, sink *smtptest.Sink) {
	t.Helper()
	if n := len(sink.Messages()); n != 0 {
		t.Errorf("sink accepted %d messages", n)
	}
	for _, secret := range []string{canary, "HbA1c"} {
		if bytes.Contains(sink.Wire(), []byte(secret)) {
			t.Errorf("%q reached the sink's wire", secret)
		}
		for _, m := range sink.Messages() {
			if bytes.Contains(m.Data, []byte(secret)) {
				t.Errorf("%q recorded in a message", secret)
			}
		}
	}
}

// assertNoPHIInError checks that the error text names neither content nor
// recipients.
func assertNoPHIInError(t *testing.T, err error) {
	t.Helper()
	if err == nil {
		return
	}
	for _, secret := range []string{canary, "HbA1c", recipient, "jane"} {
		if strings.Contains(err.Error(), secret) {
			t.Errorf("error %q contains %q", err, secret)
		}
	}
}
