package contact

import (
	"context"

	"github.com/carepost/carepost/internal/store"
)

// Load opens the organization's contacts among ids (PHI included), keyed by
// id; ids of deleted contacts and of other organizations are absent. It is
// a system read like Scan — not audited contact by contact, for the
// campaign and workflow engines, which audit what they send, and what it
// yields must not reach a person unmasked. It reads the contacts as they
// are now, from the read pool (no contact row is locked), so a status,
// suppression or consent changed since a campaign was prepared or a
// workflow step was reached is what counts.
func (s *Service) Load(ctx context.Context, orgID string, ids []string) (map[string]Contact, error) {
	if len(ids) == 0 {
		return map[string]Contact{}, nil
	}
	sch, err := s.Schema(ctx, orgID)
	if err != nil {
		return nil, err
	}
	q := s.deps.DB.Reader()
	rows, err := store.ContactsByID(ctx, q, orgID, ids)
	if err != nil {
		return nil, err
	}
	cs, err := s.openRows(ctx, q, sch, rows)
	if err != nil {
		return nil, err
	}
	out := make(map[string]Contact, len(cs))
	for _, c := range cs {
		out[c.ID] = c
	}
	return out, nil
}
