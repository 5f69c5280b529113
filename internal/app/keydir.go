package app

import (
	"crypto/x509"
	"errors"
	"fmt"
	"os"

	"github.com/carepost/carepost/internal/keydir"
	"github.com/carepost/carepost/internal/smime"
)

// openKeydir builds the recipient key directory from [keydir]: the S/MIME
// trust store (a PEM file, or the system's roots), Web Key Directory
// lookups through carepost's resolver, and the S/MIME algorithms.
func (a *App) openKeydir() error {
	k := a.Config.Keydir
	opts := keydir.Options{
		WKD: k.WKD, WKDPort: k.WKDPort, WKDTimeout: k.WKDTimeout.Duration(), WKDCacheTTL: k.WKDCacheTTL.Duration(),
		WKDAllow: k.WKDAllow, SMIMECipher: smime.Cipher(k.SMIMECipher), SMIMEOAEP: k.SMIMEOAEP,
		NeutralSubject: k.NeutralSubject, Clock: a.Clock, Log: a.Log.With("component", "keydir"),
	}
	if k.SMIMETrustFile != "" {
		pemData, err := os.ReadFile(k.SMIMETrustFile)
		if err != nil {
			return fmt.Errorf("keydir.smime_trust_file: %w", err)
		}
		opts.Roots = x509.NewCertPool()
		if !opts.Roots.AppendCertsFromPEM(pemData) {
			return errors.New("keydir.smime_trust_file: no PEM certificates in the file")
		}
	}
	deps := keydir.Deps{DB: a.DB, Keys: a.Keys, Blobs: a.Blobs, Index: a.Index, Audit: a.Audit}
	if a.DNS != nil {
		deps.Resolver = a.DNS
	} else if k.WKD {
		a.Log.Warn("no DNS resolver: Web Key Directory lookups are off")
	}
	svc, err := keydir.New(deps, opts)
	if err != nil {
		return fmt.Errorf("key directory: %w", err)
	}
	a.Keydir = svc
	return nil
}
