package testpki

import (
	"crypto/x509"
	"testing"
	"time"
)

func TestLeafVerifiesAgainstItsCAOnly(t *testing.T) {
	t.Parallel()
	ca := NewCA(t, "test CA")
	other := NewCA(t, "other CA")
	leaf := ca.Leaf(t, []string{"mx.example.test", "127.0.0.1"}, Options{})
	opts := x509.VerifyOptions{Roots: ca.Pool, DNSName: "mx.example.test"}
	if _, err := leaf.Leaf.Verify(opts); err != nil {
		t.Fatalf("leaf does not verify against its CA: %v", err)
	}
	opts.Roots = other.Pool
	if _, err := leaf.Leaf.Verify(opts); err == nil {
		t.Fatal("leaf verifies against another CA")
	}
	expired := ca.Leaf(t, []string{"mx.example.test"}, Options{NotBefore: time.Now().Add(-48 * time.Hour), NotAfter: time.Now().Add(-24 * time.Hour)})
	if _, err := expired.Leaf.Verify(x509.VerifyOptions{Roots: ca.Pool, DNSName: "mx.example.test"}); err == nil {
		t.Fatal("expired leaf verifies")
	}
	self := SelfSigned(t, []string{"mx.example.test"}, Options{RSA: true})
	if _, err := self.Leaf.Verify(x509.VerifyOptions{Roots: ca.Pool, DNSName: "mx.example.test"}); err == nil {
		t.Fatal("self-signed leaf verifies")
	}
}
