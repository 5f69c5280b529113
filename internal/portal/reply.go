package portal

import (
	"context"
	"strings"
	"unicode/utf8"

	"github.com/carepost/carepost/internal/audit"
	"github.com/carepost/carepost/internal/message"
	"github.com/carepost/carepost/internal/outbox"
	"github.com/carepost/carepost/internal/store"
	"github.com/carepost/carepost/internal/webhook"
)

// maxReplyBytes bounds the text of one reply.
const maxReplyBytes = 64 << 10

// Reply sends the recipient's reply to the original sender as a new
// message through the outbox (source portal, the recipient as actor),
// under the same policy as any message — PHI assumed — with the
// message.replied event and the portal.reply audit entry in the same
// transaction. It returns the reply's message id. The reply goes from the
// organization's notification address with the recipient's address as
// Reply-To, since only the organization's verified domains may send; it
// is threaded to the original (RFC 5322 section 3.6.4).
func (s *Service) Reply(ctx context.Context, sess Session, text string) (string, error) {
	text = strings.TrimSpace(strings.ReplaceAll(text, "\r\n", "\n"))
	switch {
	case text == "":
		return "", &InputError{Field: "text", Msg: "write a reply first"}
	case len(text) > maxReplyBytes || !utf8.ValidString(text):
		return "", &InputError{Field: "text", Msg: "a reply is at most 64 KiB of text"}
	}
	_, msg, parsed, err := s.open(ctx, sess)
	if err != nil {
		return "", err
	}
	var replyID string
	err = s.deps.DB.Tx(ctx, func(tx *store.Tx) error {
		it, err := s.sessionItem(ctx, tx, sess)
		if err != nil {
			return err
		}
		ok, err := store.CountPortalReply(ctx, tx, it.ID, maxReplies)
		if err != nil {
			return err
		}
		if !ok {
			return &InputError{Field: "text", Msg: "the reply limit for this message has been reached"}
		}
		from, err := s.recipientAddress(ctx, tx, it)
		if err != nil {
			return err
		}
		d := replyDraft(msg, parsed, s.opts.NotificationFrom+"@"+msg.FromDomain, from, text)
		res, err := s.outbox.SubmitTx(ctx, tx, outbox.Submission{OrgID: it.OrgID, Actor: recipientActor(it.RecipientID),
			SenderUserID: msg.SenderUserID, Source: outbox.SourcePortal, Draft: &d, Tags: []string{TagReply},
			Metadata: map[string]string{"portal_id": it.ID, "in_reply_to": msg.ID}})
		if err != nil {
			return err
		}
		replyID = res.MessageID
		if err := s.record(ctx, tx, it, webhook.EventReplied, map[string]any{"reply_message_id": replyID}); err != nil {
			return err
		}
		return s.appendAudit(ctx, tx, it, recipientActor(it.RecipientID), "portal.reply", audit.Success,
			map[string]string{"session_id": sess.ID, "reply_message_id": replyID})
	})
	return replyID, err
}

// replyDraft addresses a reply to the original message's author.
func replyDraft(msg store.MessageRow, parsed *message.Parsed, from, recipient, text string) message.Draft {
	to := message.Address{Email: msg.MailFrom}
	if len(parsed.From) > 0 {
		to = parsed.From[0]
	}
	subject := headerText(parsed.Subject, 900)
	if !strings.HasPrefix(strings.ToLower(subject), "re:") {
		subject = strings.TrimSpace("Re: " + subject)
	}
	d := message.Draft{
		From:    message.Address{Name: "Secure portal reply", Email: from},
		ReplyTo: []message.Address{{Email: recipient}},
		To:      []message.Address{to},
		Subject: subject,
		Text:    "Reply from the secure portal:\n\n" + text + "\n",
	}
	if mid := parsed.MessageID; mid != "" && strings.Contains(mid, "@") && len(mid) < 900 &&
		!strings.ContainsFunc(mid, func(r rune) bool { return r <= ' ' || r > '~' || r == '<' || r == '>' }) {
		d.Headers = map[string]string{"In-Reply-To": "<" + mid + ">", "References": "<" + mid + ">"}
	}
	return d
}
