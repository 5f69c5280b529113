package audit_test

import (
	"bytes"
	"strconv"
	"testing"

	"github.com/carepost/carepost/internal/audit"
	"github.com/carepost/carepost/internal/store"
	"github.com/carepost/carepost/internal/store/storetest"
)

// TestAppendManyChainsLikeAppend: entries appended together continue the
// chain after single ones, in order, each linked to the one before, and
// the chain verifies; a new chain starts at the genesis hash; entries of
// several chains appended together each go to their own chain.
func TestAppendManyChainsLikeAppend(t *testing.T) {
	t.Parallel()
	storetest.Each(t, func(t *testing.T, d store.Driver) {
		e := setup(t, d)
		ctx := t.Context()
		first := e.record(t, orgA, 2)
		err := e.db.Tx(ctx, func(tx *store.Tx) error {
			if err := e.log.AppendMany(ctx, tx, []audit.Entry{entry(orgA, "message.submit", 3), entry(orgA, "message.submit", 4),
				entry(orgA, "message.submit", 5)}); err != nil {
				return err
			}
			return e.log.AppendMany(ctx, tx, []audit.Entry{entry(orgB, "message.submit", 1)})
		})
		if err != nil {
			t.Fatal(err)
		}
		many := e.readChain(t, orgA)[2:]
		if len(many) != 3 {
			t.Fatalf("%d entries appended to org_a, want 3", len(many))
		}
		prev := first[1].Hash
		for i, m := range many {
			if m.Seq != int64(3+i) || m.Action != "message.submit" || m.Details["n"] != strconv.Itoa(3+i) ||
				!bytes.Equal(m.PrevHash, prev) || !bytes.Equal(m.Hash, specHash(m)) {
				t.Fatalf("entry %d: seq %d, details %v, prev %x (want %x)", i, m.Seq, m.Details, m.PrevHash, prev)
			}
			prev = m.Hash
		}
		fresh := e.readChain(t, orgB)
		if len(fresh) != 1 || fresh[0].Seq != 1 || !bytes.Equal(fresh[0].PrevHash, make([]byte, audit.HashSize)) {
			t.Fatalf("new chain: %+v", fresh)
		}
		if next := e.record(t, orgA, 1)[0]; next.Seq != 6 || !bytes.Equal(next.PrevHash, many[2].Hash) {
			t.Fatalf("Record after AppendMany: seq %d", next.Seq)
		}
		err = e.db.Tx(ctx, func(tx *store.Tx) error {
			return e.log.AppendMany(ctx, tx, []audit.Entry{entry(orgA, "x.y", 1), entry(orgB, "x.y", 2)})
		})
		if err != nil {
			t.Fatal(err)
		}
		if a, b := e.readChain(t, orgA), e.readChain(t, orgB); len(a) != 7 || a[6].Action != "x.y" || len(b) != 2 || b[1].Action != "x.y" {
			t.Fatalf("entries of two chains appended together: org_a %d, org_b %d", len(a), len(b))
		}
		if rep := e.verify(t, audit.VerifyOptions{}); !rep.OK() {
			t.Fatalf("verify: %v", rep.Problems())
		}
	})
}
