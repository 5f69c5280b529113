package tracking

import (
	"context"
	"errors"
	"fmt"

	"github.com/carepost/carepost/internal/event"
	"github.com/carepost/carepost/internal/store"
	"github.com/carepost/carepost/internal/webhook"
)

// Open records an open from the pixel token. A token that does not verify
// is ErrInvalid and records nothing.
func (s *Service) Open(ctx context.Context, token string, c Client) error {
	t, err := s.verify(ctx, token, KindOpen)
	if err != nil {
		return err
	}
	return s.engage(ctx, t, c)
}

// Click records a click and returns the link's destination, from the
// campaign's link table only. A token that does not verify, or names a
// link the table does not have, is ErrInvalid and records nothing.
func (s *Service) Click(ctx context.Context, token string, c Client) (string, error) {
	t, err := s.verify(ctx, token, KindClick)
	if err != nil {
		return "", err
	}
	q := s.deps.DB.Reader()
	row, err := store.GetTrackingLink(ctx, q, t.OrgID, t.CampaignID, t.Link)
	if errors.Is(err, store.ErrNotFound) {
		return "", ErrInvalid
	}
	if err != nil {
		return "", err
	}
	u, err := s.deps.Keys.Open(ctx, q, LinkAAD(t.OrgID, row.ID), row.URL)
	if err != nil {
		return "", fmt.Errorf("open link: %w", err)
	}
	if err := s.engage(ctx, t, c); err != nil {
		// The person still gets where they were going; the count is lost.
		s.deps.Log.Error("record click", "org_id", t.OrgID, "campaign_id", t.CampaignID, "err", err)
	}
	return string(u), nil
}

// engage counts an open or click and records its event in one
// (group-committed) transaction.
func (s *Service) engage(ctx context.Context, t Token, c Client) error {
	now := s.opts.Clock()
	rule := s.detect.Classify(t.Kind, c, now.Sub(t.IssuedAt))
	e := store.Engagement{OrgID: t.OrgID, CampaignID: t.CampaignID, ContactID: t.ContactID, Click: t.Kind == KindClick,
		Link: t.Link, Machine: rule != "", At: now}
	data := map[string]any{"campaign_id": t.CampaignID, "contact_id": t.ContactID, "machine": rule != "", "via": "pixel"}
	typ := webhook.EventOpened
	if e.Click {
		typ, data["link"], data["via"] = webhook.EventClicked, t.Link, "redirect"
	}
	if rule != "" {
		data["machine_rule"] = rule
	}
	return s.write(ctx, func(tx *store.Tx) error {
		first, err := store.RecordEngagement(ctx, tx, e)
		if err != nil {
			return err
		}
		data["first"] = first
		return s.record(ctx, tx, event.Event{OrgID: t.OrgID, Type: typ, Data: data})
	})
}

func (s *Service) record(ctx context.Context, tx *store.Tx, ev event.Event) error {
	if s.deps.Events == nil {
		return nil
	}
	return s.deps.Events.Record(ctx, tx, ev)
}

// Unsubscribe honours an unsubscribe token: the contact leaves the
// token's list (all marketing mail when it names none). It is idempotent:
// the first call records the message.unsubscribed event and the report
// count, later calls change nothing and succeed.
func (s *Service) Unsubscribe(ctx context.Context, token, source string) (Token, error) {
	t, err := s.verify(ctx, token, KindUnsubscribe)
	if err != nil {
		return Token{}, err
	}
	if err := s.deps.Subscriptions.Unsubscribe(ctx, t.OrgID, t.ContactID, t.ListID, source); err != nil {
		return Token{}, fmt.Errorf("unsubscribe: %w", err)
	}
	return t, s.mark(ctx, t, "unsubscribed", webhook.EventUnsubscribed, source)
}

// Complained records a spam complaint about a campaign's message to a
// contact (from a feedback loop) and unsubscribes the contact from all
// marketing mail, once.
func (s *Service) Complained(ctx context.Context, orgID, campaignID, contactID string) error {
	if err := s.deps.Subscriptions.Unsubscribe(ctx, orgID, contactID, "", SourceComplaint); err != nil {
		return fmt.Errorf("complaint: %w", err)
	}
	t := Token{OrgID: orgID, CampaignID: campaignID, ContactID: contactID}
	return s.mark(ctx, t, "complained", webhook.EventComplained, SourceComplaint)
}

func (s *Service) mark(ctx context.Context, t Token, what, typ, source string) error {
	return s.deps.DB.Tx(ctx, func(tx *store.Tx) error {
		first, err := store.MarkTrackingRecipient(ctx, tx, t.OrgID, t.CampaignID, t.ContactID, what, s.opts.Clock())
		if err != nil || !first {
			return err
		}
		kind := map[string]string{"unsubscribed": "unsubscribe", "complained": "complaint"}[what]
		if err := store.AddTrackingCounter(ctx, tx, t.OrgID, t.CampaignID, kind, -1, 1, 0, 1); err != nil {
			return err
		}
		return s.record(ctx, tx, event.Event{OrgID: t.OrgID, Type: typ, Data: map[string]any{
			"campaign_id": t.CampaignID, "contact_id": t.ContactID, "list_id": t.ListID, "source": source}})
	})
}
