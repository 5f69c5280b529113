package campaign

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/carepost/carepost/internal/contact"
	"github.com/carepost/carepost/internal/message"
	"github.com/carepost/carepost/internal/outbox"
	"github.com/carepost/carepost/internal/policy"
	"github.com/carepost/carepost/internal/store"
	"github.com/carepost/carepost/internal/template"
	"github.com/carepost/carepost/internal/tracking"
)

// sender is what every message of one campaign run shares: the compiled
// template, the organization's tracking issuer, the campaign's link table.
type sender struct {
	s        *Service
	c        store.CampaignRow
	compiled *template.Compiled
	issuer   *tracking.Issuer
	links    *tracking.LinkTable
	// keys answers the policy's key questions for the batch's recipients
	// (Deps.Keys); nil: the policy engine asks its directory.
	keys policy.KeyDirectory
}

func (s *Service) newSender(ctx context.Context, r store.CampaignRow) (*sender, error) {
	compiled, _, err := s.deps.Templates.Compiled(ctx, r.OrgID, r.TemplateID, r.TemplateVersion)
	if err != nil {
		return nil, fmt.Errorf("template %s v%d: %w", r.TemplateID, r.TemplateVersion, err)
	}
	issuer, err := s.deps.Tracking.Issuer(ctx, r.OrgID)
	if err != nil {
		return nil, err
	}
	links, err := s.linkTable(ctx, r.OrgID, r.ID, false)
	if err != nil {
		return nil, err
	}
	if err := s.deps.Outbox.EnsureOrg(ctx, r.OrgID); err != nil {
		return nil, err
	}
	return &sender{s: s, c: r, compiled: compiled, issuer: issuer, links: links}, nil
}

// errSkip carries a per-contact reason out of message.
type errSkip struct{ reason string }

func (e errSkip) Error() string { return "skip: " + e.reason }

// message renders the campaign for one contact and prepares it through the
// outbox: the policy decides each message on its content as any other.
// Tracking — click redirects and the open pixel — is only for a message
// whose first method is ordinary email (verified or opportunistic TLS).
// Most are, so the tracked message is prepared first; when the policy
// sends it by the portal or end-to-end encryption instead, the message is
// prepared again as rendered, untracked, and decided again on that content
// (whatever that decision is, the message goes without tracking). Every
// message carries List-Unsubscribe and List-Unsubscribe-Post (RFC 8058),
// which DKIM signs.
func (sd *sender) message(ctx context.Context, rc store.CampaignRecipient, c contact.Contact, now time.Time) (*outbox.Prepared, error) {
	rcpt := tracking.Recipient{Issuer: sd.issuer, CampaignID: sd.c.ID, ContactID: c.ID, ListID: rc.ListID, Method: policy.VerifiedTLS}
	headers, err := rcpt.Headers()
	if err != nil {
		return nil, err
	}
	data := template.NewData(templateContact(c), now, template.Links{Unsubscribe: rcpt.UnsubscribeURL(), Preferences: rcpt.PreferencesURL()})
	out, err := sd.compiled.Render(&data)
	if err != nil {
		return nil, errSkip{SkipRenderFailed}
	}
	html, text := out.HTML, out.Text
	if sd.links.Len() >= MaxLinks {
		// A link personalized per contact would grow the table without
		// bound: past MaxLinks, messages go untracked.
		return sd.prepare(ctx, c, out.Subject, html, text, headers)
	}
	if html != "" {
		if html, err = tracking.Rewrite(html, rcpt, sd.links); err != nil {
			return nil, err
		}
	}
	if text != "" {
		if text, err = tracking.RewriteText(text, rcpt, sd.links); err != nil {
			return nil, err
		}
	}
	p, err := sd.prepare(ctx, c, out.Subject, html, text, headers)
	if err != nil {
		return nil, err
	}
	if ds := p.Decisions(); len(ds) == 1 && len(ds[0].Methods) > 0 && tracking.Enabled(ds[0].Methods[0]) {
		return p, nil
	}
	return sd.prepare(ctx, c, out.Subject, out.HTML, out.Text, headers)
}

// prepare hands one contact's message to the outbox's Prepare.
func (sd *sender) prepare(ctx context.Context, c contact.Contact, subject, html, text string, headers map[string]string) (*outbox.Prepared, error) {
	d := &message.Draft{From: message.Address{Email: sd.c.FromEmail, Name: sd.c.FromName},
		To:      []message.Address{{Email: c.Email, Name: strings.TrimSpace(c.FirstName + " " + c.LastName)}},
		Subject: subject, HTML: html, Text: text, Headers: headers}
	if sd.c.ReplyTo != "" {
		d.ReplyTo = []message.Address{{Email: sd.c.ReplyTo}}
	}
	p, err := sd.s.deps.Outbox.Prepare(ctx, outbox.Submission{OrgID: sd.c.OrgID, Actor: engineActor, Source: outbox.SourceCampaign,
		Draft: d, Security: outbox.SecurityAuto, TLSOnly: sd.c.Security == string(SecurityTLSOnly), Keys: sd.keys,
		Tags: []string{"campaign"}, Metadata: map[string]string{"campaign_id": sd.c.ID, "contact_id": c.ID}})
	var fe *message.FieldError
	var fes message.FieldErrors
	switch {
	case errors.As(err, &fes), errors.As(err, &fe):
		// The only per-contact input is the address (the rendered parts
		// are bounded by the template's lint and limits).
		return nil, errSkip{SkipInvalidAddress}
	case err != nil:
		return nil, err
	}
	return p, nil
}

// templateContact is what a template sees of a contact. Calendar dates
// become template.Date, which shows the same day in every timezone.
func templateContact(c contact.Contact) template.Contact {
	fields := make(map[string]any, len(c.Fields))
	for k, v := range c.Fields {
		if v.Type == contact.TypeDate {
			fields[k] = template.DateOf(v.Date.UTC())
			continue
		}
		fields[k] = v.Any()
	}
	return template.Contact{ID: c.ID, Email: c.Email, FirstName: c.FirstName, LastName: c.LastName, Phone: c.Phone,
		Timezone: c.Timezone, Locale: c.Locale, Fields: fields}
}

// MaxLinks bounds a campaign's link table, which holds one entry per
// distinct tracked URL and lives in memory while the campaign sends: a
// link personalized with a per-contact value (an id) would otherwise add
// one per contact. Messages rendered once the table is full go without
// tracking.
const MaxLinks = 10000

// linkEntry is a campaign's link table shared by its batches on this node.
type linkEntry struct{ table *tracking.LinkTable }

// linkTable returns the campaign's link table, loading it from the
// database the first time (or again with reload, after another node took
// an index first).
func (s *Service) linkTable(ctx context.Context, orgID, campaignID string, reload bool) (*tracking.LinkTable, error) {
	s.mu.Lock()
	e, ok := s.links[campaignID]
	s.mu.Unlock()
	if ok && !reload {
		return e.table, nil
	}
	t, err := s.deps.Tracking.LinkTable(ctx, orgID, campaignID)
	if err != nil {
		return nil, err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if e, ok := s.links[campaignID]; ok && !reload {
		return e.table, nil
	}
	if len(s.links) >= 1024 {
		clear(s.links)
	}
	s.links[campaignID] = &linkEntry{table: t}
	return t, nil
}

func (s *Service) forgetLinks(campaignID string) {
	s.mu.Lock()
	delete(s.links, campaignID)
	s.mu.Unlock()
}
