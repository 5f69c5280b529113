package portal

import (
	"context"
	"encoding/json"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/carepost/carepost/internal/audit"
	"github.com/carepost/carepost/internal/id"
	"github.com/carepost/carepost/internal/message"
	"github.com/carepost/carepost/internal/outbox"
	"github.com/carepost/carepost/internal/policy"
	"github.com/carepost/carepost/internal/store"
	"github.com/carepost/carepost/internal/webhook"
)

// Tags of the portal's own mail. Handoff declines messages tagged as a
// notice or a code, so a notification policy holds cannot loop.
const (
	TagNotice = "portal-notice"
	TagCode   = "portal-code"
	TagReply  = "portal-reply"
)

// Handoff moves one recipient into the portal inside tx (see the package
// documentation): the item binds the recipient to the message's sealed
// content, the recipient becomes state portal with a message.held event
// and an audit entry, and the notification is submitted in tx. It is
// idempotent: a recipient already in the portal is left as it is. It
// returns ErrDeclined (the recipient stays held) when the recipient's
// methods do not include the portal or the message is the portal's own.
func (s *Service) Handoff(ctx context.Context, tx *store.Tx, orgID, messageID, recipientID string) error {
	rc, err := store.PortalRecipient(ctx, tx, orgID, messageID, recipientID)
	if err != nil {
		return fmt.Errorf("portal handoff: %w", err)
	}
	if rc.State == outbox.StatePortal {
		if _, err := store.PortalItemByRecipient(ctx, tx, orgID, recipientID); err == nil {
			return nil // handed off before: at-least-once callers
		}
	}
	msg, err := store.GetMessage(ctx, tx, orgID, messageID)
	if err != nil {
		return fmt.Errorf("portal handoff: %w", err)
	}
	pol, err := store.RecipientPolicies(ctx, tx, orgID, messageID)
	if err != nil {
		return fmt.Errorf("portal handoff: %w", err)
	}
	if reason := declineReason(msg, pol[recipientID]); reason != "" {
		return fmt.Errorf("portal handoff of %s: %s: %w", recipientID, reason, ErrDeclined)
	}
	set, err := s.settings(ctx, tx, orgID)
	if err != nil {
		return err
	}
	now := s.now()
	token, hash := newToken(LinkPrefix)
	it := store.PortalItemRow{ID: id.NewAt("ptl", now), OrgID: orgID, MessageID: messageID, RecipientID: recipientID,
		TokenHash: hash, AddressIndex: rc.AddressIndex, State: store.PortalActive, ExpiresAt: now.Add(set.Expiry), CreatedAt: now}
	if err := store.InsertPortalItem(ctx, tx, it); err != nil {
		return err
	}
	moved, err := store.MarkRecipientPortal(ctx, tx, orgID, recipientID, outbox.PortalReason, now)
	if err != nil {
		return err
	}
	if !moved {
		return fmt.Errorf("portal handoff of %s in state %s: %w", recipientID, rc.State, ErrDeclined)
	}
	if rc.Receipt == "" {
		// Handed over at submission: no attempt wrote a receipt. One
		// handed over by delivery's fallback walk already has its own,
		// naming the methods passed over.
		if err := store.SetRecipientReceipt(ctx, tx, orgID, recipientID, handoffReceipt(rc, now)); err != nil {
			return err
		}
	}
	if err := s.record(ctx, tx, it, webhook.EventHeld, map[string]any{"state": outbox.StatePortal, "level": string(policy.Portal)}); err != nil {
		return err
	}
	if err := s.appendAudit(ctx, tx, it, system, "message.portal", audit.Success,
		map[string]string{"expires_at": it.ExpiresAt.UTC().Format("2006-01-02T15:04:05Z")}); err != nil {
		return err
	}
	return s.notify(ctx, tx, msg, rc, it, token, set, pol[recipientID].SubjectFlagged)
}

// handoffReceipt is the security receipt of a recipient that went to the
// portal at submission, in the format of delivery.Receipt (the fields that
// apply: no MX host was involved, nothing left carepost).
func handoffReceipt(rc store.RecipientRow, at time.Time) string {
	b, _ := json.Marshal(struct {
		At           time.Time `json:"at"`
		Level        string    `json:"level"`
		Rule         string    `json:"rule,omitempty"`
		Method       string    `json:"method"`
		AuthorizedBy string    `json:"authorized_by"`
		TLS          string    `json:"tls"`
		Verified     bool      `json:"verified"`
		Verification string    `json:"verification"`
	}{At: at.UTC(), Level: rc.Level, Rule: rc.Rule, Method: string(policy.Portal), AuthorizedBy: "portal", TLS: "none", Verification: "none"})
	return string(b)
}

// declineReason says why a recipient may not go to the portal, or "".
func declineReason(msg store.MessageRow, pol store.RecipientPolicy) string {
	var tags []string
	_ = json.Unmarshal([]byte(msg.Tags), &tags) // written by the outbox: valid
	if msg.Source == string(outbox.SourceSystem) && (slices.Contains(tags, TagNotice) || slices.Contains(tags, TagCode)) {
		return "a portal notification is never itself portaled"
	}
	if pol.Drop || !slices.Contains(strings.Split(pol.Methods, ","), string(policy.Portal)) {
		return "policy does not allow the portal for this recipient"
	}
	return ""
}

// notify submits the notification of a new item through the outbox, in
// tx, and records its message id on the item.
func (s *Service) notify(ctx context.Context, tx *store.Tx, msg store.MessageRow, rc store.RecipientRow, it store.PortalItemRow,
	token string, set Settings, subjectFlagged bool) error {
	org, err := store.GetOrganization(ctx, tx, msg.OrgID)
	if err != nil {
		return err
	}
	to, err := s.deps.Keys.Open(ctx, tx, outbox.AddressAAD(msg.OrgID, rc.ID), rc.Address)
	if err != nil {
		return fmt.Errorf("open recipient: %w", err)
	}
	subject := ""
	if set.ShowSubject && !subjectFlagged {
		if subject, err = s.subjectOf(ctx, tx, msg); err != nil {
			return err
		}
	}
	d := noticeDraft(noticeInput{Org: org.Name, From: s.opts.NotificationFrom + "@" + msg.FromDomain, To: string(to),
		Subject: subject, Text: set.NotificationText, Link: s.opts.PublicURL + "/portal/m/" + token, Expires: it.ExpiresAt})
	res, err := s.outbox.SubmitTx(ctx, tx, outbox.Submission{OrgID: msg.OrgID, Actor: system, SenderUserID: msg.SenderUserID,
		Source: outbox.SourceSystem, Draft: &d, NonPHI: true, Tags: []string{TagNotice}, Metadata: map[string]string{"portal_id": it.ID}})
	if err != nil {
		return fmt.Errorf("submit portal notification: %w", err)
	}
	return store.SetPortalNotice(ctx, tx, msg.OrgID, it.ID, res.MessageID)
}

// subjectOf reads the original subject (only when an organization shows
// subjects in notifications).
func (s *Service) subjectOf(ctx context.Context, q store.Querier, msg store.MessageRow) (string, error) {
	raw, err := outbox.OpenContent(ctx, s.deps.Keys, q, msg.OrgID, msg.ID, msg.Content)
	if err != nil {
		return "", fmt.Errorf("open message: %w", err)
	}
	parsed, err := message.Inspect(raw, message.Limits{})
	if err != nil {
		return "", nil // an unreadable subject is left out, not guessed
	}
	return parsed.Subject, nil
}
