package portal

import (
	"context"
	"fmt"
	"mime"
	"strconv"
	"strings"
	"time"

	"github.com/carepost/carepost/internal/audit"
	"github.com/carepost/carepost/internal/message"
	"github.com/carepost/carepost/internal/outbox"
	"github.com/carepost/carepost/internal/store"
	"github.com/carepost/carepost/internal/webhook"
)

// Content is a portal message as the read page shows it. HTML is already
// sanitized; Text is plain (the page escapes it).
type Content struct {
	Org         string
	From        string
	Subject     string
	Date        time.Time
	HTML        string
	Text        string
	Attachments []AttachmentInfo
	ExpiresAt   time.Time
	// Replies left before the reply limit.
	RepliesLeft int
}

// AttachmentInfo describes one attachment; Index names it for Download.
type AttachmentInfo struct {
	Index int
	Name  string
	Type  string
	Size  int
}

// Attachment is a downloaded attachment.
type Attachment struct {
	Name, Type string
	Content    []byte
}

// maxReplies bounds the replies of one portal message.
const maxReplies = 20

// Read shows the session's message. The read is audited (portal.read,
// actor the recipient) in a transaction that commits before anything is
// returned — an unaudited read is refused — and the first read is the
// message.opened event.
func (s *Service) Read(ctx context.Context, sess Session) (Content, error) {
	it, msg, parsed, err := s.open(ctx, sess)
	if err != nil {
		return Content{}, err
	}
	err = s.deps.DB.Tx(ctx, func(tx *store.Tx) error {
		first, err := store.SetPortalOpened(ctx, tx, it.ID, s.now())
		if err != nil {
			return err
		}
		if first {
			if err := s.record(ctx, tx, it, webhook.EventOpened, map[string]any{"proof": sess.Proof}); err != nil {
				return err
			}
		}
		return s.appendAudit(ctx, tx, it, recipientActor(it.RecipientID), "portal.read", audit.Success,
			map[string]string{"session_id": sess.ID, "proof": sess.Proof})
	})
	if err != nil {
		return Content{}, err
	}
	c := Content{Subject: parsed.Subject, Date: msg.CreatedAt, Text: parsed.Text, ExpiresAt: it.ExpiresAt,
		RepliesLeft: max(maxReplies-it.Replies, 0)}
	if parsed.HTML != "" {
		c.HTML = NewSanitizer().Sanitize(parsed.HTML)
	}
	if len(parsed.From) > 0 {
		c.From = parsed.From[0].String()
	}
	if c.Org, err = s.orgName(ctx, s.deps.DB.Reader(), it.OrgID); err != nil {
		return Content{}, err
	}
	for i, a := range parsed.Attachments {
		c.Attachments = append(c.Attachments, AttachmentInfo{Index: i, Name: attachmentName(a, i), Type: mediaType(a.ContentType), Size: len(a.Content)})
	}
	return c, nil
}

// Download returns one attachment of the session's message, after
// auditing the read (portal.download) and recording message.downloaded.
func (s *Service) Download(ctx context.Context, sess Session, index int) (Attachment, error) {
	it, _, parsed, err := s.open(ctx, sess)
	if err != nil {
		return Attachment{}, err
	}
	if index < 0 || index >= len(parsed.Attachments) {
		return Attachment{}, ErrNotFound
	}
	a := parsed.Attachments[index]
	err = s.deps.DB.Tx(ctx, func(tx *store.Tx) error {
		if err := s.record(ctx, tx, it, webhook.EventDownloaded, map[string]any{"attachment": index}); err != nil {
			return err
		}
		return s.appendAudit(ctx, tx, it, recipientActor(it.RecipientID), "portal.download", audit.Success,
			map[string]string{"session_id": sess.ID, "attachment": strconv.Itoa(index)})
	})
	if err != nil {
		return Attachment{}, err
	}
	return Attachment{Name: attachmentName(a, index), Type: mediaType(a.ContentType), Content: a.Content}, nil
}

// open loads and parses the session's message, refusing an item that is
// gone.
func (s *Service) open(ctx context.Context, sess Session) (store.PortalItemRow, store.MessageRow, *message.Parsed, error) {
	q := s.deps.DB.Reader()
	it, err := s.sessionItem(ctx, q, sess)
	if err != nil {
		return it, store.MessageRow{}, nil, err
	}
	msg, err := store.GetMessage(ctx, q, it.OrgID, it.MessageID)
	if err != nil {
		return it, msg, nil, err
	}
	raw, err := outbox.OpenContent(ctx, s.deps.Keys, q, msg.OrgID, msg.ID, msg.Content)
	if err != nil {
		return it, msg, nil, fmt.Errorf("open message: %w", err)
	}
	parsed, err := message.Inspect(raw, message.Limits{})
	if err != nil {
		return it, msg, nil, fmt.Errorf("parse message: %w", err)
	}
	return it, msg, parsed, nil
}

// attachmentName is the name to show and to download as: the sender's
// file name without directories or control characters, or a generic one.
func attachmentName(a message.Part, i int) string {
	name := a.Filename
	if j := strings.LastIndexAny(name, `/\`); j >= 0 {
		name = name[j+1:]
	}
	name = strings.Trim(headerText(name, 150), ". ")
	if name == "" {
		name = "attachment-" + strconv.Itoa(i+1)
		if exts, _ := mime.ExtensionsByType(mediaType(a.ContentType)); len(exts) > 0 {
			name += exts[0]
		}
	}
	return name
}

// mediaType is the part's declared type when it parses, else
// application/octet-stream.
func mediaType(t string) string {
	if mt, _, err := mime.ParseMediaType(t); err == nil && strings.Contains(mt, "/") {
		return mt
	}
	return "application/octet-stream"
}
