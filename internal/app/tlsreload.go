package app

import (
	"crypto/tls"
	"fmt"
	"log/slog"
	"os"
	"sync"
	"time"
)

// reloadingTLS serves the certificate in certFile/keyFile and picks up a
// renewed pair (certbot, a secret mount) without a restart: at most once a
// minute it compares the files' modification times and reloads on change.
// A pair that fails to load is logged and the previous one kept.
func reloadingTLS(certFile, keyFile string, log *slog.Logger) (*tls.Config, error) {
	r := &certReloader{certFile: certFile, keyFile: keyFile, log: log}
	if err := r.load(); err != nil {
		return nil, err
	}
	return &tls.Config{GetCertificate: r.get, MinVersion: tls.VersionTLS12}, nil
}

type certReloader struct {
	certFile, keyFile string
	log               *slog.Logger

	mu      sync.Mutex
	cert    *tls.Certificate
	mtime   time.Time
	checked time.Time
}

func (r *certReloader) load() error {
	c, err := tls.LoadX509KeyPair(r.certFile, r.keyFile)
	if err != nil {
		return fmt.Errorf("load TLS certificate %s: %w", r.certFile, err)
	}
	st, err := os.Stat(r.certFile)
	if err != nil {
		return fmt.Errorf("stat TLS certificate: %w", err)
	}
	r.cert, r.mtime = &c, st.ModTime()
	return nil
}

func (r *certReloader) get(*tls.ClientHelloInfo) (*tls.Certificate, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if time.Since(r.checked) > time.Minute {
		r.checked = time.Now()
		if st, err := os.Stat(r.certFile); err == nil && !st.ModTime().Equal(r.mtime) {
			if err := r.load(); err != nil {
				r.log.Error("reload TLS certificate; keeping the previous one", "err", err)
			} else {
				r.log.Info("reloaded TLS certificate", "cert_file", r.certFile)
			}
		}
	}
	return r.cert, nil
}
