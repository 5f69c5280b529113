package workflow

import (
	"context"
	"log/slog"
	"runtime"
	"sync"
	"time"

	"github.com/riverqueue/river"
	"github.com/riverqueue/river/rivertype"

	"github.com/carepost/carepost/internal/access"
	"github.com/carepost/carepost/internal/audit"
	"github.com/carepost/carepost/internal/auth"
	"github.com/carepost/carepost/internal/contact"
	"github.com/carepost/carepost/internal/event"
	"github.com/carepost/carepost/internal/keyring"
	"github.com/carepost/carepost/internal/outbox"
	"github.com/carepost/carepost/internal/store"
	"github.com/carepost/carepost/internal/template"
)

// Enqueuer inserts a job in the caller's transaction; *jobs.Client is one.
type Enqueuer interface {
	InsertTx(ctx context.Context, tx *store.Tx, args river.JobArgs, opts *river.InsertOpts) (*rivertype.JobInsertResult, error)
}

// Templates is what the send step needs of package template.
type Templates interface {
	Get(ctx context.Context, orgID, templateID string, version int) (template.Template, error)
	Compiled(ctx context.Context, orgID, templateID string, version int) (*template.Compiled, int, error)
}

// Mailer is the outbox's door taken inside the engine's transaction (so
// the message commits with the step that sent it); *outbox.Outbox is one.
type Mailer interface {
	// PrepareOnce validates, builds and decides a message without writing.
	PrepareOnce(ctx context.Context, s outbox.Submission) (*outbox.Prepared, error)
	// SenderAllowedTx checks the message's sender domain.
	SenderAllowedTx(ctx context.Context, tx *store.Tx, p *outbox.Prepared) error
	// CommitManyOnceTx writes prepared messages of one organization in tx,
	// answering keys already used with their messages.
	CommitManyOnceTx(ctx context.Context, tx *store.Tx, ps []*outbox.Prepared) ([]outbox.Result, error)
	// EnsureOrg creates what an organization's messages need (its
	// blind-index key) outside the engine's transactions.
	EnsureOrg(ctx context.Context, orgID string) error
}

// Deps are the services a Service uses.
type Deps struct {
	DB        *store.DB
	Keys      *keyring.Keyring
	Audit     *audit.Log
	Contacts  *contact.Service
	Templates Templates
	// Segments defaults to ListSegments over the store.
	Segments Segments
	// Set with Bind once they exist.
	Mailer Mailer
	Events *event.Recorder
	Jobs   Enqueuer
	// Tracker adds tracking to sent mail; nil sends untracked.
	Tracker Tracker
}

// Options tune a Service. Zero values take the defaults given.
type Options struct {
	// Clock replaces time.Now (tests use a fake clock).
	Clock func() time.Time
	Log   *slog.Logger
	// Batch is how many due contacts one engine transaction claims.
	// Default 200.
	Batch int
	// Tick is the interval of the periodic engine job that catches timers
	// nothing armed. Default 1 minute.
	Tick time.Duration
	// MilestoneInterval is how often date triggers are evaluated.
	// Default 1 hour.
	MilestoneInterval time.Duration
	// EnrolPage is how many contacts one bulk-enrolment transaction
	// enrols. Default 1000.
	EnrolPage int
	// Budget bounds one engine job's run; it re-arms itself after.
	// Default 30 seconds.
	Budget time.Duration
	// SmallCellFloor is the smallest count a report shows to a viewer
	// without phi:read. Default access.SmallCellFloor (11); 1 shows all.
	SmallCellFloor int
	// SendWorkers is how many goroutines render and prepare a batch's
	// messages at once, beside the engine, which queues them without
	// waiting and takes what is still queued when it needs the results
	// (sendStep, pool). Default GOMAXPROCS, at least 2; 1 prepares each
	// message in line.
	SendWorkers int
	// BeforeCommit, when set, runs at the end of every engine batch's
	// transaction, after its sends; an error rolls the batch back as a
	// crash would. Tests use it to crash mid-run.
	BeforeCommit func(runs int) error
}

func (o Options) withDefaults() Options {
	if o.Clock == nil {
		o.Clock = time.Now
	}
	if o.Log == nil {
		o.Log = slog.New(slog.DiscardHandler)
	}
	if o.Batch <= 0 {
		o.Batch = 200
	}
	if o.Tick <= 0 {
		o.Tick = time.Minute
	}
	if o.MilestoneInterval <= 0 {
		o.MilestoneInterval = time.Hour
	}
	if o.SmallCellFloor <= 0 {
		o.SmallCellFloor = access.SmallCellFloor
	}
	if o.SendWorkers <= 0 {
		o.SendWorkers = max(2, runtime.GOMAXPROCS(0))
	}
	if o.EnrolPage <= 0 {
		o.EnrolPage = 1000
	}
	if o.Budget <= 0 {
		o.Budget = 30 * time.Second
	}
	return o
}

// Service is an installation's workflows and their engine. It is safe for
// concurrent use.
type Service struct {
	deps Deps
	opts Options

	mu   sync.Mutex
	defs map[defKey]*Definition // versions never change
}

type defKey struct {
	org, id string
	version int
}

// New builds the service and registers the sealed definitions with the
// keyring.
func New(deps Deps, opts Options) *Service {
	deps.Keys.Register(store.WorkflowVersionsTable())
	s := &Service{deps: deps, opts: opts.withDefaults(), defs: map[defKey]*Definition{}}
	if s.deps.Segments == nil {
		s.deps.Segments = &ListSegments{DB: deps.DB, Entered: s.SegmentEntered, Joined: s.ListJoined, Clock: s.opts.Clock}
	}
	return s
}

// Bind gives the service what is built after it: the outbox, the event
// recorder and the job client.
func (s *Service) Bind(m Mailer, ev *event.Recorder, jobs Enqueuer) {
	s.deps.Mailer, s.deps.Events, s.deps.Jobs = m, ev, jobs
}

// SetBeforeCommit sets Options.BeforeCommit (tests crash batches with it).
// Call it before the engine runs.
func (s *Service) SetBeforeCommit(fn func(runs int) error) { s.opts.BeforeCommit = fn }

// SetBatch sets Options.Batch. Call it before the engine runs.
func (s *Service) SetBatch(n int) {
	if n > 0 {
		s.opts.Batch = n
	}
}

// SetTracker enables tracking of sent mail.
func (s *Service) SetTracker(t Tracker) { s.deps.Tracker = t }

func (s *Service) now() time.Time { return store.FromMicros(store.Micros(s.opts.Clock())) }

// Actor is who acts on an organization's workflows.
type Actor struct {
	orgID string
	who   audit.Actor
	perms access.Set
}

// As is the actor of an authenticated principal.
func As(p auth.Principal) Actor { return Actor{orgID: p.OrgID, who: p.Actor(), perms: p.Perms} }

// System is carepost acting in orgID.
func System(orgID string) Actor {
	return Actor{orgID: orgID, who: audit.Actor{Type: audit.ActorSystem, ID: "workflow"}, perms: access.NewSet(access.All...)}
}

func (a Actor) canWrite() error {
	if a.orgID == "" || !a.perms.Has(access.WorkflowsWrite) {
		return auth.ErrForbidden
	}
	return nil
}

// canRead: workflows are read by who may write them or read reports.
func (a Actor) canRead() error {
	if a.orgID == "" || !(a.perms.Has(access.WorkflowsWrite) || a.perms.Has(access.ReportsRead)) {
		return auth.ErrForbidden
	}
	return nil
}
