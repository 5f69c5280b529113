package store_test

import (
	"context"
	"errors"
	"fmt"
	"os"
	"testing"
	"time"

	"github.com/carepost/carepost/internal/store"
	"github.com/carepost/carepost/internal/store/storetest"
)

func insertEvent(t *testing.T, tx *store.Tx, org, id string) {
	t.Helper()
	at := time.UnixMicro(1_700_000_000_000_000).UTC()
	if err := store.InsertEvents(context.Background(), tx, []store.EventRow{{ID: id, OrgID: org, Type: "message.queued", At: at, Data: `{}`}}); err != nil {
		t.Fatal(err)
	}
}

// feedIDs polls the feed after the cursor until it shows want events (or
// ten seconds pass): on PostgreSQL any transaction in progress on the
// server, a parallel test's too, holds the feed back for a moment.
func feedIDs(t *testing.T, db *store.DB, org, after string, limit, want int) ([]string, string) {
	t.Helper()
	var rows []store.EventRow
	for deadline := time.Now().Add(10 * time.Second); ; time.Sleep(10 * time.Millisecond) {
		var err error
		rows, err = store.EventsAfter(context.Background(), db.Reader(), org, after, "", limit)
		if err != nil {
			t.Fatal(err)
		}
		if len(rows) >= want || time.Now().After(deadline) {
			break
		}
	}
	var ids []string
	next := after
	for _, r := range rows {
		ids = append(ids, r.ID)
		next = r.Pos
	}
	return ids, next
}

// A transaction holding an earlier id that commits later must not be
// skipped by a poller already past the later id: the feed is in commit
// order.
func TestEventFeedIsInCommitOrder(t *testing.T) {
	t.Parallel()
	storetest.Each(t, func(t *testing.T, d store.Driver) {
		db := storetest.Open(t, d)
		ctx := context.Background()
		commit := func(ids ...string) {
			t.Helper()
			if err := db.Tx(ctx, func(tx *store.Tx) error {
				for _, id := range ids {
					insertEvent(t, tx, "org_a", id)
				}
				return nil
			}); err != nil {
				t.Fatal(err)
			}
		}
		commit("evt_02")
		got, cur := feedIDs(t, db, "org_a", "", 10, 1)
		if len(got) != 1 || got[0] != "evt_02" {
			t.Fatalf("first poll %v", got)
		}
		commit("evt_01", "evt_03") // evt_01 took its id before evt_02 but commits after it
		if got, _ = feedIDs(t, db, "org_a", cur, 10, 2); len(got) != 2 || got[0] != "evt_01" || got[1] != "evt_03" {
			t.Fatalf("second poll %v, want the late evt_01 and then evt_03", got)
		}
		// Paging, an event id as the cursor, another organization, bad cursors.
		if got, cur = feedIDs(t, db, "org_a", "", 2, 2); len(got) != 2 || got[1] != "evt_01" {
			t.Fatalf("page 1 %v", got)
		}
		if got, _ = feedIDs(t, db, "org_a", cur, 2, 1); len(got) != 1 || got[0] != "evt_03" {
			t.Fatalf("page 2 %v", got)
		}
		if got, _ = feedIDs(t, db, "org_a", "evt_01", 10, 1); len(got) != 1 || got[0] != "evt_03" {
			t.Fatalf("after event id evt_01: %v", got)
		}
		if got, _ = feedIDs(t, db, "org_b", "", 10, 0); len(got) != 0 {
			t.Fatalf("another organization sees %v", got)
		}
		for _, bad := range []string{"evt_99", "nonsense", "-4", "1.2.3"} {
			if _, err := store.EventsAfter(ctx, db.Reader(), "org_a", bad, "", 10); !errors.Is(err, store.ErrBadCursor) {
				t.Errorf("cursor %q: %v, want ErrBadCursor", bad, err)
			}
		}
	})
}

// On PostgreSQL transactions commit concurrently: an event of a
// transaction still in progress holds back every later one, so a poller
// never moves past it.
func TestEventFeedWaitsForTransactionsInProgress(t *testing.T) {
	t.Parallel()
	if os.Getenv(storetest.PostgresEnv) == "" {
		t.Skip("PostgreSQL only (SQLite has one writer)")
	}
	db := storetest.Open(t, store.Postgres)
	ctx := context.Background()
	inserted, release, done := make(chan struct{}), make(chan struct{}), make(chan error, 1)
	go func() {
		done <- db.Tx(ctx, func(tx *store.Tx) error {
			insertEvent(t, tx, "org_a", "evt_01")
			close(inserted)
			<-release
			return nil
		})
	}()
	<-inserted
	if err := db.Tx(ctx, func(tx *store.Tx) error { insertEvent(t, tx, "org_a", "evt_02"); return nil }); err != nil {
		t.Fatal(err)
	}
	time.Sleep(100 * time.Millisecond) // time for a wrong feed to show evt_02
	if got, _ := feedIDs(t, db, "org_a", "", 10, 0); len(got) != 0 {
		t.Fatalf("while evt_01's transaction is open the feed shows %v", got)
	}
	close(release)
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	if got, _ := feedIDs(t, db, "org_a", "", 10, 2); len(got) != 2 {
		t.Fatalf("after both committed: %v", got)
	}
}

// Many events in one call (an engine batch of a thousand contacts records
// several each) are written, beyond what one statement's parameters hold.
func TestInsertManyEvents(t *testing.T) {
	t.Parallel()
	storetest.Each(t, func(t *testing.T, d store.Driver) {
		db := storetest.Open(t, d)
		ctx := context.Background()
		at := time.UnixMicro(1_700_000_000_000_000).UTC()
		rows := make([]store.EventRow, 5000) // 35,000 parameters
		for i := range rows {
			rows[i] = store.EventRow{ID: fmt.Sprintf("evt_%06d", i), OrgID: "org_a", Type: "message.queued", At: at, Data: `{}`}
		}
		if err := db.Tx(ctx, func(tx *store.Tx) error { return store.InsertEvents(ctx, tx, rows) }); err != nil {
			t.Fatal(err)
		}
		var n int
		if err := store.Scan(db.Reader().QueryRow(ctx, `SELECT COUNT(*) FROM events WHERE org_id = 'org_a'`), &n); err != nil {
			t.Fatal(err)
		}
		if n != len(rows) {
			t.Fatalf("%d events stored, want %d", n, len(rows))
		}
	})
}
