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
	// SkipAttrs leaves the values of custom fields not marked PHI out (a
	// segment that reads none of them saves decoding them).
	SkipAttrs bool
	// After starts the scan after this contact id ("" from the first).
	After string
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
	// fast: rows came from store.ScanContactRows after the cursor after,
	// without their keys and suppressions (the worker adds them).
	fast  bool
	after string
	done  chan scanResult
}

// maxSuppressionMap bounds the suppressions a scan holds in memory to
// match addresses itself; an organization with more takes the join.
const maxSuppressionMap = 200000

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
	var supp map[string]string
	fast := opts.ListID == ""
	if fast {
		if supp, fast, err = store.SuppressionReasons(ctx, s.deps.DB.Reader(), orgID, maxSuppressionMap); err != nil {
			return err
		}
	}
	work := make(chan scanJob, s.opts.ScanWorkers)
	order := make(chan scanJob, s.opts.ScanWorkers*2)
	var readErr error
	go func() {
		defer close(work)
		defer close(order)
		readErr = s.readPages(ctx, orgID, opts, fast, work, order)
	}()
	var wg sync.WaitGroup
	for range s.opts.ScanWorkers {
		wg.Go(func() {
			for j := range work {
				cs, err := s.openPage(ctx, sch, orgID, opts, supp, j)
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
func (s *Service) readPages(ctx context.Context, orgID string, opts ScanOptions, fast bool, work, order chan<- scanJob) error {
	after := opts.After
	for {
		var rows []store.ContactRow
		var err error
		if fast {
			rows, err = store.ScanContactRows(ctx, s.deps.DB.Reader(), orgID, after, s.opts.ScanPage, !opts.SkipPHI)
		} else {
			rows, err = store.ScanContactsPage(ctx, s.deps.DB.Reader(), orgID, opts.ListID, after, s.opts.ScanPage)
		}
		if err != nil {
			return err
		}
		if len(rows) == 0 {
			return nil
		}
		j := scanJob{rows: rows, fast: fast, after: after, done: make(chan scanResult, 1)}
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

// openPage opens one page on a worker: for a fast page it first reads the
// page's keys (one query for its id range) and sets suppressions from supp.
// A contact whose key is gone by then was deleted meanwhile and is left
// out.
func (s *Service) openPage(ctx context.Context, sch *Schema, orgID string, opts ScanOptions, supp map[string]string, j scanJob) ([]Contact, error) {
	rows := j.rows
	if j.fast {
		for i := range rows {
			rows[i].Suppression = supp[string(rows[i].EmailIndex)]
		}
		if !opts.SkipPHI {
			keys, err := store.ContactKeysBetween(ctx, s.deps.DB.Reader(), orgID, j.after, rows[len(rows)-1].ID)
			if err != nil {
				return nil, err
			}
			kept := rows[:0]
			k := 0
			for _, r := range rows {
				for k < len(keys) && keys[k].ContactID < r.ID {
					k++
				}
				if k < len(keys) && keys[k].ContactID == r.ID {
					r.KeyVersion, r.WrappedKey = keys[k].Version, keys[k].WrappedKey
					kept = append(kept, r)
				}
			}
			rows = kept
		}
	}
	if opts.SkipPHI {
		return clearRowsAttrs(sch, rows, !opts.SkipAttrs)
	}
	return s.openRowsAttrs(ctx, s.deps.DB.Reader(), sch, rows, !opts.SkipAttrs)
}

// openRows opens rows in order.
func (s *Service) openRows(ctx context.Context, q store.Querier, sch *Schema, rows []store.ContactRow) ([]Contact, error) {
	return s.openRowsAttrs(ctx, q, sch, rows, true)
}

func (s *Service) openRowsAttrs(ctx context.Context, q store.Querier, sch *Schema, rows []store.ContactRow, attrs bool) ([]Contact, error) {
	out := make([]Contact, 0, len(rows))
	for _, r := range rows {
		if err := ctx.Err(); err != nil {
			return nil, err
		}
		aead, err := s.unwrapKey(ctx, q, r.OrgID, r.ID, r.WrappedKey)
		if err != nil {
			return nil, err
		}
		c, err := openWithKeyAttrs(aead, sch, r, attrs)
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
	return clearRowsAttrs(sch, rows, true)
}

func clearRowsAttrs(sch *Schema, rows []store.ContactRow, attrs bool) ([]Contact, error) {
	out := make([]Contact, 0, len(rows))
	for _, r := range rows {
		c := fromRow(r)
		if !attrs {
			out = append(out, c)
			continue
		}
		if err := decodeAttrs(r.Attrs, sch, &c); err != nil {
			return nil, fmt.Errorf("decode contact %s/%s: %w", r.OrgID, r.ID, err)
		}
		out = append(out, c)
	}
	return out, nil
}
