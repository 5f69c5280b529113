package devcert

import (
	"crypto/x509"
	"os"
	"path/filepath"
	"testing"
	"time"
)

func TestEnsureGeneratesOnceAndRenews(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	certFile, keyFile := filepath.Join(dir, "tls", "cert.pem"), filepath.Join(dir, "tls", "key.pem")
	now := time.Now()
	hosts := Hosts("127.0.0.1:8443")
	c, gen, err := Ensure(certFile, keyFile, hosts, now)
	if err != nil || !gen {
		t.Fatalf("first Ensure: generated=%v err=%v", gen, err)
	}
	leaf, err := x509.ParseCertificate(c.Certificate[0])
	if err != nil {
		t.Fatal(err)
	}
	for _, h := range []string{"localhost", "127.0.0.1"} {
		if err := leaf.VerifyHostname(h); err != nil {
			t.Errorf("certificate does not cover %s: %v", h, err)
		}
	}
	if st, err := os.Stat(keyFile); err != nil || st.Mode().Perm() != 0o600 {
		t.Fatalf("key file mode = %v, %v; want 0600", st.Mode().Perm(), err)
	}
	if _, gen, err := Ensure(certFile, keyFile, hosts, now); err != nil || gen {
		t.Fatalf("second Ensure regenerated a valid certificate (generated=%v, err=%v)", gen, err)
	}
	if _, gen, err := Ensure(certFile, keyFile, hosts, now.Add(lifetime-renewBefore/2)); err != nil || !gen {
		t.Fatalf("Ensure near expiry did not renew (generated=%v, err=%v)", gen, err)
	}
	if _, gen, err := Ensure(certFile, keyFile, append(hosts, "mail.example.test"), now); err != nil || !gen {
		t.Fatalf("Ensure with a new host did not regenerate (generated=%v, err=%v)", gen, err)
	}
}
