package contact

import (
	"context"
	"log/slog"
	"runtime"
	"time"

	"github.com/riverqueue/river"
	"github.com/riverqueue/river/rivertype"

	"github.com/carepost/carepost/internal/access"
	"github.com/carepost/carepost/internal/audit"
	"github.com/carepost/carepost/internal/auth"
	"github.com/carepost/carepost/internal/blindindex"
	"github.com/carepost/carepost/internal/keyring"
	"github.com/carepost/carepost/internal/store"
)

// Enqueuer inserts a job in the caller's transaction; *jobs.Client is one.
type Enqueuer interface {
	InsertTx(ctx context.Context, tx *store.Tx, args river.JobArgs, opts *river.InsertOpts) (*rivertype.JobInsertResult, error)
}

// Deps are the services a Service uses.
type Deps struct {
	DB   *store.DB
	Keys *keyring.Keyring
	// Index computes the e-mail blind index (shared with delivery's
	// suppressions).
	Index *blindindex.Indexer
	Audit *audit.Log
	// Committer, when set, carries writes (group commit).
	Committer *store.Committer
	// Jobs runs imports; set with Bind once the job client exists.
	Jobs Enqueuer
}

// Options tune a Service. Zero values take the defaults given.
type Options struct {
	// Clock replaces time.Now.
	Clock func() time.Time
	// Log receives import progress and failures (ids and counts only).
	Log *slog.Logger
	// ImportBatch is how many rows one import transaction applies.
	// Default 1000.
	ImportBatch int
	// ImportChunk is the size of the sealed pieces an upload is staged in.
	// Default 1 MiB.
	ImportChunk int
	// MaxImportBytes bounds an uploaded file. Default 4 GiB.
	MaxImportBytes int64
	// ImportLease is how long an import worker holds an import between
	// batches before another node may take it over. Default 1 minute.
	ImportLease time.Duration
	// SweepInterval is how often stalled imports are resumed. Default 1
	// minute.
	SweepInterval time.Duration
	// MaxReportErrors bounds the stored validation report. Default 1000.
	MaxReportErrors int
	// ScanPage is how many contacts Scan reads per query. Default 1000.
	ScanPage int
	// ScanWorkers open pages in parallel. Default GOMAXPROCS.
	ScanWorkers int
	// AfterImportBatch, when set, runs after each committed import batch
	// with the rows applied so far; an error stops the import there as a
	// crash would. Tests use it to crash an import half way.
	AfterImportBatch func(importID string, applied int64) error
}

func (o Options) withDefaults() Options {
	if o.Clock == nil {
		o.Clock = time.Now
	}
	if o.Log == nil {
		o.Log = slog.New(slog.DiscardHandler)
	}
	if o.ImportBatch <= 0 {
		o.ImportBatch = 1000
	}
	if o.ImportChunk <= 0 {
		o.ImportChunk = 1 << 20
	}
	if o.MaxImportBytes <= 0 {
		o.MaxImportBytes = 4 << 30
	}
	if o.ImportLease <= 0 {
		o.ImportLease = time.Minute
	}
	if o.SweepInterval <= 0 {
		o.SweepInterval = time.Minute
	}
	if o.MaxReportErrors <= 0 {
		o.MaxReportErrors = 1000
	}
	if o.ScanPage <= 0 {
		o.ScanPage = 1000
	}
	if o.ScanWorkers <= 0 {
		o.ScanWorkers = runtime.GOMAXPROCS(0)
	}
	return o
}

// Service is an installation's contacts, per organization. It is safe for
// concurrent use.
type Service struct {
	deps     Deps
	opts     Options
	observer Observer // observer.go
}

// New builds the service and registers its sealed tables with the
// keyring, so key rotation re-wraps contact keys and staged imports.
func New(deps Deps, opts Options) *Service {
	deps.Keys.Register(store.ContactKeysTable())
	deps.Keys.Register(store.ContactImportChunksTable())
	return &Service{deps: deps, opts: opts.withDefaults()}
}

// Bind gives the service its job client (built after the service, since
// the client needs the service's workers).
func (s *Service) Bind(jobs Enqueuer) { s.deps.Jobs = jobs }

func (s *Service) now() time.Time { return store.FromMicros(store.Micros(s.opts.Clock())) }

// write runs fn in a write transaction: through group commit when the
// service has a Committer.
func (s *Service) write(ctx context.Context, fn func(tx *store.Tx) error) error {
	if s.deps.Committer != nil {
		return s.deps.Committer.Do(ctx, fn)
	}
	return s.deps.DB.Tx(ctx, fn)
}

// ensureIndex makes sure the organization's blind-index key exists before
// a shared transaction needs it (see blindindex.Indexer.Ensure).
func (s *Service) ensureIndex(ctx context.Context, orgID string) error {
	return s.deps.Index.Ensure(ctx, s.deps.DB, orgID)
}

// Actor is who acts on an organization's contacts: a principal (As) or
// carepost itself (System).
type Actor struct {
	orgID  string
	who    audit.Actor
	perms  access.Set
	person bool
}

// As is the actor of an authenticated principal, in its organization.
func As(p auth.Principal) Actor {
	return Actor{orgID: p.OrgID, who: p.Actor(), perms: p.Perms, person: true}
}

// System is carepost acting in orgID (an import job, a campaign);
// component names it in the audit log. It sees PHI and its reads are not
// audited one by one: what it does with them is (the campaign, the
// export).
func System(orgID, component string) Actor {
	return Actor{orgID: orgID, who: audit.Actor{Type: audit.ActorSystem, ID: component}, perms: access.NewSet(access.All...)}
}

// OrgID is the organization the actor acts in.
func (a Actor) OrgID() string { return a.orgID }

func (a Actor) require(p access.Permission) error {
	if a.orgID == "" || !a.perms.Has(p) {
		return auth.ErrForbidden
	}
	return nil
}

// readsPHI reports whether the actor sees PHI values unmasked.
func (a Actor) readsPHI() bool { return a.perms.Has(access.PHIRead) }
