package store

import (
	"context"
	"errors"
	"fmt"
	"time"
)

// Persistence for delivery's fallback walk: the recorded policy of claimed
// recipients, a savepoint around the portal handoff, and the reason of a
// recipient the portal did not take.

// RecipientPoliciesByID reads the policy decisions of recipients by id, two
// hundred per statement, in any organization (delivery works across them;
// each row's organization is checked against its message by the caller).
func RecipientPoliciesByID(ctx context.Context, q Querier, ids []string) (map[string]RecipientPolicy, error) {
	out := make(map[string]RecipientPolicy, len(ids))
	for start := 0; start < len(ids); start += 200 {
		part := ids[start:min(start+200, len(ids))]
		args, list := inList(nil, part)
		rows, err := q.Query(ctx, `SELECT id, policy_methods, policy_drop, policy_reasons, subject_flagged FROM recipients
			WHERE id IN `+list, args...)
		if err != nil {
			return nil, fmt.Errorf("read recipient policies: %w", err)
		}
		for rows.Next() {
			var p RecipientPolicy
			if err := rows.Scan(&p.ID, &p.Methods, &p.Drop, &p.Reasons, &p.SubjectFlagged); err != nil {
				rows.Close()
				return nil, fmt.Errorf("read recipient policies: %w", err)
			}
			out[p.ID] = p
		}
		rows.Close()
		if err := rows.Err(); err != nil {
			return nil, fmt.Errorf("read recipient policies: %w", err)
		}
	}
	return out, nil
}

// Savepoint runs fn inside a savepoint of tx named name: when fn fails, its
// writes, the AfterCommit hooks it registered and what it queued are
// undone and the rest of the transaction goes on (on PostgreSQL a failed
// statement would otherwise abort the whole transaction). It returns fn's
// error.
func (tx *Tx) Savepoint(ctx context.Context, name string, fn func() error) error {
	if _, err := tx.Exec(ctx, "SAVEPOINT "+name); err != nil {
		return fmt.Errorf("savepoint: %w", err)
	}
	m := tx.mark()
	if err := fn(); err != nil {
		tx.undo(m)
		if _, rbErr := tx.Exec(context.WithoutCancel(ctx), "ROLLBACK TO SAVEPOINT "+name); rbErr != nil {
			return errors.Join(err, fmt.Errorf("roll back to savepoint: %w", rbErr))
		}
		_, _ = tx.Exec(context.WithoutCancel(ctx), "RELEASE SAVEPOINT "+name)
		return err
	}
	if _, err := tx.Exec(ctx, "RELEASE SAVEPOINT "+name); err != nil {
		return fmt.Errorf("release savepoint: %w", err)
	}
	return nil
}

// SetHeldReason replaces the reason of a held recipient (delivery's
// fallback walk, when the portal did not take it).
func SetHeldReason(ctx context.Context, tx *Tx, orgID, id, reason string, at time.Time) error {
	if _, err := tx.Exec(ctx, `UPDATE recipients SET last_reason = ?, updated_at = ? WHERE org_id = ? AND id = ? AND state = 'held'`,
		reason, Micros(at), orgID, id); err != nil {
		return fmt.Errorf("set held reason: %w", err)
	}
	return nil
}

// SetRecipientReceipt records the security receipt of a recipient that
// has none yet (one handed to the portal at submission).
func SetRecipientReceipt(ctx context.Context, tx *Tx, orgID, id, receipt string) error {
	if _, err := tx.Exec(ctx, `UPDATE recipients SET receipt = ? WHERE org_id = ? AND id = ? AND receipt = ''`, receipt, orgID, id); err != nil {
		return fmt.Errorf("set recipient receipt: %w", err)
	}
	return nil
}
