package segment

import (
	"context"
	"io"
	"strconv"
	"strings"

	"github.com/carepost/carepost/internal/access"
	"github.com/carepost/carepost/internal/auth"
	"github.com/carepost/carepost/internal/contact"
	"github.com/carepost/carepost/internal/message"
	"github.com/carepost/carepost/internal/store"
)

// Count is a count as a principal may see it. For principals without
// phi:read a count between 1 and the floor less one is hidden: Hidden is
// set, Value is 0, and it reads "fewer than <Floor>" — so a report cannot
// single out a handful of patients (HIPAA 164.514(b), the small-cell
// rule of de-identified reporting).
type Count struct {
	Value  int64
	Hidden bool
	Floor  int
}

// String is the count as shown.
func (c Count) String() string {
	if c.Hidden {
		return "fewer than " + strconv.Itoa(c.Floor)
	}
	return strconv.FormatInt(c.Value, 10)
}

func (s *Service) count(p auth.Principal, n int64) Count {
	if access.SuppressSmall(p.Perms, int(min(n, 1<<31)), s.opts.Floor) < 0 {
		return Count{Hidden: true, Floor: s.opts.Floor}
	}
	return Count{Value: n, Floor: s.opts.Floor}
}

// Preview is what a segment holds now: counts and one page of members.
type Preview struct {
	// Members is the count; Subscribed those mail may go to
	// (contact.Sendable); Consented those of them with a valid marketing
	// authorization (contact.CanMarketPHI).
	Members, Subscribed, Consented Count
	// Page is one page of members after the cursor, PHI masked without
	// phi:read. It is empty when Members is hidden: a page would tell the
	// count.
	Page []contact.View
	// Next is the cursor of the next page, "" after the last.
	Next string
	// Fields the expression reads and whether any is PHI.
	Fields  []string
	UsesPHI bool
	Version int
}

// MaxPage is the most members one preview page holds.
const MaxPage = 100

// Preview evaluates a segment now: its counts, and the page of members
// after the cursor after (limit default 20, at most MaxPage). The
// evaluation is audited (segment.preview: who, the version, the fields
// read, whether PHI was opened); a page shown to a person with phi:read
// is audited as a read of those contacts (contact.phi.read).
func (s *Service) Preview(ctx context.Context, p auth.Principal, segmentID, after string, limit int) (Preview, error) {
	if err := require(p, access.ContactsRead); err != nil {
		return Preview{}, err
	}
	row, err := store.GetSegment(ctx, s.deps.DB.Reader(), p.OrgID, segmentID)
	if err != nil {
		return Preview{}, err
	}
	var prog *Program
	if Kind(row.Kind) == Dynamic {
		if prog, err = s.program(ctx, row); err != nil {
			return Preview{}, err
		}
	}
	return s.preview(ctx, p, row, prog, after, limit)
}

// PreviewExpression evaluates an expression that is not saved (an editor
// trying it out), like Preview.
func (s *Service) PreviewExpression(ctx context.Context, p auth.Principal, expression, after string, limit int) (Preview, error) {
	if err := require(p, access.ContactsRead); err != nil {
		return Preview{}, err
	}
	prog, err := s.check(ctx, p.OrgID, expression)
	if err != nil {
		return Preview{}, err
	}
	return s.preview(ctx, p, store.SegmentRow{OrgID: p.OrgID, Kind: string(Dynamic)}, prog, after, limit)
}

func (s *Service) preview(ctx context.Context, p auth.Principal, row store.SegmentRow, prog *Program, after string, limit int) (Preview, error) {
	if limit == 0 {
		limit = 20
	}
	if limit < 1 || limit > MaxPage {
		return Preview{}, message.FieldErrors{{Field: "limit", Msg: "must be 1 to " + strconv.Itoa(MaxPage)}}
	}
	details := map[string]string{"version": strconv.Itoa(row.Version), "kind": row.Kind}
	if prog != nil {
		details["fields"] = strings.Join(prog.Fields(), ",")
		details["phi"] = strconv.FormatBool(prog.UsesPHI())
	}
	if row.ID == "" {
		details["unsaved"] = "true"
	}
	if err := s.deps.DB.Tx(ctx, func(tx *store.Tx) error {
		return s.audit(ctx, tx, p.Actor(), p.OrgID, "segment.preview", row.ID, details)
	}); err != nil {
		return Preview{}, err
	}
	var members, subscribed, consented int64
	var page []string
	more := false
	now := s.opts.Clock()
	fn := func(c *contact.Contact) error {
		members++
		if contact.Sendable(*c) {
			subscribed++
			if contact.CanMarketPHI(*c, now) {
				consented++
			}
		}
		if c.ID > after {
			if len(page) < limit {
				page = append(page, c.ID)
			} else {
				more = true
			}
		}
		return nil
	}
	var err error
	if prog != nil {
		err = s.run(ctx, p.OrgID, prog, fn)
	} else {
		err = s.each(ctx, row, true, fn)
	}
	if err != nil {
		return Preview{}, err
	}
	out := Preview{Members: s.count(p, members), Subscribed: s.count(p, subscribed), Consented: s.count(p, consented),
		Page: []contact.View{}, Fields: []string{}, Version: row.Version}
	if prog != nil {
		out.Fields, out.UsesPHI = prog.Fields(), prog.UsesPHI()
	}
	if out.Members.Hidden {
		return out, nil
	}
	if out.Page, err = s.deps.Contacts.Views(ctx, contact.As(p), page, "segment_preview"); err != nil {
		return Preview{}, err
	}
	if more && len(page) > 0 {
		out.Next = page[len(page)-1]
	}
	return out, nil
}

// Export writes a segment's members as CSV through contact.Export (same
// columns, PHI columns only with phi:read, audited as contact.export with
// scope segment:<id>). To a principal without phi:read, a segment smaller
// than the floor is not exported (ErrSmallCell): its rows would tell the
// count.
func (s *Service) Export(ctx context.Context, p auth.Principal, segmentID string, w io.Writer) (int64, error) {
	if err := require(p, access.ContactsRead); err != nil {
		return 0, err
	}
	row, err := store.GetSegment(ctx, s.deps.DB.Reader(), p.OrgID, segmentID)
	if err != nil {
		return 0, err
	}
	ids := map[string]struct{}{}
	if err := s.each(ctx, row, false, func(c *contact.Contact) error {
		ids[c.ID] = struct{}{}
		return nil
	}); err != nil {
		return 0, err
	}
	if s.count(p, int64(len(ids))).Hidden {
		return 0, ErrSmallCell
	}
	// The members as evaluated above: the export writes exactly the set
	// that passed the floor, even if contacts change meanwhile.
	return s.deps.Contacts.Export(ctx, contact.As(p), w, contact.ExportOptions{Scope: "segment:" + segmentID,
		Match: func(c contact.Contact) bool { _, ok := ids[c.ID]; return ok }})
}
