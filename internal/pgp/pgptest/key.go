package pgptest

import (
	"bytes"
	"testing"
	"time"

	"github.com/ProtonMail/go-crypto/openpgp"
	"github.com/ProtonMail/go-crypto/openpgp/armor"
	"github.com/ProtonMail/go-crypto/openpgp/packet"
)

// PublicKey is an armored OpenPGP public key (EdDSA, no expiry) for
// email, created at created, made the way a client would: what a patient
// uploads to the key directory.
func PublicKey(t testing.TB, email string, created time.Time) []byte {
	t.Helper()
	e, err := openpgp.NewEntity("Pat Doe", "", email, &packet.Config{Algorithm: packet.PubKeyAlgoEdDSA,
		Time: func() time.Time { return created }})
	if err != nil {
		t.Fatal(err)
	}
	var b bytes.Buffer
	w, err := armor.Encode(&b, openpgp.PublicKeyType, nil)
	if err != nil {
		t.Fatal(err)
	}
	if err := e.Serialize(w); err != nil {
		t.Fatal(err)
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	return b.Bytes()
}
