package api

import (
	"net/http"
	"time"

	"github.com/carepost/carepost/internal/access"
	"github.com/carepost/carepost/internal/contact"
	"github.com/carepost/carepost/internal/webauth"
)

// CSV imports: create (mapping and options), upload the file in parts (each
// at most http.max_body), start, follow the progress, read the report.

func (s *Server) importRoutes() []Route {
	const get, post, del = http.MethodGet, http.MethodPost, http.MethodDelete
	r, w := access.ContactsRead, access.ContactsWrite
	return []Route{
		{Method: get, Path: "/imports", Tag: "imports", Perm: r, Summary: "The organization's recent contact imports", Response: "ImportList", handler: s.listImports},
		{Method: post, Path: "/imports", Tag: "imports", Perm: w, Summary: "Create a CSV import: column → field mapping, skip_invalid, list_id, and the authorization a @consent column stands for; then upload its parts", Request: "ImportInput", Response: "Import", Status: http.StatusCreated, handler: s.createImport},
		{Method: get, Path: "/imports/{id}", Tag: "imports", Tenant: true, Perm: r, Summary: "An import's state and durable progress (rows validated, applied, created, updated, skipped)", Response: "Import", handler: s.getImport},
		{Method: post, Path: "/imports/{id}/parts", Tag: "imports", Tenant: true, Perm: w, Summary: "Append a part of the CSV file (the raw body, e.g. text/csv, at most http.max_body); parts concatenate in order; a failed part counts for nothing and may be resent", Response: "Import", handler: s.addImportPart},
		{Method: post, Path: "/imports/{id}/start", Tag: "imports", Tenant: true, Perm: w, Summary: "Start the import: every row is validated first; a bad file writes nothing; a good one is applied in batches, resumable after a restart", Response: "Import", Status: http.StatusAccepted, handler: s.startImport},
		{Method: get, Path: "/imports/{id}/errors", Tag: "imports", Tenant: true, Perm: r, Summary: "The validation report: row, line, column and reason (never the value)", Response: "ImportReport", handler: s.importErrors},
		{Method: del, Path: "/imports/{id}", Tag: "imports", Tenant: true, Perm: w, Summary: "Cancel an import that is not yet applying and drop its uploaded file", Response: "Import", handler: s.cancelImport},
	}
}

type importView struct {
	ID          string     `json:"id"`
	State       string     `json:"state"`
	Bytes       int64      `json:"bytes"`
	RowsTotal   int64      `json:"rows_total"`
	RowsInvalid int64      `json:"rows_invalid"`
	RowsApplied int64      `json:"rows_applied"`
	Created     int64      `json:"created"`
	Updated     int64      `json:"updated"`
	Skipped     int64      `json:"skipped"`
	Failure     string     `json:"failure,omitempty"`
	Ignored     []string   `json:"ignored_columns"`
	CreatedAt   time.Time  `json:"created_at"`
	StartedAt   *time.Time `json:"started_at"`
	FinishedAt  *time.Time `json:"finished_at"`
}

func viewImport(i contact.Import) importView {
	return importView{ID: i.ID, State: string(i.State), Bytes: i.Bytes, RowsTotal: i.RowsTotal, RowsInvalid: i.RowsInvalid,
		RowsApplied: i.RowsApplied, Created: i.Created, Updated: i.Updated, Skipped: i.Skipped, Failure: i.Failure,
		Ignored: nonNil(i.Ignored), CreatedAt: i.CreatedAt, StartedAt: timePtr(i.StartedAt), FinishedAt: timePtr(i.FinishedAt)}
}

func (s *Server) createImport(w http.ResponseWriter, r *http.Request, id webauth.Identity) {
	var in struct {
		Mapping     map[string]string `json:"mapping"`
		SkipInvalid bool              `json:"skip_invalid"`
		ListID      string            `json:"list_id"`
		Consent     *consentInput     `json:"consent"`
	}
	if err := decode(r, &in); err != nil {
		s.fail(w, r, err)
		return
	}
	req := contact.ImportRequest{Mapping: in.Mapping, SkipInvalid: in.SkipInvalid, ListID: in.ListID}
	if in.Consent != nil {
		c := in.Consent.domain()
		req.Consent = &c
	}
	imp, err := s.deps.Contacts.CreateImport(r.Context(), contact.As(id.Principal), req)
	if err != nil {
		s.failContact(w, r, err)
		return
	}
	s.ok(w, http.StatusCreated, viewImport(imp))
}

func (s *Server) addImportPart(w http.ResponseWriter, r *http.Request, id webauth.Identity) {
	// A part of tens of megabytes may outlast the server's read timeout.
	_ = http.NewResponseController(w).SetReadDeadline(time.Now().Add(30 * time.Minute))
	imp, err := s.deps.Contacts.AddImportPart(r.Context(), contact.As(id.Principal), r.PathValue("id"), r.Body)
	if err != nil {
		s.failContact(w, r, err)
		return
	}
	s.ok(w, 0, viewImport(imp))
}

func (s *Server) startImport(w http.ResponseWriter, r *http.Request, id webauth.Identity) {
	imp, err := s.deps.Contacts.StartImport(r.Context(), contact.As(id.Principal), r.PathValue("id"))
	if err != nil {
		s.failContact(w, r, err)
		return
	}
	s.ok(w, http.StatusAccepted, viewImport(imp))
}

func (s *Server) getImport(w http.ResponseWriter, r *http.Request, id webauth.Identity) {
	imp, err := s.deps.Contacts.GetImport(r.Context(), contact.As(id.Principal), r.PathValue("id"))
	if err != nil {
		s.failContact(w, r, err)
		return
	}
	s.ok(w, 0, viewImport(imp))
}

func (s *Server) listImports(w http.ResponseWriter, r *http.Request, id webauth.Identity) {
	l, err := s.deps.Contacts.Imports(r.Context(), contact.As(id.Principal))
	if err != nil {
		s.failContact(w, r, err)
		return
	}
	out := make([]importView, 0, len(l))
	for _, i := range l {
		out = append(out, viewImport(i))
	}
	s.ok(w, 0, map[string]any{"imports": out})
}

func (s *Server) importErrors(w http.ResponseWriter, r *http.Request, id webauth.Identity) {
	rep, err := s.deps.Contacts.ImportReport(r.Context(), contact.As(id.Principal), r.PathValue("id"))
	if err != nil {
		s.failContact(w, r, err)
		return
	}
	out := make([]map[string]any, 0, len(rep))
	for _, e := range rep {
		out = append(out, map[string]any{"row": e.Row, "line": e.Line, "column": e.Column, "reason": e.Reason})
	}
	s.ok(w, 0, map[string]any{"errors": out})
}

func (s *Server) cancelImport(w http.ResponseWriter, r *http.Request, id webauth.Identity) {
	imp, err := s.deps.Contacts.CancelImport(r.Context(), contact.As(id.Principal), r.PathValue("id"))
	if err != nil {
		s.failContact(w, r, err)
		return
	}
	s.ok(w, 0, viewImport(imp))
}
