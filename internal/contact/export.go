package contact

import (
	"context"
	"encoding/csv"
	"io"
	"strconv"
	"strings"
	"time"

	"github.com/carepost/carepost/internal/access"
	"github.com/carepost/carepost/internal/store"
)

// ExportOptions choose what Export writes.
type ExportOptions struct {
	// ListID exports a list's subscribed members; "" every contact.
	ListID string
	// Match, when set, keeps only the contacts it accepts: the seam for
	// exporting a segment (its compiled predicate over Scan's contacts).
	Match func(Contact) bool
	// Scope names what is exported in the audit log, e.g. "segment:seg_…"
	// (default "list:<id>" or "all").
	Scope string
}

// Export writes contacts as CSV (RFC 4180, header first) and returns how
// many it wrote. PHI columns — the built-ins and the custom fields marked
// PHI — are included only for principals with phi:read; for others they
// are left out altogether, not masked. The export is audited
// (contact.export: scope, whether PHI was included, how many contacts at
// most) before the first byte is written, so an export that cannot be
// audited does not happen.
func (s *Service) Export(ctx context.Context, a Actor, w io.Writer, opts ExportOptions) (int64, error) {
	if err := a.require(access.ContactsRead); err != nil {
		return 0, err
	}
	sch, err := s.Schema(ctx, a.orgID)
	if err != nil {
		return 0, err
	}
	if opts.ListID != "" {
		if err := store.ContactListExists(ctx, s.deps.DB.Reader(), a.orgID, opts.ListID); err != nil {
			return 0, err
		}
	}
	if opts.Scope == "" {
		opts.Scope = "all"
		if opts.ListID != "" {
			opts.Scope = "list:" + opts.ListID
		}
	}
	n, err := store.CountContacts(ctx, s.deps.DB.Reader(), store.ContactQuery{OrgID: a.orgID, ListID: opts.ListID})
	if err != nil {
		return 0, err
	}
	phi := a.readsPHI()
	err = s.write(ctx, func(tx *store.Tx) error {
		return s.appendAudit(ctx, tx, a, "contact.export", "", "", map[string]string{
			"scope": opts.Scope, "phi": strconv.FormatBool(phi), "count_max": strconv.FormatInt(n, 10)}, nil)
	})
	if err != nil {
		return 0, err
	}
	cols := exportColumns(sch, phi)
	cw := csv.NewWriter(w)
	header := make([]string, len(cols))
	for i, c := range cols {
		header[i] = c.name
	}
	if err := cw.Write(header); err != nil {
		return 0, err
	}
	var written int64
	rec := make([]string, len(cols))
	now := s.now()
	err = s.ScanWith(ctx, a.orgID, ScanOptions{ListID: opts.ListID}, func(c Contact) error {
		if opts.Match != nil && !opts.Match(c) {
			return nil
		}
		for i, col := range cols {
			rec[i] = defuse(col.get(c, now))
		}
		written++
		return cw.Write(rec)
	})
	cw.Flush()
	if err == nil {
		err = cw.Error()
	}
	return written, err
}

type exportColumn struct {
	name string
	get  func(Contact, time.Time) string
}

func exportColumns(sch *Schema, phi bool) []exportColumn {
	cols := []exportColumn{{"id", func(c Contact, _ time.Time) string { return c.ID }}}
	if phi {
		cols = append(cols,
			exportColumn{"email", func(c Contact, _ time.Time) string { return c.Email }},
			exportColumn{"phone", func(c Contact, _ time.Time) string { return c.Phone }},
			exportColumn{"first_name", func(c Contact, _ time.Time) string { return c.FirstName }},
			exportColumn{"last_name", func(c Contact, _ time.Time) string { return c.LastName }})
	}
	cols = append(cols,
		exportColumn{"timezone", func(c Contact, _ time.Time) string { return c.Timezone }},
		exportColumn{"locale", func(c Contact, _ time.Time) string { return c.Locale }},
		exportColumn{"status", func(c Contact, _ time.Time) string { return string(c.EffectiveStatus()) }})
	for _, f := range sch.Custom() {
		if f.PHI && !phi {
			continue
		}
		key := f.Key
		cols = append(cols, exportColumn{key, func(c Contact, _ time.Time) string {
			if v, ok := c.Fields[key]; ok {
				return v.String()
			}
			return ""
		}})
	}
	return append(cols,
		exportColumn{"consent_valid", func(c Contact, now time.Time) string { return strconv.FormatBool(c.Consent.Valid(now)) }},
		exportColumn{"created_at", func(c Contact, _ time.Time) string { return c.CreatedAt.Format(time.RFC3339) }},
		exportColumn{"updated_at", func(c Contact, _ time.Time) string { return c.UpdatedAt.Format(time.RFC3339) }})
}

// defuse keeps a spreadsheet from running a cell as a formula (OWASP "CSV
// injection"): a cell starting with = + - @ or a tab or CR gets a leading
// apostrophe — except a number or phone number such as "+15551234567",
// which a spreadsheet reads as a number anyway.
func defuse(cell string) string {
	if cell == "" || !strings.ContainsRune("=+-@\t\r", rune(cell[0])) {
		return cell
	}
	if len(cell) > 1 && (cell[0] == '+' || cell[0] == '-') {
		if _, err := strconv.ParseFloat(cell[1:], 64); err == nil {
			return cell
		}
	}
	return "'" + cell
}
