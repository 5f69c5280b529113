// Package app wires carepost together from a Config: it opens the store,
// loads the key-encryption key, builds the keyring, the blob store and the
// audit log, and — for `serve` — the job engine and the HTTP server. Every
// dependency is constructed here and passed in explicitly; no package keeps
// mutable globals or registers itself from init(), so tests can build as many
// independent App values as they like, in parallel.
//
// Open builds the core that every CLI command needs (store, keyring, audit,
// accounts).
// Serve adds the listeners and workers and runs until its context ends.
package app

import (
	"context"
	"crypto/ed25519"
	"errors"
	"fmt"
	"log/slog"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"

	"github.com/carepost/carepost/internal/audit"
	"github.com/carepost/carepost/internal/auth"
	"github.com/carepost/carepost/internal/blindindex"
	"github.com/carepost/carepost/internal/blob"
	"github.com/carepost/carepost/internal/campaign"
	"github.com/carepost/carepost/internal/config"
	"github.com/carepost/carepost/internal/contact"
	"github.com/carepost/carepost/internal/delivery"
	"github.com/carepost/carepost/internal/dns"
	"github.com/carepost/carepost/internal/event"
	"github.com/carepost/carepost/internal/jobs"
	"github.com/carepost/carepost/internal/keydir"
	"github.com/carepost/carepost/internal/keyring"
	"github.com/carepost/carepost/internal/outbox"
	"github.com/carepost/carepost/internal/policy"
	"github.com/carepost/carepost/internal/portal"
	"github.com/carepost/carepost/internal/segment"
	"github.com/carepost/carepost/internal/senderdomain"
	"github.com/carepost/carepost/internal/store"
	"github.com/carepost/carepost/internal/template"
	"github.com/carepost/carepost/internal/tracking"
	"github.com/carepost/carepost/internal/webhook"
	"github.com/carepost/carepost/internal/workflow"
)

// App holds the services of one carepost node.
type App struct {
	Config  *config.Config
	Log     *slog.Logger
	DB      *store.DB
	KEK     *KEK
	Keys    *keyring.Keyring
	Blobs   *blob.Store
	Audit   *audit.Log
	Auth    *auth.Service
	Metrics *prometheus.Registry
	Clock   func() time.Time

	// The sending pipeline's shared parts (messaging.go).
	Jobs      *jobs.Client
	Committer *store.Committer
	Index     *blindindex.Indexer
	Webhooks  *webhook.Service
	Events    *event.Recorder
	Outbox    *outbox.Outbox
	Policy    *policy.Engine    // policy.go
	Delivery  *delivery.Service // delivery.go
	Contacts  *contact.Service  // contacts.go
	Workflows *workflow.Service // workflow.go

	// Templates, Tracking and Campaigns are the marketing send path
	// (campaign.go).
	Templates *template.Service
	Tracking  *tracking.Service
	Campaigns *campaign.Service

	// DNS is the outbound resolver (nil when none could be configured) and
	// Domains the sender domains (domains.go).
	DNS     *dns.Resolver
	Domains *senderdomain.Service

	// Keydir is the recipient key directory and the end-to-end encryption
	// seam (keydir.go).
	Keydir *keydir.Service

	// Portal is the secure portal (portal.go).
	Portal *portal.Service

	// Segments are secure marketing's segments (marketing.go); tracking
	// with unsubscribes kept by package contact is built in tracking.go.
	Segments *segment.Service
}

// Options adjusts Open for tests and CLI commands.
type Options struct {
	// Clock replaces time.Now (tests use a fake clock).
	Clock func() time.Time
	// ReadOnly opens without changing the database or the data folder: no
	// migrations, no key file or signing key generated. Reporting commands
	// (status, verify, export) use it.
	ReadOnly bool
	// SkipKeys opens only the store: no key-encryption key, keyring or
	// audit signer (`carepost migrate` needs none of them).
	SkipKeys bool
	// DNSServers replace the system resolver (/etc/resolv.conf) for
	// outbound lookups, as "ip:port"; tests point them at a DNS server on
	// loopback, and `carepost domain verify --dns-server` at one the
	// operator names.
	DNSServers []string
	// Signers replace the sender domains' DKIM signers in delivery (tests
	// sign with keys they generate).
	Signers delivery.Signers
	// Campaign edits the campaign engine's options (tests use small
	// batches and the chunk hook with the node's own job client).
	Campaign func(*campaign.Options)
}

// Open builds the core services from cfg. cfg must already be resolved and
// valid. The caller closes the App.
func Open(ctx context.Context, cfg *config.Config, log *slog.Logger, opts Options) (*App, error) {
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	clock := opts.Clock
	if clock == nil {
		clock = time.Now
	}
	url, err := cfg.DatabaseURL()
	if err != nil {
		return nil, err
	}
	db, err := store.Open(ctx, store.Options{URL: url, MaxConns: cfg.Database.MaxConns})
	if err != nil {
		return nil, err
	}
	a := &App{Config: cfg, Log: log, DB: db, Clock: clock, Metrics: prometheus.NewRegistry()}
	if err := a.open(ctx, opts); err != nil {
		db.Close()
		return nil, err
	}
	return a, nil
}

func (a *App) open(ctx context.Context, opts Options) error {
	a.Metrics.MustRegister(collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	if opts.SkipKeys {
		return nil
	}
	if !opts.ReadOnly {
		if err := a.Migrate(ctx); err != nil {
			return err
		}
	} else if n, err := a.DB.Pending(ctx); err != nil {
		return err
	} else if n > 0 {
		return fmt.Errorf("the database has %d pending migrations: run carepost migrate up (carepost serve also applies them)", n)
	}
	kek, err := a.loadKEK(ctx, !opts.ReadOnly)
	if err != nil {
		return err
	}
	a.KEK = kek
	a.Keys = keyring.New(a.DB, kek.Keyset, keyring.Options{CurrentTTL: a.Config.Keys.CurrentTTL.Duration(), Clock: a.Clock})
	a.Blobs = blob.New(a.DB, a.Keys)
	// The signing key is sealed by the keyring, so a key loaded from it is
	// trusted in a way a public key merely recorded in the database is not.
	// Read-only commands use it when it exists and never create it.
	var signer audit.Signer
	if opts.ReadOnly {
		if seed, err := a.signingSeed(ctx); err == nil {
			signer, _ = audit.NewEd25519Signer(ed25519.NewKeyFromSeed(seed))
		} else if !errors.Is(err, store.ErrNotFound) {
			return fmt.Errorf("audit signing key: %w", err)
		}
	} else if signer, err = a.auditSigner(ctx); err != nil {
		return err
	}
	a.Audit = audit.New(a.DB, audit.Options{Clock: a.Clock, Signer: signer})
	a.Auth = auth.New(a.DB, auth.Options{Clock: a.Clock, Keys: a.Keys, Audit: a.Audit, Log: a.Log,
		WebAuthn: a.passkeyOptions(), OIDC: a.oidcOptions()})
	if err := a.openDomains(opts); err != nil {
		return err
	}
	if err := a.openMessaging(opts); err != nil {
		return err
	}
	a.Contacts.Bind(a.Jobs)
	if err := a.openMarketing(); err != nil {
		return err
	}
	return a.openKeydir()
}

// Migrate applies carepost's and the job engine's migrations.
func (a *App) Migrate(ctx context.Context) error {
	done, err := a.DB.Migrate(ctx)
	if err != nil {
		return fmt.Errorf("migrate database: %w", err)
	}
	for _, m := range done {
		a.Log.Info("applied migration", "version", m.Version, "name", m.Name)
	}
	jv, err := jobs.Migrate(ctx, a.DB)
	if err != nil {
		return err
	}
	if len(jv) > 0 {
		a.Log.Info("applied job engine migrations", "versions", jv)
	}
	return nil
}

// MigrationsCurrent reports an error naming what is pending, for /readyz.
func (a *App) MigrationsCurrent(ctx context.Context) error {
	n, err := a.DB.Pending(ctx)
	if err != nil {
		return errors.New("cannot read migration state")
	}
	j, err := jobs.Pending(ctx, a.DB)
	if err != nil {
		return errors.New("cannot read job engine migration state")
	}
	if n+j > 0 {
		return fmt.Errorf("%d migrations pending; run carepost migrate up", n+j)
	}
	return nil
}

// Close stops group commit and releases the database.
func (a *App) Close() error {
	if a.Committer != nil {
		a.Committer.Close()
	}
	return a.DB.Close()
}
