package api

import (
	"encoding/json"
	"errors"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/carepost/carepost/internal/access"
	"github.com/carepost/carepost/internal/auth"
	"github.com/carepost/carepost/internal/message"
	"github.com/carepost/carepost/internal/outbox"
	"github.com/carepost/carepost/internal/store"
	"github.com/carepost/carepost/internal/webauth"
)

// Who may see what about messages (docs/ACCESS.md, data-level limits):
// delivery records to senders (their own), holders of messages:read_all,
// auditors and report readers; recipient addresses and content only to the
// message's sender and holders of messages:read_all.

func canSeeRecords(p auth.Principal) bool {
	return p.Perms.Has(access.MessagesSend) || p.Perms.Has(access.MessagesReadAll) || p.Perms.Has(access.AuditRead) || p.Perms.Has(access.ReportsRead)
}

func seesAll(p auth.Principal) bool {
	return p.Perms.Has(access.MessagesReadAll) || p.Perms.Has(access.AuditRead) || p.Perms.Has(access.ReportsRead)
}

type recipientView struct {
	ID           string          `json:"id"`
	Email        string          `json:"email"`
	Kind         string          `json:"kind"`
	State        string          `json:"state"`
	Level        string          `json:"level"`
	Rule         string          `json:"rule"`
	Attempts     int             `json:"attempts"`
	LastCode     int             `json:"last_code,omitempty"`
	LastEnhanced string          `json:"last_enhanced,omitempty"`
	Reason       string          `json:"reason,omitempty"`
	Receipt      json.RawMessage `json:"receipt,omitempty"`
	// Policy is the decision's explanation: the same reasons POST
	// /policy/explain gives, as recorded when the message was accepted.
	Policy     *recipientPolicyView `json:"policy,omitempty"`
	UpdatedAt  time.Time            `json:"updated_at"`
	FinishedAt *time.Time           `json:"finished_at"`
}

type recipientPolicyView struct {
	Methods        []string        `json:"methods"`
	Drop           bool            `json:"drop"`
	SubjectFlagged bool            `json:"subject_flagged"`
	Reasons        json.RawMessage `json:"reasons"`
}

func viewRecipientPolicy(p store.RecipientPolicy) *recipientPolicyView {
	v := &recipientPolicyView{Methods: []string{}, Drop: p.Drop, SubjectFlagged: p.SubjectFlagged, Reasons: json.RawMessage(p.Reasons)}
	if p.Methods != "" {
		v.Methods = strings.Split(p.Methods, ",")
	}
	return v
}

type messageView struct {
	ID         string          `json:"id"`
	CreatedAt  time.Time       `json:"created_at"`
	ExpiresAt  time.Time       `json:"expires_at"`
	Source     string          `json:"source"`
	From       string          `json:"from"`
	Security   string          `json:"security"`
	PHI        bool            `json:"phi"`
	RequireTLS bool            `json:"require_tls"`
	Size       int64           `json:"size"`
	Tags       json.RawMessage `json:"tags"`
	Metadata   json.RawMessage `json:"metadata"`
	States     map[string]int  `json:"states"`
	Recipients []recipientView `json:"recipients,omitempty"`
}

func (s *Server) messageView(r *http.Request, p auth.Principal, m store.MessageRow, withRecipients bool) (messageView, error) {
	v := messageView{ID: m.ID, CreatedAt: m.CreatedAt, ExpiresAt: m.ExpiresAt, Source: m.Source, From: m.MailFrom,
		Security: m.Security, PHI: m.PHI, RequireTLS: m.RequireTLS, Size: m.Size, Tags: json.RawMessage(m.Tags),
		Metadata: json.RawMessage(m.Metadata), States: map[string]int{}}
	rows, err := store.RecipientsOfMessage(r.Context(), s.deps.DB.Reader(), m.OrgID, m.ID)
	if err != nil {
		return v, err
	}
	full := access.CanReadMessage(p.Perms, p.UserID, m.SenderUserID)
	var policies map[string]store.RecipientPolicy
	if withRecipients {
		if policies, err = store.RecipientPolicies(r.Context(), s.deps.DB.Reader(), m.OrgID, m.ID); err != nil {
			return v, err
		}
	}
	for _, rc := range rows {
		v.States[rc.State]++
		if !withRecipients {
			continue
		}
		email := "•••@" + rc.Domain
		if full {
			b, err := s.deps.Keys.Open(r.Context(), s.deps.DB.Reader(), outbox.AddressAAD(m.OrgID, rc.ID), rc.Address)
			if err != nil {
				return v, err
			}
			email = string(b)
		}
		rv := recipientView{ID: rc.ID, Email: email, Kind: rc.Kind, State: rc.State, Level: rc.Level, Rule: rc.Rule,
			Attempts: rc.Attempts, LastCode: rc.LastCode, LastEnhanced: rc.LastEnhanced, Reason: rc.LastReason,
			UpdatedAt: rc.UpdatedAt, FinishedAt: timePtr(rc.FinishedAt)}
		if rc.Receipt != "" {
			rv.Receipt = json.RawMessage(rc.Receipt)
		}
		if pol, ok := policies[rc.ID]; ok {
			rv.Policy = viewRecipientPolicy(pol)
		}
		v.Recipients = append(v.Recipients, rv)
	}
	return v, nil
}

// loadMessage finds a message the principal may see; any other is 404.
func (s *Server) loadMessage(r *http.Request, p auth.Principal) (store.MessageRow, error) {
	if !canSeeRecords(p) {
		return store.MessageRow{}, auth.ErrForbidden
	}
	m, err := store.GetMessage(r.Context(), s.deps.DB.Reader(), p.OrgID, r.PathValue("id"))
	if err != nil {
		return m, err
	}
	if !seesAll(p) && m.SenderUserID != p.UserID {
		return store.MessageRow{}, store.ErrNotFound
	}
	return m, nil
}

func (s *Server) getMessage(w http.ResponseWriter, r *http.Request, id webauth.Identity) {
	m, err := s.loadMessage(r, id.Principal)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	v, err := s.messageView(r, id.Principal, m, true)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	s.ok(w, 0, v)
}

type contentView struct {
	ID          string           `json:"id"`
	Subject     string           `json:"subject"`
	Text        string           `json:"text"`
	HTML        string           `json:"html"`
	Attachments []attachmentInfo `json:"attachments"`
}

type attachmentInfo struct {
	Filename    string `json:"filename"`
	ContentType string `json:"content_type"`
	Size        int    `json:"size"`
}

// getMessageContent opens a message for its sender or a holder of
// messages:read_all, and audits the read.
func (s *Server) getMessageContent(w http.ResponseWriter, r *http.Request, id webauth.Identity) {
	p := id.Principal
	m, err := s.loadMessage(r, p)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	if !access.CanReadMessage(p.Perms, p.UserID, m.SenderUserID) {
		s.fail(w, r, auth.ErrForbidden)
		return
	}
	raw, err := outbox.OpenContent(r.Context(), s.deps.Keys, s.deps.DB.Reader(), m.OrgID, m.ID, m.Content)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	parsed, err := message.Inspect(raw, message.Limits{})
	if err != nil {
		s.fail(w, r, err)
		return
	}
	if err := s.readAudit(r, p, m.ID); err != nil {
		s.fail(w, r, err) // an unaudited read is refused
		return
	}
	v := contentView{ID: m.ID, Subject: parsed.Subject, Text: parsed.Text, HTML: parsed.HTML, Attachments: []attachmentInfo{}}
	for _, a := range parsed.Attachments {
		v.Attachments = append(v.Attachments, attachmentInfo{Filename: a.Filename, ContentType: a.ContentType, Size: len(a.Content)})
	}
	s.ok(w, 0, v)
}

func (s *Server) listMessages(w http.ResponseWriter, r *http.Request, id webauth.Identity) {
	p := id.Principal
	if !canSeeRecords(p) {
		s.fail(w, r, auth.ErrForbidden)
		return
	}
	q := r.URL.Query()
	f := store.MessageFilter{State: q.Get("status"), Before: q.Get("cursor"), Limit: 50}
	if f.State != "" && !validState(f.State) {
		s.fail(w, r, &auth.InputError{Field: "status", Msg: "must be queued, sending, deferred, delivered, bounced, failed, held or portal"})
		return
	}
	if v := q.Get("since"); v != "" {
		t, err := time.Parse(time.RFC3339, v)
		if err != nil {
			s.fail(w, r, &auth.InputError{Field: "since", Msg: "must be an RFC 3339 time"})
			return
		}
		f.Since = t
	}
	if v := q.Get("limit"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 || n > 200 {
			s.fail(w, r, &auth.InputError{Field: "limit", Msg: "must be 1 to 200"})
			return
		}
		f.Limit = n
	}
	if !seesAll(p) {
		f.SenderUserID = p.UserID
	}
	rows, err := store.ListMessages(r.Context(), s.deps.DB.Reader(), p.OrgID, f)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	out := make([]messageView, 0, len(rows))
	for _, m := range rows {
		v, err := s.messageView(r, p, m, false)
		if err != nil {
			s.fail(w, r, err)
			return
		}
		out = append(out, v)
	}
	next := ""
	if len(rows) == f.Limit {
		next = rows[len(rows)-1].ID
	}
	s.ok(w, 0, map[string]any{"messages": out, "next_cursor": next})
}

func validState(s string) bool {
	return strings.Contains(" queued sending deferred delivered bounced failed held portal ", " "+s+" ")
}

func (s *Server) listEvents(w http.ResponseWriter, r *http.Request, id webauth.Identity) {
	p := id.Principal
	if !seesAll(p) && !p.Perms.Has(access.MessagesSend) {
		s.fail(w, r, auth.ErrForbidden)
		return
	}
	q := r.URL.Query()
	limit := 100
	if v := q.Get("limit"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 || n > 1000 {
			s.fail(w, r, &auth.InputError{Field: "limit", Msg: "must be 1 to 1000"})
			return
		}
		limit = n
	}
	evs, next, more, err := s.deps.Events.After(r.Context(), s.deps.DB.Reader(), p.OrgID, q.Get("since"), q.Get("message_id"), limit)
	if errors.Is(err, store.ErrBadCursor) {
		s.fail(w, r, &auth.InputError{Field: "since", Msg: "is not a cursor this feed returned nor one of your event ids; start without it"})
		return
	}
	if err != nil {
		s.fail(w, r, err)
		return
	}
	s.ok(w, 0, map[string]any{"events": evs, "next_cursor": next, "has_more": more})
}
