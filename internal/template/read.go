package template

import (
	"context"
	"encoding/json"
	"fmt"

	"github.com/carepost/carepost/internal/audit"
	"github.com/carepost/carepost/internal/store"
)

// Get returns a template at version (0: the current one). A template of
// another organization, or a deleted one, is store.ErrNotFound.
func (s *Service) Get(ctx context.Context, orgID, templateID string, version int) (Template, error) {
	return s.get(ctx, orgID, templateID, version, false)
}

func (s *Service) get(ctx context.Context, orgID, templateID string, version int, withDeleted bool) (Template, error) {
	q := s.deps.DB.Reader()
	row, err := store.LookupTemplate(ctx, q, orgID, templateID, withDeleted)
	if err != nil {
		return Template{}, err
	}
	if version == 0 {
		version = row.CurrentVersion
	}
	v, err := store.GetTemplateVersion(ctx, q, orgID, templateID, version)
	if err != nil {
		return Template{}, err
	}
	plain, err := s.deps.Keys.Open(ctx, q, VersionAAD(orgID, v.ID), v.Content)
	if err != nil {
		return Template{}, fmt.Errorf("open template %s v%d: %w", templateID, version, err)
	}
	t := Template{ID: templateID, Name: row.Name, CurrentVersion: row.CurrentVersion, Version: v.Version, TextGenerated: v.TextGenerated,
		CreatedAt: row.CreatedAt, UpdatedAt: row.UpdatedAt, VersionCreatedAt: v.CreatedAt}
	if err := json.Unmarshal(plain, &t.Source); err != nil {
		return Template{}, fmt.Errorf("decode template %s v%d: %w", templateID, version, err)
	}
	return t, nil
}

// List returns the organization's templates (names and versions, no
// content), most recently changed first.
func (s *Service) List(ctx context.Context, orgID string) ([]Template, error) {
	rows, err := store.TemplatesOf(ctx, s.deps.DB.Reader(), orgID, 1000)
	if err != nil {
		return nil, err
	}
	out := make([]Template, 0, len(rows))
	for _, r := range rows {
		out = append(out, Template{ID: r.ID, Name: r.Name, CurrentVersion: r.CurrentVersion, Version: r.CurrentVersion,
			CreatedAt: r.CreatedAt, UpdatedAt: r.UpdatedAt})
	}
	return out, nil
}

// Delete hides a template: it is no longer listed, read or edited, while
// the versions campaigns reference stay (and still render through
// Compiled).
func (s *Service) Delete(ctx context.Context, actor audit.Actor, orgID, templateID string) error {
	return s.deps.DB.Tx(ctx, func(tx *store.Tx) error {
		if err := store.DeleteTemplate(ctx, tx, orgID, templateID, s.now()); err != nil {
			return err
		}
		err := s.deps.Audit.Append(ctx, tx, audit.Entry{Chain: orgID, Actor: actor, Action: "template.delete", TargetType: "template",
			TargetID: templateID, Outcome: audit.Success})
		return err
	})
}

// Versions lists a template's versions, newest first.
func (s *Service) Versions(ctx context.Context, orgID, templateID string) ([]Version, error) {
	q := s.deps.DB.Reader()
	if _, err := store.GetTemplate(ctx, q, orgID, templateID); err != nil {
		return nil, err
	}
	rows, err := store.TemplateVersionsOf(ctx, q, orgID, templateID)
	if err != nil {
		return nil, err
	}
	out := make([]Version, 0, len(rows))
	for _, r := range rows {
		out = append(out, Version{Version: r.Version, TextGenerated: r.TextGenerated,
			Actor: audit.Actor{Type: audit.ActorType(r.ActorType), ID: r.ActorID}, CreatedAt: r.CreatedAt})
	}
	return out, nil
}

// Compiled returns a version compiled, from a cache: a campaign compiles
// its version once and executes it for every recipient. A deleted
// template's versions still compile, so campaigns that reference one keep
// sending.
func (s *Service) Compiled(ctx context.Context, orgID, templateID string, version int) (*Compiled, int, error) {
	if version == 0 {
		row, err := store.LookupTemplate(ctx, s.deps.DB.Reader(), orgID, templateID, true)
		if err != nil {
			return nil, 0, err
		}
		version = row.CurrentVersion
	}
	k := versionKey{org: orgID, id: templateID, version: version}
	s.mu.Lock()
	c, ok := s.compiled[k]
	s.mu.Unlock()
	if ok {
		return c, version, nil
	}
	t, err := s.get(ctx, orgID, templateID, version, true)
	if err != nil {
		return nil, 0, err
	}
	if c, err = Compile(t.Source); err != nil {
		return nil, 0, err
	}
	s.mu.Lock()
	if len(s.compiled) >= maxCached {
		clear(s.compiled)
	}
	s.compiled[k] = c
	s.mu.Unlock()
	return c, version, nil
}

// Preview renders a version (0: current) for a sample contact, as a
// recipient would see it before tracking is added. Nothing is stored.
func (s *Service) Preview(ctx context.Context, orgID, templateID string, version int, sample Contact, links Links) (Rendered, int, error) {
	c, v, err := s.Compiled(ctx, orgID, templateID, version)
	if err != nil {
		return Rendered{}, 0, err
	}
	d := NewData(sample, s.clock(), links)
	r, err := c.Render(&d)
	if err != nil {
		return Rendered{}, 0, &LintError{Problems: []Problem{{Part: "sample", Msg: "the template does not render with this sample: " + renderMessage(err)}}}
	}
	return r, v, nil
}

// renderMessage keeps an execution error's position and cause without the
// value that caused it (a sample may hold PHI).
func renderMessage(err error) string {
	msg := err.Error()
	if len(msg) > 200 {
		msg = msg[:200]
	}
	return msg
}
