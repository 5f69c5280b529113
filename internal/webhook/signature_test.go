package webhook_test

import (
	"errors"
	"net/http"
	"strconv"
	"testing"
	"time"

	"github.com/carepost/carepost/internal/webhook"
)

// The vector of the Standard Webhooks reference libraries
// (libraries/go/webhook_test.go, TestWebhookSign, in
// github.com/standard-webhooks/standard-webhooks): a receiver using any
// of them verifies what carepost signs.
const (
	vectorSecret    = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"
	vectorMsgID     = "msg_p5jXN8AQM9LWM0D4loKWxJek"
	vectorTimestamp = 1614265330
	vectorPayload   = `{"test": 2432232314}`
	vectorSignature = "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE="
)

func TestSignMatchesStandardWebhooksVector(t *testing.T) {
	t.Parallel()
	for _, secret := range []string{vectorSecret, vectorSecret[len("whsec_"):]} {
		got, err := webhook.Sign(secret, vectorMsgID, time.Unix(vectorTimestamp, 0), []byte(vectorPayload))
		if err != nil {
			t.Fatal(err)
		}
		if got != vectorSignature {
			t.Fatalf("Sign(%q) = %s, want %s", secret, got, vectorSignature)
		}
	}
}

func signedHeader(t *testing.T, secret, msgID string, ts time.Time, body string) http.Header {
	t.Helper()
	sig, err := webhook.Sign(secret, msgID, ts, []byte(body))
	if err != nil {
		t.Fatal(err)
	}
	h := http.Header{}
	h.Set(webhook.HeaderID, msgID)
	h.Set(webhook.HeaderTimestamp, strconv.FormatInt(ts.Unix(), 10))
	h.Set(webhook.HeaderSignature, sig)
	return h
}

func TestVerify(t *testing.T) {
	t.Parallel()
	now := time.Unix(vectorTimestamp, 0)
	other := "whsec_" + "c2VjcmV0LXRoYXQtaXMtbm90LXRoZS1yaWdodC1vbmU="
	cases := []struct {
		name   string
		header func(h http.Header)
		body   string
		secret string
		now    time.Time
		want   error
	}{
		{name: "valid", want: nil},
		{name: "valid without prefix", secret: vectorSecret[len("whsec_"):], want: nil},
		{name: "at the tolerance", now: now.Add(webhook.VerifyTolerance), want: nil},
		{name: "too old", now: now.Add(webhook.VerifyTolerance + time.Second), want: webhook.ErrTimestamp},
		{name: "too new", now: now.Add(-webhook.VerifyTolerance - time.Second), want: webhook.ErrTimestamp},
		{name: "tampered body", body: `{"test": 2432232315}`, want: webhook.ErrSignature},
		{name: "wrong secret", secret: other, want: webhook.ErrSignature},
		{name: "other id", header: func(h http.Header) { h.Set(webhook.HeaderID, "msg_other") }, want: webhook.ErrSignature},
		{name: "other timestamp", header: func(h http.Header) { h.Set(webhook.HeaderTimestamp, strconv.Itoa(vectorTimestamp+1)) }, want: webhook.ErrSignature},
		{name: "timestamp not a number", header: func(h http.Header) { h.Set(webhook.HeaderTimestamp, "soon") }, want: webhook.ErrTimestamp},
		{name: "missing id", header: func(h http.Header) { h.Del(webhook.HeaderID) }, want: webhook.ErrMissingHeaders},
		{name: "missing timestamp", header: func(h http.Header) { h.Del(webhook.HeaderTimestamp) }, want: webhook.ErrMissingHeaders},
		{name: "missing signature", header: func(h http.Header) { h.Del(webhook.HeaderSignature) }, want: webhook.ErrMissingHeaders},
		{name: "several signatures, one good", header: func(h http.Header) {
			h.Set(webhook.HeaderSignature, "v1,Ceo5qEr07ixe2NLpvHk3FH9bwy/WavXrAFQ/9tdO6mc= v1a,AAAA "+h.Get(webhook.HeaderSignature)+" v1,@@@")
		}, want: nil},
		{name: "right mac under another version", header: func(h http.Header) {
			h.Set(webhook.HeaderSignature, "v2,"+h.Get(webhook.HeaderSignature)[3:])
		}, want: webhook.ErrSignature},
		{name: "truncated signature", header: func(h http.Header) {
			h.Set(webhook.HeaderSignature, h.Get(webhook.HeaderSignature)[:20])
		}, want: webhook.ErrSignature},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			h := signedHeader(t, vectorSecret, vectorMsgID, now, vectorPayload)
			if c.header != nil {
				c.header(h)
			}
			body, secret, at := c.body, c.secret, c.now
			if body == "" {
				body = vectorPayload
			}
			if secret == "" {
				secret = vectorSecret
			}
			if at.IsZero() {
				at = now
			}
			err := webhook.Verify(secret, h, []byte(body), at)
			if c.want == nil && err != nil || c.want != nil && !errors.Is(err, c.want) {
				t.Fatalf("Verify = %v, want %v", err, c.want)
			}
		})
	}
}

func TestSignRefusesBadInput(t *testing.T) {
	t.Parallel()
	ts := time.Unix(vectorTimestamp, 0)
	if _, err := webhook.Sign("whsec_not base64!", vectorMsgID, ts, nil); err == nil {
		t.Error("Sign accepted a secret that is not base64")
	}
	if _, err := webhook.Sign(vectorSecret, "msg.with.dots", ts, nil); err == nil {
		t.Error("Sign accepted a message id with '.' (the signed content would be ambiguous)")
	}
	if err := webhook.Verify("whsec_", http.Header{}, nil, ts); err == nil {
		t.Error("Verify accepted an empty secret")
	}
}
