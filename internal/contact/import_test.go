package contact_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/carepost/carepost/internal/contact"
	"github.com/carepost/carepost/internal/store"
	"github.com/carepost/carepost/internal/store/storetest"
	"github.com/carepost/carepost/internal/workload"
)

const canaryName = "Qzxwvcanary"

// canaryCSV has a canary in every PHI column.
func canaryCSV() []byte {
	var b bytes.Buffer
	b.WriteString("email,first_name,last_name,phone,condition,birth_date,marketing_consent\n")
	for i := range 50 {
		fmt.Fprintf(&b, "%s.%d@canary.example,%s,%s,+1555%07d,%s-condition,1970-01-02,yes\n",
			strings.ToLower(canaryName), i, canaryName, canaryName, i, canaryName)
	}
	return b.Bytes()
}

func TestImportLeavesNoPHIInTheRawDatabase(t *testing.T) {
	t.Parallel()
	e := setup(t, store.SQLite, nil)
	e.workloadFields(t, e.orgA)
	ctx := context.Background()
	a := e.owner(e.orgA)
	imp, err := e.svc.CreateImport(ctx, a, contact.ImportRequest{Mapping: map[string]string{"email": "email", "first_name": "first_name",
		"last_name": "last_name", "phone": "phone", "condition": "condition", "birth_date": "birth_date", "marketing_consent": contact.ConsentColumn},
		Consent: consentTemplate(e.clock.Now())})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := e.svc.AddImportPart(ctx, a, imp.ID, bytes.NewReader(canaryCSV())); err != nil {
		t.Fatal(err)
	}
	assertNoCanary(t, e, "after upload (the file is staged sealed)")
	if _, err := e.svc.StartImport(ctx, a, imp.ID); err != nil {
		t.Fatal(err)
	}
	if err := e.svc.RunImport(ctx, e.orgA, imp.ID); err != nil {
		t.Fatal(err)
	}
	got, _ := e.svc.GetImport(ctx, a, imp.ID)
	if got.State != contact.ImportCompleted || got.Created != 50 {
		t.Fatalf("import = %+v", got)
	}
	var seen int
	_ = e.svc.Scan(ctx, e.orgA, func(c contact.Contact) error {
		if c.FirstName == canaryName && c.Fields["condition"].Text == canaryName+"-condition" && contact.CanMarketPHI(c, e.clock.Now()) {
			seen++
		}
		return nil
	})
	if seen != 50 {
		t.Fatalf("%d of 50 contacts open with their PHI and consent", seen)
	}
	assertNoCanary(t, e, "after the import")
}

// assertNoCanary reads the SQLite database file and its WAL as bytes.
func assertNoCanary(t *testing.T, e *env, when string) {
	t.Helper()
	control := false
	for _, suffix := range []string{"", "-wal"} {
		raw, err := os.ReadFile(e.db.Path() + suffix)
		if err != nil {
			if suffix == "-wal" && errors.Is(err, os.ErrNotExist) {
				continue
			}
			t.Fatal(err)
		}
		for _, canary := range []string{canaryName, strings.ToLower(canaryName), "canary.example", "+15550000007"} {
			if bytes.Contains(raw, []byte(canary)) {
				t.Fatalf("%s: %q found in carepost.db%s", when, canary, suffix)
			}
		}
		// The reading works: what is stored in clear is found.
		control = control || bytes.Contains(raw, []byte("mkt-auth-2026")) || bytes.Contains(raw, []byte(e.orgA))
	}
	if !control {
		t.Fatal("the raw read found nothing stored in clear either: the check proves nothing")
	}
}

func TestImportDedupesByEmail(t *testing.T) {
	t.Parallel()
	storetest.Each(t, func(t *testing.T, d store.Driver) {
		e := setup(t, d, nil)
		e.workloadFields(t, e.orgA)
		ctx := context.Background()
		if _, err := e.svc.Create(ctx, e.owner(e.orgA), contact.Input{Email: ptr("ada@patients.test"), FirstName: ptr("Ada"), Fields: map[string]any{"zip": "10001"}}); err != nil {
			t.Fatal(err)
		}
		csv := "email,first_name,last_name,condition\n" +
			"ADA@patients.test,,Alder,asthma\n" + // existing: updated, empty first name kept
			"ben@patients.test,Ben,Birch,\n" +
			"Ben@Patients.test,,,copd\n" // same address again in the file: updates the row above
		imp := e.importCSV(t, e.orgA, []byte(csv), contact.ImportRequest{})
		if imp.State != contact.ImportCompleted || imp.Created != 1 || imp.Updated != 2 || imp.RowsApplied != 3 {
			t.Fatalf("import = %+v", imp)
		}
		got := map[string]contact.Contact{}
		_ = e.svc.Scan(ctx, e.orgA, func(c contact.Contact) error { got[strings.ToLower(c.Email)] = c; return nil })
		if len(got) != 2 {
			t.Fatalf("%d contacts, want 2", len(got))
		}
		ada, ben := got["ada@patients.test"], got["ben@patients.test"]
		if ada.FirstName != "Ada" || ada.LastName != "Alder" || ada.Fields["zip"].Text != "10001" || ada.Fields["condition"].Text != "asthma" {
			t.Fatalf("ada = %+v", ada)
		}
		if ben.FirstName != "Ben" || ben.LastName != "Birch" || ben.Fields["condition"].Text != "copd" {
			t.Fatalf("ben = %+v", ben)
		}
	})
}

func TestBadCSVReportsWithoutValuesAndChangesNothing(t *testing.T) {
	t.Parallel()
	storetest.Each(t, func(t *testing.T, d store.Driver) {
		e := setup(t, d, nil)
		e.workloadFields(t, e.orgA)
		ctx := context.Background()
		if _, err := e.svc.Create(ctx, e.owner(e.orgA), contact.Input{Email: ptr("kept@patients.test")}); err != nil {
			t.Fatal(err)
		}
		good := string(workloadCSV(250, 3))
		lines := strings.Split(strings.TrimSuffix(good, "\n"), "\n")
		lines[120] = "short.row@patients.test,Cara"           // malformed: too few fields
		lines[200] = strings.Replace(lines[200], "-", "/", 2) // a wrong date: 2001/04-02 style
		bad := strings.Join(lines, "\n") + "\n"
		for _, skip := range []bool{false, true} {
			req := contact.ImportRequest{SkipInvalid: skip, Mapping: workloadMapping(), Consent: consentTemplate(e.clock.Now())}
			imp := e.importCSV(t, e.orgA, []byte(bad), req)
			report, err := e.svc.ImportReport(ctx, e.owner(e.orgA), imp.ID)
			if err != nil {
				t.Fatal(err)
			}
			if len(report) != 2 || report[0].Row != 120 || report[0].Line != 121 || report[0].Column != "" ||
				report[1].Row != 200 || report[1].Column != "birth_date" || !strings.Contains(report[1].Reason, "not a date") {
				t.Fatalf("skip=%v report = %+v", skip, report)
			}
			for _, r := range report {
				if strings.Contains(r.Reason, "@") || strings.Contains(r.Reason, "/") {
					t.Fatalf("the report carries a value: %+v", r)
				}
			}
			n := e.count(t, e.orgA)
			if !skip {
				if imp.State != contact.ImportFailed || imp.RowsInvalid != 2 || n != 1 {
					t.Fatalf("strict import = %+v, %d contacts (want the database unchanged: 1)", imp, n)
				}
				continue
			}
			if imp.State != contact.ImportCompleted || imp.Skipped != 2 || imp.Created != 248 || n != 249 {
				t.Fatalf("skip_invalid import = %+v, %d contacts", imp, n)
			}
		}
	})
}

func workloadMapping() map[string]string { return workload.Mapping(contact.ConsentColumn) }

func TestImportResumesAfterACrash(t *testing.T) {
	t.Parallel()
	storetest.Each(t, func(t *testing.T, d store.Driver) {
		crash := func(o *contact.Options) {
			o.AfterImportBatch = func(_ string, applied int64) error {
				if applied >= 300 {
					return errors.New("simulated kill -9")
				}
				return nil
			}
		}
		e := setup(t, d, crash)
		e.workloadFields(t, e.orgA)
		ctx := context.Background()
		a := e.owner(e.orgA)
		data := workloadCSV(1000, 11)
		imp, err := e.svc.CreateImport(ctx, a, contact.ImportRequest{Mapping: workloadMapping(), Consent: consentTemplate(e.clock.Now())})
		if err != nil {
			t.Fatal(err)
		}
		if _, err := e.svc.AddImportPart(ctx, a, imp.ID, bytes.NewReader(data[:len(data)/2])); err != nil {
			t.Fatal(err)
		}
		if _, err := e.svc.AddImportPart(ctx, a, imp.ID, bytes.NewReader(data[len(data)/2:])); err != nil {
			t.Fatal(err)
		}
		if _, err := e.svc.StartImport(ctx, a, imp.ID); err != nil {
			t.Fatal(err)
		}
		if err := e.svc.RunImport(ctx, e.orgA, imp.ID); err == nil {
			t.Fatal("the crash hook did not stop the import")
		}
		mid, _ := e.svc.GetImport(ctx, a, imp.ID)
		if mid.State != contact.ImportApplying || mid.RowsApplied != 300 || e.count(t, e.orgA) != 300 {
			t.Fatalf("after the crash: %+v, %d contacts", mid, e.count(t, e.orgA))
		}
		// Restart: new services on the same database. The dead worker's
		// lease still holds, so nothing resumes until it expires.
		e.open(t, nil)
		if n, err := e.svc.ResumeStalled(ctx); err != nil || n != 0 {
			t.Fatalf("resumed under a live lease: %d %v", n, err)
		}
		e.clock.Advance(2 * time.Minute)
		if n, err := e.svc.ResumeStalled(ctx); err != nil || n != 1 {
			t.Fatalf("sweep after the lease expired: %d %v", n, err)
		}
		if err := e.svc.RunImport(ctx, e.orgA, imp.ID); err != nil {
			t.Fatal(err)
		}
		done, _ := e.svc.GetImport(ctx, a, imp.ID)
		if done.State != contact.ImportCompleted || done.RowsApplied != 1000 || done.Created != 1000 || done.Updated != 0 {
			t.Fatalf("after resuming: %+v", done)
		}
		if n := e.count(t, e.orgA); n != 1000 {
			t.Fatalf("%d contacts, want 1000", n)
		}
		// Every "yes" row got exactly one authorization: none twice.
		yes := bytes.Count(data, []byte(",yes\n"))
		var rows int
		if err := e.db.Reader().QueryRow(ctx, `SELECT count(*) FROM contact_consents WHERE org_id = ?`, e.orgA).Scan(&rows); err != nil || rows != yes {
			t.Fatalf("%d authorizations for %d yes rows (%v)", rows, yes, err)
		}
	})
}

// TestImportGrantReachesExistingContacts: a file row that says "yes" for an
// address already in the organization records the grant and makes it the
// contact's current authorization, so PHI campaigns may reach it — as for a
// contact the import creates.
func TestImportGrantReachesExistingContacts(t *testing.T) {
	t.Parallel()
	storetest.Each(t, func(t *testing.T, d store.Driver) {
		e := setup(t, d, nil)
		e.workloadFields(t, e.orgA)
		ctx := context.Background()
		a := e.owner(e.orgA)
		if _, err := e.svc.Create(ctx, a, contact.Input{Email: ptr("ada@patients.test"), FirstName: ptr("Ada")}); err != nil {
			t.Fatal(err)
		}
		csv := "email,first_name,marketing_consent\nada@patients.test,Ada,yes\nben@patients.test,Ben,yes\n"
		imp := e.importCSV(t, e.orgA, []byte(csv), contact.ImportRequest{Mapping: map[string]string{"email": "email",
			"first_name": "first_name", "marketing_consent": contact.ConsentColumn}, Consent: consentTemplate(e.clock.Now())})
		if imp.State != contact.ImportCompleted || imp.Created != 1 || imp.Updated != 1 {
			t.Fatalf("import = %+v", imp)
		}
		marketable := map[string]bool{}
		_ = e.svc.Scan(ctx, e.orgA, func(c contact.Contact) error {
			marketable[c.Email] = contact.CanMarketPHI(c, e.clock.Now())
			return nil
		})
		if len(marketable) != 2 || !marketable["ada@patients.test"] || !marketable["ben@patients.test"] {
			t.Fatalf("valid authorization after the import: %v; want both", marketable)
		}
	})
}

// TestImportFollowsAFieldChangeMidFile: the batches the import drafted
// ahead under the organization's fields are not written as drafted when a
// field changes in between — a non-PHI field deleted after the first batch
// is in no contact created after it, as if each batch had been prepared
// in its own transaction.
func TestImportFollowsAFieldChangeMidFile(t *testing.T) {
	t.Parallel()
	storetest.Each(t, func(t *testing.T, d store.Driver) {
		var e *env
		deleted := false
		e = setup(t, d, func(o *contact.Options) {
			o.AfterImportBatch = func(_ string, applied int64) error {
				if !deleted {
					deleted = true
					return e.svc.DeleteField(context.Background(), e.owner(e.orgA), "plan")
				}
				return nil
			}
		})
		ctx := context.Background()
		a := e.owner(e.orgA)
		clear := false
		for _, f := range []contact.FieldInput{
			{Key: "birth_date", Type: contact.TypeDate}, {Key: "condition", Type: contact.TypeText},
			{Key: "last_visit", Type: contact.TypeDate}, {Key: "insurance_status", Type: contact.TypeText},
			{Key: "plan", Type: contact.TypeText, PHI: &clear}, {Key: "zip", Type: contact.TypeText},
		} {
			if _, err := e.svc.CreateField(ctx, a, f); err != nil {
				t.Fatal(err)
			}
		}
		imp, err := e.svc.CreateImport(ctx, a, contact.ImportRequest{Mapping: workloadMapping(), Consent: consentTemplate(e.clock.Now())})
		if err != nil {
			t.Fatal(err)
		}
		if _, err := e.svc.AddImportPart(ctx, a, imp.ID, bytes.NewReader(workloadCSV(1000, 5))); err != nil {
			t.Fatal(err)
		}
		if _, err := e.svc.StartImport(ctx, a, imp.ID); err != nil {
			t.Fatal(err)
		}
		if err := e.svc.RunImport(ctx, e.orgA, imp.ID); err != nil {
			t.Fatal(err)
		}
		if n := e.count(t, e.orgA); n != 1000 {
			t.Fatalf("%d contacts, want 1000", n)
		}
		var withPlan int
		if err := e.db.Reader().QueryRow(ctx, `SELECT count(*) FROM contacts WHERE org_id = ? AND attrs LIKE '%"plan"%'`, e.orgA).Scan(&withPlan); err != nil {
			t.Fatal(err)
		}
		if withPlan != 100 {
			t.Fatalf("%d contacts carry the deleted field, want the first batch's 100", withPlan)
		}
	})
}
