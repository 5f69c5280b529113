package workflow

import (
	"context"
	"errors"

	"github.com/carepost/carepost/internal/store"
	"github.com/carepost/carepost/internal/template"
)

// lookup answers validation's questions from the service's dependencies.
func (s *Service) lookup() Lookup { return serviceLookup{s} }

type serviceLookup struct{ s *Service }

// FieldSet is the organization's fields for the PHI lint: each custom
// field as defined, the built-in ones (names, contact details) PHI.
func (s *Service) FieldSet(ctx context.Context, orgID string) (template.FieldSet, error) {
	sch, err := s.deps.Contacts.Schema(ctx, orgID)
	if err != nil {
		return nil, err
	}
	fs := template.FieldSet{}
	for _, f := range sch.Fields {
		fs[f.Key] = f.PHI
	}
	for _, k := range []string{template.FieldEmail, template.FieldPhone, template.FieldFirstName, template.FieldLastName} {
		fs[k] = true
	}
	return fs, nil
}

func (l serviceLookup) Template(ctx context.Context, orgID, templateID string, version int) (int, []string, error) {
	t, err := l.s.deps.Templates.Get(ctx, orgID, templateID, version)
	if err != nil {
		return 0, nil, err
	}
	fs, err := l.s.FieldSet(ctx, orgID)
	if err != nil {
		return 0, nil, err
	}
	var problems []string
	for _, p := range template.Lint(t.Source, fs) {
		problems = append(problems, p.String())
	}
	return t.Version, problems, nil
}

func (l serviceLookup) FieldType(ctx context.Context, orgID, key string) (string, bool, error) {
	sch, err := l.s.deps.Contacts.Schema(ctx, orgID)
	if err != nil {
		return "", false, err
	}
	f, ok := sch.Field(key)
	if !ok {
		return "", false, nil
	}
	return string(f.Type), true, nil
}

func (l serviceLookup) List(ctx context.Context, orgID, listID string) (bool, error) {
	return listExists(ctx, l.s.deps.DB.Reader(), orgID, listID)
}

func (l serviceLookup) Segment(ctx context.Context, orgID, segmentID string) (bool, error) {
	return l.s.deps.Segments.Exists(ctx, orgID, segmentID)
}

func (l serviceLookup) Workflow(ctx context.Context, orgID, workflowID string) (bool, error) {
	_, err := store.GetWorkflow(ctx, l.s.deps.DB.Reader(), orgID, workflowID)
	if errors.Is(err, store.ErrNotFound) {
		return false, nil
	}
	return err == nil, err
}
