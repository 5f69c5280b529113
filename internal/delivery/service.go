package delivery

import (
	"context"
	"crypto/x509"
	"errors"
	"fmt"
	"log/slog"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/riverqueue/river"
	"github.com/riverqueue/river/rivertype"

	"github.com/carepost/carepost/internal/audit"
	"github.com/carepost/carepost/internal/dns"
	"github.com/carepost/carepost/internal/event"
	"github.com/carepost/carepost/internal/keyring"
	"github.com/carepost/carepost/internal/mtasts"
	"github.com/carepost/carepost/internal/outbox"
	"github.com/carepost/carepost/internal/store"
)

// Signer signs one message for its sender domain (*dkim.Signer is one).
type Signer interface {
	Sign(raw []byte) ([]byte, error)
}

// Signers finds the DKIM signer of an organization's sender domain
// (package senderdomain provides it). An error defers the message: it is
// never sent unsigned because a key could not be read. A nil Signer with no
// error means the domain has no DKIM keys and the message goes unsigned.
type Signers interface {
	Signer(ctx context.Context, orgID, fromDomain string) (Signer, error)
}

// Submitter is the one door for outbound mail; delivery hands it the
// delivery status notifications it writes (*outbox.Outbox is one).
type Submitter interface {
	Submit(ctx context.Context, s outbox.Submission) (outbox.Result, error)
}

// JobInserter inserts a job in the caller's transaction (*jobs.Client is
// one).
type JobInserter interface {
	InsertTx(ctx context.Context, tx *store.Tx, args river.JobArgs, opts *river.InsertOpts) (*rivertype.JobInsertResult, error)
}

// Encrypter encrypts a whole message end to end to one recipient's key
// (the key directory, package keydir, through internal/app). It returns
// the message to send and the format used ("pgp" for PGP/MIME, RFC 3156;
// "smime" for S/MIME, RFC 8551), or an error wrapping ErrNoKey when the
// recipient has no key that is valid now: the walk then moves on to the
// next method. Any other error defers the recipient; nothing is ever sent
// unencrypted because encryption failed.
type Encrypter interface {
	Encrypt(ctx context.Context, orgID, email string, raw []byte) (encrypted []byte, format string, err error)
}

// ErrNoKey means the recipient has no valid end-to-end key now (it expired
// or was revoked or removed since the policy decision).
var ErrNoKey = errors.New("no valid end-to-end key for this recipient")

// Portal takes a recipient whose fallback chain reaches the portal, in
// delivery's outcome transaction (*portal.Service is one; the app injects
// it, so delivery does not import the portal). It returns an error wrapping
// outbox.ErrPortalDeclined when the recipient must stay held instead.
type Portal interface {
	Handoff(ctx context.Context, tx *store.Tx, orgID, messageID, recipientID string) error
}

// Captured is one recipient's copy of a message in demo mode.
type Captured struct {
	OrgID, MessageID, RecipientID string
	Content                       []byte
	At                            time.Time
}

// Capture replaces the network in demo mode: each recipient's message is
// stored, in the transaction that marks it delivered, instead of being
// sent (package demo implements it).
type Capture interface {
	CaptureTx(ctx context.Context, tx *store.Tx, c Captured) error
}

// Deps are the services delivery uses.
type Deps struct {
	DB *store.DB
	// Committer, when set, writes outcomes through group commit, so
	// concurrent batches share fsyncs.
	Committer *store.Committer
	Keys      *keyring.Keyring
	Audit     *audit.Log
	// Events records state changes; Bind may supply it later.
	Events *event.Recorder
	// Signers may be nil: messages then go unsigned.
	Signers Signers
	// Capture, when set, is demo mode: nothing is sent.
	Capture Capture
	// Resolver answers MX, address, TXT and TLSA lookups. Without one
	// (a machine with no resolver configuration) every attempt defers.
	Resolver *dns.Resolver
	// Encrypter encrypts for recipients whose method is e2e; nil means no
	// recipient has a key (e2e is passed over).
	Encrypter Encrypter
	// Portal takes recipients whose method is the portal; nil means the
	// portal is passed over (the recipient stays held: fail closed).
	Portal Portal
}

// Service delivers queued recipients and schedules their jobs.
type Service struct {
	deps    Deps
	opts    Options
	log     *slog.Logger
	clock   func() time.Time
	sts     *mtasts.Client
	roots   *x509.CertPool // extra roots for MX certificates
	metrics *metrics

	jobs   JobInserter
	submit Submitter
}

// New builds the service. Bind must be called before jobs run.
func New(deps Deps, opts Options) (*Service, error) {
	opts = opts.WithDefaults()
	if err := opts.Validate(); err != nil {
		return nil, err
	}
	if deps.DB == nil || deps.Keys == nil || deps.Audit == nil {
		return nil, errors.New("delivery: DB, Keys and Audit are required")
	}
	s := &Service{deps: deps, opts: opts, log: opts.Logger, clock: opts.Clock}
	if deps.Resolver != nil {
		var stsRoots *x509.CertPool
		s.roots, stsRoots = rootPools(opts.ExtraRoots)
		var err error
		s.sts, err = mtasts.New(mtasts.Options{Resolver: deps.Resolver, HTTPSPort: opts.MTASTSPort, RootCAs: stsRoots,
			Cache: &policyCache{db: deps.DB}, Clock: opts.Clock, Logger: opts.Logger.With("component", "mtasts")})
		if err != nil {
			return nil, fmt.Errorf("delivery: %w", err)
		}
	}
	s.metrics = newMetrics(deps.DB)
	if opts.Metrics != nil {
		if err := s.metrics.register(opts.Metrics); err != nil {
			return nil, fmt.Errorf("delivery: register metrics: %w", err)
		}
	}
	return s, nil
}

// Bind gives the service what is built after it: the job client (which
// needs delivery's workers), the event recorder (which needs the job client
// for webhooks) and the outbox (which needs delivery as its scheduler). It
// is wiring, called once before jobs run; a nil argument leaves the
// dependency as it was.
func (s *Service) Bind(jobs JobInserter, events *event.Recorder, submit Submitter) {
	if jobs != nil {
		s.jobs = jobs
	}
	if events != nil {
		s.deps.Events = events
	}
	if submit != nil {
		s.submit = submit
	}
}

// rootPools builds the pools remote certificates are verified against:
// for SMTP the extra roots alone (smtpclient tries the system roots first
// and the extra ones second), for MTA-STS policy hosts the system roots
// plus the extra ones (mtasts replaces the system roots with its pool).
func rootPools(extra []*x509.Certificate) (smtp, sts *x509.CertPool) {
	if len(extra) == 0 {
		return nil, nil
	}
	smtp = x509.NewCertPool()
	sts, err := x509.SystemCertPool()
	if err != nil || sts == nil {
		sts = x509.NewCertPool()
	}
	for _, c := range extra {
		smtp.AddCert(c)
		sts.AddCert(c)
	}
	return smtp, sts
}

// register adds the delivery metrics to reg.
func (m *metrics) register(reg prometheus.Registerer) error {
	for _, c := range []prometheus.Collector{m.depth, m.deliveries, m.duration, m.connections} {
		if err := reg.Register(c); err != nil {
			return err
		}
	}
	return nil
}
