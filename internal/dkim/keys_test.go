package dkim

import (
	"crypto/ed25519"
	"crypto/rand"
	"crypto/rsa"
	"errors"
	"regexp"
	"testing"
	"time"
)

func TestGenerateKeys(t *testing.T) {
	t.Parallel()
	k := keys(t)
	if k.RSA.N.BitLen() != 2048 || len(k.Ed25519) != ed25519.PrivateKeySize {
		t.Errorf("key sizes: RSA %d bits, Ed25519 %d bytes", k.RSA.N.BitLen(), len(k.Ed25519))
	}
	if !regexp.MustCompile(`^cp\d{6}r$`).MatchString(k.Selectors.RSA) || !regexp.MustCompile(`^cp\d{6}e$`).MatchString(k.Selectors.Ed25519) {
		t.Errorf("selectors %+v", k.Selectors)
	}
	if _, err := GenerateKeys("localhost"); !errors.Is(err, ErrDomain) {
		t.Errorf("single-label domain: %v", err)
	}
}

func TestSelectorsAt(t *testing.T) {
	t.Parallel()
	got := SelectorsAt(time.Date(2025, 12, 31, 23, 0, 0, 0, time.FixedZone("", -3*3600)))
	if got != (Selectors{RSA: "cp202601r", Ed25519: "cp202601e"}) {
		t.Errorf("got %+v (selectors use UTC)", got)
	}
}

func TestMarshalParseKeys(t *testing.T) {
	t.Parallel()
	k := keys(t)
	rder, err := MarshalPrivateKey(k.RSA)
	if err != nil {
		t.Fatal(err)
	}
	eder, err := MarshalPrivateKey(k.Ed25519)
	if err != nil {
		t.Fatal(err)
	}
	rk, err := ParseRSAPrivateKey(rder)
	if err != nil || !rk.Equal(k.RSA) {
		t.Errorf("RSA round trip: %v", err)
	}
	ek, err := ParseEd25519PrivateKey(eder)
	if err != nil || !ek.Equal(k.Ed25519) {
		t.Errorf("Ed25519 round trip: %v", err)
	}
	if _, err := ParseRSAPrivateKey(eder); !errors.Is(err, ErrKeyType) {
		t.Errorf("Ed25519 DER as RSA: %v", err)
	}
	if _, err := ParseEd25519PrivateKey(rder); !errors.Is(err, ErrKeyType) {
		t.Errorf("RSA DER as Ed25519: %v", err)
	}
	if _, err := ParseRSAPrivateKey([]byte("not a key")); err == nil {
		t.Error("garbage parsed")
	}
	small, err := rsa.GenerateKey(rand.Reader, 1024)
	if err != nil {
		t.Fatal(err)
	}
	sder, _ := MarshalPrivateKey(small)
	if _, err := ParseRSAPrivateKey(sder); !errors.Is(err, ErrKeyTooSmall) {
		t.Errorf("1024-bit key: %v", err)
	}
}
