package contact

import (
	"context"
	"errors"
	"fmt"
	"sync"

	"github.com/carepost/carepost/internal/store"
)

// ScanOptions narrow a scan.
type ScanOptions struct {
	// ListID keeps the list's subscribed members only.
	ListID string
	// SkipPHI leaves the sealed PHI map closed: contacts come with their
	// clear columns and the values of fields not marked PHI only (no
	// e-mail address, phone or names). A segment whose expression reads no
	// PHI field scans this way: no key is unwrapped, nothing is decrypted.
	SkipPHI bool
}

// Scan calls fn with every contact of the organization, opened (PHI
// included), in id order: the seam segments, campaigns and exports stand
// on. It reads pages of Options.ScanPage contacts, each a short query of
// its own (no read transaction stays open, so SQLite's WAL can checkpoint
// meanwhile), and opens pages on Options.ScanWorkers goroutines — one key
// unwrap and one AES-GCM open per contact — while fn runs on the caller's
// goroutine, one contact at a time. An error from fn stops the scan and is
// returned.
//
// Scan is the system reading: it is not audited contact by contact, and
// what it yields must not reach a person unmasked. A caller that shows or
// sends what it finds audits that (the export, the campaign).
func (s *Service) Scan(ctx context.Context, orgID string, fn func(Contact) error) error {
	return s.ScanWith(ctx, orgID, ScanOptions{}, fn)
}

type scanJob struct {
	rows []store.ContactRow
	done chan scanResult
}

type scanResult struct {
	contacts []Contact
	err      error
}

// ScanWith is Scan narrowed by opts.
func (s *Service) ScanWith(ctx context.Context, orgID string, opts ScanOptions, fn func(Contact) error) error {
	sch, err := s.Schema(ctx, orgID)
	if err != nil {
		return err
	}
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	work := make(chan scanJob, s.opts.ScanWorkers)
	order := make(chan scanJob, s.opts.ScanWorkers*2)
	var readErr error
	go func() {
		defer close(work)
		defer close(order)
		readErr = s.readPages(ctx, orgID, opts.ListID, work, order)
	}()
	var wg sync.WaitGroup
	for range s.opts.ScanWorkers {
		wg.Go(func() {
			for j := range work {
				var cs []Contact
				var err error
				if opts.SkipPHI {
					cs, err = clearRows(sch, j.rows)
				} else {
					cs, err = s.openRows(ctx, s.deps.DB.Reader(), sch, j.rows)
				}
				j.done <- scanResult{cs, err}
			}
		})
	}
	defer func() { cancel(); wg.Wait() }()
	for j := range order {
		res := <-j.done
		if res.err != nil {
			return res.err
		}
		for _, c := range res.contacts {
			if err := fn(c); err != nil {
				return err
			}
		}
	}
	if readErr != nil && !errors.Is(readErr, context.Canceled) {
		return readErr
	}
	return ctx.Err()
}

// readPages queries pages in id order and hands each to a worker (work)
// and, in the same order, to the consumer (order).
func (s *Service) readPages(ctx context.Context, orgID, listID string, work, order chan<- scanJob) error {
	after := ""
	for {
		rows, err := store.ScanContactsPage(ctx, s.deps.DB.Reader(), orgID, listID, after, s.opts.ScanPage)
		if err != nil {
			return err
		}
		if len(rows) == 0 {
			return nil
		}
		j := scanJob{rows: rows, done: make(chan scanResult, 1)}
		select {
		case order <- j:
		case <-ctx.Done():
			return ctx.Err()
		}
		select {
		case work <- j:
		case <-ctx.Done():
			return ctx.Err()
		}
		if len(rows) < s.opts.ScanPage {
			return nil
		}
		after = rows[len(rows)-1].ID
	}
}

// openRows opens rows in order.
func (s *Service) openRows(ctx context.Context, q store.Querier, sch *Schema, rows []store.ContactRow) ([]Contact, error) {
	out := make([]Contact, 0, len(rows))
	for _, r := range rows {
		if err := ctx.Err(); err != nil {
			return nil, err
		}
		c, _, err := s.openRow(ctx, q, sch, r)
		if err != nil {
			return nil, err
		}
		out = append(out, c)
	}
	return out, nil
}

// clearRows reads rows' clear columns and non-PHI values, leaving the
// sealed map closed.
func clearRows(sch *Schema, rows []store.ContactRow) ([]Contact, error) {
	out := make([]Contact, 0, len(rows))
	for _, r := range rows {
		c := fromRow(r)
		if err := decodeAttrs(r.Attrs, sch, &c); err != nil {
			return nil, fmt.Errorf("decode contact %s/%s: %w", r.OrgID, r.ID, err)
		}
		out = append(out, c)
	}
	return out, nil
}
