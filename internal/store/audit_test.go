package store_test

import (
	"bytes"
	"context"
	"errors"
	"math"
	"testing"
	"time"

	"github.com/carepost/carepost/internal/store"
	"github.com/carepost/carepost/internal/store/storetest"
)

var auditT0 = time.Date(2010, 1, 1, 0, 0, 0, 0, time.UTC) // old enough for the retention trigger

// appendRaw reserves the next seq of chain and stores a record with a
// stand-in hash (the store does not compute hashes; package audit does).
func appendRaw(t *testing.T, db *store.DB, chain string, at time.Time) store.AuditRecord {
	t.Helper()
	ctx := context.Background()
	var rec store.AuditRecord
	if err := db.Tx(ctx, func(tx *store.Tx) error {
		seq, prev, err := store.AdvanceAuditHeadBy(ctx, tx, chain, 1, make([]byte, 32))
		if err != nil {
			return err
		}
		rec = store.AuditRecord{Chain: chain, Seq: seq, At: at, ActorType: "system", Action: "test.append",
			Outcome: "success", Details: "{}", PrevHash: prev, Hash: bytes.Repeat([]byte{byte(seq)}, 32)}
		return store.InsertAuditRecords(ctx, tx, []store.AuditRecord{rec})
	}); err != nil {
		t.Fatalf("append to %s: %v", chain, err)
	}
	return rec
}

func TestAuditHeadSerializesAppendsAndRollsBack(t *testing.T) {
	t.Parallel()
	storetest.Each(t, func(t *testing.T, d store.Driver) {
		ctx := context.Background()
		db := storetest.Open(t, d)
		first := appendRaw(t, db, "org_a", auditT0)
		if first.Seq != 1 || !bytes.Equal(first.PrevHash, make([]byte, 32)) {
			t.Fatalf("first: seq %d prev %x", first.Seq, first.PrevHash)
		}
		second := appendRaw(t, db, "org_a", auditT0.Add(time.Second))
		if second.Seq != 2 || !bytes.Equal(second.PrevHash, first.Hash) {
			t.Fatalf("second: seq %d prev %x, want 2 and the first hash", second.Seq, second.PrevHash)
		}
		boom := errors.New("boom")
		err := db.Tx(ctx, func(tx *store.Tx) error {
			if _, _, err := store.AdvanceAuditHeadBy(ctx, tx, "org_a", 1, make([]byte, 32)); err != nil {
				return err
			}
			return boom
		})
		if !errors.Is(err, boom) {
			t.Fatal(err)
		}
		head, err := store.AuditHeadOf(ctx, db.Reader(), "org_a")
		if err != nil || head.Seq != 2 || !bytes.Equal(head.Hash, second.Hash) {
			t.Fatalf("head after rollback: %+v %v", head, err)
		}
		// Inserting at a seq the head was not advanced to is refused.
		err = db.Tx(ctx, func(tx *store.Tx) error {
			r := second
			r.Seq = 5
			return store.InsertAuditRecords(ctx, tx, []store.AuditRecord{r})
		})
		if err == nil {
			t.Fatal("record inserted at a seq the head does not stand at")
		}
		if _, err := store.AuditHeadOf(ctx, db.Reader(), "nope"); !errors.Is(err, store.ErrNotFound) {
			t.Fatalf("missing head: %v", err)
		}
	})
}

func TestAuditReadsPageAndFilter(t *testing.T) {
	t.Parallel()
	storetest.Each(t, func(t *testing.T, d store.Driver) {
		ctx := context.Background()
		db := storetest.Open(t, d)
		q := db.Reader()
		for i := range 5 {
			appendRaw(t, db, "org_b", auditT0.Add(time.Duration(i)*time.Minute))
		}
		appendRaw(t, db, "org_a", auditT0)
		page, err := store.AuditRecords(ctx, q, "org_b", 1, 4, 2)
		if err != nil || len(page) != 2 || page[0].Seq != 2 || page[1].Seq != 3 {
			t.Fatalf("page: %+v %v", page, err)
		}
		if !page[0].At.Equal(auditT0.Add(time.Minute)) || page[0].Action != "test.append" || page[0].Details != "{}" {
			t.Fatalf("round trip: %+v", page[0])
		}
		since := auditT0.Add(2 * time.Minute)
		later, err := store.AuditRecordsSince(ctx, q, "org_b", since, 0, 10)
		if err != nil || len(later) != 3 || later[0].Seq != 3 {
			t.Fatalf("since: %+v %v", later, err)
		}
		if first, err := store.AuditFirstSeqSince(ctx, q, "org_b", since); err != nil || first != 3 {
			t.Fatalf("first since: %d %v", first, err)
		}
		if first, err := store.AuditFirstSeqSince(ctx, q, "org_b", since.Add(time.Hour)); err != nil || first != 0 {
			t.Fatalf("first since the future: %d %v", first, err)
		}
		if m, err := store.AuditMaxSeq(ctx, q, "org_b"); err != nil || m != 5 {
			t.Fatalf("max seq: %d %v", m, err)
		}
		if at, err := store.AuditMaxAt(ctx, q, "org_b", 2); err != nil || !at.Equal(auditT0.Add(time.Minute)) {
			t.Fatalf("max at: %v %v", at, err)
		}
		chains, err := store.AuditChains(ctx, q)
		if err != nil || len(chains) != 2 || chains[0] != "org_a" || chains[1] != "org_b" {
			t.Fatalf("chains: %v %v", chains, err)
		}
	})
}

func TestAuditCheckpointsKeysAndPrune(t *testing.T) {
	t.Parallel()
	storetest.Each(t, func(t *testing.T, d store.Driver) {
		ctx := context.Background()
		db := storetest.Open(t, d)
		q := db.Reader()
		for range 4 {
			appendRaw(t, db, "org_a", auditT0)
		}
		appendRaw(t, db, "org_b", auditT0)
		insert := func(seq int64) bool {
			t.Helper()
			var wrote bool
			if err := db.Tx(ctx, func(tx *store.Tx) error {
				var err error
				wrote, err = store.InsertAuditCheckpoint(ctx, tx, store.AuditCheckpoint{Chain: "org_a", Seq: seq,
					Hash: bytes.Repeat([]byte{byte(seq)}, 32), At: auditT0, KeyID: "k1", Signature: []byte{1}})
				return err
			}); err != nil {
				t.Fatal(err)
			}
			return wrote
		}
		if !insert(2) || insert(2) {
			t.Fatal("a checkpoint must be written once")
		}
		ahead, err := store.AuditHeadsAhead(ctx, q, "", 10)
		if err != nil || len(ahead) != 2 || ahead[0].Head.Seq != 4 || ahead[0].Checkpoint == nil || ahead[0].Checkpoint.Seq != 2 || ahead[1].Checkpoint != nil {
			t.Fatalf("heads ahead: %+v %v", ahead, err)
		}
		insert(4)
		if ahead, _ := store.AuditHeadsAhead(ctx, q, "", 10); len(ahead) != 1 || ahead[0].Head.Chain != "org_b" {
			t.Fatalf("org_a is checkpointed at its head: %+v", ahead)
		}
		if cp, err := store.LatestAuditCheckpoint(ctx, q, "org_a"); err != nil || cp.Seq != 4 {
			t.Fatalf("latest: %+v %v", cp, err)
		}
		if cps, err := store.AuditCheckpoints(ctx, q, "org_a", 0, math.MaxInt64, 10); err != nil || len(cps) != 2 {
			t.Fatalf("checkpoints: %+v %v", cps, err)
		}
		key := store.AuditSigningKey{KeyID: "k1", PublicKey: []byte("public"), CreatedAt: auditT0}
		other := key
		other.PublicKey = []byte("another")
		for i, k := range []store.AuditSigningKey{key, key, other} {
			err := db.Tx(ctx, func(tx *store.Tx) error { return store.RegisterAuditSigningKey(ctx, tx, k) })
			if (i < 2) != (err == nil) || i == 2 && !errors.Is(err, store.ErrConflict) {
				t.Fatalf("register key #%d: %v", i, err)
			}
		}
		if keys, err := store.AuditSigningKeys(ctx, q); err != nil || len(keys) != 1 || string(keys[0].PublicKey) != "public" {
			t.Fatalf("keys: %+v %v", keys, err)
		}
		insert(1)
		var n int64
		if err := db.Tx(ctx, func(tx *store.Tx) error {
			var err error
			n, err = store.PruneAuditChain(ctx, tx, "org_a", 2)
			return err
		}); err != nil || n != 2 {
			t.Fatalf("prune: %d %v", n, err)
		}
		if cps, _ := store.AuditCheckpoints(ctx, q, "org_a", 0, math.MaxInt64, 10); len(cps) != 2 {
			t.Fatalf("prune must keep the checkpoint it pruned through: %+v", cps)
		}
		// A young entry is still protected by the retention trigger.
		appendRaw(t, db, "org_c", time.Now())
		if err := db.Tx(ctx, func(tx *store.Tx) error {
			_, err := store.PruneAuditChain(ctx, tx, "org_c", 1)
			return err
		}); err == nil {
			t.Fatal("pruned an entry younger than six years")
		}
	})
}
