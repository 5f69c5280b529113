package webhook

import (
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"errors"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"time"
)

// Standard Webhooks headers ("Webhook headers" in the specification).
const (
	HeaderID        = "webhook-id"
	HeaderTimestamp = "webhook-timestamp"
	HeaderSignature = "webhook-signature"
)

// SecretPrefix marks a symmetric signing secret in the Standard Webhooks
// serialization: "whsec_" followed by the base64 of the key bytes.
const SecretPrefix = "whsec_"

// secretBytes is the length of generated keys. The specification asks for
// 24 to 64 bytes; 32 matches the HMAC-SHA256 block strength.
const secretBytes = 32

// VerifyTolerance is how far a webhook-timestamp may be from the
// verifier's clock, either way, before Verify refuses it as a replay.
const VerifyTolerance = 5 * time.Minute

// Errors of Verify.
var (
	ErrMissingHeaders = errors.New("webhook signature headers missing")
	ErrTimestamp      = errors.New("webhook timestamp outside tolerance")
	ErrSignature      = errors.New("no matching webhook signature")
)

// newSecret returns a fresh "whsec_…" secret.
func newSecret() (string, error) {
	var b [secretBytes]byte
	if _, err := rand.Read(b[:]); err != nil {
		return "", fmt.Errorf("generate webhook secret: %w", err)
	}
	return SecretPrefix + base64.StdEncoding.EncodeToString(b[:]), nil
}

// secretKey decodes a secret to its HMAC key. The prefix is optional, as in
// the reference libraries.
func secretKey(secret string) ([]byte, error) {
	key, err := base64.StdEncoding.DecodeString(strings.TrimPrefix(secret, SecretPrefix))
	if err != nil || len(key) == 0 {
		return nil, errors.New("webhook secret is not whsec_ followed by base64")
	}
	return key, nil
}

// Sign returns one signature, "v1," and the base64 HMAC-SHA256 under secret
// of msgID + "." + timestamp + "." + body, as the Standard Webhooks
// "Signature scheme" section defines it. msgID must not contain '.'.
func Sign(secret, msgID string, timestamp time.Time, body []byte) (string, error) {
	key, err := secretKey(secret)
	if err != nil {
		return "", err
	}
	if msgID == "" || strings.Contains(msgID, ".") {
		return "", errors.New("webhook message id must be non-empty and free of '.'")
	}
	return "v1," + base64.StdEncoding.EncodeToString(mac(key, msgID, timestamp.Unix(), body)), nil
}

func mac(key []byte, msgID string, unix int64, body []byte) []byte {
	h := hmac.New(sha256.New, key)
	h.Write([]byte(msgID))
	h.Write([]byte{'.'})
	h.Write(strconv.AppendInt(nil, unix, 10))
	h.Write([]byte{'.'})
	h.Write(body)
	return h.Sum(nil)
}

// Verify checks a received webhook as a receiver should: the three headers
// are present, webhook-timestamp is within VerifyTolerance of now, and one
// of the space-separated signatures in webhook-signature is a v1 signature
// of this body under secret (compared in constant time; other versions are
// skipped, so a header carrying several signatures during a secret
// rotation verifies under either secret). carepost uses it in tests; it is
// also the reference for customers writing a receiver.
func Verify(secret string, h http.Header, body []byte, now time.Time) error {
	key, err := secretKey(secret)
	if err != nil {
		return err
	}
	msgID, ts, sigs := h.Get(HeaderID), h.Get(HeaderTimestamp), h.Get(HeaderSignature)
	if msgID == "" || ts == "" || sigs == "" {
		return ErrMissingHeaders
	}
	unix, err := strconv.ParseInt(ts, 10, 64)
	if err != nil {
		return fmt.Errorf("%w: not a number", ErrTimestamp)
	}
	if d := now.Sub(time.Unix(unix, 0)); d > VerifyTolerance || d < -VerifyTolerance {
		return ErrTimestamp
	}
	want := mac(key, msgID, unix, body)
	for _, s := range strings.Fields(sigs) {
		version, sig, ok := strings.Cut(s, ",")
		if !ok || version != "v1" {
			continue
		}
		got, err := base64.StdEncoding.DecodeString(sig)
		if err != nil {
			continue
		}
		if hmac.Equal(got, want) {
			return nil
		}
	}
	return ErrSignature
}

// signatureHeader signs body with every secret (the current one first) and
// joins the signatures with spaces.
func signatureHeader(secrets []string, msgID string, timestamp time.Time, body []byte) (string, error) {
	sigs := make([]string, 0, len(secrets))
	for _, s := range secrets {
		sig, err := Sign(s, msgID, timestamp, body)
		if err != nil {
			return "", err
		}
		sigs = append(sigs, sig)
	}
	return strings.Join(sigs, " "), nil
}
