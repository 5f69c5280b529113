package audit

import (
	"context"
	"crypto/ed25519"
	"errors"
	"fmt"
	"time"

	"github.com/carepost/carepost/internal/store"
)

// Checkpoint is a signed statement that chain stood at seq with hash at a
// time. Its JSON form (MarshalJSON) is what should be shipped off the box.
type Checkpoint struct {
	Chain     string
	Seq       int64
	Hash      []byte
	At        time.Time
	KeyID     string
	Signature []byte
}

var (
	// ErrNoSigner means Checkpoint was called on a Log without a Signer.
	ErrNoSigner = errors.New("audit: no checkpoint signer configured")
	// ErrChainBroken means a chain failed the check Checkpoint or Prune
	// runs before signing or deleting; run Verify for the details.
	ErrChainBroken = errors.New("audit chain does not verify")
)

// Checkpoint signs the head of every chain that moved since its last
// checkpoint and stores the checkpoints, returning the ones it wrote. It is
// idempotent: with no new entries it writes nothing, and two nodes running it
// at once write each checkpoint once. Before signing a chain it checks the
// entries since the previous checkpoint; a chain that fails is not signed
// and is reported in the error (wrapping ErrChainBroken) while the other
// chains are still signed.
func (l *Log) Checkpoint(ctx context.Context) ([]Checkpoint, error) {
	if l.signer == nil {
		return nil, ErrNoSigner
	}
	keys, err := l.keySet(ctx)
	if err != nil {
		return nil, err
	}
	var (
		written []Checkpoint
		broken  []error
		after   string
	)
	for {
		ahead, err := store.AuditHeadsAhead(ctx, l.db.Reader(), after, l.pageSize)
		if err != nil {
			return written, fmt.Errorf("audit checkpoint: %w", err)
		}
		if len(ahead) == 0 {
			break
		}
		var batch []Checkpoint
		for _, a := range ahead {
			after = a.Head.Chain
			if err := l.checkSinceCheckpoint(ctx, a, keys); err != nil {
				broken = append(broken, err)
				continue
			}
			cp := Checkpoint{Chain: a.Head.Chain, Seq: a.Head.Seq, Hash: a.Head.Hash, At: l.now(), KeyID: l.signer.KeyID()}
			cp.Signature = l.signer.Sign(cp.message())
			batch = append(batch, cp)
		}
		w, err := l.storeCheckpoints(ctx, batch)
		written = append(written, w...)
		if err != nil {
			return written, err
		}
	}
	return written, errors.Join(broken...)
}

// checkSinceCheckpoint verifies the entries between a chain's latest
// checkpoint (or its start) and its head, so a checkpoint never vouches for
// a chain that was already broken.
func (l *Log) checkSinceCheckpoint(ctx context.Context, a store.AuditHeadAhead, keys keySet) error {
	fromSeq, fromHash := int64(0), genesisHash()
	if a.Checkpoint != nil {
		cp := fromStoreCheckpoint(*a.Checkpoint)
		if _, detail, ok := keys.check(cp); !ok {
			return fmt.Errorf("checkpoint %s: latest checkpoint at seq %d: %s: %w", cp.Chain, cp.Seq, detail, ErrChainBroken)
		}
		fromSeq, fromHash = cp.Seq, cp.Hash
	}
	if err := l.checkLink(ctx, a.Head.Chain, fromSeq, fromHash, a.Head.Seq, a.Head.Hash); err != nil {
		return fmt.Errorf("checkpoint %s: %w", a.Head.Chain, err)
	}
	return nil
}

// checkLink walks chain's entries (fromSeq, toSeq] and checks that they
// link from fromHash to toHash with no gap and no edited entry.
func (l *Log) checkLink(ctx context.Context, chain string, fromSeq int64, fromHash []byte, toSeq int64, toHash []byte) error {
	rep := ChainReport{Chain: chain}
	c := newChainCheck(&rep, keySet{})
	c.from(fromSeq, fromHash)
	for after := fromSeq; after < toSeq; {
		recs, err := store.AuditRecords(ctx, l.db.Reader(), chain, after, toSeq, l.pageSize)
		if err != nil {
			return err
		}
		if len(recs) == 0 {
			break
		}
		for _, r := range recs {
			e, err := fromRecord(r)
			c.entry(e, err)
		}
		after = recs[len(recs)-1].Seq
	}
	if len(rep.Problems) > 0 {
		return fmt.Errorf("%s: %w", rep.Problems[0], ErrChainBroken)
	}
	if c.lastSeq != toSeq || string(c.lastHash) != string(toHash) {
		return fmt.Errorf("entries %d..%d do not end at seq %d with hash %s: %w", fromSeq+1, c.lastSeq, toSeq, short(toHash), ErrChainBroken)
	}
	return nil
}

func (l *Log) storeCheckpoints(ctx context.Context, batch []Checkpoint) ([]Checkpoint, error) {
	if len(batch) == 0 {
		return nil, nil
	}
	var written []Checkpoint
	err := l.db.Tx(ctx, func(tx *store.Tx) error {
		written = written[:0]
		key := store.AuditSigningKey{KeyID: l.signer.KeyID(), PublicKey: l.signer.Public(), CreatedAt: l.now()}
		if err := store.RegisterAuditSigningKey(ctx, tx, key); err != nil {
			return err
		}
		for _, cp := range batch {
			ok, err := store.InsertAuditCheckpoint(ctx, tx, toStoreCheckpoint(cp))
			if err != nil {
				return err
			}
			if ok {
				written = append(written, cp)
			}
		}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("audit checkpoint: %w", err)
	}
	return written, nil
}

// keySet returns the keys checkpoints are checked against: the trusted ones
// when configured, else those recorded in the database whose id matches
// their fingerprint.
func (l *Log) keySet(ctx context.Context) (keySet, error) {
	if len(l.trusted) > 0 {
		return keySet{keys: l.trusted}, nil
	}
	recorded, err := store.AuditSigningKeys(ctx, l.db.Reader())
	if err != nil {
		return keySet{}, fmt.Errorf("audit keys: %w", err)
	}
	ks := keySet{keys: map[string]ed25519.PublicKey{}, fromDB: true}
	for _, k := range recorded {
		if len(k.PublicKey) == ed25519.PublicKeySize && KeyID(k.PublicKey) == k.KeyID {
			ks.keys[k.KeyID] = ed25519.PublicKey(k.PublicKey)
		}
	}
	return ks, nil
}

func toStoreCheckpoint(c Checkpoint) store.AuditCheckpoint {
	return store.AuditCheckpoint{Chain: c.Chain, Seq: c.Seq, Hash: c.Hash, At: c.At, KeyID: c.KeyID, Signature: c.Signature}
}

func fromStoreCheckpoint(c store.AuditCheckpoint) Checkpoint {
	return Checkpoint{Chain: c.Chain, Seq: c.Seq, Hash: c.Hash, At: c.At, KeyID: c.KeyID, Signature: c.Signature}
}
