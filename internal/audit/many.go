package audit

import (
	"context"

	"github.com/carepost/carepost/internal/store"
)

// AppendMany appends entries in tx, in order, as Append does one by one.
// They are written with the transaction's other entries before it commits
// (Flush): each chain's head moves once and its entries are inserted
// together, whichever call appended them.
func (l *Log) AppendMany(ctx context.Context, tx *store.Tx, entries []Entry) error {
	for _, e := range entries {
		if err := l.Append(ctx, tx, e); err != nil {
			return err
		}
	}
	return nil
}
