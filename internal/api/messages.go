package api

import (
	"bytes"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"io"
	"net/http"

	"github.com/carepost/carepost/internal/audit"
	"github.com/carepost/carepost/internal/auth"
	"github.com/carepost/carepost/internal/message"
	"github.com/carepost/carepost/internal/outbox"
	"github.com/carepost/carepost/internal/webauth"
)

// address accepts "Name <a@b>" / "a@b" strings or {"name", "email"}.
type address struct{ message.Address }

func (a *address) UnmarshalJSON(b []byte) error {
	if len(b) > 0 && b[0] == '"' {
		var s string
		if err := json.Unmarshal(b, &s); err != nil {
			return err
		}
		parsed, err := message.ParseAddress(s)
		if err != nil {
			// Keep the raw value for Validate to report with its field.
			a.Address = message.Address{Email: s}
			return nil
		}
		a.Address = parsed
		return nil
	}
	var obj struct {
		Name  string `json:"name"`
		Email string `json:"email"`
	}
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&obj); err != nil {
		return err
	}
	a.Address = message.Address{Name: obj.Name, Email: obj.Email}
	return nil
}

type attachmentIn struct {
	Filename    string `json:"filename"`
	ContentType string `json:"content_type"`
	Content     string `json:"content"` // base64
	Inline      bool   `json:"inline"`
	ContentID   string `json:"content_id"`
}

type sendRequest struct {
	From        address           `json:"from"`
	ReplyTo     []address         `json:"reply_to"`
	To          []address         `json:"to"`
	Cc          []address         `json:"cc"`
	Bcc         []address         `json:"bcc"`
	Subject     string            `json:"subject"`
	Text        string            `json:"text"`
	HTML        string            `json:"html"`
	Attachments []attachmentIn    `json:"attachments"`
	Headers     map[string]string `json:"headers"`
	Tags        []string          `json:"tags"`
	Metadata    map[string]string `json:"metadata"`
	Security    string            `json:"security"`
	RequireTLS  bool              `json:"require_tls"`
}

func addrs(in []address) []message.Address {
	out := make([]message.Address, 0, len(in))
	for _, a := range in {
		out = append(out, a.Address)
	}
	return out
}

// readBody reads the request body once, for decoding and for the
// idempotency fingerprint.
func readBody(r *http.Request) ([]byte, error) {
	b, err := io.ReadAll(r.Body)
	if err != nil {
		return nil, jsonError(err)
	}
	return b, nil
}

func idempotencyKey(r *http.Request) (string, error) {
	k := r.Header.Get("Idempotency-Key")
	if len(k) > 255 {
		return "", &auth.InputError{Field: "Idempotency-Key", Msg: "at most 255 characters"}
	}
	for _, c := range k {
		if c < 0x21 || c > 0x7e {
			return "", &auth.InputError{Field: "Idempotency-Key", Msg: "printable ASCII without spaces only"}
		}
	}
	return k, nil
}

// submission fills what every send endpoint shares.
func submission(r *http.Request, id webauth.Identity, body []byte) (outbox.Submission, error) {
	key, err := idempotencyKey(r)
	if err != nil {
		return outbox.Submission{}, err
	}
	p := id.Principal
	sum := sha256.Sum256(append([]byte(r.URL.Path+"\n"), body...))
	return outbox.Submission{OrgID: p.OrgID, Actor: p.Actor(), SenderUserID: p.UserID, IdempotencyKey: key, RequestHash: sum[:]}, nil
}

func (s *Server) sendMessage(w http.ResponseWriter, r *http.Request, id webauth.Identity) {
	sub, err := sendSubmission(r, id)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	s.submit(w, r, sub)
}

// sendSubmission decodes a POST /messages body into a submission; POST
// /policy/explain takes the same body through it.
func sendSubmission(r *http.Request, id webauth.Identity) (outbox.Submission, error) {
	body, err := readBody(r)
	if err != nil {
		return outbox.Submission{}, err
	}
	var in sendRequest
	if err := decode(requestWithBody(r, body), &in); err != nil {
		return outbox.Submission{}, err
	}
	sub, err := submission(r, id, body)
	if err != nil {
		return outbox.Submission{}, err
	}
	d := message.Draft{From: in.From.Address, ReplyTo: addrs(in.ReplyTo), To: addrs(in.To), Cc: addrs(in.Cc), Bcc: addrs(in.Bcc),
		Subject: in.Subject, Text: in.Text, HTML: in.HTML, Headers: in.Headers, Tags: in.Tags, Metadata: in.Metadata}
	for i, a := range in.Attachments {
		content, err := base64.StdEncoding.DecodeString(a.Content)
		if err != nil {
			return outbox.Submission{}, &message.FieldError{Field: fmt.Sprintf("attachments[%d].content", i), Msg: "must be standard base64"}
		}
		d.Attachments = append(d.Attachments, message.Attachment{Filename: a.Filename, ContentType: a.ContentType,
			Content: content, Inline: a.Inline, ContentID: a.ContentID})
	}
	sub.Draft, sub.Source = &d, outbox.SourceAPI
	sub.Security, sub.RequireTLS, sub.Tags, sub.Metadata = outbox.Security(in.Security), in.RequireTLS, in.Tags, in.Metadata
	return sub, nil
}

type rawRequest struct {
	Message    string            `json:"message"` // base64 of the RFC 5322 message
	MailFrom   string            `json:"mail_from"`
	Rcpts      []string          `json:"rcpts"`
	Security   string            `json:"security"`
	RequireTLS bool              `json:"require_tls"`
	Tags       []string          `json:"tags"`
	Metadata   map[string]string `json:"metadata"`
}

func (s *Server) sendRaw(w http.ResponseWriter, r *http.Request, id webauth.Identity) {
	body, err := readBody(r)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	var in rawRequest
	if err := decode(requestWithBody(r, body), &in); err != nil {
		s.fail(w, r, err)
		return
	}
	raw, err := base64.StdEncoding.DecodeString(in.Message)
	if err != nil || len(raw) == 0 {
		s.fail(w, r, &message.FieldError{Field: "message", Msg: "must be the RFC 5322 message in standard base64"})
		return
	}
	sub, err := submission(r, id, body)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	sub.Raw, sub.MailFrom, sub.Rcpts, sub.Source = raw, in.MailFrom, in.Rcpts, outbox.SourceRaw
	sub.Security, sub.RequireTLS, sub.Tags, sub.Metadata = outbox.Security(in.Security), in.RequireTLS, in.Tags, in.Metadata
	s.submit(w, r, sub)
}

func (s *Server) submit(w http.ResponseWriter, r *http.Request, sub outbox.Submission) {
	res, err := s.deps.Outbox.Submit(r.Context(), sub)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	if res.Duplicate {
		w.Header().Set("Idempotent-Replayed", "true")
	}
	// 202: accepted and durably committed; delivery follows.
	s.ok(w, http.StatusAccepted, res)
}

func requestWithBody(r *http.Request, body []byte) *http.Request {
	c := r.Clone(r.Context())
	c.Body = io.NopCloser(bytes.NewReader(body))
	return c
}

// readAudit records that a person read message content (HIPAA
// 164.312(b)): every read of PHI is audited.
func (s *Server) readAudit(r *http.Request, p auth.Principal, messageID string) error {
	_, err := s.deps.Audit.Record(r.Context(), audit.Entry{Chain: p.OrgID, Actor: p.Actor(), Action: "message.read",
		TargetType: "message", TargetID: messageID, Outcome: audit.Success})
	return err
}
