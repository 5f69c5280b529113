package api_test

import (
	"context"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/carepost/carepost/internal/api/apitest"
	"github.com/carepost/carepost/internal/e2e/e2etest"
	"github.com/carepost/carepost/internal/message"
	"github.com/carepost/carepost/internal/pgp/pgptest"
	"github.com/carepost/carepost/internal/store/storetest"
)

// recipientKey adds a key to tn's directory and returns its id.
func recipientKey(t *testing.T, e *apitest.Env, tn *apitest.Tenant) string {
	t.Helper()
	r := e.Do(t, tn.Key, "POST", v1+"/keys", map[string]any{"key": string(pgptest.PublicKey(t, "pat-"+randomSuffix(t)+"@patients.example", time.Now().Add(-time.Minute)))})
	if r.Status != http.StatusCreated {
		t.Fatalf("add key: %d %s", r.Status, r.Body)
	}
	var out struct{ ID string }
	r.JSON(t, &out)
	return out.ID
}

func TestRecipientKeysThroughTheAPI(t *testing.T) {
	t.Parallel()
	e := apitest.New(t, storetest.Default())
	g := pgptest.New(t)
	const pat = "pat@patients.example"
	pub := g.GenerateKey(t, "Pat Doe <"+pat+">")
	r := e.Do(t, e.A.Key, "POST", v1+"/keys", map[string]any{"key": string(pub)})
	if r.Status != http.StatusCreated {
		t.Fatalf("upload: %d %s", r.Status, r.Body)
	}
	var k struct {
		ID, Kind, Status, Fingerprint string
		Emails                        []string
	}
	r.JSON(t, &k)
	if k.Kind != "pgp" || k.Status != "valid" || len(k.Fingerprint) != 40 || len(k.Emails) != 1 || k.Emails[0] != pat {
		t.Fatalf("uploaded key %+v", k)
	}
	// The list and lookup by address; the other organization sees nothing.
	var list struct{ Keys []struct{ ID string } }
	e.Do(t, e.A.Key, "GET", v1+"/keys?email=PAT@patients.example", nil).JSON(t, &list)
	if len(list.Keys) != 1 || list.Keys[0].ID != k.ID {
		t.Fatalf("lookup by address %+v", list)
	}
	e.Do(t, e.B.Key, "GET", v1+"/keys", nil).JSON(t, &list)
	if len(list.Keys) != 0 {
		t.Fatalf("organization B lists A's keys: %+v", list)
	}
	// A bad upload names the field and stores nothing.
	bad := e.Do(t, e.A.Key, "POST", v1+"/keys", map[string]any{"key": string(pub), "email": "someone@else.example"})
	if bad.Status != http.StatusBadRequest || !strings.Contains(string(bad.Body), "user ID") || strings.Contains(string(bad.Body), "someone@else") {
		t.Fatalf("mismatched address: %d %s", bad.Status, bad.Body)
	}

	// Sign with the organization's key, published for recipients.
	var sk struct {
		OpenPGP struct {
			Fingerprint string
			PublicKey   string `json:"public_key"`
		} `json:"openpgp"`
	}
	if r := e.Do(t, e.A.Key, "POST", v1+"/signing-keys/openpgp", nil); r.Status != http.StatusCreated {
		t.Fatalf("generate signing key: %d %s", r.Status, r.Body)
	}
	e.Do(t, e.A.Key, "GET", v1+"/signing-keys", nil).JSON(t, &sk)
	if !strings.Contains(sk.OpenPGP.PublicKey, "BEGIN PGP PUBLIC KEY BLOCK") {
		t.Fatalf("published key %+v", sk)
	}
	g.Import(t, []byte(sk.OpenPGP.PublicKey))

	// The seam delivery calls: encrypted to the uploaded key, signed.
	raw, d := e2etest.Sample(t, pat)
	out, method, err := e.App.Keydir.Encrypt(context.Background(), e.A.Org.ID, pat, raw)
	if err != nil || method != "pgp" {
		t.Fatalf("Encrypt: %q %v", method, err)
	}
	p, err := message.Inspect(out, message.Limits{})
	if err != nil || len(p.Attachments) != 2 {
		t.Fatalf("not PGP/MIME: %v", err)
	}
	dec := g.Decrypt(t, p.Attachments[1].Content)
	if !strings.Contains(dec.Status, "VALIDSIG "+sk.OpenPGP.Fingerprint) {
		t.Fatalf("not signed by the published key:\n%s", dec.Status)
	}
	e2etest.CheckInner(t, dec.Plaintext, d)

	if r := e.Do(t, e.A.Key, "DELETE", v1+"/keys/"+k.ID, nil); r.Status != http.StatusNoContent {
		t.Fatalf("delete: %d %s", r.Status, r.Body)
	}
	if _, ok, _ := e.App.Keydir.HasValidKey(context.Background(), e.A.Org.ID, pat); ok {
		t.Fatal("a deleted key is still used")
	}
}
