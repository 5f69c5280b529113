package tracking

import (
	"context"
	"fmt"
	"slices"

	"github.com/carepost/carepost/internal/webhook"
)

// Preferences is what the preference page shows: the token's contact and
// its lists, "all marketing mail" (ID "") first.
type Preferences struct {
	Token Token
	Lists []List
}

// Preferences reads the contact's lists for the page. The token's own list
// and "all marketing mail" are always there.
func (s *Service) Preferences(ctx context.Context, token string) (Preferences, error) {
	t, err := s.verify(ctx, token, KindUnsubscribe)
	if err != nil {
		return Preferences{}, err
	}
	lists, err := s.lists(ctx, t)
	if err != nil {
		return Preferences{}, err
	}
	return Preferences{Token: t, Lists: lists}, nil
}

func (s *Service) lists(ctx context.Context, t Token) ([]List, error) {
	got, err := s.deps.Subscriptions.Lists(ctx, t.OrgID, t.ContactID)
	if err != nil {
		return nil, fmt.Errorf("preferences: %w", err)
	}
	has := func(id string) bool { return slices.ContainsFunc(got, func(l List) bool { return l.ID == id }) }
	if t.ListID != "" && !has(t.ListID) {
		got = append(got, List{ID: t.ListID, Subscribed: true})
	}
	if !has("") {
		got = append(got, List{ID: "", Subscribed: true})
	}
	slices.SortStableFunc(got, func(a, b List) int {
		switch {
		case a.ID == "":
			return -1
		case b.ID == "":
			return 1
		}
		return 0
	})
	return got, nil
}

// SetPreferences applies the page's choices: for each list shown, whether
// the contact stays subscribed. Lists not shown are ignored (a request
// cannot name other lists). Leaving a list records message.unsubscribed
// the first time for this campaign, like any unsubscribe.
func (s *Service) SetPreferences(ctx context.Context, token string, subscribed map[string]bool) (Preferences, error) {
	t, err := s.verify(ctx, token, KindUnsubscribe)
	if err != nil {
		return Preferences{}, err
	}
	lists, err := s.lists(ctx, t)
	if err != nil {
		return Preferences{}, err
	}
	for _, l := range lists {
		want, ok := subscribed[l.ID]
		if !ok || want == l.Subscribed {
			continue
		}
		if want {
			err = s.deps.Subscriptions.Resubscribe(ctx, t.OrgID, t.ContactID, l.ID, SourcePreferences)
		} else {
			err = s.deps.Subscriptions.Unsubscribe(ctx, t.OrgID, t.ContactID, l.ID, SourcePreferences)
			if err == nil {
				lt := t
				lt.ListID = l.ID
				err = s.mark(ctx, lt, "unsubscribed", webhook.EventUnsubscribed, SourcePreferences)
			}
		}
		if err != nil {
			return Preferences{}, fmt.Errorf("preferences: %w", err)
		}
	}
	return s.Preferences(ctx, token)
}
