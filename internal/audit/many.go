package audit

import (
	"context"
	"errors"
	"fmt"

	"github.com/carepost/carepost/internal/store"
)

// AppendMany writes entries of one chain inside tx, in order, as Append
// would one by one — each hash-chained to the one before — but moves the
// chain's head once and inserts the entries together: three statements
// instead of three per entry, for writers that record many actions in one
// transaction (a campaign batch's messages). The entries are returned with
// Seq, At, PrevHash and Hash set.
func (l *Log) AppendMany(ctx context.Context, tx *store.Tx, entries []Entry) ([]Entry, error) {
	if tx == nil {
		return nil, errors.New("audit append: nil transaction")
	}
	if len(entries) == 0 {
		return nil, nil
	}
	out := make([]Entry, len(entries))
	chain := entries[0].Chain
	for i, e := range entries {
		e = e.clone()
		fillFromRequest(ctx, &e)
		if err := normalize(&e); err != nil {
			return nil, fmt.Errorf("audit append: %w", err)
		}
		if e.Chain != chain {
			return nil, errors.New("audit append: entries of more than one chain")
		}
		out[i] = e
	}
	seq, prev, err := store.AdvanceAuditHeadBy(ctx, tx, chain, len(out), genesisHash())
	if err != nil {
		return nil, fmt.Errorf("audit append %s: %w", out[0].Action, err)
	}
	at := l.now()
	recs := make([]store.AuditRecord, len(out))
	for i := range out {
		out[i].Seq, out[i].PrevHash, out[i].At = seq+int64(i), prev, at
		out[i].Hash = out[i].ComputeHash()
		prev = out[i].Hash
		if recs[i], err = toRecord(out[i]); err != nil {
			return nil, fmt.Errorf("audit append %s: %w", out[i].Action, err)
		}
	}
	if err := store.InsertAuditRecords(ctx, tx, recs); err != nil {
		return nil, fmt.Errorf("audit append %s: %w", out[0].Action, err)
	}
	return out, nil
}
