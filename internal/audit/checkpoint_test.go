package audit_test

import (
	"crypto/ed25519"
	"errors"
	"sync"
	"testing"

	"github.com/carepost/carepost/internal/audit"
	"github.com/carepost/carepost/internal/store"
	"github.com/carepost/carepost/internal/store/storetest"
)

func TestCheckpointWritesOnlyWhenAHeadMoved(t *testing.T) {
	t.Parallel()
	storetest.Each(t, func(t *testing.T, d store.Driver) {
		e := setup(t, d)
		e.record(t, orgA, 3)
		e.record(t, orgB, 2)
		first := e.checkpoint(t)
		if len(first) != 2 {
			t.Fatalf("first checkpoint wrote %d, want 2", len(first))
		}
		for _, cp := range first {
			if cp.KeyID != e.signer.KeyID() || !ed25519.Verify(e.signer.Public(), specCheckpointMessage(cp), cp.Signature) {
				t.Fatalf("checkpoint %s/%d does not verify against the documented message", cp.Chain, cp.Seq)
			}
		}
		if again := e.checkpoint(t); len(again) != 0 {
			t.Fatalf("second checkpoint without new entries wrote %d", len(again))
		}
		if n := e.count(t, `SELECT count(*) FROM audit_checkpoints`); n != 2 {
			t.Fatalf("%d checkpoint rows, want 2", n)
		}
		e.record(t, orgB, 1)
		moved := e.checkpoint(t)
		if len(moved) != 1 || moved[0].Chain != orgB || moved[0].Seq != 3 {
			t.Fatalf("after one new entry: %+v, want org_b at 3", moved)
		}
		if n := e.count(t, `SELECT count(*) FROM audit_signing_keys`); n != 1 {
			t.Fatalf("%d signing keys recorded, want 1", n)
		}
	})
}

func TestCheckpointFromTwoNodesAtOnceWritesEachOnce(t *testing.T) {
	t.Parallel()
	storetest.Each(t, func(t *testing.T, d store.Driver) {
		e := setup(t, d)
		e.record(t, orgA, 2)
		e.record(t, orgB, 2)
		other := e.newLog(audit.Options{Signer: e.signer})
		var wg sync.WaitGroup
		var mu sync.Mutex
		written := 0
		for _, l := range []*audit.Log{e.log, other} {
			wg.Go(func() {
				cps, err := l.Checkpoint(t.Context())
				if err != nil {
					t.Error(err)
				}
				mu.Lock()
				written += len(cps)
				mu.Unlock()
			})
		}
		wg.Wait()
		if n := e.count(t, `SELECT count(*) FROM audit_checkpoints`); n != 2 || written != 2 {
			t.Fatalf("%d rows, %d reported written; want 2 and 2", n, written)
		}
	})
}

func TestCheckpointRefusesToSignABrokenChain(t *testing.T) {
	t.Parallel()
	storetest.Each(t, func(t *testing.T, d store.Driver) {
		e := setup(t, d)
		e.record(t, orgA, 3)
		e.record(t, orgB, 3)
		e.attack(t, `UPDATE audit_entries SET action = 'auth.logout' WHERE chain = 'org_a' AND seq = 2`)
		cps, err := e.log.Checkpoint(t.Context())
		if !errors.Is(err, audit.ErrChainBroken) {
			t.Fatalf("checkpoint over an edited chain: %v, want ErrChainBroken", err)
		}
		if len(cps) != 1 || cps[0].Chain != orgB {
			t.Fatalf("wrote %+v, want only org_b", cps)
		}
	})
}

func TestCheckpointWithoutSigner(t *testing.T) {
	t.Parallel()
	e := setup(t, storetest.Default())
	if _, err := e.newLog(audit.Options{}).Checkpoint(t.Context()); !errors.Is(err, audit.ErrNoSigner) {
		t.Fatalf("got %v, want ErrNoSigner", err)
	}
	if _, err := audit.NewEd25519Signer(make([]byte, 10)); err == nil {
		t.Fatal("a 10-byte private key was accepted")
	}
}
