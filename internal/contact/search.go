package contact

import (
	"context"
	"errors"
	"strings"

	"github.com/carepost/carepost/internal/access"
	"github.com/carepost/carepost/internal/message"
	"github.com/carepost/carepost/internal/store"
)

// MaxPage is the most contacts one search page holds.
const MaxPage = 100

// Query finds contacts by what is stored in clear or by blind index. PHI
// fields cannot be filtered here — that takes opening every contact, which
// is what segments do over Scan.
type Query struct {
	// Email finds the one contact with this address (by blind index).
	Email  string
	Status Status
	// ListID keeps the subscribed members of a list.
	ListID           string
	Timezone, Locale string
	// Fields filter custom fields not marked PHI by equality (a list
	// field: contains), the value written as in a CSV cell.
	Fields map[string]string
	// After is the cursor: the last id of the previous page.
	After string
	// Limit is the page size, at most MaxPage (default 50).
	Limit int
}

// Page is one page of results.
type Page struct {
	Contacts []View
	// Next is the cursor of the next page, "" after the last.
	Next string
}

// Search runs q. When a principal with phi:read sees the page, one audit
// entry lists every contact on it.
func (s *Service) Search(ctx context.Context, a Actor, q Query) (Page, error) {
	if err := a.require(access.ContactsRead); err != nil {
		return Page{}, err
	}
	sch, err := s.Schema(ctx, a.orgID)
	if err != nil {
		return Page{}, err
	}
	sq, err := s.storeQuery(ctx, a.orgID, sch, q)
	if errors.Is(err, errNoMatch) {
		return Page{Contacts: []View{}}, nil
	}
	if err != nil {
		return Page{}, err
	}
	r := s.deps.DB.Reader()
	rows, err := store.SearchContacts(ctx, r, sq)
	if err != nil {
		return Page{}, err
	}
	cs, err := s.openRows(ctx, r, sch, rows)
	if err != nil {
		return Page{}, err
	}
	if err := s.auditContacts(ctx, a, "search", sch, cs); err != nil {
		return Page{}, err
	}
	page := Page{Contacts: make([]View, 0, len(cs))}
	for _, c := range cs {
		page.Contacts = append(page.Contacts, s.view(a, sch, c, nil))
	}
	if len(rows) == sq.Limit {
		page.Next = rows[len(rows)-1].ID
	}
	return page, nil
}

// errNoMatch: the query cannot match anything (an address never indexed).
var errNoMatch = errors.New("no match")

func (s *Service) storeQuery(ctx context.Context, orgID string, sch *Schema, q Query) (store.ContactQuery, error) {
	sq := store.ContactQuery{OrgID: orgID, Status: string(q.Status), ListID: q.ListID, Timezone: q.Timezone,
		Locale: q.Locale, After: q.After, Limit: q.Limit}
	var errs message.FieldErrors
	bad := func(f, msg string) { errs = append(errs, &message.FieldError{Field: f, Msg: msg}) }
	if sq.Limit <= 0 {
		sq.Limit = 50
	}
	if sq.Limit > MaxPage {
		bad("limit", "is at most 100")
	}
	if q.Status != "" && !validStatus(q.Status) {
		bad("status", "must be subscribed, unsubscribed, bounced or complained")
	}
	for key, raw := range q.Fields {
		f, ok := sch.Field(key)
		switch {
		case !ok:
			bad("fields."+key, "no such field")
			continue
		case f.PHI:
			bad("fields."+key, "is PHI: it is sealed and cannot be searched (use a segment)")
			continue
		}
		v, err := ParseValue(f, strings.TrimSpace(raw))
		if err != nil {
			bad("fields."+key, err.Error())
			continue
		}
		sq.Attrs = append(sq.Attrs, attrFilter(f, v))
	}
	if len(errs) > 0 {
		return sq, errs
	}
	if q.Email != "" {
		addr, err := normalizeEmail(strings.TrimSpace(q.Email))
		if err != nil {
			return sq, message.FieldErrors{{Field: "email", Msg: err.Error()}}
		}
		ix, err := s.deps.Index.Lookup(ctx, s.deps.DB.Reader(), orgID, "email", strings.ToLower(addr))
		if errors.Is(err, store.ErrNotFound) {
			return sq, errNoMatch
		}
		if err != nil {
			return sq, err
		}
		sq.EmailIndex = ix
	}
	return sq, nil
}

func attrFilter(f Field, v Value) store.AttrFilter {
	switch f.Type {
	case TypeNumber:
		return store.AttrFilter{Key: f.Key, Kind: store.AttrNumber, Value: v.Number}
	case TypeBoolean:
		return store.AttrFilter{Key: f.Key, Kind: store.AttrBoolean, Value: v.Bool}
	case TypeList:
		item := ""
		if len(v.List) > 0 {
			item = v.List[0]
		}
		return store.AttrFilter{Key: f.Key, Kind: store.AttrList, Value: item}
	}
	return store.AttrFilter{Key: f.Key, Kind: store.AttrText, Value: v.String()}
}
