package policy

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"sync"
	"time"

	"github.com/carepost/carepost/internal/audit"
	"github.com/carepost/carepost/internal/id"
	"github.com/carepost/carepost/internal/keyring"
	"github.com/carepost/carepost/internal/message"
	"github.com/carepost/carepost/internal/phi"
	"github.com/carepost/carepost/internal/store"
)

// KeyDirectory says whether carepost holds a usable end-to-end key for a
// recipient (the e2e package implements it). kind names the key
// ("openpgp", "smime"). A key that is expired, revoked or fails validation
// is not usable: ok is false. The engine only asks; it never sees keys.
type KeyDirectory interface {
	HasValidKey(ctx context.Context, orgID, email string) (kind string, ok bool, err error)
}

// Deps are the services the engine uses.
type Deps struct {
	DB    *store.DB
	Keys  *keyring.Keyring
	Audit *audit.Log
	// Directory answers whether a recipient has a usable e2e key; nil
	// means nobody has one (until the e2e engine is wired).
	Directory KeyDirectory
}

// Options tunes the engine.
type Options struct {
	// Clock replaces time.Now.
	Clock func() time.Time
	// CacheTTL is how long a compiled policy is used before it is read
	// again, so that a change saved on another node reaches this one.
	// Changes saved on this node apply at once. Default 10 seconds.
	CacheTTL time.Duration
}

// Engine decides per recipient from each organization's policy.
type Engine struct {
	deps Deps
	opts Options

	mu    sync.Mutex
	cache map[string]*compiled
}

// New builds the engine.
func New(deps Deps, opts Options) *Engine {
	if opts.Clock == nil {
		opts.Clock = time.Now
	}
	if opts.CacheTTL <= 0 {
		opts.CacheTTL = 10 * time.Second
	}
	return &Engine{deps: deps, opts: opts, cache: map[string]*compiled{}}
}

// PolicyAAD names the sealed document of a policy version row.
func PolicyAAD(orgID, rowID string) keyring.AAD {
	return keyring.AAD{Scope: orgID, Table: "policy_versions", Column: "document", RowID: rowID}
}

// Policy returns the organization's current document (Default, version 0,
// when it has saved none).
func (e *Engine) Policy(ctx context.Context, orgID string) (Document, error) {
	return e.read(ctx, e.deps.DB.Reader(), orgID)
}

func (e *Engine) read(ctx context.Context, q store.Querier, orgID string) (Document, error) {
	row, err := store.CurrentPolicy(ctx, q, orgID)
	if errors.Is(err, store.ErrNotFound) {
		return Default(), nil
	}
	if err != nil {
		return Document{}, err
	}
	plain, err := e.deps.Keys.Open(ctx, q, PolicyAAD(orgID, row.ID), row.Document)
	if err != nil {
		return Document{}, fmt.Errorf("open policy version %d: %w", row.Version, err)
	}
	doc := Default()
	if err := json.Unmarshal(plain, &doc); err != nil {
		return Document{}, fmt.Errorf("decode policy version %d: %w", row.Version, err)
	}
	doc.Version, doc.UpdatedAt = row.Version, row.CreatedAt
	return doc, nil
}

// compiled returns the organization's compiled policy, from the cache
// while it is fresh.
func (e *Engine) compiled(ctx context.Context, orgID string) (*compiled, error) {
	now := e.opts.Clock()
	e.mu.Lock()
	c := e.cache[orgID]
	e.mu.Unlock()
	if c != nil && now.Sub(c.loadedAt) < e.opts.CacheTTL && !now.Before(c.loadedAt) {
		return c, nil
	}
	q := e.deps.DB.Reader()
	doc, err := e.read(ctx, q, orgID)
	if err != nil {
		return nil, err
	}
	pins, err := store.TransportPinsOf(ctx, q, orgID)
	if err != nil {
		return nil, err
	}
	if c, err = compile(doc, pins, now); err != nil {
		return nil, err
	}
	e.mu.Lock()
	e.cache[orgID] = c
	e.mu.Unlock()
	return c, nil
}

// forget drops an organization's compiled policy after a change.
func (e *Engine) forget(orgID string) {
	e.mu.Lock()
	delete(e.cache, orgID)
	e.mu.Unlock()
}

// ScanText runs the organization's detectors over one text, for callers
// that compose text of their own (portal notification templates, SMS
// bodies) and must keep PHI out of it.
func (e *Engine) ScanText(ctx context.Context, orgID, location, text string) ([]phi.Finding, error) {
	c, err := e.compiled(ctx, orgID)
	if err != nil {
		return nil, err
	}
	return c.scanner.ScanHTML(location, []string{text}), nil
}

// Message is one message as the engine sees it.
type Message struct {
	OrgID string
	// SenderUserID is the person sending (for sender-group overrides).
	SenderUserID string
	// From is the sender's address (for sender overrides).
	From string
	// Security, NonPHI and RequireTLS are the submitter's (see Input).
	Security   string
	NonPHI     bool
	RequireTLS bool
	// TLSOnly is the "TLS only, else drop" mode: verified TLS or nothing,
	// never the portal (marketing).
	TLSOnly bool
	// Parsed is the content; nil means it could not be inspected, which
	// is treated as content that was not fully scanned.
	Parsed *message.Parsed
	// Keys answers the key questions for this message's recipients in
	// place of the engine's KeyDirectory (nil: the engine's): a campaign
	// batch reads its recipients' keys at once (keydir.KeySet).
	Keys KeyDirectory
}

// Evaluate reads the organization's policy and scans the message once;
// Evaluation.Decide then decides each recipient.
func (e *Engine) Evaluate(ctx context.Context, m Message) (*Evaluation, error) {
	c, err := e.compiled(ctx, m.OrgID)
	if err != nil {
		return nil, err
	}
	ev := &Evaluation{engine: e, c: c, msg: m, Version: c.doc.Version}
	ev.Findings, ev.Unscanned = c.scan(m.Parsed)
	for _, f := range ev.Findings {
		if f.Confidence >= c.minConf {
			ev.found = true
			ev.SubjectFlagged = ev.SubjectFlagged || f.Location == phi.InSubject
		}
	}
	ev.PHI = !m.NonPHI || ev.found || ev.Unscanned
	if m.Parsed != nil {
		ev.Tagged = c.tagged(m.Parsed.Subject)
	}
	if c.groups && m.SenderUserID != "" {
		if ev.groups, err = store.UserRoles(ctx, e.deps.DB.Reader(), m.OrgID, m.SenderUserID); err != nil {
			return nil, err
		}
	}
	return ev, nil
}

// Save validates doc and stores it as the organization's next version,
// sealed, with a "policy.update" audit entry in the same transaction. A
// doc.Version other than 0 must be the current version (ErrStale
// otherwise), so two administrators editing at once do not overwrite each
// other unknowingly. It returns the stored document.
func (e *Engine) Save(ctx context.Context, actor audit.Actor, orgID string, doc Document) (Document, error) {
	if err := doc.Validate(); err != nil {
		return Document{}, err
	}
	base := doc.Version
	err := e.deps.DB.Tx(ctx, func(tx *store.Tx) error {
		cur, err := store.CurrentPolicy(ctx, tx, orgID)
		switch {
		case errors.Is(err, store.ErrNotFound):
		case err != nil:
			return err
		}
		if base != 0 && base != cur.Version {
			return ErrStale
		}
		doc.Version, doc.UpdatedAt = cur.Version+1, store.FromMicros(store.Micros(e.opts.Clock()))
		body := doc
		body.Version, body.UpdatedAt = 0, time.Time{} // the row holds them
		plain, err := json.Marshal(body)
		if err != nil {
			return err
		}
		row := store.PolicyVersionRow{ID: id.New("pol"), OrgID: orgID, Version: doc.Version, ActorType: string(actor.Type),
			ActorID: actor.ID, CreatedAt: doc.UpdatedAt}
		if row.Document, row.DEKVersion, err = e.deps.Keys.Seal(ctx, tx, PolicyAAD(orgID, row.ID), plain); err != nil {
			return fmt.Errorf("seal policy: %w", err)
		}
		if err := store.InsertPolicyVersion(ctx, tx, row); err != nil {
			if errors.Is(err, store.ErrConflict) {
				return ErrStale // another save took this version number
			}
			return err
		}
		err = e.deps.Audit.Append(ctx, tx, audit.Entry{Chain: orgID, Actor: actor, Action: "policy.update",
			TargetType: "policy", TargetID: row.ID, Outcome: audit.Success,
			Details: map[string]string{"version": strconv.Itoa(doc.Version), "content_rules": strconv.Itoa(len(doc.ContentRules)),
				"overrides": strconv.Itoa(len(doc.Overrides)), "always_portal_domains": strconv.Itoa(len(doc.AlwaysPortalDomains))}})
		if err != nil {
			return err
		}
		tx.AfterCommit(func() { e.forget(orgID) })
		return nil
	})
	if err != nil {
		return Document{}, err
	}
	return doc, nil
}
