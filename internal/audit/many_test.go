package audit_test

import (
	"bytes"
	"testing"

	"github.com/carepost/carepost/internal/audit"
	"github.com/carepost/carepost/internal/store"
	"github.com/carepost/carepost/internal/store/storetest"
)

// TestAppendManyChainsLikeAppend: entries appended together continue the
// chain after single ones, in order, each linked to the one before, and
// the chain verifies; a new chain starts at the genesis hash.
func TestAppendManyChainsLikeAppend(t *testing.T) {
	t.Parallel()
	storetest.Each(t, func(t *testing.T, d store.Driver) {
		e := setup(t, d)
		ctx := t.Context()
		first := e.record(t, orgA, 2)
		var many, fresh []audit.Entry
		err := e.db.Tx(ctx, func(tx *store.Tx) error {
			var err error
			if many, err = e.log.AppendMany(ctx, tx, []audit.Entry{entry(orgA, "message.submit", 3), entry(orgA, "message.submit", 4),
				entry(orgA, "message.submit", 5)}); err != nil {
				return err
			}
			fresh, err = e.log.AppendMany(ctx, tx, []audit.Entry{entry(orgB, "message.submit", 1)})
			return err
		})
		if err != nil {
			t.Fatal(err)
		}
		prev := first[1].Hash
		for i, m := range many {
			if m.Seq != int64(3+i) || !bytes.Equal(m.PrevHash, prev) || !bytes.Equal(m.Hash, specHash(m)) {
				t.Fatalf("entry %d: seq %d, prev %x (want %x)", i, m.Seq, m.PrevHash, prev)
			}
			prev = m.Hash
		}
		if fresh[0].Seq != 1 || !bytes.Equal(fresh[0].PrevHash, make([]byte, audit.HashSize)) {
			t.Fatalf("new chain: seq %d prev %x", fresh[0].Seq, fresh[0].PrevHash)
		}
		if next := e.record(t, orgA, 1)[0]; next.Seq != 6 || !bytes.Equal(next.PrevHash, many[2].Hash) {
			t.Fatalf("Append after AppendMany: seq %d", next.Seq)
		}
		if rep := e.verify(t, audit.VerifyOptions{}); !rep.OK() {
			t.Fatalf("verify: %v", rep.Problems())
		}
		err = e.db.Tx(ctx, func(tx *store.Tx) error {
			_, err := e.log.AppendMany(ctx, tx, []audit.Entry{entry(orgA, "x.y", 1), entry(orgB, "x.y", 2)})
			return err
		})
		if err == nil {
			t.Fatal("entries of two chains were appended together")
		}
	})
}
