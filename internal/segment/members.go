package segment

import (
	"context"
	"errors"
	"fmt"
	"iter"
	"strconv"
	"strings"

	"github.com/carepost/carepost/internal/access"
	"github.com/carepost/carepost/internal/audit"
	"github.com/carepost/carepost/internal/auth"
	"github.com/carepost/carepost/internal/contact"
	"github.com/carepost/carepost/internal/message"
	"github.com/carepost/carepost/internal/store"
)

// The Go API other packages build on: campaigns stream a segment's
// members, workflows ask whether a contact is in one and add contacts to
// static ones. These calls are carepost acting, not a person: they take an
// organization id rather than a principal.

// staticPage is how many static members one query reads.
const staticPage = 1000

var errStop = errors.New("segment: iteration stopped")

// Members streams the ids of a segment's members in id order: a dynamic
// segment's contacts that match its expression now, a static segment's
// members. Breaking out of the loop stops the evaluation. On failure the
// sequence yields ("", err) once and ends; an unknown segment (or one of
// another organization) is store.ErrNotFound. Members are not filtered for
// sending: the caller applies contact.Sendable and consent.
//
// A dynamic evaluation opens PHI only when the expression reads a PHI
// field, and is audited once (segment.evaluate, actor system), before the
// first id: no person sees the values it reads.
func (s *Service) Members(ctx context.Context, orgID, segmentID string) iter.Seq2[string, error] {
	return s.MembersAfter(ctx, orgID, segmentID, "")
}

// MembersAfter is Members starting after a contact id (a cursor: the last
// id of the page before; "" from the first): the pages of a long segment
// read from where the last one stopped rather than from the start. A
// dynamic segment's evaluation is audited once per call.
func (s *Service) MembersAfter(ctx context.Context, orgID, segmentID, after string) iter.Seq2[string, error] {
	return func(yield func(string, error) bool) {
		row, err := store.GetSegment(ctx, s.deps.DB.Reader(), orgID, segmentID)
		if err == nil && Kind(row.Kind) == Dynamic {
			err = s.deps.DB.Tx(ctx, func(tx *store.Tx) error {
				return s.audit(ctx, tx, audit.Actor{Type: audit.ActorSystem, ID: "segment"}, orgID, "segment.evaluate", segmentID,
					map[string]string{"version": strconv.Itoa(row.Version)})
			})
		}
		if err != nil {
			yield("", err)
			return
		}
		err = s.eachAfter(ctx, row, after, false, func(c *contact.Contact) error {
			if !yield(c.ID, nil) {
				return errStop
			}
			return nil
		})
		if err != nil && !errors.Is(err, errStop) {
			yield("", err)
		}
	}
}

// each calls fn with every member of the segment, in id order. Dynamic
// members come opened as far as the expression needed (PHI only when it
// reads PHI); static members come with their clear columns when
// withContact, as bare ids otherwise.
func (s *Service) each(ctx context.Context, row store.SegmentRow, withContact bool, fn func(*contact.Contact) error) error {
	return s.eachAfter(ctx, row, "", withContact, fn)
}

// eachAfter is each starting after a contact id.
func (s *Service) eachAfter(ctx context.Context, row store.SegmentRow, after string, withContact bool, fn func(*contact.Contact) error) error {
	if Kind(row.Kind) == Static {
		for {
			ids, err := store.SegmentMembersPage(ctx, s.deps.DB.Reader(), row.OrgID, row.ID, after, staticPage)
			if err != nil || len(ids) == 0 {
				return err
			}
			if withContact {
				cs, err := s.deps.Contacts.OpenMany(ctx, row.OrgID, ids, false)
				if err != nil {
					return err
				}
				for i := range cs {
					if err := fn(&cs[i]); err != nil {
						return err
					}
				}
			} else {
				for _, id := range ids {
					if err := fn(&contact.Contact{ID: id, OrgID: row.OrgID}); err != nil {
						return err
					}
				}
			}
			if len(ids) < staticPage {
				return nil
			}
			after = ids[len(ids)-1]
		}
	}
	prog, err := s.program(ctx, row)
	if err != nil {
		return err
	}
	return s.runAfter(ctx, row.OrgID, prog, after, fn)
}

// run evaluates prog over the organization's contacts.
func (s *Service) run(ctx context.Context, orgID string, prog *Program, fn func(*contact.Contact) error) error {
	return s.runAfter(ctx, orgID, prog, "", fn)
}

// runAfter evaluates prog over the organization's contacts after a
// contact id.
func (s *Service) runAfter(ctx context.Context, orgID string, prog *Program, after string, fn func(*contact.Contact) error) error {
	ev, err := bind(ctx, s.deps.DB.Reader(), prog, orgID, "", s.opts.Clock())
	if err != nil {
		return err
	}
	m := ev.matcher()
	return s.deps.Contacts.ScanWith(ctx, orgID, contact.ScanOptions{SkipPHI: !prog.phi, SkipAttrs: !prog.attrs, After: after}, func(c contact.Contact) error {
		ok, err := m.match(&c)
		if err != nil || !ok {
			return err
		}
		return fn(&c)
	})
}

// Contains reports whether a contact is a member of a segment now. A
// contact that does not exist (deleted, of another organization) is not.
// It reads that one contact and, for look-ups, that contact's rows only;
// it is not audited (the workflow step that asks records what it does).
func (s *Service) Contains(ctx context.Context, orgID, segmentID, contactID string) (bool, error) {
	r := s.deps.DB.Reader()
	row, err := store.GetSegment(ctx, r, orgID, segmentID)
	if err != nil {
		return false, err
	}
	if Kind(row.Kind) == Static {
		return store.IsSegmentMember(ctx, r, orgID, segmentID, contactID)
	}
	prog, err := s.program(ctx, row)
	if err != nil {
		return false, err
	}
	c, err := s.deps.Contacts.Open(ctx, orgID, contactID, prog.UsesPHI())
	if errors.Is(err, store.ErrNotFound) {
		return false, nil
	}
	if err != nil {
		return false, err
	}
	ev, err := bind(ctx, r, prog, orgID, contactID, s.opts.Clock())
	if err != nil {
		return false, err
	}
	return ev.matcher().match(&c)
}

// AddStatic adds contacts to a static segment inside the caller's
// transaction (a workflow batch's add_to_segment steps, together). Adding
// a member again changes nothing. store.ErrNotFound when the segment or
// any of the contacts is not the organization's; ErrNotStatic for a
// dynamic segment. It writes no audit entry: the caller's transaction
// records its own steps. Contacts that were not members yet are told to
// the observer (they entered the segment), in tx.
func (s *Service) AddStatic(ctx context.Context, tx *store.Tx, orgID, segmentID string, contactIDs []string) error {
	row, err := store.GetSegment(ctx, tx, orgID, segmentID)
	if err != nil {
		return err
	}
	if Kind(row.Kind) != Static {
		return ErrNotStatic
	}
	ids := dedupe(contactIDs)
	n, err := store.CountContactKeys(ctx, tx, orgID, ids)
	if err != nil {
		return err
	}
	if n != len(ids) {
		return fmt.Errorf("add to static segment %s: %d of %d contacts are not the organization's: %w",
			segmentID, len(ids)-n, len(ids), store.ErrNotFound)
	}
	added, err := store.AddSegmentMembersNew(ctx, tx, orgID, segmentID, ids, "system", s.now())
	if err != nil {
		return err
	}
	return s.notifyEntered(ctx, tx, orgID, segmentID, added)
}

// MaxBulk is the most contacts one membership request names.
const MaxBulk = 1000

// AddMembers adds contacts to a static segment and returns how many were
// new. Every id must name a contact of the organization (the request
// changes nothing otherwise).
func (s *Service) AddMembers(ctx context.Context, p auth.Principal, segmentID string, contactIDs []string) (int64, error) {
	return s.changeMembers(ctx, p, segmentID, contactIDs, true)
}

// RemoveMembers removes contacts from a static segment and returns how
// many were members.
func (s *Service) RemoveMembers(ctx context.Context, p auth.Principal, segmentID string, contactIDs []string) (int64, error) {
	return s.changeMembers(ctx, p, segmentID, contactIDs, false)
}

func (s *Service) changeMembers(ctx context.Context, p auth.Principal, segmentID string, contactIDs []string, add bool) (int64, error) {
	if err := require(p, access.SegmentsWrite); err != nil {
		return 0, err
	}
	if len(contactIDs) == 0 || len(contactIDs) > MaxBulk {
		return 0, message.FieldErrors{{Field: "contact_ids", Msg: "send 1 to " + strconv.Itoa(MaxBulk) + " contact ids"}}
	}
	ids := dedupe(contactIDs)
	var n int64
	err := s.deps.DB.Tx(ctx, func(tx *store.Tx) error {
		row, err := store.GetSegment(ctx, tx, p.OrgID, segmentID)
		if err != nil {
			return err
		}
		if Kind(row.Kind) != Static {
			return ErrNotStatic
		}
		action := "segment.members.remove"
		if add {
			action = "segment.members.add"
			found, err := store.ContactsByID(ctx, tx, p.OrgID, ids)
			if err != nil {
				return err
			}
			have := make(map[string]bool, len(found))
			for _, r := range found {
				have[r.ID] = true
			}
			for i, cid := range contactIDs {
				if !have[cid] {
					return message.FieldErrors{{Field: "contact_ids[" + strconv.Itoa(i) + "]", Msg: "no such contact"}}
				}
			}
			added, err := store.AddSegmentMembersNew(ctx, tx, p.OrgID, segmentID, ids, "api", s.now())
			if err != nil {
				return err
			}
			n = int64(len(added))
			if err := s.notifyEntered(ctx, tx, p.OrgID, segmentID, added); err != nil {
				return err
			}
		} else if n, err = store.RemoveSegmentMembers(ctx, tx, p.OrgID, segmentID, ids); err != nil {
			return err
		}
		return s.auditMembers(ctx, tx, p, action, segmentID, ids, n)
	})
	return n, err
}

func dedupe(ids []string) []string {
	seen := make(map[string]bool, len(ids))
	out := make([]string, 0, len(ids))
	for _, id := range ids {
		if !seen[id] {
			seen[id] = true
			out = append(out, id)
		}
	}
	return out
}

// auditMembers records a membership change naming the contacts by id,
// several entries when they do not fit one (as package contact does).
func (s *Service) auditMembers(ctx context.Context, tx *store.Tx, p auth.Principal, action, segmentID string, ids []string, changed int64) error {
	const perDetail, perEntry = 32, 32 * 24
	for start := 0; start < len(ids); start += perEntry {
		part := ids[start:min(start+perEntry, len(ids))]
		d := map[string]string{"count": strconv.Itoa(len(ids)), "changed": strconv.FormatInt(changed, 10)}
		for i := 0; i*perDetail < len(part); i++ {
			key := "contacts"
			if i > 0 {
				key += "_" + strconv.Itoa(i+1)
			}
			d[key] = strings.Join(part[i*perDetail:min((i+1)*perDetail, len(part))], ",")
		}
		if err := s.audit(ctx, tx, p.Actor(), p.OrgID, action, segmentID, d); err != nil {
			return err
		}
	}
	return nil
}
