package contact

import (
	"slices"
	"time"

	"github.com/carepost/carepost/internal/id"
	"github.com/carepost/carepost/internal/store"
)

// drafts are a batch's contacts made ready as new ones before the batch's
// transaction: for each address an id, a fresh key, every item for the
// address applied in order and the row sealed. An import makes them on
// the goroutine that reads the file, so the writer — the one goroutine
// all of SQLite's writes go through — spends none of its time generating
// keys, applying fields or sealing PHI (about a tenth of its time at a
// million rows). upsert takes a draft only for an address it finds no
// contact for, and only when the organization's fields are still those
// the draft was sealed under; otherwise it does the work itself, as it
// does for every upsert without drafts.
type drafts struct {
	sch *Schema
	by  map[string]*draft
}

// draft is one address's new contact: its pending state (key, consent
// summary, and the sealed row — without the wrapped key, which is made in
// the transaction with the organization's current key) and the grants its
// items record.
type draft struct {
	pd     *pending
	grants []store.ConsentRow
}

// makeDrafts drafts a new contact for every address in items, under sch.
func makeDrafts(sch *Schema, orgID string, items []item, now time.Time) (*drafts, error) {
	ds := &drafts{sch: sch, by: make(map[string]*draft, len(items))}
	var order []*draft
	for _, it := range items {
		d := ds.by[string(it.index)]
		if d == nil {
			pd, err := newPending(orgID, now)
			if err != nil {
				ds.discard()
				return nil, err
			}
			pd.index = it.index
			d = &draft{pd: pd}
			ds.by[string(it.index)] = d
			order = append(order, d)
		}
		if g := applyItem(d.pd, it, orgID, now); g != nil {
			d.grants = append(d.grants, *g)
		}
	}
	for _, d := range order {
		row, err := toRow(d.pd.aead, sch, &d.pd.c, d.pd.index)
		if err != nil {
			ds.discard()
			return nil, err
		}
		d.pd.sealed = &row
	}
	return ds, nil
}

// take returns the draft for an address, or nil.
func (ds *drafts) take(index []byte) *draft {
	if ds == nil {
		return nil
	}
	d := ds.by[string(index)]
	delete(ds.by, string(index))
	return d
}

// discard clears the keys of the drafts not taken.
func (ds *drafts) discard() {
	if ds == nil {
		return
	}
	for k, d := range ds.by {
		clear(d.pd.raw)
		delete(ds.by, k)
	}
}

// usableWith reports whether drafts sealed under ds.sch may be written
// under sch: the same fields, tags, types, PHI marks and options. A field
// added, removed or changed in between sends the batch down the ordinary
// path.
func (ds *drafts) usableWith(sch *Schema) bool {
	return ds != nil && slices.EqualFunc(ds.sch.Fields, sch.Fields, func(a, b Field) bool {
		return a.Key == b.Key && a.Label == b.Label && a.Type == b.Type && a.PHI == b.PHI &&
			a.Tag == b.Tag && a.BuiltIn == b.BuiltIn && slices.Equal(a.Options, b.Options)
	})
}

// newPending starts a new contact with a fresh key.
func newPending(orgID string, now time.Time) (*pending, error) {
	raw, aead, err := newKey()
	if err != nil {
		return nil, err
	}
	c := Contact{ID: id.New("con"), OrgID: orgID, Status: Subscribed, CreatedAt: now}
	return &pending{c: c, aead: aead, raw: raw, isNew: true, status: Subscribed}, nil
}

// applyItem applies one item to its contact: the fields it sets and the
// grant it records, returned for insertion (nil when it records none).
func applyItem(pd *pending, it item, orgID string, now time.Time) *store.ConsentRow {
	it.p.apply(&pd.c)
	pd.c.UpdatedAt = now
	if it.consent == nil {
		return nil
	}
	g := *it.consent
	g.ID, g.ContactID = id.New("cns"), pd.c.ID
	pd.c.Consent = g.summary()
	pd.granted = true
	row := g.row(orgID, now)
	return &row
}
