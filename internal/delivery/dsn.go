package delivery

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/carepost/carepost/internal/message"
	"github.com/carepost/carepost/internal/outbox"
	"github.com/carepost/carepost/internal/store"
)

// submitDSNs sends the sender of each message that asked for one (RFC
// 3461, mail submitted over SMTP) one delivery status notification (RFC
// 3464) listing its recipients that bounced or failed in this flush. It
// runs before the outcomes are written: a crash in between repeats the
// attempt, and the idempotency key (message and recipient set) keeps the
// repeat from sending a second notification. A notification never answers
// a notification (RFC 3464 section 2, RFC 5321 section 4.5.5: it has a
// null reverse path and comes from the system).
func (s *Service) submitDSNs(ctx context.Context, ws []write, now time.Time) {
	if s.submit == nil {
		return
	}
	var order []string
	byMsg := map[string][]write{}
	for _, w := range ws {
		m := w.res.msg
		final := w.out.State == outbox.StateBounced || w.out.State == outbox.StateFailed
		if !final || !m.DSN || m.MailFrom == "" || m.Source == string(outbox.SourceSystem) {
			continue
		}
		if byMsg[m.ID] == nil {
			order = append(order, m.ID)
		}
		byMsg[m.ID] = append(byMsg[m.ID], w)
	}
	for _, id := range order {
		if err := s.submitDSN(ctx, byMsg[id], now); err != nil {
			s.log.Warn("delivery status notification not submitted", "message", id, "error", err)
		}
	}
}

func (s *Service) submitDSN(ctx context.Context, ws []write, now time.Time) error {
	m := ws[0].res.msg
	raw, err := outbox.OpenContent(ctx, s.deps.Keys, s.deps.DB.Reader(), m.OrgID, m.ID, m.Content)
	if err != nil {
		return err
	}
	var rcpts []message.DSNRecipient
	var ids []string
	for _, w := range ws {
		r := message.DSNRecipient{FinalRecipient: w.res.r.email, Action: message.ActionFailed,
			Status: dsnStatus(w.out), LastAttemptDate: now}
		if rc := w.res.v.receipt; rc != nil {
			r.RemoteMTA = rc.MX
		}
		if w.out.LastCode != 0 {
			// Codes only: the server's text may name other people.
			r.DiagnosticCode = strings.TrimSpace("smtp; " + strconv.Itoa(w.out.LastCode) + " " + w.out.LastEnhanced)
		}
		rcpts = append(rcpts, r)
		ids = append(ids, w.res.r.row.ID)
	}
	dsn, err := message.BuildDSN(message.DSNParams{
		ReportingMTA: s.opts.LocalName, ArrivalDate: m.CreatedAt, Recipients: rcpts,
		OriginalHeaders: raw, // BuildDSN keeps the header only: the body may carry PHI
		From:            message.Address{Name: "Mail Delivery System", Email: "mailer-daemon@" + m.FromDomain},
		To:              message.Address{Email: m.MailFrom}, Date: now,
	})
	if err != nil {
		return err
	}
	slices.Sort(ids)
	sum := sha256.Sum256([]byte(m.ID + ":" + strings.Join(ids, ",")))
	_, err = s.submit.Submit(ctx, outbox.Submission{
		OrgID: m.OrgID, Actor: deliveryActor, SenderUserID: m.SenderUserID, Source: outbox.SourceSystem,
		Raw: dsn, Rcpts: []string{m.MailFrom}, // MailFrom empty: the null reverse path
		IdempotencyKey: "dsn:" + m.ID + ":" + hex.EncodeToString(sum[:8]), RequestHash: sum[:],
	})
	return err
}

// dsnStatus is the RFC 3463 status a notification reports: the server's
// permanent code, 5.4.7 for an expired lifetime, else 5.0.0.
func dsnStatus(o store.RecipientOutcome) string {
	switch {
	case o.State == outbox.StateFailed:
		return "5.4.7"
	case strings.HasPrefix(o.LastEnhanced, "5."):
		return o.LastEnhanced
	}
	return "5.0.0"
}
