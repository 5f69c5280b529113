package auth_test

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/binary"
	"encoding/json"
	"testing"
)

// softKey is a software WebAuthn authenticator for tests: one ECDSA P-256
// credential with "none" attestation, built by hand from the specification
// (W3C Web Authentication Level 3, sections 6.1 authenticator data, 6.5
// attestation object, 8.7 none format, 5.8.1 client data; CTAP2's CBOR
// COSE_Key) and not from go-webauthn, so the tests check the library
// against the specification rather than against itself.
//
// A browser would add the client data; softKey plays both parts. Its
// fields can be bent for the tests of refusals: another RP ID or origin, a
// counter that goes backwards.
type softKey struct {
	t      *testing.T
	rpID   string // hashed into authenticator data
	origin string // written into client data
	key    *ecdsa.PrivateKey
	credID []byte
	handle []byte // the user handle given at registration
	count  uint32 // signature counter; incremented before each assertion
}

func newSoftKey(t *testing.T, rpID, origin string) *softKey {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	id := make([]byte, 16)
	_, _ = rand.Read(id)
	return &softKey{t: t, rpID: rpID, origin: origin, key: key, credID: id}
}

var b64 = base64.RawURLEncoding

// options reads what a test needs from PublicKeyCredentialCreationOptions
// or ...RequestOptions as the server sends them ({"publicKey": {...}}).
func (k *softKey) options(raw json.RawMessage) (challenge string, userID []byte) {
	k.t.Helper()
	var o struct {
		PublicKey struct {
			Challenge string `json:"challenge"`
			User      struct {
				ID string `json:"id"`
			} `json:"user"`
		} `json:"publicKey"`
	}
	if err := json.Unmarshal(raw, &o); err != nil || o.PublicKey.Challenge == "" {
		k.t.Fatalf("options %s: %v", raw, err)
	}
	if o.PublicKey.User.ID != "" {
		var err error
		if userID, err = b64.DecodeString(o.PublicKey.User.ID); err != nil {
			k.t.Fatal(err)
		}
	}
	return o.PublicKey.Challenge, userID
}

// clientData is CollectedClientData (section 5.8.1) as JSON.
func (k *softKey) clientData(typ, challenge string) []byte {
	b, _ := json.Marshal(map[string]any{"type": typ, "challenge": challenge, "origin": k.origin, "crossOrigin": false})
	return b
}

// authData is the authenticator data (section 6.1): rpIdHash, flags,
// signCount, then any attested credential data.
func (k *softKey) authData(flags byte, attested []byte) []byte {
	h := sha256.Sum256([]byte(k.rpID))
	out := append(h[:], flags)
	out = binary.BigEndian.AppendUint32(out, k.count)
	return append(out, attested...)
}

const (
	flagUP = 0x01 // user present
	flagUV = 0x04 // user verified
	flagAT = 0x40 // attested credential data included
)

// register answers navigator.credentials.create() with a "none"
// attestation and returns the JSON a browser would post.
func (k *softKey) register(options json.RawMessage) []byte {
	k.t.Helper()
	challenge, userID := k.options(options)
	k.handle = userID
	// COSE_Key (RFC 9052 section 7, RFC 9053 section 7.1.1): kty EC2, alg
	// ES256, crv P-256, x, y.
	point, err := k.key.PublicKey.Bytes() // uncompressed: 0x04 || x || y (SEC 1 section 2.3.3)
	if err != nil {
		k.t.Fatal(err)
	}
	x, y := point[1:33], point[33:65]
	cose := cborMap(2+3, cborInt(1), cborInt(2), cborInt(3), cborInt(-7), cborInt(-1), cborInt(1),
		cborInt(-2), cborBytes(x), cborInt(-3), cborBytes(y))
	attested := make([]byte, 16) // AAGUID: zero for "none"
	attested = binary.BigEndian.AppendUint16(attested, uint16(len(k.credID)))
	attested = append(append(attested, k.credID...), cose...)
	ad := k.authData(flagUP|flagUV|flagAT, attested)
	att := cborMap(3, cborText("fmt"), cborText("none"), cborText("attStmt"), cborMap(0), cborText("authData"), cborBytes(ad))
	cd := k.clientData("webauthn.create", challenge)
	return k.credential(map[string]any{"clientDataJSON": b64.EncodeToString(cd), "attestationObject": b64.EncodeToString(att),
		"transports": []string{"internal"}})
}

// assert answers navigator.credentials.get(): authenticator data and an
// ES256 signature over authData || SHA-256(clientDataJSON) (section 6.3.3).
func (k *softKey) assert(options json.RawMessage) []byte {
	k.t.Helper()
	challenge, _ := k.options(options)
	k.count++
	ad := k.authData(flagUP|flagUV, nil)
	cd := k.clientData("webauthn.get", challenge)
	ch := sha256.Sum256(cd)
	digest := sha256.Sum256(append(append([]byte{}, ad...), ch[:]...))
	sig, err := ecdsa.SignASN1(rand.Reader, k.key, digest[:])
	if err != nil {
		k.t.Fatal(err)
	}
	return k.credential(map[string]any{"authenticatorData": b64.EncodeToString(ad), "clientDataJSON": b64.EncodeToString(cd),
		"signature": b64.EncodeToString(sig), "userHandle": b64.EncodeToString(k.handle)})
}

// credential wraps a response as PublicKeyCredential JSON (section 5.1).
func (k *softKey) credential(response map[string]any) []byte {
	b, _ := json.Marshal(map[string]any{"id": b64.EncodeToString(k.credID), "rawId": b64.EncodeToString(k.credID),
		"type": "public-key", "response": response, "clientExtensionResults": map[string]any{},
		"authenticatorAttachment": "platform"})
	return b
}

// A minimal CBOR encoder (RFC 8949): unsigned and negative integers, byte
// and text strings, maps. Enough for an attestation object.

func cborHead(major byte, n uint64) []byte {
	switch {
	case n < 24:
		return []byte{major<<5 | byte(n)}
	case n <= 0xff:
		return []byte{major<<5 | 24, byte(n)}
	case n <= 0xffff:
		return binary.BigEndian.AppendUint16([]byte{major<<5 | 25}, uint16(n))
	default:
		return binary.BigEndian.AppendUint32([]byte{major<<5 | 26}, uint32(n))
	}
}

func cborInt(v int64) []byte {
	if v >= 0 {
		return cborHead(0, uint64(v))
	}
	return cborHead(1, uint64(-1-v))
}

func cborBytes(b []byte) []byte { return append(cborHead(2, uint64(len(b))), b...) }
func cborText(s string) []byte  { return append(cborHead(3, uint64(len(s))), s...) }

// cborMap encodes n pairs given as 2n encoded items.
func cborMap(n int, items ...[]byte) []byte {
	out := cborHead(5, uint64(n))
	for _, it := range items {
		out = append(out, it...)
	}
	return out
}
