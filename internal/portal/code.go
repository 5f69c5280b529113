package portal

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/carepost/carepost/internal/audit"
	"github.com/carepost/carepost/internal/id"
	"github.com/carepost/carepost/internal/outbox"
	"github.com/carepost/carepost/internal/store"
)

// codeCooldown is the least time between two codes of one item.
const codeCooldown = 30 * time.Second

// SendCode sends a new one-time code for the item a link names, by email
// to the recipient's address (through the outbox, in the transaction that
// stores the code) or by SMS (ProofSMS, after it commits). Sending is
// throttled per item (CodesPerHour, and a short cooldown) and audited.
// A new code replaces the previous one.
func (s *Service) SendCode(ctx context.Context, token, method string) error {
	if method != ProofEmail && !(method == ProofSMS && s.deps.SMS != nil) {
		return ErrUnavailable
	}
	var code, phone, org string
	var it store.PortalItemRow
	err := s.deps.DB.Tx(ctx, func(tx *store.Tx) error {
		var err error
		if it, err = s.itemByToken(ctx, tx, token); err != nil {
			return err
		}
		if err := s.usable(it); err != nil {
			return err
		}
		if method == ProofSMS && it.Phone == nil {
			return ErrUnavailable
		}
		if err := s.throttleCodes(ctx, tx, it); err != nil {
			return err
		}
		now := s.now()
		code = newCode(s.opts.CodeLength)
		c := store.PortalCodeRow{ID: id.NewAt("pcd", now), ItemID: it.ID, OrgID: it.OrgID, Channel: "email", ExpiresAt: now.Add(s.opts.CodeTTL), CreatedAt: now}
		if method == ProofSMS {
			c.Channel = "sms"
		}
		c.CodeHash = hashCode(c.ID, code)
		if err := store.InsertPortalCode(ctx, tx, c); err != nil {
			return err
		}
		if org, err = s.orgName(ctx, tx, it.OrgID); err != nil {
			return err
		}
		if method == ProofSMS {
			p, err := s.deps.Keys.Open(ctx, tx, phoneAAD(it.OrgID, it.ID), it.Phone)
			if err != nil {
				return fmt.Errorf("open phone: %w", err)
			}
			phone = string(p)
		} else if err := s.emailCode(ctx, tx, it, org, code); err != nil {
			return err
		}
		return s.appendAudit(ctx, tx, it, recipientActor(it.RecipientID), "portal.code.send", audit.Success,
			map[string]string{"channel": c.Channel})
	})
	if err != nil || method != ProofSMS {
		return err
	}
	if err := s.deps.SMS.SendSMS(ctx, it.OrgID, phone, smsText(org, code)); err != nil {
		s.opts.Logger.Warn("portal SMS code not sent", "portal_id", it.ID, "err", err)
		return fmt.Errorf("send SMS code: %w", err)
	}
	return nil
}

func (s *Service) throttleCodes(ctx context.Context, tx *store.Tx, it store.PortalItemRow) error {
	now := s.now()
	n, err := store.CountPortalCodesSince(ctx, tx, it.ID, now.Add(-time.Hour))
	if err != nil {
		return err
	}
	if n >= s.opts.CodesPerHour {
		return ErrThrottled
	}
	last, err := store.LatestPortalCode(ctx, tx, it.ID)
	switch {
	case errors.Is(err, store.ErrNotFound):
		return nil
	case err != nil:
		return err
	case now.Sub(last.CreatedAt) < codeCooldown:
		return ErrThrottled
	}
	return nil
}

// emailCode submits the code to the recipient's address, in tx.
func (s *Service) emailCode(ctx context.Context, tx *store.Tx, it store.PortalItemRow, org, code string) error {
	msg, err := store.GetMessage(ctx, tx, it.OrgID, it.MessageID)
	if err != nil {
		return err
	}
	to, err := s.recipientAddress(ctx, tx, it)
	if err != nil {
		return err
	}
	d := codeDraft(codeInput{Org: org, From: s.opts.NotificationFrom + "@" + msg.FromDomain, To: to, Code: code, TTL: s.opts.CodeTTL})
	_, err = s.outbox.SubmitTx(ctx, tx, outbox.Submission{OrgID: it.OrgID, Actor: system, SenderUserID: msg.SenderUserID,
		Source: outbox.SourceSystem, Draft: &d, NonPHI: true, Tags: []string{TagCode}, Metadata: map[string]string{"portal_id": it.ID}})
	if err != nil {
		return fmt.Errorf("submit portal code: %w", err)
	}
	return nil
}

// VerifyCode checks a one-time code for the item a link names and, when
// it matches the newest code (unused, not expired, tries left), opens a
// portal session. A wrong code counts against the code and the item; the
// count is committed before ErrProof is returned.
func (s *Service) VerifyCode(ctx context.Context, token, code string) (Session, error) {
	code = normalizeCode(code)
	var sess Session
	var proofErr error
	err := s.deps.DB.Tx(ctx, func(tx *store.Tx) error {
		it, err := s.itemByToken(ctx, tx, token)
		if err != nil {
			return err
		}
		if err := s.usable(it); err != nil {
			return err
		}
		c, err := store.LatestPortalCode(ctx, tx, it.ID)
		if err != nil && !errors.Is(err, store.ErrNotFound) {
			return err
		}
		now := s.now()
		valid := err == nil && c.UsedAt.IsZero() && now.Before(c.ExpiresAt) && c.Attempts < s.opts.CodeAttempts
		method := ProofEmail
		if c.Channel == "sms" {
			method = ProofSMS
		}
		if !valid || len(code) != s.opts.CodeLength || !codeMatches(c.ID, code, c.CodeHash) {
			proofErr = ErrProof
			if valid {
				if err := store.SetPortalCodeAttempts(ctx, tx, c.ID, c.Attempts+1, time.Time{}); err != nil {
					return err
				}
			}
			if err := s.failed(ctx, tx, &it); err != nil {
				return err
			}
			return s.appendAudit(ctx, tx, it, recipientActor(it.RecipientID), "portal.verify", audit.Failure,
				map[string]string{"method": method, "reason": codeFailure(err == nil, valid)})
		}
		if err := store.SetPortalCodeAttempts(ctx, tx, c.ID, c.Attempts+1, now); err != nil {
			return err
		}
		sess, err = s.startSession(ctx, tx, it, method, "")
		return err
	})
	if err == nil {
		err = proofErr
	}
	return sess, err
}

func codeFailure(sent, valid bool) string {
	switch {
	case !sent:
		return "no code was sent"
	case !valid:
		return "code used, expired or out of tries"
	}
	return "wrong code"
}
