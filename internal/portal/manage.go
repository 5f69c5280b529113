package portal

import (
	"context"
	"regexp"
	"strings"
	"time"

	"github.com/carepost/carepost/internal/access"
	"github.com/carepost/carepost/internal/audit"
	"github.com/carepost/carepost/internal/auth"
	"github.com/carepost/carepost/internal/store"
)

// Delivery is a portal delivery as staff see it: ids, state and times,
// never the address, the token or the proofs' secrets.
type Delivery struct {
	ID, MessageID, RecipientID string
	// State is active, revoked or expired (an active item past its
	// expiry reads as expired before the sweep marks it).
	State          string
	Passphrase     bool // the sender set one
	Phone          bool // a number for SMS codes is known
	FailedAttempts int
	LockedUntil    time.Time
	Replies        int
	CreatedAt      time.Time
	ExpiresAt      time.Time
	OpenedAt       time.Time
	RevokedAt      time.Time
	ExpiredAt      time.Time
	NoticeID       string
}

func (s *Service) delivery(r store.PortalItemRow) Delivery {
	d := Delivery{ID: r.ID, MessageID: r.MessageID, RecipientID: r.RecipientID, State: r.State, Passphrase: r.PassphraseHash != "",
		Phone: r.Phone != nil, FailedAttempts: r.FailedAttempts, Replies: r.Replies, CreatedAt: r.CreatedAt, ExpiresAt: r.ExpiresAt,
		OpenedAt: r.OpenedAt, RevokedAt: r.RevokedAt, ExpiredAt: r.ExpiredAt, NoticeID: r.NoticeID}
	if r.LockedUntil.After(s.now()) {
		d.LockedUntil = r.LockedUntil
	}
	if d.State == store.PortalActive && !s.now().Before(r.ExpiresAt) {
		d.State = store.PortalExpired
	}
	return d
}

// Who sees and manages portal deliveries follows the message visibility
// rules (docs/ACCESS.md): records of all messages with messages:read_all,
// audit:read or reports:read — and messages:revoke, which acts on others'
// portal messages — of one's own with messages:send. Revoking and setting
// proofs take messages:revoke, or being the message's sender.

func seesAll(p auth.Principal) bool {
	return p.Perms.Has(access.MessagesReadAll) || p.Perms.Has(access.AuditRead) || p.Perms.Has(access.ReportsRead) ||
		p.Perms.Has(access.MessagesRevoke)
}

// visible loads an item the principal may see; any other is ErrNotFound.
func (s *Service) visible(ctx context.Context, q store.Querier, p auth.Principal, id string) (store.PortalItemRow, store.MessageRow, error) {
	if !seesAll(p) && !p.Perms.Has(access.MessagesSend) {
		return store.PortalItemRow{}, store.MessageRow{}, ErrForbidden
	}
	it, err := store.GetPortalItem(ctx, q, p.OrgID, id)
	if err != nil {
		return it, store.MessageRow{}, err
	}
	msg, err := store.GetMessage(ctx, q, p.OrgID, it.MessageID)
	if err != nil {
		return it, msg, err
	}
	if !seesAll(p) && (p.UserID == "" || msg.SenderUserID != p.UserID) {
		return store.PortalItemRow{}, store.MessageRow{}, ErrNotFound
	}
	return it, msg, nil
}

func mayManage(p auth.Principal, msg store.MessageRow) bool {
	return p.Perms.Has(access.MessagesRevoke) || (p.Perms.Has(access.MessagesSend) && p.UserID != "" && p.UserID == msg.SenderUserID)
}

// Filter selects deliveries for List.
type Filter struct {
	MessageID, State, Before string
	Limit                    int
}

// List lists the deliveries the principal may see, newest first.
func (s *Service) List(ctx context.Context, p auth.Principal, f Filter) ([]Delivery, error) {
	if !seesAll(p) && !p.Perms.Has(access.MessagesSend) {
		return nil, ErrForbidden
	}
	sf := store.PortalItemFilter{MessageID: f.MessageID, State: f.State, Before: f.Before, Limit: f.Limit}
	if !seesAll(p) {
		sf.SenderUserID = p.UserID
		if p.UserID == "" {
			return []Delivery{}, nil
		}
	}
	rows, err := store.ListPortalItems(ctx, s.deps.DB.Reader(), p.OrgID, sf)
	if err != nil {
		return nil, err
	}
	out := make([]Delivery, 0, len(rows))
	for _, r := range rows {
		out = append(out, s.delivery(r))
	}
	return out, nil
}

// Get returns one delivery the principal may see.
func (s *Service) Get(ctx context.Context, p auth.Principal, id string) (Delivery, error) {
	it, _, err := s.visible(ctx, s.deps.DB.Reader(), p, id)
	if err != nil {
		return Delivery{}, err
	}
	return s.delivery(it), nil
}

// Proof is what a sender may set for a delivery: a passphrase to tell the
// recipient out of band, and a phone number for SMS codes. A nil field is
// left as it is; an empty string clears it.
type Proof struct {
	Passphrase *string
	Phone      *string
}

var e164 = regexp.MustCompile(`^\+[1-9][0-9]{6,14}$`) // ITU-T E.164

// SetProof sets a delivery's passphrase and phone, audited as
// portal.proof.set (whether each was set or cleared, never the values).
func (s *Service) SetProof(ctx context.Context, p auth.Principal, id string, in Proof) (Delivery, error) {
	var hash string
	if in.Passphrase != nil && *in.Passphrase != "" {
		if n := len([]rune(*in.Passphrase)); n < 10 || n > 256 {
			return Delivery{}, &InputError{Field: "passphrase", Msg: "must be 10 to 256 characters"}
		}
		var err error
		if hash, err = s.deps.Hasher.Hash(ctx, *in.Passphrase); err != nil {
			return Delivery{}, err
		}
	}
	if in.Phone != nil && *in.Phone != "" && !e164.MatchString(strings.ReplaceAll(*in.Phone, " ", "")) {
		return Delivery{}, &InputError{Field: "phone", Msg: "must be an international number: + and 7 to 15 digits"}
	}
	var out Delivery
	err := s.deps.DB.Tx(ctx, func(tx *store.Tx) error {
		it, msg, err := s.visible(ctx, tx, p, id)
		if err != nil {
			return err
		}
		if !mayManage(p, msg) {
			return ErrForbidden
		}
		if err := s.live(it); err != nil {
			return err
		}
		details := map[string]string{}
		if in.Passphrase != nil {
			it.PassphraseHash, details["passphrase"] = hash, setOrCleared(hash != "")
		}
		if in.Phone != nil {
			it.Phone, it.DEKVersion, details["phone"] = nil, 0, setOrCleared(*in.Phone != "")
			if *in.Phone != "" {
				if it.Phone, it.DEKVersion, err = s.deps.Keys.Seal(ctx, tx, phoneAAD(it.OrgID, it.ID), []byte(strings.ReplaceAll(*in.Phone, " ", ""))); err != nil {
					return err
				}
			}
		}
		if err := store.SetPortalProof(ctx, tx, it.OrgID, it.ID, it.PassphraseHash, it.Phone, it.DEKVersion); err != nil {
			return err
		}
		out = s.delivery(it)
		return s.appendAudit(ctx, tx, it, p.Actor(), "portal.proof.set", audit.Success, details)
	})
	return out, err
}

func setOrCleared(set bool) string {
	if set {
		return "set"
	}
	return "cleared"
}
