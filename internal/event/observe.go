package event

import (
	"context"

	"github.com/carepost/carepost/internal/store"
)

// Observer hears every recorded event inside the transaction that records
// it, so what it does commits with the event or not at all (package
// workflow wakes contacts waiting for an open or a click of its mail). It
// must not open transactions of its own and should return quickly: it
// runs in hot transactions (tracking's engagement writes).
type Observer func(ctx context.Context, tx *store.Tx, ev Event) error

// Observe adds an observer. Call it during wiring, before events flow.
func (r *Recorder) Observe(o Observer) { r.observers = append(r.observers, o) }

func (r *Recorder) notify(ctx context.Context, tx *store.Tx, evs []Event) error {
	for _, o := range r.observers {
		for _, ev := range evs {
			if err := o(ctx, tx, ev); err != nil {
				return err
			}
		}
	}
	return nil
}
