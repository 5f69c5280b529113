package keydir

import (
	"context"
	"errors"

	"github.com/carepost/carepost/internal/store"
)

// KeySet answers HasValidKey for addresses read together beforehand
// (Prefetch): the policy engine asks for every recipient of every campaign
// message whether an e2e key could be used, and almost every answer is no.
// Asked one at a time, that was a blind index and a directory read per
// message (about 4% of a campaign message's CPU); a KeySet reads the
// batch's addresses in one query and answers "no key" from memory for every
// address no key is bound to.
//
// Everything else goes to the Service as before: an address with a key
// bound (the key is opened and checked now, as HasValidKey does), an
// address or organization the set was not read for, and every address
// when Web Key Directory lookups are on (a recipient without a directory
// key may publish one). The answer can be as old as the set: a key bound
// after Prefetch is not seen by the messages decided from it, as if it had
// been uploaded a moment later.
type KeySet struct {
	s   *Service
	org string
	// none holds the normalized addresses that have no key bound.
	none map[string]bool
}

// Prefetch reads which of emails have a key bound in org's directory.
func (s *Service) Prefetch(ctx context.Context, orgID string, emails []string) (*KeySet, error) {
	ks := &KeySet{s: s, org: orgID}
	if s.wkd != nil || len(emails) == 0 {
		return ks, nil
	}
	q := s.deps.DB.Reader()
	addrs := make([]string, len(emails))
	for i, e := range emails {
		addrs[i] = normalize(e)
	}
	indexes := make([][]byte, len(addrs))
	var bound map[string]bool // by index; nil: nothing indexed, so no key anywhere
	for i, a := range addrs {
		ix, err := s.deps.Index.Lookup(ctx, q, orgID, "email", a)
		if errors.Is(err, store.ErrNotFound) {
			indexes = nil
			break
		}
		if err != nil {
			return nil, err
		}
		indexes[i] = ix
	}
	if indexes != nil {
		var err error
		if bound, err = store.AddressesWithRecipientKeys(ctx, q, orgID, indexes); err != nil {
			return nil, err
		}
	}
	ks.none = make(map[string]bool, len(addrs))
	for i, a := range addrs {
		if indexes == nil || !bound[string(indexes[i])] {
			ks.none[a] = true
		}
	}
	return ks, nil
}

// HasValidKey is Service.HasValidKey, answered from the set where it can.
func (k *KeySet) HasValidKey(ctx context.Context, orgID, email string) (kind string, ok bool, err error) {
	if orgID == k.org && k.none[normalize(email)] {
		return "", false, nil
	}
	return k.s.HasValidKey(ctx, orgID, email)
}
