package store

import (
	"context"
	"fmt"
)

// AdvanceAuditHeadBy reserves the next n sequence numbers of chain inside
// tx (n ≥ 1), creating its head at the genesis hash, and returns the first
// of them with the hash the first new entry follows. The upsert takes the
// head row's lock on both drivers (PostgreSQL holds the row lock until tx
// ends; SQLite has one writer), so concurrent appends to one chain, from
// any number of nodes, queue here and the chain stays gap-free. The caller
// must then InsertAuditRecords in the same tx.
func AdvanceAuditHeadBy(ctx context.Context, tx *Tx, chain string, n int, genesis []byte) (first int64, prevHash []byte, err error) {
	var last int64
	err = Scan(tx.QueryRow(ctx, `INSERT INTO audit_heads (chain, seq, hash) VALUES (?, ?, ?)
		ON CONFLICT (chain) DO UPDATE SET seq = audit_heads.seq + ?
		RETURNING seq, hash`, chain, n, genesis, n), &last, &prevHash)
	if err != nil {
		return 0, nil, fmt.Errorf("advance audit head %s: %w", chain, err)
	}
	return last - int64(n) + 1, prevHash, nil
}

// InsertAuditRecords writes consecutive records of one chain, whose head
// already stands at the last one's Seq (see AdvanceAuditHeadBy), and moves
// the head's hash to the last one's.
func InsertAuditRecords(ctx context.Context, tx *Tx, recs []AuditRecord) error {
	if len(recs) == 0 {
		return nil
	}
	for start, end := range runs(len(recs), 64) { // 14 parameters a row: well inside both drivers' limits
		part := recs[start:end]
		args := make([]any, 0, len(part)*14)
		for _, r := range part {
			args = append(args, r.Chain, r.Seq, Micros(r.At), r.ActorType, r.ActorID, r.Action, r.TargetType, r.TargetID,
				r.Outcome, r.ClientIP, r.UserAgent, r.Details, r.PrevHash, r.Hash)
		}
		query := `INSERT INTO audit_entries
		(chain, seq, at, actor_type, actor_id, action, target_type, target_id, outcome, client_ip, user_agent, details, prev_hash, hash)
		VALUES ` + rowPlaceholders(len(part), 14)
		if _, err := tx.Exec(ctx, query, args...); err != nil {
			return fmt.Errorf("insert audit entries %s/%d: %w", part[0].Chain, part[0].Seq, err)
		}
	}
	last := recs[len(recs)-1]
	res, err := tx.Exec(ctx, `UPDATE audit_heads SET hash = ? WHERE chain = ? AND seq = ?`, last.Hash, last.Chain, last.Seq)
	if err != nil {
		return fmt.Errorf("move audit head %s: %w", last.Chain, err)
	}
	if n, err := res.RowsAffected(); err != nil || n != 1 {
		return fmt.Errorf("move audit head %s: head is not at seq %d (rows %d, %v)", last.Chain, last.Seq, n, err)
	}
	return nil
}
