package contact_test

import (
	"bytes"
	"context"
	"fmt"
	"math"
	"math/rand/v2"
	"testing"
	"time"

	"github.com/riverqueue/river"

	"github.com/carepost/carepost/internal/access"
	"github.com/carepost/carepost/internal/audit"
	"github.com/carepost/carepost/internal/auth"
	"github.com/carepost/carepost/internal/blindindex"
	"github.com/carepost/carepost/internal/blob"
	"github.com/carepost/carepost/internal/clocktest"
	"github.com/carepost/carepost/internal/contact"
	"github.com/carepost/carepost/internal/jobs"
	"github.com/carepost/carepost/internal/keyring"
	"github.com/carepost/carepost/internal/store"
	"github.com/carepost/carepost/internal/store/storetest"
)

// clock is the shared fake clock.
type clock = clocktest.Clock

// env is the real core the contact service runs on — store, keyring, blind
// index, audit log, job client (not started: tests run imports with
// RunImport) — on one driver, with two organizations.
type env struct {
	db    *store.DB
	keys  *keyring.Keyring
	index *blindindex.Indexer
	audit *audit.Log
	jobs  *jobs.Client
	svc   *contact.Service
	clock *clock
	url   string
	orgA  string
	orgB  string
	kek   *keyring.Keyset
}

// setup builds the environment; edit (nil: none) adjusts the options.
func setup(t testing.TB, d store.Driver, edit func(*contact.Options)) *env {
	t.Helper()
	kek, err := keyring.GenerateKeyset()
	if err != nil {
		t.Fatal(err)
	}
	e := &env{clock: clocktest.New(time.Now().UTC()), url: storetest.URL(t, d), kek: kek, orgA: "org_riverside", orgB: "org_lakeside"}
	e.open(t, edit)
	ctx := context.Background()
	err = e.db.Tx(ctx, func(tx *store.Tx) error {
		for _, org := range []string{e.orgA, e.orgB} {
			if _, err := tx.Exec(ctx, `INSERT INTO organizations (id, name, created_at) VALUES (?, ?, ?)`, org, org, store.Micros(e.clock.Now())); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return e
}

// open (re)opens the services on the environment's database, as a
// restarted node would.
func (e *env) open(t testing.TB, edit func(*contact.Options)) {
	t.Helper()
	ctx := context.Background()
	db, err := store.Open(ctx, store.Options{URL: e.url})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	if _, err := db.Migrate(ctx); err != nil {
		t.Fatal(err)
	}
	if _, err := jobs.Migrate(ctx, db); err != nil {
		t.Fatal(err)
	}
	e.db = db
	e.keys = keyring.New(db, e.kek, keyring.Options{Clock: e.clock.Now})
	blobs := blob.New(db, e.keys)
	e.index = blindindex.New(blobs)
	e.audit = audit.New(db, audit.Options{Clock: e.clock.Now})
	opts := contact.Options{Clock: e.clock.Now, ImportBatch: 100, ImportChunk: 4096}
	if edit != nil {
		edit(&opts)
	}
	e.svc = contact.New(contact.Deps{DB: db, Keys: e.keys, Index: e.index, Audit: e.audit}, opts)
	workers := river.NewWorkers()
	e.svc.Register(workers)
	if e.jobs, err = jobs.New(db, workers, nil, jobs.Options{}); err != nil {
		t.Fatal(err)
	}
	e.svc.Bind(e.jobs)
}

// person is a principal of org holding perms.
func person(org string, perms ...access.Permission) contact.Actor {
	return contact.As(auth.Principal{OrgID: org, UserID: "usr_" + fmt.Sprint(len(perms)), Perms: access.NewSet(perms...)})
}

// owner may do everything, PHI included; marketer lacks phi:read.
func (e *env) owner(org string) contact.Actor { return person(org, access.All...) }

func marketer(org string) contact.Actor {
	return person(org, access.ContactsRead, access.ContactsWrite, access.SegmentsWrite)
}

func ptr[T any](v T) *T { return &v }

// workloadFields defines the standard workload's fields in org: the
// clinical ones PHI, as a healthcare organization would.
func (e *env) workloadFields(t testing.TB, org string) {
	t.Helper()
	for _, f := range []contact.FieldInput{
		{Key: "birth_date", Type: contact.TypeDate},
		{Key: "condition", Type: contact.TypeText},
		{Key: "last_visit", Type: contact.TypeDate},
		{Key: "insurance_status", Type: contact.TypeText},
		{Key: "plan", Type: contact.TypeText},
		{Key: "zip", Type: contact.TypeText},
	} {
		if _, err := e.svc.CreateField(context.Background(), e.owner(org), f); err != nil {
			t.Fatal(err)
		}
	}
}

// workloadCSV writes n rows shaped like gen-contacts.py's: the same
// columns, deterministic for a seed.
func workloadCSV(n int, seed uint64) []byte {
	first := []string{"Ada", "Ben", "Cara", "Dev", "Eli", "Fay", "Gus", "Hana"}
	last := []string{"Alder", "Birch", "Cedar", "Dale", "Elm", "Fern"}
	conditions := []string{"diabetes", "hypertension", "asthma", "none", "none", "pregnancy"}
	zones := []string{"America/New_York", "America/Chicago", "America/Denver", "America/Phoenix"}
	r := rand.New(rand.NewPCG(seed, seed))
	today := time.Date(2026, 12, 1, 0, 0, 0, 0, time.UTC)
	var b bytes.Buffer
	b.WriteString("email,first_name,last_name,phone,birth_date,timezone,condition,last_visit,insurance_status,plan,zip,marketing_consent\n")
	for i := range n {
		f, l := first[r.IntN(len(first))], last[r.IntN(len(last))]
		consent := "yes"
		if r.IntN(5) == 0 {
			consent = "no"
		}
		fmt.Fprintf(&b, "%s.%s.%d@patients.test,%s,%s,+1555%07d,%s,%s,%s,%s,active,gold,%05d,%s\n",
			lower(f), lower(l), i, f, l, r.IntN(10000000), today.AddDate(0, 0, -(18*365+r.IntN(70*365))).Format(time.DateOnly),
			zones[r.IntN(len(zones))], conditions[r.IntN(len(conditions))], today.AddDate(0, 0, -r.IntN(3*365)).Format(time.DateOnly),
			1000+r.IntN(98999), consent)
	}
	return b.Bytes()
}

func lower(s string) string { return string(bytes.ToLower([]byte(s))) }

// consentTemplate is the authorization a "yes" in marketing_consent
// stands for.
func consentTemplate(now time.Time) *contact.Authorization {
	return &contact.Authorization{Method: contact.Electronic, TextVersion: "mkt-auth-2026", ExpiresAt: now.AddDate(2, 0, 0)}
}

// importCSV runs a whole import of data in org and returns it.
func (e *env) importCSV(t testing.TB, org string, data []byte, req contact.ImportRequest) contact.Import {
	t.Helper()
	ctx := context.Background()
	a := e.owner(org)
	imp, err := e.svc.CreateImport(ctx, a, req)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := e.svc.AddImportPart(ctx, a, imp.ID, bytes.NewReader(data)); err != nil {
		t.Fatal(err)
	}
	if _, err := e.svc.StartImport(ctx, a, imp.ID); err != nil {
		t.Fatal(err)
	}
	if err := e.svc.RunImport(ctx, org, imp.ID); err != nil {
		t.Fatal(err)
	}
	done, err := e.svc.GetImport(ctx, a, imp.ID)
	if err != nil {
		t.Fatal(err)
	}
	return done
}

// count counts org's contacts through Scan.
func (e *env) count(t testing.TB, org string) int {
	t.Helper()
	n := 0
	if err := e.svc.Scan(context.Background(), org, func(contact.Contact) error { n++; return nil }); err != nil {
		t.Fatal(err)
	}
	return n
}

// auditEntries returns org's audit records with action.
func (e *env) auditEntries(t testing.TB, org, action string) []store.AuditRecord {
	t.Helper()
	recs, err := store.AuditRecords(context.Background(), e.db.Reader(), org, 0, math.MaxInt64, 100000)
	if err != nil {
		t.Fatal(err)
	}
	var out []store.AuditRecord
	for _, r := range recs {
		if r.Action == action {
			out = append(out, r)
		}
	}
	return out
}
