package portal

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"time"

	"github.com/carepost/carepost/internal/audit"
	"github.com/carepost/carepost/internal/blindindex"
	"github.com/carepost/carepost/internal/event"
	"github.com/carepost/carepost/internal/keyring"
	"github.com/carepost/carepost/internal/outbox"
	"github.com/carepost/carepost/internal/password"
	"github.com/carepost/carepost/internal/store"
)

// Outbox is the one door the portal sends through: notifications, codes
// and replies, inside the portal's own transaction (package outbox).
type Outbox interface {
	SubmitTx(ctx context.Context, tx *store.Tx, s outbox.Submission) (outbox.Result, error)
}

// SMSSender sends a text that carries no PHI (a one-time code) to a phone
// number. The secure-text feature provides the implementation; with none,
// the portal does not offer SMS codes.
type SMSSender interface {
	SendSMS(ctx context.Context, orgID, phone, text string) error
}

// Deps are the services the portal uses.
type Deps struct {
	DB     *store.DB
	Keys   *keyring.Keyring
	Index  *blindindex.Indexer
	Audit  *audit.Log
	Hasher *password.Hasher // nil: password.DefaultParams
	SMS    SMSSender        // nil: no SMS codes
}

// Options tune the portal; zero fields take the [portal] defaults.
type Options struct {
	Clock func() time.Time
	// PublicURL is where recipients reach carepost (links in
	// notifications), without a trailing slash.
	PublicURL        string
	DefaultExpiry    time.Duration
	NotificationText string
	NotificationFrom string
	CodeLength       int
	CodeTTL          time.Duration
	CodeAttempts     int
	CodesPerHour     int
	MaxFailures      int
	Lockout          time.Duration
	SessionIdle      time.Duration
	SessionLifetime  time.Duration
	// SweepInterval is how often expired items are swept (default 5m).
	SweepInterval time.Duration
	Logger        *slog.Logger
}

func (o Options) withDefaults() Options {
	if o.Clock == nil {
		o.Clock = time.Now
	}
	def := func(d *time.Duration, v time.Duration) {
		if *d <= 0 {
			*d = v
		}
	}
	defInt := func(n *int, v int) {
		if *n <= 0 {
			*n = v
		}
	}
	def(&o.DefaultExpiry, 30*24*time.Hour)
	def(&o.CodeTTL, 10*time.Minute)
	def(&o.Lockout, 15*time.Minute)
	def(&o.SessionIdle, 10*time.Minute)
	def(&o.SessionLifetime, time.Hour)
	def(&o.SweepInterval, 5*time.Minute)
	defInt(&o.CodeLength, 8)
	defInt(&o.CodeAttempts, 5)
	defInt(&o.CodesPerHour, 5)
	defInt(&o.MaxFailures, 10)
	if o.NotificationText == "" {
		o.NotificationText = "Sign in to the secure portal to read it. For your privacy, the message itself is not sent by email."
	}
	if o.NotificationFrom == "" {
		o.NotificationFrom = "no-reply"
	}
	o.PublicURL = strings.TrimRight(o.PublicURL, "/")
	if o.Logger == nil {
		o.Logger = slog.New(slog.DiscardHandler)
	}
	return o
}

// Service is the portal.
type Service struct {
	deps   Deps
	opts   Options
	events *event.Recorder
	outbox Outbox
}

// New builds the portal. Bind gives it the event recorder and the outbox,
// which are built after it (the outbox hands recipients to the portal).
func New(deps Deps, opts Options) *Service {
	if deps.Hasher == nil {
		deps.Hasher = password.NewHasher(password.DefaultParams)
	}
	return &Service{deps: deps, opts: opts.withDefaults()}
}

// Bind sets the event recorder and the outbox.
func (s *Service) Bind(events *event.Recorder, out Outbox) { s.events, s.outbox = events, out }

// SMSAvailable reports whether SMS codes can be sent at all.
func (s *Service) SMSAvailable() bool { return s.deps.SMS != nil }

var _ outbox.Portal = (*Service)(nil)

// Errors the edges branch on. They never carry PHI.
var (
	// ErrDeclined: the recipient may not go to the portal (Handoff); it
	// stays held.
	ErrDeclined = outbox.ErrPortalDeclined
	// ErrNotFound: no such link, delivery or session (also another
	// organization's).
	ErrNotFound = store.ErrNotFound
	// ErrGone: the item was revoked or has expired; nothing is shown.
	ErrGone = errors.New("portal: this message was withdrawn or has expired")
	// ErrNoSession: the portal session is missing, ended or timed out.
	ErrNoSession = errors.New("portal: the session has ended")
	// ErrLocked: too many failed proofs; try again after the lockout.
	ErrLocked = errors.New("portal: too many failed attempts")
	// ErrThrottled: too many codes sent; try again later.
	ErrThrottled = errors.New("portal: too many codes sent")
	// ErrProof: the code, passphrase or account credentials are wrong
	// (or the code expired or was used up).
	ErrProof = errors.New("portal: that did not match")
	// ErrUnavailable: the proof method is not offered for this item.
	ErrUnavailable = errors.New("portal: that method is not available for this message")
	// ErrForbidden: the principal may not act on this portal message.
	ErrForbidden = errors.New("portal: your role does not allow this")
)

// InputError names a field a caller must fix.
type InputError struct{ Field, Msg string }

func (e *InputError) Error() string { return e.Field + ": " + e.Msg }

// now is the clock at microsecond precision, as stored.
func (s *Service) now() time.Time { return store.FromMicros(store.Micros(s.opts.Clock())) }

// system is the portal acting on its own (handoff, expiry).
var system = audit.Actor{Type: audit.ActorSystem, ID: "portal"}

// recipientActor is a recipient acting in the portal: by recipient id,
// never the address.
func recipientActor(recipientID string) audit.Actor {
	return audit.Actor{Type: audit.ActorRecipient, ID: recipientID}
}

// appendAudit writes an entry for a portal item.
func (s *Service) appendAudit(ctx context.Context, tx *store.Tx, it store.PortalItemRow, actor audit.Actor, action string,
	outcome audit.Outcome, details map[string]string) error {
	d := map[string]string{"recipient_id": it.RecipientID, "portal_id": it.ID}
	for k, v := range details {
		d[k] = v
	}
	err := s.deps.Audit.Append(ctx, tx, audit.Entry{Chain: it.OrgID, Actor: actor, Action: action, TargetType: "message",
		TargetID: it.MessageID, Outcome: outcome, Details: d})
	if err != nil {
		return fmt.Errorf("audit %s: %w", action, err)
	}
	return nil
}

// record writes one event of an item.
func (s *Service) record(ctx context.Context, tx *store.Tx, it store.PortalItemRow, typ string, data map[string]any) error {
	if s.events == nil {
		return nil
	}
	d := map[string]any{"portal_id": it.ID}
	for k, v := range data {
		d[k] = v
	}
	return s.events.Record(ctx, tx, event.Event{OrgID: it.OrgID, Type: typ, MessageID: it.MessageID, RecipientID: it.RecipientID, Data: d})
}

// live refuses an item that was revoked or whose expiry has come (even
// before the sweep marked it).
func (s *Service) live(it store.PortalItemRow) error {
	if it.State != store.PortalActive || !s.now().Before(it.ExpiresAt) {
		return ErrGone
	}
	return nil
}
