package contact

import (
	"context"
	"errors"
	"sync"

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
	return s.LoadParts(ctx, orgID, ids, 1)
}

// minLoadPart is the fewest contacts worth a part of their own in
// LoadParts.
const minLoadPart = 100

// LoadParts is Load reading and opening the contacts in up to parts reads
// side by side, for a caller whose other goroutines are idle meanwhile
// (the workflow engine's parallel batch). Each read sees a committed state
// no older than the call, as a single read would.
func (s *Service) LoadParts(ctx context.Context, orgID string, ids []string, parts int) (map[string]Contact, error) {
	if len(ids) == 0 {
		return map[string]Contact{}, nil
	}
	sch, err := s.Schema(ctx, orgID)
	if err != nil {
		return nil, err
	}
	parts = max(1, min(parts, len(ids)/minLoadPart))
	size := (len(ids) + parts - 1) / parts
	opened := make([][]Contact, parts)
	errs := make([]error, parts)
	var wg sync.WaitGroup
	for i := range parts {
		part := ids[i*size : min((i+1)*size, len(ids))]
		wg.Go(func() { opened[i], errs[i] = s.load(ctx, sch, orgID, part) })
	}
	wg.Wait()
	if err := errors.Join(errs...); err != nil {
		return nil, err
	}
	out := make(map[string]Contact, len(ids))
	for _, cs := range opened {
		for _, c := range cs {
			out[c.ID] = c
		}
	}
	return out, nil
}

// load reads and opens one part of LoadParts.
func (s *Service) load(ctx context.Context, sch *Schema, orgID string, ids []string) ([]Contact, error) {
	q := s.deps.DB.Reader()
	rows, err := store.ContactsByID(ctx, q, orgID, ids)
	if err != nil {
		return nil, err
	}
	return s.openRows(ctx, q, sch, rows)
}
