package template

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"sync"
	"time"
	"unicode"

	"github.com/carepost/carepost/internal/audit"
	"github.com/carepost/carepost/internal/id"
	"github.com/carepost/carepost/internal/keyring"
	"github.com/carepost/carepost/internal/store"
)

// FieldSource gives an organization's field set (package contact
// implements it from its field definitions).
type FieldSource interface {
	FieldSet(ctx context.Context, orgID string) (FieldSet, error)
}

// StaticFields is a FieldSource with the same set for every organization.
type StaticFields FieldSet

// FieldSet returns the set.
func (s StaticFields) FieldSet(context.Context, string) (FieldSet, error) { return FieldSet(s), nil }

// Deps are what the service needs.
type Deps struct {
	DB    *store.DB
	Keys  *keyring.Keyring
	Audit *audit.Log
	// Fields says which fields are PHI; nil means DefaultFields.
	Fields FieldSource
}

// Options tune the service.
type Options struct {
	// Clock is the time source. Default time.Now.
	Clock func() time.Time
}

// Service stores an organization's templates and their versions.
type Service struct {
	deps  Deps
	clock func() time.Time

	mu       sync.Mutex
	compiled map[versionKey]*Compiled // versions never change, so neither do these
}

type versionKey struct {
	org, id string
	version int
}

// maxCached bounds the compiled-version cache; past it the cache starts
// over (campaigns in flight use a handful of versions).
const maxCached = 256

// ErrStale means the template changed since the version the edit started
// from.
var ErrStale = errors.New("the template was changed by someone else: reload it and edit the newest version")

// New returns the service and registers the sealed table with the keyring.
func New(deps Deps, opts Options) *Service {
	if deps.Fields == nil {
		deps.Fields = StaticFields(DefaultFields())
	}
	if opts.Clock == nil {
		opts.Clock = time.Now
	}
	deps.Keys.Register(store.TemplateVersionsTable())
	return &Service{deps: deps, clock: opts.Clock, compiled: map[versionKey]*Compiled{}}
}

// Template is one version of a template with its content.
type Template struct {
	ID             string
	Name           string
	CurrentVersion int
	Version        int // the version Source is
	Source
	TextGenerated    bool
	CreatedAt        time.Time
	UpdatedAt        time.Time
	VersionCreatedAt time.Time
}

// Version describes a version without its content.
type Version struct {
	Version       int
	TextGenerated bool
	Actor         audit.Actor
	CreatedAt     time.Time
}

// VersionAAD names the sealed content of a template version row.
func VersionAAD(orgID, rowID string) keyring.AAD {
	return keyring.AAD{Scope: orgID, Table: "template_versions", Column: "content", RowID: rowID}
}

// Create prepares, lints and stores a new template as version 1.
func (s *Service) Create(ctx context.Context, actor audit.Actor, orgID, name string, src Source) (Template, error) {
	p, err := s.prepare(ctx, orgID, name, src)
	if err != nil {
		return Template{}, err
	}
	now := s.now()
	t := Template{ID: id.New("tpl"), Name: strings.TrimSpace(name), CurrentVersion: 1, Version: 1, Source: p.Source,
		TextGenerated: p.TextGenerated, CreatedAt: now, UpdatedAt: now, VersionCreatedAt: now}
	err = s.deps.DB.Tx(ctx, func(tx *store.Tx) error {
		if err := store.InsertTemplate(ctx, tx, store.TemplateRow{ID: t.ID, OrgID: orgID, Name: t.Name, CurrentVersion: 1, CreatedAt: now, UpdatedAt: now}); err != nil {
			return err
		}
		return s.insertVersion(ctx, tx, actor, orgID, t, "template.create")
	})
	if err != nil {
		return Template{}, err
	}
	return t, nil
}

// Update stores an edit as a new version. base is the version the edit
// started from (ErrStale if the template has moved on since); 0 means the
// newest, whatever it is.
func (s *Service) Update(ctx context.Context, actor audit.Actor, orgID, templateID, name string, src Source, base int) (Template, error) {
	p, err := s.prepare(ctx, orgID, name, src)
	if err != nil {
		return Template{}, err
	}
	var t Template
	err = s.deps.DB.Tx(ctx, func(tx *store.Tx) error {
		cur, err := store.GetTemplate(ctx, tx, orgID, templateID)
		if err != nil {
			return err
		}
		if base != 0 && base != cur.CurrentVersion {
			return ErrStale
		}
		now := s.now()
		t = Template{ID: templateID, Name: strings.TrimSpace(name), CurrentVersion: cur.CurrentVersion + 1, Version: cur.CurrentVersion + 1,
			Source: p.Source, TextGenerated: p.TextGenerated, CreatedAt: cur.CreatedAt, UpdatedAt: now, VersionCreatedAt: now}
		if err := store.AdvanceTemplate(ctx, tx, orgID, templateID, t.Name, cur.CurrentVersion, t.Version, now); err != nil {
			if errors.Is(err, store.ErrConflict) {
				return ErrStale
			}
			return err
		}
		return s.insertVersion(ctx, tx, actor, orgID, t, "template.update")
	})
	if errors.Is(err, store.ErrConflict) {
		err = ErrStale // two edits took the same version number
	}
	if err != nil {
		return Template{}, err
	}
	return t, nil
}

func (s *Service) insertVersion(ctx context.Context, tx *store.Tx, actor audit.Actor, orgID string, t Template, action string) error {
	plain, err := json.Marshal(t.Source)
	if err != nil {
		return err
	}
	row := store.TemplateVersionRow{ID: id.New("tpv"), OrgID: orgID, TemplateID: t.ID, Version: t.Version, TextGenerated: t.TextGenerated,
		ActorType: string(actor.Type), ActorID: actor.ID, CreatedAt: t.VersionCreatedAt}
	if row.Content, row.DEKVersion, err = s.deps.Keys.Seal(ctx, tx, VersionAAD(orgID, row.ID), plain); err != nil {
		return fmt.Errorf("seal template: %w", err)
	}
	if err := store.InsertTemplateVersion(ctx, tx, row); err != nil {
		return err
	}
	err = s.deps.Audit.Append(ctx, tx, audit.Entry{Chain: orgID, Actor: actor, Action: action, TargetType: "template",
		TargetID: t.ID, Outcome: audit.Success, Details: map[string]string{"version": strconv.Itoa(t.Version)}})
	return err
}

// prepare checks the name and runs Prepare with the organization's fields.
func (s *Service) prepare(ctx context.Context, orgID, name string, src Source) (Prepared, error) {
	n := strings.TrimSpace(name)
	if n == "" || len(n) > 200 || strings.ContainsFunc(n, unicode.IsControl) {
		return Prepared{}, &LintError{Problems: []Problem{{Part: "name", Msg: "1 to 200 characters, no control characters"}}}
	}
	fs, err := s.deps.Fields.FieldSet(ctx, orgID)
	if err != nil {
		return Prepared{}, fmt.Errorf("field set: %w", err)
	}
	return Prepare(src, fs)
}

func (s *Service) now() time.Time { return store.FromMicros(store.Micros(s.clock())) }

// Now is the service's clock (previews date their samples by it).
func (s *Service) Now() time.Time { return s.now() }
