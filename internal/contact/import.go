package contact

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"strconv"
	"time"

	"github.com/carepost/carepost/internal/access"
	"github.com/carepost/carepost/internal/id"
	"github.com/carepost/carepost/internal/message"
	"github.com/carepost/carepost/internal/store"
)

// ImportState is where an import is in its life.
type ImportState string

// Import states: uploading (parts may be added) → queued (started) →
// validating (every row checked, nothing written) → applying (batches
// committed with the cursor) → completed; or failed (the file was bad:
// nothing was written) or cancelled (before applying began).
const (
	ImportUploading  ImportState = "uploading"
	ImportQueued     ImportState = "queued"
	ImportValidating ImportState = "validating"
	ImportApplying   ImportState = "applying"
	ImportCompleted  ImportState = "completed"
	ImportFailed     ImportState = "failed"
	ImportCancelled  ImportState = "cancelled"
)

// ImportRequest describes an import before its file is uploaded.
type ImportRequest struct {
	// Mapping maps CSV header names to targets: a built-in ("email",
	// "phone", "first_name", "last_name", "timezone", "locale",
	// "status"), a custom field key, ConsentColumn, or "" to ignore the
	// column. Unmapped columns are ignored. Empty: columns named like a
	// target (case-insensitive, spaces as _) map to it.
	Mapping map[string]string
	// SkipInvalid applies the valid rows of a file with invalid values,
	// reporting the others. Default false: one invalid row fails the whole
	// import and nothing is written. A malformed CSV always fails.
	SkipInvalid bool
	// ListID, when set, subscribes every imported contact to that list.
	ListID string
	// Consent describes the authorization a ConsentColumn "yes" stands
	// for: method, text version (or text), expiry; GrantedAt defaults to
	// the import's start. Its source is set to "import:<id>".
	Consent *Authorization
}

// Import is an import and its progress.
type Import struct {
	ID                        string
	State                     ImportState
	Bytes                     int64
	RowsTotal, RowsInvalid    int64
	RowsApplied               int64
	Created, Updated, Skipped int64
	// Failure says why a failed import failed (no values).
	Failure string
	// Ignored are the header's columns no target took.
	Ignored                          []string
	CreatedAt, StartedAt, FinishedAt time.Time
}

// ImportError is one line of a validation report: the data row (1 is the
// first row after the header, 0 the header itself), the file's line, the
// column's header name ("" for the whole row) and why — never the value.
type ImportError struct {
	Row, Line int64
	Column    string
	Reason    string
}

// importSettings is the import's request as stored, and what validation
// fixed: the header, each column's target, where the data rows begin.
type importSettings struct {
	Mapping     map[string]string `json:"mapping,omitempty"`
	SkipInvalid bool              `json:"skip_invalid,omitempty"`
	ListID      string            `json:"list_id,omitempty"`
	Consent     *Authorization    `json:"consent,omitempty"`
	Header      []string          `json:"header,omitempty"`
	Targets     []target          `json:"targets,omitempty"`
	Ignored     []string          `json:"ignored,omitempty"`
	DataOffset  int64             `json:"data_offset,omitempty"`
}

// ErrImportState means the import is not in a state that allows the
// operation (a part added after start, a cancel while applying).
var ErrImportState = errors.New("the import is not in a state that allows this")

// CreateImport registers an import; the file follows with AddImportPart.
func (s *Service) CreateImport(ctx context.Context, a Actor, req ImportRequest) (Import, error) {
	if err := a.require(access.ContactsWrite); err != nil {
		return Import{}, err
	}
	sch, err := s.Schema(ctx, a.orgID)
	if err != nil {
		return Import{}, err
	}
	var errs message.FieldErrors
	for col, key := range req.Mapping {
		if _, err := resolveTarget(key, sch, req.Consent != nil, false); key != "" && err != nil {
			errs = append(errs, &message.FieldError{Field: "mapping." + col, Msg: err.Error()})
		}
	}
	importID := id.New("imp")
	if req.Consent != nil {
		c := *req.Consent
		c.Source = "import:" + importID
		for _, fe := range c.validate(s.now()) {
			errs = append(errs, &message.FieldError{Field: "consent." + fe.Field, Msg: fe.Msg})
		}
		req.Consent = &c
	}
	if len(errs) > 0 {
		return Import{}, errs
	}
	settings, _ := json.Marshal(importSettings{Mapping: req.Mapping, SkipInvalid: req.SkipInvalid, ListID: req.ListID, Consent: req.Consent})
	now := s.now()
	row := store.ContactImportRow{OrgID: a.orgID, ID: importID, State: string(ImportUploading), ActorType: string(a.who.Type),
		ActorID: a.who.ID, Settings: string(settings), CreatedAt: now, UpdatedAt: now}
	err = s.write(ctx, func(tx *store.Tx) error {
		if req.ListID != "" {
			if err := store.ContactListExists(ctx, tx, a.orgID, req.ListID); err != nil {
				return message.FieldErrors{{Field: "list_id", Msg: "no such list"}}
			}
		}
		if err := store.InsertContactImport(ctx, tx, row); err != nil {
			return err
		}
		return s.appendAudit(ctx, tx, a, "contact.import.create", "contact_import", importID, nil, nil)
	})
	if err != nil {
		return Import{}, err
	}
	return fromImportRow(row), nil
}

// AddImportPart appends a part of the CSV file (parts are concatenated in
// the order they complete; a part may split a row). The part is sealed in
// chunks as it streams; it counts only once whole, so a part that fails
// half way is dropped and may simply be sent again.
func (s *Service) AddImportPart(ctx context.Context, a Actor, importID string, body io.Reader) (Import, error) {
	if err := a.require(access.ContactsWrite); err != nil {
		return Import{}, err
	}
	cur, err := store.GetContactImport(ctx, s.deps.DB.Reader(), a.orgID, importID)
	if err != nil {
		return Import{}, err
	}
	if cur.State != string(ImportUploading) {
		return Import{}, ErrImportState
	}
	if err := s.write(ctx, func(tx *store.Tx) error {
		return store.DeleteImportChunksFrom(ctx, tx, a.orgID, importID, cur.Chunks)
	}); err != nil {
		return Import{}, err
	}
	offset, seq := cur.Bytes, cur.Chunks
	buf := make([]byte, s.opts.ImportChunk)
	for {
		n, rerr := io.ReadFull(body, buf)
		if n > 0 {
			if offset+int64(n) > s.opts.MaxImportBytes {
				return Import{}, message.FieldErrors{{Field: "file", Msg: "the file is larger than " + strconv.FormatInt(s.opts.MaxImportBytes, 10) + " bytes"}}
			}
			if err := s.putChunk(ctx, a.orgID, importID, seq, offset, buf[:n]); err != nil {
				return Import{}, err
			}
			offset, seq = offset+int64(n), seq+1
		}
		if errors.Is(rerr, io.EOF) || errors.Is(rerr, io.ErrUnexpectedEOF) {
			break
		}
		if rerr != nil {
			return Import{}, fmt.Errorf("read import part: %w", rerr)
		}
	}
	err = s.write(ctx, func(tx *store.Tx) error {
		ok, err := store.AdvanceImportUpload(ctx, tx, a.orgID, importID, cur.Bytes, offset, seq, s.now())
		if err == nil && !ok {
			err = ErrImportState // another part completed meanwhile, or the import started
		}
		return err
	})
	if err != nil {
		return Import{}, err
	}
	return s.GetImport(ctx, a, importID)
}

func (s *Service) putChunk(ctx context.Context, orgID, importID string, seq int, offset int64, data []byte) error {
	chunkID := importID + "/" + strconv.Itoa(seq)
	return s.write(ctx, func(tx *store.Tx) error {
		sealed, v, err := s.deps.Keys.Seal(ctx, tx, chunkAAD(orgID, chunkID), data)
		if err != nil {
			return err
		}
		return store.InsertImportChunk(ctx, tx, store.ImportChunkRow{OrgID: orgID, ID: chunkID, ImportID: importID, Seq: seq,
			StartOffset: offset, Size: len(data), DEKVersion: v, Data: sealed})
	})
}

func fromImportRow(r store.ContactImportRow) Import {
	var set importSettings
	_ = json.Unmarshal([]byte(r.Settings), &set)
	return Import{ID: r.ID, State: ImportState(r.State), Bytes: r.Bytes, RowsTotal: r.RowsTotal, RowsInvalid: r.RowsInvalid,
		RowsApplied: r.RowsApplied, Created: r.Created, Updated: r.Updated, Skipped: r.Skipped, Failure: r.Failure,
		Ignored: set.Ignored, CreatedAt: r.CreatedAt, StartedAt: r.StartedAt, FinishedAt: r.FinishedAt}
}
