package pgp_test

import (
	"bytes"
	"errors"
	"testing"
	"time"

	"github.com/ProtonMail/go-crypto/openpgp"
	"github.com/ProtonMail/go-crypto/openpgp/armor"
	"github.com/ProtonMail/go-crypto/openpgp/packet"

	"github.com/carepost/carepost/internal/pgp"
)

type openpgpEntity = openpgp.Entity

type keyOpts struct {
	email        string
	created      time.Time     // default: a minute ago
	lifetime     time.Duration // 0: no expiry
	rsaBits      int           // 0: EdDSA/Curve25519
	revoke       bool
	revokeSubkey bool
}

// newKey makes a key with go-crypto, the way another client would.
func newKey(t testing.TB, o keyOpts) *openpgp.Entity {
	t.Helper()
	if o.created.IsZero() {
		o.created = time.Now().Add(-time.Minute)
	}
	cfg := &packet.Config{Algorithm: packet.PubKeyAlgoEdDSA, Time: func() time.Time { return o.created },
		KeyLifetimeSecs: uint32(o.lifetime / time.Second)}
	if o.rsaBits > 0 {
		cfg.Algorithm, cfg.RSABits = packet.PubKeyAlgoRSA, o.rsaBits
	}
	e, err := openpgp.NewEntity("Jane Roe", "", o.email, cfg)
	if err != nil {
		t.Fatal(err)
	}
	if o.revoke {
		if err := e.RevokeKey(packet.KeySuperseded, "", cfg); err != nil {
			t.Fatal(err)
		}
	}
	if o.revokeSubkey {
		if err := e.RevokeSubkey(&e.Subkeys[0], packet.KeyRetired, "", cfg); err != nil {
			t.Fatal(err)
		}
	}
	return e
}

// publicArmored serializes the public key as a client exports it.
func publicArmored(t testing.TB, e *openpgp.Entity) []byte {
	t.Helper()
	var buf bytes.Buffer
	w, err := armor.Encode(&buf, openpgp.PublicKeyType, nil)
	if err != nil {
		t.Fatal(err)
	}
	if err := e.Serialize(w); err != nil {
		t.Fatal(err)
	}
	w.Close()
	return buf.Bytes()
}

func TestCheck(t *testing.T) {
	t.Parallel()
	now := time.Now()
	tests := []struct {
		name  string
		key   keyOpts
		email string
		at    time.Time
		want  error
	}{
		{"valid", keyOpts{email: "jane@patients.example"}, "jane@patients.example", now, nil},
		{"address case-insensitive", keyOpts{email: "Jane@Patients.Example"}, "jane@patients.example", now, nil},
		{"other address", keyOpts{email: "jane@patients.example"}, "john@patients.example", now, pgp.ErrNoAddress},
		{"expired", keyOpts{email: "jane@patients.example", created: now.Add(-48 * time.Hour), lifetime: 24 * time.Hour}, "jane@patients.example", now, pgp.ErrExpired},
		{"valid until it expires", keyOpts{email: "jane@patients.example", created: now.Add(-time.Hour), lifetime: 24 * time.Hour}, "jane@patients.example", now.Add(30 * time.Hour), pgp.ErrExpired},
		{"revoked", keyOpts{email: "jane@patients.example", revoke: true}, "jane@patients.example", now, pgp.ErrRevoked},
		{"encryption subkey revoked", keyOpts{email: "jane@patients.example", revokeSubkey: true}, "jane@patients.example", now, pgp.ErrRevoked},
		{"weak RSA", keyOpts{email: "jane@patients.example", rsaBits: 1024}, "jane@patients.example", now, pgp.ErrWeakKey},
		{"created in the future", keyOpts{email: "jane@patients.example", created: now.Add(time.Hour)}, "jane@patients.example", now, pgp.ErrExpired},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			// Round-trip through the armored public key, as an upload does.
			keys, err := pgp.ParseKeys(publicArmored(t, newKey(t, tt.key)))
			if err != nil {
				t.Fatal(err)
			}
			if err := pgp.Check(keys[0], tt.email, tt.at); !errors.Is(err, tt.want) {
				t.Fatalf("Check = %v, want %v", err, tt.want)
			}
		})
	}
}

func TestDescribe(t *testing.T) {
	t.Parallel()
	created := time.Now().Add(-time.Hour).Truncate(time.Second)
	e := newKey(t, keyOpts{email: "Jane@Patients.example", created: created, lifetime: 48 * time.Hour})
	if err := e.AddUserId("Jane Roe", "work", "jroe@work.example", &packet.Config{Time: func() time.Time { return created }}); err != nil {
		t.Fatal(err)
	}
	keys, err := pgp.ParseKeys(publicArmored(t, e))
	if err != nil {
		t.Fatal(err)
	}
	in := pgp.Describe(keys[0], time.Now())
	if len(in.Fingerprint) != 40 || in.Version != 4 {
		t.Errorf("fingerprint %q version %d", in.Fingerprint, in.Version)
	}
	if len(in.Emails) != 2 || in.Emails[0] != "jane@patients.example" || in.Emails[1] != "jroe@work.example" {
		t.Errorf("emails %v", in.Emails)
	}
	if !in.Created.Equal(created) || !in.Expires.Equal(created.Add(48*time.Hour)) {
		t.Errorf("created %v expires %v", in.Created, in.Expires)
	}
	if in.Algorithm != "ecdh-curve25519" {
		t.Errorf("algorithm %q", in.Algorithm)
	}
}

func TestParseKeysRefuses(t *testing.T) {
	t.Parallel()
	e := newKey(t, keyOpts{email: "jane@patients.example"})
	var priv bytes.Buffer
	w, _ := armor.Encode(&priv, openpgp.PrivateKeyType, nil)
	if err := e.SerializePrivate(w, nil); err != nil {
		t.Fatal(err)
	}
	w.Close()
	var binPriv bytes.Buffer
	if err := e.SerializePrivate(&binPriv, nil); err != nil {
		t.Fatal(err)
	}
	var binPub bytes.Buffer
	if err := e.Serialize(&binPub); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name string
		data []byte
		want error
	}{
		{"armored private key", priv.Bytes(), pgp.ErrPrivateKey},
		{"binary private key", binPriv.Bytes(), pgp.ErrPrivateKey},
		{"garbage", []byte("hello, this is not a key"), pgp.ErrKeyFormat},
		{"empty", nil, pgp.ErrKeyFormat},
		{"a PGP message, not a key", []byte("-----BEGIN PGP MESSAGE-----\n\nwcBMA0\n-----END PGP MESSAGE-----\n"), pgp.ErrKeyFormat},
		{"too large", make([]byte, pgp.MaxKeySize+1), pgp.ErrKeyTooLarge},
	}
	for _, tt := range tests {
		if _, err := pgp.ParseKeys(tt.data); !errors.Is(err, tt.want) {
			t.Errorf("%s: %v, want %v", tt.name, err, tt.want)
		}
	}
	if keys, err := pgp.ParseKeys(binPub.Bytes()); err != nil || len(keys) != 1 {
		t.Errorf("binary public key: %v", err)
	}
}
