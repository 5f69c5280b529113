package keydir_test

import (
	"bytes"
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/ProtonMail/go-crypto/openpgp"
	"github.com/ProtonMail/go-crypto/openpgp/armor"
	"github.com/ProtonMail/go-crypto/openpgp/packet"

	"github.com/carepost/carepost/internal/audit"
	"github.com/carepost/carepost/internal/blindindex"
	"github.com/carepost/carepost/internal/blob"
	"github.com/carepost/carepost/internal/clocktest"
	"github.com/carepost/carepost/internal/keydir"
	"github.com/carepost/carepost/internal/keyring"
	"github.com/carepost/carepost/internal/store"
	"github.com/carepost/carepost/internal/store/storetest"
	"github.com/carepost/carepost/internal/testpki"
)

// clock is the shared fake clock.
type clock = clocktest.Clock

// core is the real services the directory runs on.
type core struct {
	DB    *store.DB
	Keys  *keyring.Keyring
	Blobs *blob.Store
	Index *blindindex.Indexer
	Audit *audit.Log
}

// env is a real carepost core on one driver with a directory service
// trusting a test CA, and two organizations.
type env struct {
	app   core
	svc   *keydir.Service
	ca    *testpki.CA
	clock *clock
	orgA  string
	orgB  string
}

func (e *env) actor(org string) keydir.Actor { return keydir.System(org, "test") }

// setup builds the environment; resolver (nil: none) serves WKD lookups,
// edit (nil: none) adjusts the options.
func setup(t *testing.T, d store.Driver, resolver keydir.IPResolver, edit func(*keydir.Options)) *env {
	t.Helper()
	ctx := context.Background()
	c := clocktest.New(time.Now())
	db := storetest.Open(t, d)
	kek, err := keyring.GenerateKeyset()
	if err != nil {
		t.Fatal(err)
	}
	kr := keyring.New(db, kek, keyring.Options{Clock: c.Now})
	blobs := blob.New(db, kr)
	a := core{DB: db, Keys: kr, Blobs: blobs, Index: blindindex.New(blobs), Audit: audit.New(db, audit.Options{Clock: c.Now})}
	ca := testpki.NewCA(t, "S/MIME test CA")
	opts := keydir.Options{Roots: ca.Pool, Clock: c.Now}
	if edit != nil {
		edit(&opts)
	}
	deps := keydir.Deps{DB: a.DB, Keys: a.Keys, Blobs: a.Blobs, Index: a.Index, Audit: a.Audit}
	if resolver != nil {
		deps.Resolver = resolver
	}
	svc, err := keydir.New(deps, opts)
	if err != nil {
		t.Fatal(err)
	}
	e := &env{app: a, svc: svc, ca: ca, clock: c}
	err = db.Tx(ctx, func(tx *store.Tx) error {
		for _, org := range [][2]string{{"org_riverside", "Riverside Clinic"}, {"org_lakeside", "Lakeside Hospital"}} {
			if _, err := tx.Exec(ctx, `INSERT INTO organizations (id, name, created_at) VALUES (?, ?, ?)`, org[0], org[1], store.Micros(c.Now())); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	e.orgA, e.orgB = "org_riverside", "org_lakeside"
	return e
}

type keyOpts struct {
	email    string
	created  time.Time
	lifetime time.Duration
	revoke   bool
}

// pgpKey makes a key the way another client would and returns the entity
// and its armored public key.
func pgpKey(t testing.TB, o keyOpts) (*openpgp.Entity, []byte) {
	t.Helper()
	if o.created.IsZero() {
		o.created = time.Now().Add(-time.Minute)
	}
	cfg := &packet.Config{Algorithm: packet.PubKeyAlgoEdDSA, Time: func() time.Time { return o.created },
		KeyLifetimeSecs: uint32(o.lifetime / time.Second)}
	e, err := openpgp.NewEntity("Jane Roe", "", o.email, cfg)
	if err != nil {
		t.Fatal(err)
	}
	if o.revoke {
		if err := e.RevokeKey(packet.KeyRetired, "", cfg); err != nil {
			t.Fatal(err)
		}
	}
	return e, armoredOf(t, e)
}

// armoredOf is the armored public key of e.
func armoredOf(t testing.TB, e *openpgp.Entity) []byte {
	t.Helper()
	var buf bytes.Buffer
	w, _ := armor.Encode(&buf, openpgp.PublicKeyType, nil)
	if err := e.Serialize(w); err != nil {
		t.Fatal(err)
	}
	w.Close()
	return buf.Bytes()
}

// openssl runs OpenSSL in dir and returns its standard output.
func openssl(t *testing.T, dir string, args ...string) []byte {
	t.Helper()
	if _, err := exec.LookPath("openssl"); err != nil {
		t.Skip("openssl is not installed (.ci/run installs it)")
	}
	cmd := exec.Command("openssl", args...)
	cmd.Dir = dir
	var out, errOut bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errOut
	if err := cmd.Run(); err != nil {
		t.Fatalf("openssl %s: %v\n%s", strings.Join(args, " "), err, errOut.String())
	}
	return out.Bytes()
}

func write(t *testing.T, dir, name string, b []byte) {
	t.Helper()
	if err := os.WriteFile(filepath.Join(dir, name), b, 0o600); err != nil {
		t.Fatal(err)
	}
}
