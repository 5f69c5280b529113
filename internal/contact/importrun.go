package contact

import (
	"context"
	"encoding/csv"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"slices"
	"strconv"

	"github.com/carepost/carepost/internal/audit"
	"github.com/carepost/carepost/internal/id"
	"github.com/carepost/carepost/internal/store"
)

// importRun is one worker's turn at an import, holding its lease.
type importRun struct {
	s     *Service
	row   store.ContactImportRow
	set   importSettings
	token string
	actor Actor
}

// errCrash marks an AfterImportBatch failure: the run stops as if the
// process died, keeping its lease until it expires.
var errCrash = errors.New("import stopped by AfterImportBatch")

// RunImport works an import until it completes or fails, resuming from its
// durable cursor. It is what the import job runs; if another worker holds
// an unexpired lease on the import, or the import is finished, it returns
// nil at once.
func (s *Service) RunImport(ctx context.Context, orgID, importID string) error {
	token := id.New("lease")
	now := s.now()
	var taken bool
	err := s.write(ctx, func(tx *store.Tx) error {
		var err error
		taken, err = store.TakeImportLease(ctx, tx, orgID, importID, token, now, now.Add(s.opts.ImportLease))
		return err
	})
	if err != nil || !taken {
		return err
	}
	row, err := store.GetContactImport(ctx, s.deps.DB.Reader(), orgID, importID)
	if err != nil {
		return err
	}
	run := &importRun{s: s, row: row, token: token,
		actor: Actor{orgID: orgID, who: audit.Actor{Type: audit.ActorType(row.ActorType), ID: row.ActorID}}}
	if err := json.Unmarshal([]byte(row.Settings), &run.set); err != nil {
		return fmt.Errorf("import %s settings: %w", importID, err)
	}
	err = run.work(ctx)
	if err != nil && !errors.Is(err, errCrash) {
		s.opts.Log.Warn("contact import stopped; it resumes from its cursor", "import", importID, "err", err)
		run.release()
	}
	return err
}

func (r *importRun) work(ctx context.Context) error {
	for {
		var err error
		switch ImportState(r.row.State) {
		case ImportQueued:
			r.row.State = string(ImportValidating)
			err = r.save(ctx, nil)
		case ImportValidating:
			err = r.validate(ctx)
		case ImportApplying:
			err = r.apply(ctx)
		default:
			return nil
		}
		if err != nil {
			return err
		}
	}
}

// save writes the import's row, renewing the lease; it fails with
// store.ErrNotFound once the lease is lost (taken over, or the import
// cancelled). fn, when set, writes in the same transaction first.
func (r *importRun) save(ctx context.Context, fn func(tx *store.Tx) error) error {
	return r.s.write(ctx, func(tx *store.Tx) error {
		if fn != nil {
			if err := fn(tx); err != nil {
				return err
			}
		}
		return r.saveTx(ctx, tx)
	})
}

func (r *importRun) saveTx(ctx context.Context, tx *store.Tx) error {
	now := r.s.now()
	r.row.LeaseToken, r.row.LeaseUntil, r.row.UpdatedAt = r.token, now.Add(r.s.opts.ImportLease), now
	return store.SaveContactImport(ctx, tx, r.row, r.token)
}

// release gives the lease up so a retry may take the import at once.
func (r *importRun) release() {
	ctx := context.Background()
	_ = r.s.write(ctx, func(tx *store.Tx) error {
		cur, err := store.GetContactImport(ctx, tx, r.row.OrgID, r.row.ID)
		if err != nil || cur.LeaseToken != r.token {
			return err
		}
		cur.LeaseToken, cur.LeaseUntil = "", cur.CreatedAt
		return store.SaveContactImport(ctx, tx, cur, r.token)
	})
}

// validate reads the whole file and checks every row, writing nothing but
// the report and the import's state: then applying, or failed.
func (r *importRun) validate(ctx context.Context) error {
	src, err := r.s.openSource(ctx, r.row, 0)
	if err != nil {
		return err
	}
	cr := newCSV(src)
	rec, err := cr.Read()
	if errors.Is(err, io.EOF) {
		return r.fail(ctx, "the file is empty", []store.ImportErrorRow{{Line: 1, Reason: errHeaderEmpty.Error()}})
	}
	if err != nil {
		reason, _ := recordError(err)
		return r.fail(ctx, "the header row is malformed", []store.ImportErrorRow{{Line: 1, Reason: reason}})
	}
	header := slices.Clone(rec)
	sch, err := loadSchema(ctx, r.s.deps.DB.Reader(), r.row.OrgID)
	if err != nil {
		return err
	}
	targets, herrs := resolveColumns(header, r.set.Mapping, sch, r.set.Consent != nil)
	if len(herrs) > 0 {
		report := make([]store.ImportErrorRow, 0, len(herrs))
		for _, e := range herrs {
			report = append(report, store.ImportErrorRow{Line: 1, Column: e.Column, Reason: e.Reason})
		}
		return r.fail(ctx, "the header does not match the mapping", report)
	}
	r.set.Header, r.set.Targets, r.set.DataOffset = header, targets, cr.InputOffset()
	r.set.Ignored = r.set.Ignored[:0]
	for i, t := range targets {
		if t.Kind == tIgnore {
			r.set.Ignored = append(r.set.Ignored, header[i])
		}
	}
	v := validation{max: r.s.opts.MaxReportErrors}
	for row := int64(1); ; row++ {
		rec, err := cr.Read()
		if errors.Is(err, io.EOF) {
			break
		}
		line := lineOf(cr, err)
		if err != nil {
			reason, _ := recordError(err)
			v.structural = true
			v.add(row, line, cellError{Reason: reason})
		} else if len(rec) != len(header) {
			v.add(row, line, cellError{Reason: fieldCountReason(len(header), len(rec))})
		} else if _, _, errs := mapRow(header, targets, rec); len(errs) > 0 {
			v.add(row, line, errs...)
		}
		r.row.RowsTotal = row
		if row%50000 == 0 {
			if err := r.save(ctx, nil); err != nil {
				return err
			}
		}
	}
	r.row.RowsInvalid = v.invalid
	switch {
	case v.structural:
		return r.fail(ctx, "the file is not well-formed CSV", v.report)
	case v.invalid > 0 && !r.set.SkipInvalid:
		return r.fail(ctx, strconv.FormatInt(v.invalid, 10)+" rows are invalid", v.report)
	}
	settings, _ := json.Marshal(r.set)
	r.row.Settings, r.row.State = string(settings), string(ImportApplying)
	r.row.CursorOffset, r.row.CursorRow = r.set.DataOffset, 0
	return r.save(ctx, func(tx *store.Tx) error {
		return store.ReplaceImportErrors(ctx, tx, r.row.OrgID, r.row.ID, v.report)
	})
}

// lineOf is the file line a record (or a read error) starts on.
func lineOf(cr *csv.Reader, err error) int64 {
	var pe *csv.ParseError
	if errors.As(err, &pe) {
		return int64(pe.StartLine)
	}
	line, _ := cr.FieldPos(0)
	return int64(line)
}

// validation collects a report.
type validation struct {
	max        int
	report     []store.ImportErrorRow
	invalid    int64
	structural bool
}

func (v *validation) add(row, line int64, errs ...cellError) {
	v.invalid++
	for _, e := range errs {
		if len(v.report) < v.max {
			v.report = append(v.report, store.ImportErrorRow{Row: row, Line: line, Column: e.Column, Reason: e.Reason})
		}
	}
}

// fail ends the import as failed: the report is kept, the staged file is
// dropped, and no contact was written.
func (r *importRun) fail(ctx context.Context, why string, report []store.ImportErrorRow) error {
	now := r.s.now()
	r.row.State, r.row.Failure, r.row.FinishedAt = string(ImportFailed), why, now
	return r.save(ctx, func(tx *store.Tx) error {
		if err := store.ReplaceImportErrors(ctx, tx, r.row.OrgID, r.row.ID, report); err != nil {
			return err
		}
		if err := store.DeleteImportData(ctx, tx, r.row.OrgID, r.row.ID, false); err != nil {
			return err
		}
		return r.s.appendAudit(ctx, tx, r.actor, "contact.import.fail", "contact_import", r.row.ID,
			map[string]string{"rows": strconv.FormatInt(r.row.RowsTotal, 10), "invalid": strconv.FormatInt(r.row.RowsInvalid, 10)}, nil)
	})
}
