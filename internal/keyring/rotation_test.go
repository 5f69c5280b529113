package keyring_test

import (
	"bytes"
	"context"
	"fmt"
	"slices"
	"testing"
	"time"

	"github.com/carepost/carepost/internal/keyring"
	"github.com/carepost/carepost/internal/store"
	"github.com/carepost/carepost/internal/store/storetest"
)

func TestRotateReencryptRetire(t *testing.T) {
	t.Parallel()
	storetest.Each(t, func(t *testing.T, d store.Driver) {
		n := setup(t, d)
		ctx := context.Background()
		createNotes(t, n)
		for i := range 5 {
			var body []byte
			if i%2 == 0 {
				body = []byte(fmt.Sprintf("body %d", i))
			}
			putNote(t, n, "org_a", fmt.Sprintf("n%d", i), fmt.Sprintf("subject %d", i), body)
		}
		putNote(t, n, "org_b", "m1", "other org", []byte("untouched"))
		// A ciphertext kept outside any registered table, sealed with v1.
		loose, _ := n.seal(t, noteAAD, []byte("kept aside"))

		var v int
		n.tx(t, func(tx *store.Tx) (err error) { v, err = n.kr.Rotate(ctx, tx, "org_a"); return err })
		if v != 2 {
			t.Fatalf("rotate gave version %d, want 2", v)
		}
		if s, _, ver := readNote(t, n, "org_a", "n0"); s != "subject 0" || ver != 1 {
			t.Fatalf("row written before rotation: %q v%d", s, ver)
		}
		putNote(t, n, "org_a", "n5", "after rotation", nil)
		if _, _, ver := readNote(t, n, "org_a", "n5"); ver != 2 {
			t.Fatalf("write after rotation used v%d, want 2", ver)
		}
		if got := retire(t, n, "org_a"); len(got) != 0 {
			t.Fatalf("retired %v while rows still use them", got)
		}

		total := 0
		for calls := 0; ; calls++ {
			moved, err := n.kr.Reencrypt(ctx, "org_a", 2)
			if err != nil {
				t.Fatal(err)
			}
			if moved > 2 {
				t.Fatalf("batch of 2 moved %d rows", moved)
			}
			if moved == 0 {
				break
			}
			total += moved
			if calls > 10 {
				t.Fatal("Reencrypt does not converge")
			}
		}
		if total != 5 {
			t.Fatalf("moved %d rows, want 5", total)
		}
		for i := range 5 {
			s, body, ver := readNote(t, n, "org_a", fmt.Sprintf("n%d", i))
			if ver != 2 || s != fmt.Sprintf("subject %d", i) {
				t.Fatalf("n%d after reencrypt: %q v%d", i, s, ver)
			}
			if want := i%2 == 0; (body != nil) != want || (want && string(body) != fmt.Sprintf("body %d", i)) {
				t.Fatalf("n%d body after reencrypt = %q", i, body)
			}
		}
		if _, body, ver := readNote(t, n, "org_b", "m1"); ver != 1 || string(body) != "untouched" {
			t.Fatalf("other scope's row was moved: v%d %q", ver, body)
		}

		if got := retire(t, n, "org_a"); !slices.Equal(got, []int{1}) {
			t.Fatalf("retired %v, want [1]", got)
		}
		if got := retire(t, n, "org_a"); len(got) != 0 {
			t.Fatalf("second retire gave %v, want none", got)
		}
		if pt, err := n.kr.Open(ctx, n.db.Reader(), noteAAD, loose); err != nil || string(pt) != "kept aside" {
			t.Fatalf("a retired key no longer opens: %v", err)
		}
		if _, v := n.seal(t, noteAAD, []byte("new")); v != 2 {
			t.Fatalf("seal after retire used v%d, want 2", v)
		}
		st := scopeStatus(t, n, "org_a")
		if st.Current != 2 || len(st.Versions) != 2 {
			t.Fatalf("status = %+v", st)
		}
		if v1 := st.Versions[0]; v1.State != store.DataKeyRetired || v1.Rows != 0 || v1.RetiredAt.IsZero() || v1.KEKID != n.ks.PrimaryID() {
			t.Fatalf("v1 status = %+v", v1)
		}
		if v2 := st.Versions[1]; v2.State != store.DataKeyActive || v2.Rows != 6 || v2.RowsByTable["notes"] != 6 {
			t.Fatalf("v2 status = %+v, want 6 notes", v2)
		}
		if b := scopeStatus(t, n, "org_b"); b.Current != 1 || b.Versions[0].Rows != 1 {
			t.Fatalf("org_b status = %+v", b)
		}
	})
}

func retire(t *testing.T, n node, scope string) []int {
	t.Helper()
	got, err := n.kr.RetireUnused(context.Background(), scope)
	if err != nil {
		t.Fatal(err)
	}
	return got
}

func scopeStatus(t *testing.T, n node, scope string) keyring.ScopeStatus {
	t.Helper()
	all, err := n.kr.Status(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	for _, s := range all {
		if s.Scope == scope {
			return s
		}
	}
	t.Fatalf("status has no scope %s: %+v", scope, all)
	return keyring.ScopeStatus{}
}

func TestStatusReportsRowsWithoutAKey(t *testing.T) {
	t.Parallel()
	storetest.Each(t, func(t *testing.T, d store.Driver) {
		n := setup(t, d)
		ctx := context.Background()
		createNotes(t, n)
		putNote(t, n, "org_a", "n1", "s", nil)
		n.tx(t, func(tx *store.Tx) error {
			_, err := tx.Exec(ctx, `INSERT INTO notes VALUES ('org_a', 'n9', 9, ?, NULL)`, []byte("junk"))
			return err
		})
		st := scopeStatus(t, n, "org_a")
		if len(st.Versions) != 2 || st.Versions[1].Version != 9 || st.Versions[1].State != keyring.StateMissing || st.Versions[1].Rows != 1 {
			t.Fatalf("status = %+v, want v9 missing with 1 row", st)
		}
		scopes, err := n.kr.Scopes(ctx)
		if err != nil || !slices.Equal(scopes, []string{"org_a"}) {
			t.Fatalf("scopes = %v, %v", scopes, err)
		}
	})
}

// TestOtherNodeSeesRotationWithinTTL is the multi-node caveat: a node keeps
// sealing with the version it cached until CurrentTTL passes.
func TestOtherNodeSeesRotationWithinTTL(t *testing.T) {
	t.Parallel()
	storetest.Each(t, func(t *testing.T, d store.Driver) {
		a := setup(t, d)
		ctx := context.Background()
		now := time.Unix(1_700_000_000, 0)
		b := a
		b.kr = keyring.New(a.db, a.ks, keyring.Options{CurrentTTL: time.Minute, Clock: func() time.Time { return now }})
		uncached := a
		uncached.kr = keyring.New(a.db, a.ks, keyring.Options{CurrentTTL: -1})

		if _, v := b.seal(t, noteAAD, []byte("1")); v != 1 {
			t.Fatalf("b sealed with v%d", v)
		}
		a.tx(t, func(tx *store.Tx) error { _, err := a.kr.Rotate(ctx, tx, "org_a"); return err })
		if _, v := a.seal(t, noteAAD, []byte("2")); v != 2 {
			t.Fatalf("the rotating node sealed with v%d, want 2 at once", v)
		}
		if _, v := uncached.seal(t, noteAAD, []byte("3")); v != 2 {
			t.Fatalf("a node without the cache sealed with v%d, want 2", v)
		}
		ct, v := b.seal(t, noteAAD, []byte("4"))
		if v != 1 {
			t.Fatalf("b sealed with v%d inside its TTL, want the cached 1", v)
		}
		if pt, err := a.kr.Open(ctx, a.db.Reader(), noteAAD, ct); err != nil || !bytes.Equal(pt, []byte("4")) {
			t.Fatalf("a straggler write does not open: %v", err)
		}
		now = now.Add(time.Minute)
		if _, v := b.seal(t, noteAAD, []byte("5")); v != 2 {
			t.Fatalf("b sealed with v%d after its TTL, want 2", v)
		}
	})
}
