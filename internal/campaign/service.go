package campaign

import (
	"context"
	"log/slog"
	"sync"
	"time"

	"github.com/riverqueue/river"
	"github.com/riverqueue/river/rivertype"

	"github.com/carepost/carepost/internal/access"
	"github.com/carepost/carepost/internal/audit"
	"github.com/carepost/carepost/internal/auth"
	"github.com/carepost/carepost/internal/contact"
	"github.com/carepost/carepost/internal/outbox"
	"github.com/carepost/carepost/internal/policy"
	"github.com/carepost/carepost/internal/store"
	"github.com/carepost/carepost/internal/template"
	"github.com/carepost/carepost/internal/tracking"
)

// Enqueuer inserts a job in the caller's transaction; *jobs.Client is one.
type Enqueuer interface {
	InsertTx(ctx context.Context, tx *store.Tx, args river.JobArgs, opts *river.InsertOpts) (*rivertype.JobInsertResult, error)
}

// Segments streams a segment's members; package segment provides it. It
// is the same seam as a list (Source) plus a check that a segment exists.
type Segments interface {
	Source
	// Exists returns store.ErrNotFound when the organization has no such
	// segment.
	Exists(ctx context.Context, orgID, segmentID string) error
}

// Deps are the services a Service uses.
type Deps struct {
	DB *store.DB
	// Committer carries the batches' writes (group commit); nil writes
	// each chunk in a transaction of its own.
	Committer *store.Committer
	Audit     *audit.Log
	Contacts  *contact.Service
	Templates *template.Service
	// Fields says which contact fields are PHI (the template lint's
	// source, for the uses_phi check).
	Fields   template.FieldSource
	Tracking *tracking.Service
	Outbox   *outbox.Outbox
	// Domains checks the From domain is a verified sender domain.
	Domains outbox.Domains
	// Segments is nil until package segment is wired: a campaign naming
	// a segment is then refused.
	Segments Segments
	// Jobs is bound with Bind once the job client exists.
	Jobs Enqueuer
	// Keys reads a batch's recipients' e2e keys at once for the policy
	// (keydir.Service.Prefetch); nil leaves each question to the policy
	// engine's key directory.
	Keys KeyPrefetcher
}

// KeyPrefetcher reads, for one batch's recipients together, what the policy
// engine asks of each: whether an e2e key could be used
// (keydir.Service.Prefetch, through the app).
type KeyPrefetcher interface {
	Prefetch(ctx context.Context, orgID string, emails []string) (policy.KeyDirectory, error)
}

// Options tune a Service. Zero values take the defaults given.
type Options struct {
	// Clock replaces time.Now.
	Clock func() time.Time
	// Log receives progress and failures (ids and counts only).
	Log *slog.Logger
	// BatchSize is how many contacts one batch job sends. Default 500.
	BatchSize int
	// Chunk is how many contacts one group-committed transaction of a
	// batch writes. Default 200: each transaction rewrites the pages its
	// tables and indexes end on, and the single SQLite writer commits (and
	// syncs) once per group, so fewer, larger chunks write less per message
	// (the DKIM-off campaign at 20,000 contacts: 31 KiB of disk a message
	// at 50, 26.5 at 200, 24 at 500; docs/BENCHMARKS.md). A chunk waits in
	// memory in its packed form (a few KiB a message) until it commits.
	Chunk int
	// Lease is how long a batch or a prepare may go untouched before the
	// sweep gives it a new job. Default 5 minutes.
	Lease time.Duration
	// SweepInterval is how often the sweep runs. Default 1 minute.
	SweepInterval time.Duration
	// SmallCellFloor is the smallest count a report shows to principals
	// without phi:read; smaller ones read "fewer than". Default
	// access.SmallCellFloor (11).
	SmallCellFloor int
	// AfterChunk, when set, runs after each committed chunk of a batch;
	// an error stops the batch there as a crash would. Tests use it.
	AfterChunk func(campaignID string, batch int) error
}

func (o Options) withDefaults() Options {
	if o.Clock == nil {
		o.Clock = time.Now
	}
	if o.Log == nil {
		o.Log = slog.New(slog.DiscardHandler)
	}
	if o.BatchSize <= 0 {
		o.BatchSize = 500
	}
	if o.Chunk <= 0 {
		o.Chunk = 200
	}
	if o.Lease <= 0 {
		o.Lease = 5 * time.Minute
	}
	if o.SweepInterval <= 0 {
		o.SweepInterval = time.Minute
	}
	if o.SmallCellFloor <= 0 {
		o.SmallCellFloor = access.SmallCellFloor
	}
	return o
}

// Service is an installation's campaigns. It is safe for concurrent use.
type Service struct {
	deps  Deps
	opts  Options
	lists Source

	mu    sync.Mutex
	links map[string]*linkEntry // campaign id → its link table, while it sends
}

// New builds the service.
func New(deps Deps, opts Options) *Service {
	if deps.Fields == nil {
		deps.Fields = template.StaticFields(template.DefaultFields())
	}
	s := &Service{deps: deps, opts: opts.withDefaults(), links: map[string]*linkEntry{}}
	s.lists = listSource{db: deps.DB}
	return s
}

// Bind gives the service the parts built after it: the job client (which
// needs the service's workers), the outbox and tracking (which need the
// job client's events).
func (s *Service) Bind(jobs Enqueuer, out *outbox.Outbox, tr *tracking.Service) {
	s.deps.Jobs, s.deps.Outbox, s.deps.Tracking = jobs, out, tr
}

// BindSegments plugs in package segment's members.
func (s *Service) BindSegments(seg Segments) { s.deps.Segments = seg }

func (s *Service) now() time.Time { return store.FromMicros(store.Micros(s.opts.Clock())) }

// write runs fn through group commit when there is a Committer.
func (s *Service) write(ctx context.Context, fn func(tx *store.Tx) error) error {
	if s.deps.Committer != nil {
		return s.deps.Committer.Do(ctx, fn)
	}
	return s.deps.DB.Tx(ctx, fn)
}

// Actor is who acts on an organization's campaigns.
type Actor struct {
	orgID string
	who   audit.Actor
	perms access.Set
}

// As is the actor of an authenticated principal, in its organization.
func As(p auth.Principal) Actor { return Actor{orgID: p.OrgID, who: p.Actor(), perms: p.Perms} }

// System is carepost acting in orgID (tests, tools); component names it in
// the audit log.
func System(orgID, component string) Actor {
	return Actor{orgID: orgID, who: audit.Actor{Type: audit.ActorSystem, ID: component}, perms: access.NewSet(access.All...)}
}

// OrgID is the organization the actor acts in.
func (a Actor) OrgID() string { return a.orgID }

func (a Actor) canWrite() error {
	if a.orgID == "" || !a.perms.Has(access.CampaignsWrite) {
		return auth.ErrForbidden
	}
	return nil
}

// canRead: campaigns and their reports are for campaigns:write and
// reports:read.
func (a Actor) canRead() error {
	if a.orgID == "" || !(a.perms.Has(access.CampaignsWrite) || a.perms.Has(access.ReportsRead)) {
		return auth.ErrForbidden
	}
	return nil
}

// engineActor is who the engine's own writes are audited as.
var engineActor = audit.Actor{Type: audit.ActorSystem, ID: "campaign"}
