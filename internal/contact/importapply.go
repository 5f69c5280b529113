package contact

import (
	"context"
	"errors"
	"fmt"
	"io"
	"strconv"
	"strings"

	"github.com/carepost/carepost/internal/store"
)

// importBatch is a run of rows ready to commit: the contacts to upsert,
// the rows consumed (skipped invalid ones included) and the file offset
// after the last of them.
type importBatch struct {
	items   []item
	drafts  *drafts // the items' contacts drafted as new ones
	rows    int64
	skipped int64
	end     int64
	err     error
}

// apply commits the file from the cursor in batches. Each batch is one
// transaction that also moves the cursor, so a crash resumes at the first
// row not yet applied: no row is applied twice, none is lost. Reading and
// preparing the next batch (parsing, normalizing, blind-indexing) overlaps
// the commit of the current one, and so does drafting the batch's new
// contacts (drafts).
func (r *importRun) apply(ctx context.Context) error {
	src, err := r.s.openSource(ctx, r.row, r.row.CursorOffset)
	if err != nil {
		return err
	}
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	batches := make(chan importBatch, 2)
	// prepare reads a copy of the import's row: commit replaces r.row
	// after each batch while prepare runs ahead.
	go r.prepare(ctx, src, r.row.CursorOffset, r.row, batches)
	for b := range batches {
		if b.err != nil {
			return b.err
		}
		if err := r.commit(ctx, b); err != nil {
			return err
		}
		if hook := r.s.opts.AfterImportBatch; hook != nil {
			if err := hook(r.row.ID, r.row.RowsApplied); err != nil {
				return fmt.Errorf("%w: %w", errCrash, err)
			}
		}
	}
	return r.complete(ctx)
}

// prepare reads rows from src (which starts at file offset base) and sends
// batches until the file ends; row is the import as it was when applying
// began.
func (r *importRun) prepare(ctx context.Context, src io.Reader, base int64, row store.ContactImportRow, out chan<- importBatch) {
	defer close(out)
	cr := newCSV(src)
	send := func(b importBatch) bool {
		select {
		case out <- b:
			return true
		case <-ctx.Done():
			return false
		}
	}
	reader := r.s.deps.DB.Reader()
	b := importBatch{}
	for {
		rec, err := cr.Read()
		if errors.Is(err, io.EOF) {
			break
		}
		b.rows++
		if err != nil || len(rec) != len(r.set.Header) {
			b.skipped++ // reported by validation, which let the import go on
		} else if p, grant, errs := mapRow(r.set.Header, r.set.Targets, rec); len(errs) > 0 {
			b.skipped++
		} else {
			ix, err := r.s.deps.Index.Lookup(ctx, reader, row.OrgID, "email", strings.ToLower(*p.email))
			if err != nil {
				send(importBatch{err: fmt.Errorf("blind index: %w", err)})
				return
			}
			it := item{index: ix, p: p}
			if grant && r.set.Consent != nil {
				g := *r.set.Consent
				if g.GrantedAt.IsZero() {
					g.GrantedAt = row.StartedAt
				}
				it.consent = &g
			}
			b.items = append(b.items, it)
		}
		if len(b.items) >= r.s.opts.ImportBatch {
			b.end = base + cr.InputOffset()
			if b.drafts, err = r.draft(ctx, reader, row.OrgID, b.items); err != nil {
				send(importBatch{err: err})
				return
			}
			if !send(b) {
				return
			}
			b = importBatch{}
		}
	}
	if b.rows > 0 {
		b.end = base + cr.InputOffset()
		var err error
		if b.drafts, err = r.draft(ctx, reader, row.OrgID, b.items); err != nil {
			b = importBatch{err: err}
		}
		send(b)
	}
}

// draft drafts a batch's contacts as new ones under the organization's
// fields as they are now; the commit checks they still are.
func (r *importRun) draft(ctx context.Context, q store.Querier, orgID string, items []item) (*drafts, error) {
	sch, err := loadSchema(ctx, q, orgID)
	if err != nil {
		return nil, err
	}
	return makeDrafts(sch, orgID, items, r.s.now())
}

// commit applies one batch and moves the cursor past it, in one
// transaction fenced by the lease.
func (r *importRun) commit(ctx context.Context, b importBatch) error {
	next := r.row
	return r.s.write(ctx, func(tx *store.Tx) error {
		sch, err := loadSchema(ctx, tx, r.row.OrgID)
		if err != nil {
			return err
		}
		out, err := r.s.upsert(ctx, tx, r.row.OrgID, sch, b.items, r.s.now(), b.drafts)
		if err != nil {
			return err
		}
		ids := outcomeIDs(out)
		if r.set.ListID != "" && len(ids) > 0 {
			if err := store.SetListMembers(ctx, tx, r.row.OrgID, r.set.ListID, ids, string(MemberSubscribed), r.s.now()); err != nil {
				return err
			}
			if err := r.s.notifyJoined(ctx, tx, r.row.OrgID, r.set.ListID, ids); err != nil {
				return err
			}
		}
		created := int64(0)
		seen := map[string]bool{}
		for _, o := range out {
			if o.Created && !seen[o.ID] {
				created++
			}
			seen[o.ID] = true
		}
		next.RowsApplied += b.rows
		next.Created += created
		next.Updated += int64(len(out)) - created
		next.Skipped += b.skipped
		next.CursorOffset = b.end
		next.CursorRow += b.rows
		saved := *r
		saved.row = next
		if err := saved.saveTx(ctx, tx); err != nil {
			return err
		}
		tx.AfterCommit(func() { r.row = saved.row })
		return nil
	})
}

// complete ends an applied import: the staged file is dropped, the report
// kept.
func (r *importRun) complete(ctx context.Context) error {
	r.row.State, r.row.FinishedAt = string(ImportCompleted), r.s.now()
	return r.save(ctx, func(tx *store.Tx) error {
		if err := store.DeleteImportData(ctx, tx, r.row.OrgID, r.row.ID, false); err != nil {
			return err
		}
		return r.s.appendAudit(ctx, tx, r.actor, "contact.import.complete", "contact_import", r.row.ID, map[string]string{
			"rows": strconv.FormatInt(r.row.RowsApplied, 10), "created": strconv.FormatInt(r.row.Created, 10),
			"updated": strconv.FormatInt(r.row.Updated, 10), "skipped": strconv.FormatInt(r.row.Skipped, 10)}, nil)
	})
}
