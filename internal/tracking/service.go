package tracking

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"time"

	"github.com/carepost/carepost/internal/blob"
	"github.com/carepost/carepost/internal/event"
	"github.com/carepost/carepost/internal/id"
	"github.com/carepost/carepost/internal/keyring"
	"github.com/carepost/carepost/internal/store"
)

// Deps are what the service needs.
type Deps struct {
	DB    *store.DB
	Keys  *keyring.Keyring
	Blobs *blob.Store
	// Committer group-commits engagement writes (opens and clicks arrive
	// in bursts after a send); nil writes each in its own transaction.
	Committer *store.Committer
	Events    *event.Recorder
	// Subscriptions keeps unsubscribes; nil means the service's own table
	// (Local) until package contact provides one.
	Subscriptions Subscriptions
	Log           *slog.Logger
}

// Options tune the service.
type Options struct {
	// BaseURL is the public URL tracking links point at (http.public_url),
	// without a trailing slash. Required.
	BaseURL string
	// Rules classify machine opens and clicks. Default DefaultRules().
	Rules []Rule
	// Clock is the time source. Default time.Now.
	Clock func() time.Time
}

// Service mints and honours tracking tokens.
type Service struct {
	deps   Deps
	opts   Options
	keys   *keys
	detect *Detector
}

// New returns the service and registers the link table with the keyring.
func New(deps Deps, opts Options) (*Service, error) {
	opts.BaseURL = strings.TrimRight(opts.BaseURL, "/")
	if !strings.HasPrefix(opts.BaseURL, "https://") && !strings.HasPrefix(opts.BaseURL, "http://") {
		return nil, errors.New("tracking: BaseURL must be an http(s) URL")
	}
	if opts.Clock == nil {
		opts.Clock = time.Now
	}
	if deps.Log == nil {
		deps.Log = slog.New(slog.DiscardHandler)
	}
	if deps.Subscriptions == nil {
		deps.Subscriptions = NewLocal(deps.DB, opts.Clock)
	}
	deps.Keys.Register(store.TrackingLinksTable())
	return &Service{deps: deps, opts: opts, keys: newKeys(deps.Blobs), detect: NewDetector(opts.Rules)}, nil
}

// Issuer returns the organization's token issuer, creating its key on
// first use.
func (s *Service) Issuer(ctx context.Context, orgID string) (*Issuer, error) {
	if !validID(orgID) || orgID == "" {
		return nil, errors.New("tracking: invalid organization id")
	}
	key, err := s.keys.ensure(ctx, s.deps.DB, orgID)
	if err != nil {
		return nil, err
	}
	return &Issuer{orgID: orgID, key: key, base: s.opts.BaseURL, clock: s.opts.Clock}, nil
}

// verify reads a token of the expected kind and checks its MAC with its
// organization's key. Every failure is ErrInvalid.
func (s *Service) verify(ctx context.Context, token string, kind Kind) (Token, error) {
	p, err := parse(token)
	if err != nil || p.Kind != kind {
		return Token{}, ErrInvalid
	}
	key, err := s.keys.load(ctx, s.deps.DB.Reader(), p.OrgID)
	if errors.Is(err, store.ErrNotFound) {
		return Token{}, ErrInvalid
	}
	if err != nil {
		return Token{}, err
	}
	if !p.verify(key) {
		return Token{}, ErrInvalid
	}
	return p.Token, nil
}

// LinkAAD names a link row's sealed URL.
func LinkAAD(orgID, rowID string) keyring.AAD {
	return keyring.AAD{Scope: orgID, Table: "tracking_links", Column: "url", RowID: rowID}
}

// ErrLinkConflict means another writer gave one of the table's indexes to
// a different URL (see LinkTable).
var ErrLinkConflict = errors.New("tracking: a link index is taken by another URL")

// SaveLinks persists the table's new links inside tx: call it in the
// transaction that enqueues the messages carrying them.
func (s *Service) SaveLinks(ctx context.Context, tx *store.Tx, orgID string, t *LinkTable) error {
	links := t.Unsaved()
	if len(links) == 0 {
		return nil
	}
	now := s.opts.Clock()
	rows := make([]store.TrackingLinkRow, 0, len(links))
	for _, l := range links {
		r := store.TrackingLinkRow{ID: id.New("lnk"), OrgID: orgID, CampaignID: t.CampaignID(), Index: l.Index, CreatedAt: now}
		var err error
		if r.URL, r.DEKVersion, err = s.deps.Keys.Seal(ctx, tx, LinkAAD(orgID, r.ID), []byte(l.URL)); err != nil {
			return fmt.Errorf("seal link: %w", err)
		}
		rows = append(rows, r)
	}
	n, err := store.InsertTrackingLinks(ctx, tx, rows)
	if err != nil {
		return err
	}
	if int(n) != len(rows) {
		// Some indexes existed: fine if they hold the same URLs (a retry).
		have, err := s.loadLinks(ctx, tx, orgID, t.CampaignID(), links[0].Index)
		if err != nil {
			return err
		}
		for _, l := range links {
			if u, ok := have[l.Index]; !ok || u != l.URL {
				return ErrLinkConflict
			}
		}
	}
	last := links[len(links)-1].Index + 1
	tx.AfterCommit(func() { t.markSaved(last) })
	return nil
}

// LinkTable loads a campaign's saved links, to continue a send (after a
// restart, on another node).
func (s *Service) LinkTable(ctx context.Context, orgID, campaignID string) (*LinkTable, error) {
	have, err := s.loadLinks(ctx, s.deps.DB.Reader(), orgID, campaignID, 0)
	if err != nil {
		return nil, err
	}
	urls := make([]string, len(have))
	for i := range urls {
		u, ok := have[i]
		if !ok {
			return nil, fmt.Errorf("tracking: campaign %s has a gap in its link table at %d", campaignID, i)
		}
		urls[i] = u
	}
	return NewLinkTable(campaignID, urls...), nil
}

func (s *Service) loadLinks(ctx context.Context, q store.Querier, orgID, campaignID string, from int) (map[int]string, error) {
	rows, err := store.TrackingLinksOf(ctx, q, orgID, campaignID, from)
	if err != nil {
		return nil, err
	}
	out := make(map[int]string, len(rows))
	for _, r := range rows {
		u, err := s.deps.Keys.Open(ctx, q, LinkAAD(orgID, r.ID), r.URL)
		if err != nil {
			return nil, fmt.Errorf("open link %d: %w", r.Index, err)
		}
		out[r.Index] = string(u)
	}
	return out, nil
}

// write runs fn in the group committer when there is one.
func (s *Service) write(ctx context.Context, fn func(tx *store.Tx) error) error {
	if s.deps.Committer != nil {
		return s.deps.Committer.Do(ctx, fn)
	}
	return s.deps.DB.Tx(ctx, fn)
}
