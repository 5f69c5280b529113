package contact

import (
	"context"

	"github.com/carepost/carepost/internal/access"
	"github.com/carepost/carepost/internal/keyring"
	"github.com/carepost/carepost/internal/message"
	"github.com/carepost/carepost/internal/store"
)

func chunkAAD(orgID, chunkID string) keyring.AAD {
	return keyring.AAD{Scope: orgID, Table: "contact_import_chunks", Column: "data", RowID: chunkID}
}

// StartImport closes the upload and queues the import's job, in one
// transaction.
func (s *Service) StartImport(ctx context.Context, a Actor, importID string) (Import, error) {
	if err := a.require(access.ContactsWrite); err != nil {
		return Import{}, err
	}
	if err := s.ensureIndex(ctx, a.orgID); err != nil {
		return Import{}, err
	}
	var out store.ContactImportRow
	err := s.write(ctx, func(tx *store.Tx) error {
		r, err := store.GetContactImport(ctx, tx, a.orgID, importID)
		if err != nil {
			return err
		}
		if r.State != string(ImportUploading) {
			return ErrImportState
		}
		if r.Bytes == 0 {
			return message.FieldErrors{{Field: "file", Msg: "upload the file first (POST …/parts)"}}
		}
		// Chunks past the last completed part are an interrupted part's.
		if err := store.DeleteImportChunksFrom(ctx, tx, a.orgID, importID, r.Chunks); err != nil {
			return err
		}
		now := s.now()
		r.State, r.StartedAt, r.UpdatedAt = string(ImportQueued), now, now
		if err := store.SaveContactImport(ctx, tx, r, ""); err != nil {
			return err
		}
		if _, err := s.deps.Jobs.InsertTx(ctx, tx, ImportArgs{OrgID: a.orgID, ImportID: importID}, nil); err != nil {
			return err
		}
		out = r
		return s.appendAudit(ctx, tx, a, "contact.import.start", "contact_import", importID, nil, nil)
	})
	if err != nil {
		return Import{}, err
	}
	return fromImportRow(out), nil
}

// GetImport returns an import and its progress.
func (s *Service) GetImport(ctx context.Context, a Actor, importID string) (Import, error) {
	if err := a.require(access.ContactsRead); err != nil {
		return Import{}, err
	}
	r, err := store.GetContactImport(ctx, s.deps.DB.Reader(), a.orgID, importID)
	if err != nil {
		return Import{}, err
	}
	return fromImportRow(r), nil
}

// Imports lists the organization's most recent imports.
func (s *Service) Imports(ctx context.Context, a Actor) ([]Import, error) {
	if err := a.require(access.ContactsRead); err != nil {
		return nil, err
	}
	rows, err := store.ListContactImports(ctx, s.deps.DB.Reader(), a.orgID, 100)
	if err != nil {
		return nil, err
	}
	out := make([]Import, 0, len(rows))
	for _, r := range rows {
		out = append(out, fromImportRow(r))
	}
	return out, nil
}

// ImportReport returns an import's validation report (at most
// Options.MaxReportErrors lines; Import.RowsInvalid counts them all).
func (s *Service) ImportReport(ctx context.Context, a Actor, importID string) ([]ImportError, error) {
	if err := a.require(access.ContactsRead); err != nil {
		return nil, err
	}
	if _, err := store.GetContactImport(ctx, s.deps.DB.Reader(), a.orgID, importID); err != nil {
		return nil, err
	}
	rows, err := store.ImportErrors(ctx, s.deps.DB.Reader(), a.orgID, importID, s.opts.MaxReportErrors)
	if err != nil {
		return nil, err
	}
	out := make([]ImportError, 0, len(rows))
	for _, r := range rows {
		out = append(out, ImportError(r))
	}
	return out, nil
}

// CancelImport stops an import that has not begun applying and drops its
// staged file. An import that is applying runs to the end: stopping it
// half way would leave half a file applied.
func (s *Service) CancelImport(ctx context.Context, a Actor, importID string) (Import, error) {
	if err := a.require(access.ContactsWrite); err != nil {
		return Import{}, err
	}
	var out store.ContactImportRow
	err := s.write(ctx, func(tx *store.Tx) error {
		r, err := store.GetContactImport(ctx, tx, a.orgID, importID)
		if err != nil {
			return err
		}
		switch ImportState(r.State) {
		case ImportUploading, ImportQueued, ImportValidating:
		default:
			return ErrImportState
		}
		now := s.now()
		r.State, r.FinishedAt, r.UpdatedAt, r.LeaseToken = string(ImportCancelled), now, now, ""
		if err := store.SaveContactImport(ctx, tx, r, ""); err != nil {
			return err
		}
		if err := store.DeleteImportData(ctx, tx, a.orgID, importID, false); err != nil {
			return err
		}
		out = r
		return s.appendAudit(ctx, tx, a, "contact.import.cancel", "contact_import", importID, nil, nil)
	})
	if err != nil {
		return Import{}, err
	}
	return fromImportRow(out), nil
}
