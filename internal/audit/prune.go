package audit

import (
	"context"
	"errors"
	"fmt"
	"math"
	"strconv"
	"time"

	"github.com/carepost/carepost/internal/store"
)

// MinRetention is the shortest retention Prune accepts: the six years of
// HIPAA 164.316(b)(2), counted as 6 × 365.25 days, the same 189345600
// seconds the retention triggers of migration 0001 use.
const MinRetention = 189345600 * time.Second

// ErrRetention means Prune was asked to delete entries the retention keeps.
var ErrRetention = errors.New("audit retention refuses the prune")

// Prune deletes entries older than before from every chain, keeping
// verification intact: it deletes only up to a checkpoint that verifies, is
// older than before, and covers no entry as young as before; it first checks
// that the entries it deletes link up to that checkpoint; and it keeps the
// checkpoint as the chain's new anchor (see the package documentation). It
// refuses a retention under MinRetention and a before later than now minus
// retention (HIPAA 164.316(b)(2)). Each batch is one transaction that also
// appends an "audit.prune" entry to SystemChain. It returns how many entries
// it deleted.
func (l *Log) Prune(ctx context.Context, before time.Time, retention time.Duration) (int64, error) {
	if retention < MinRetention {
		return 0, fmt.Errorf("%w: retention %v is under the six years of HIPAA 164.316(b)(2)", ErrRetention, retention)
	}
	if limit := l.now().Add(-retention); before.After(limit) {
		return 0, fmt.Errorf("%w: %s is within the retention (entries after %s are kept)",
			ErrRetention, before.UTC().Format(time.RFC3339), limit.Format(time.RFC3339))
	}
	keys, err := l.keySet(ctx)
	if err != nil {
		return 0, err
	}
	chains, err := store.AuditChains(ctx, l.db.Reader())
	if err != nil {
		return 0, fmt.Errorf("audit prune: %w", err)
	}
	var total int64
	for _, ch := range chains {
		n, err := l.pruneChain(ctx, ch, before, keys)
		total += n
		if err != nil {
			return total, fmt.Errorf("audit prune %s: %w", ch, err)
		}
	}
	return total, nil
}

// pruneChain walks chain's checkpoints in order while they are old enough,
// checking the entries up to each, and deletes through the last one checked
// every l.pruneBatch entries.
func (l *Log) pruneChain(ctx context.Context, chain string, before time.Time, keys keySet) (int64, error) {
	q := l.db.Reader()
	var (
		total    int64
		pruned   int64 // entries through this seq are gone
		linkSeq  = int64(0)
		linkHash = genesisHash()
		target   *Checkpoint
	)
	flush := func() error {
		if target == nil {
			return nil
		}
		n, err := l.pruneThrough(ctx, *target)
		total += n
		pruned, target = target.Seq, nil
		return err
	}
	for after := int64(0); ; {
		page, err := store.AuditCheckpoints(ctx, q, chain, after, math.MaxInt64, l.pageSize)
		if err != nil || len(page) == 0 {
			return total, errors.Join(err, flush())
		}
		for _, sc := range page {
			cp := fromStoreCheckpoint(sc)
			after = cp.Seq
			if !cp.At.Before(before) {
				return total, flush()
			}
			if _, detail, ok := keys.check(cp); !ok {
				return total, errors.Join(flush(), fmt.Errorf("checkpoint at seq %d: %s: %w", cp.Seq, detail, ErrChainBroken))
			}
			newest, err := store.AuditMaxAt(ctx, q, chain, cp.Seq)
			if err != nil || !newest.Before(before) {
				// An entry it covers is not old enough (clocks of two
				// nodes disagreed): stop here.
				return total, errors.Join(err, flush())
			}
			if newest.IsZero() {
				// No entry at or below it: the anchor of an earlier prune.
				pruned, linkSeq, linkHash = cp.Seq, cp.Seq, cp.Hash
				continue
			}
			if err := l.checkLink(ctx, chain, linkSeq, linkHash, cp.Seq, cp.Hash); err != nil {
				return total, errors.Join(flush(), err)
			}
			linkSeq, linkHash, target = cp.Seq, cp.Hash, &cp
			if cp.Seq-pruned >= l.pruneBatch {
				if err := flush(); err != nil {
					return total, err
				}
			}
		}
	}
}

// pruneThrough deletes cp's chain up to cp in one transaction and records
// the deletion in SystemChain.
func (l *Log) pruneThrough(ctx context.Context, cp Checkpoint) (int64, error) {
	var n int64
	err := l.db.Tx(ctx, func(tx *store.Tx) error {
		var err error
		if n, err = store.PruneAuditChain(ctx, tx, cp.Chain, cp.Seq); err != nil {
			return err
		}
		err = l.Append(ctx, tx, Entry{
			Chain:      SystemChain,
			Actor:      Actor{Type: ActorSystem, ID: "audit.prune"},
			Action:     "audit.prune",
			TargetType: "audit_chain",
			TargetID:   cp.Chain,
			Outcome:    Success,
			Details:    map[string]string{"through_seq": strconv.FormatInt(cp.Seq, 10), "entries": strconv.FormatInt(n, 10)},
		})
		return err
	})
	if err != nil {
		return 0, fmt.Errorf("prune through seq %d: %w", cp.Seq, err)
	}
	return n, nil
}
