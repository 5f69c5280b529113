package segment

import (
	"context"
	"crypto/sha256"
	"encoding/binary"
	"errors"
	"fmt"
	"log/slog"
	"strconv"
	"strings"
	"sync"
	"time"
	"unicode"

	"github.com/carepost/carepost/internal/access"
	"github.com/carepost/carepost/internal/audit"
	"github.com/carepost/carepost/internal/auth"
	"github.com/carepost/carepost/internal/contact"
	"github.com/carepost/carepost/internal/id"
	"github.com/carepost/carepost/internal/keyring"
	"github.com/carepost/carepost/internal/message"
	"github.com/carepost/carepost/internal/store"
)

// Kind is whether a segment is computed or listed.
type Kind string

// Segment kinds.
const (
	// Dynamic segments are an expression over contacts, evaluated when
	// asked: membership is always current.
	Dynamic Kind = "dynamic"
	// Static segments hold the members added to them (by the API, by
	// workflows) until removed.
	Static Kind = "static"
)

// Segment is one segment's definition.
type Segment struct {
	ID, Name, Description string
	Kind                  Kind
	// Expression is the filter of a dynamic segment.
	Expression string
	// Version counts changes of the expression, from 1.
	Version int
	// Fields are the fields the expression reads; UsesPHI is whether any
	// is PHI (evaluating it opens contacts' sealed values).
	Fields               []string
	UsesPHI              bool
	CreatedAt, UpdatedAt time.Time
}

// Deps are what the service needs.
type Deps struct {
	DB       *store.DB
	Keys     *keyring.Keyring
	Audit    *audit.Log
	Contacts *contact.Service
}

// Options tune the service. Zero values take the defaults given.
type Options struct {
	// Clock replaces time.Now.
	Clock func() time.Time
	// Floor is the small-cell floor: counts shown to principals without
	// phi:read never reveal a group smaller than it (config
	// marketing.small_cell_floor). Default access.SmallCellFloor (11).
	Floor int
	// Log receives evaluation failures (ids only).
	Log *slog.Logger
}

// Service keeps an installation's segments. It is safe for concurrent
// use.
type Service struct {
	deps Deps
	opts Options

	mu    sync.Mutex
	cache map[programKey]*Program // compiled once per segment version and field schema

	observer Observer // observer.go
}

type programKey struct {
	org, id string
	version int
	schema  [16]byte
}

// maxCached bounds the program cache; past it the cache starts over.
const maxCached = 512

// Errors callers branch on.
var (
	ErrNotStatic = errors.New("the segment is dynamic: its members follow from its expression and cannot be added or removed")
	ErrStale     = errors.New("the segment was changed by someone else: reload it and edit the newest version")
	// ErrSmallCell refuses an export to a principal without phi:read when
	// the segment is smaller than the floor.
	ErrSmallCell = errors.New("the segment has too few contacts to export without phi:read")
)

// New returns the service and registers the sealed expressions with the
// keyring for rotation.
func New(deps Deps, opts Options) *Service {
	if opts.Clock == nil {
		opts.Clock = time.Now
	}
	if opts.Floor <= 0 {
		opts.Floor = access.SmallCellFloor
	}
	if opts.Log == nil {
		opts.Log = slog.New(slog.DiscardHandler)
	}
	deps.Keys.Register(store.SegmentsTable())
	return &Service{deps: deps, opts: opts, cache: map[programKey]*Program{}}
}

// Floor is the small-cell floor in force.
func (s *Service) Floor() int { return s.opts.Floor }

func (s *Service) now() time.Time { return store.FromMicros(store.Micros(s.opts.Clock())) }

func expressionAAD(orgID, segmentID string) keyring.AAD {
	return keyring.AAD{Scope: orgID, Table: "segments", Column: "expression", RowID: segmentID}
}

// Input defines a segment.
type Input struct {
	Name, Description string
	Kind              Kind
	Expression        string
}

func checkNames(name, desc string) message.FieldErrors {
	var errs message.FieldErrors
	if name == "" || len(name) > 128 || strings.ContainsFunc(name, unicode.IsControl) {
		errs = append(errs, &message.FieldError{Field: "name", Msg: "is required: 1-128 characters on one line"})
	}
	if len(desc) > 1024 || strings.ContainsFunc(desc, func(r rune) bool { return unicode.IsControl(r) && r != '\n' }) {
		errs = append(errs, &message.FieldError{Field: "description", Msg: "is at most 1024 characters"})
	}
	return errs
}

func require(p auth.Principal, perm access.Permission) error {
	if p.OrgID == "" || !p.Perms.Has(perm) {
		return auth.ErrForbidden
	}
	return nil
}

// Create defines a segment. A dynamic segment's expression is compiled
// against the organization's fields first: an *Error names the bad token.
func (s *Service) Create(ctx context.Context, p auth.Principal, in Input) (Segment, error) {
	if err := require(p, access.SegmentsWrite); err != nil {
		return Segment{}, err
	}
	in.Name = strings.TrimSpace(in.Name)
	errs := checkNames(in.Name, in.Description)
	switch in.Kind {
	case Dynamic:
	case Static:
		if in.Expression != "" {
			errs = append(errs, &message.FieldError{Field: "expression", Msg: "a static segment has no expression"})
		}
	default:
		errs = append(errs, &message.FieldError{Field: "kind", Msg: "must be dynamic or static"})
	}
	if len(errs) > 0 {
		return Segment{}, errs
	}
	var prog *Program
	if in.Kind == Dynamic {
		var err error
		if prog, err = s.check(ctx, p.OrgID, in.Expression); err != nil {
			return Segment{}, err
		}
	}
	now := s.now()
	row := store.SegmentRow{OrgID: p.OrgID, ID: id.New("seg"), Name: in.Name, Description: in.Description, Kind: string(in.Kind),
		Version: 1, Expression: []byte{}, CreatedAt: now, UpdatedAt: now}
	err := s.deps.DB.Tx(ctx, func(tx *store.Tx) error {
		if in.Kind == Dynamic {
			var err error
			if row.Expression, row.DEKVersion, err = s.deps.Keys.Seal(ctx, tx, expressionAAD(p.OrgID, row.ID), []byte(in.Expression)); err != nil {
				return fmt.Errorf("seal segment expression: %w", err)
			}
		}
		if err := store.InsertSegment(ctx, tx, row); err != nil {
			return err
		}
		return s.audit(ctx, tx, p.Actor(), p.OrgID, "segment.create", row.ID, definitionDetails(row, prog))
	})
	if err != nil {
		return Segment{}, err
	}
	return view(row, in.Expression, prog), nil
}

// definitionDetails are what an audit entry says of a definition: the
// kind, version and the fields read, never the expression (it may hold a
// value that identifies someone).
func definitionDetails(row store.SegmentRow, prog *Program) map[string]string {
	d := map[string]string{"kind": row.Kind, "version": strconv.Itoa(row.Version)}
	if prog != nil {
		d["fields"] = strings.Join(prog.Fields(), ",")
		d["phi"] = strconv.FormatBool(prog.UsesPHI())
	}
	return d
}

func view(row store.SegmentRow, expression string, prog *Program) Segment {
	sg := Segment{ID: row.ID, Name: row.Name, Description: row.Description, Kind: Kind(row.Kind), Expression: expression,
		Version: row.Version, Fields: []string{}, CreatedAt: row.CreatedAt, UpdatedAt: row.UpdatedAt}
	if prog != nil {
		sg.Fields, sg.UsesPHI = prog.Fields(), prog.UsesPHI()
	}
	return sg
}

// check compiles an expression for the organization and checks that the
// lists it names exist.
func (s *Service) check(ctx context.Context, orgID, expression string) (*Program, error) {
	sch, err := s.deps.Contacts.Schema(ctx, orgID)
	if err != nil {
		return nil, err
	}
	prog, err := Compile(expression, sch.Fields)
	if err != nil {
		return nil, err
	}
	for _, c := range prog.calls {
		if c.kind != lookList {
			continue
		}
		if _, err := store.GetContactList(ctx, s.deps.DB.Reader(), orgID, c.name); errors.Is(err, store.ErrNotFound) {
			return nil, listError(expression, c.name)
		} else if err != nil {
			return nil, err
		}
	}
	return prog, nil
}

// listError points at the first mention of a list id that does not exist.
func listError(src, listID string) *Error {
	line, col := 1, 1
	if i := strings.Index(src, strconv.Quote(listID)); i >= 0 {
		for _, r := range src[:i] {
			if r == '\n' {
				line, col = line+1, 1
			} else {
				col++
			}
		}
	}
	return &Error{Line: line, Column: col, Message: "in_list: the organization has no list " + strconv.Quote(listID)}
}

// Get returns a segment.
func (s *Service) Get(ctx context.Context, p auth.Principal, segmentID string) (Segment, error) {
	if err := require(p, access.ContactsRead); err != nil {
		return Segment{}, err
	}
	row, err := store.GetSegment(ctx, s.deps.DB.Reader(), p.OrgID, segmentID)
	if err != nil {
		return Segment{}, err
	}
	return s.describe(ctx, row)
}

// describe opens a row's expression and reads what it uses.
func (s *Service) describe(ctx context.Context, row store.SegmentRow) (Segment, error) {
	if Kind(row.Kind) == Static {
		return view(row, "", nil), nil
	}
	src, err := s.expression(ctx, row)
	if err != nil {
		return Segment{}, err
	}
	prog, err := s.program(ctx, row)
	var cerr *Error
	if errors.As(err, &cerr) {
		// The fields changed since (one was deleted): the segment shows,
		// and evaluating it reports the error.
		return view(row, src, nil), nil
	}
	if err != nil {
		return Segment{}, err
	}
	return view(row, src, prog), nil
}

// List returns the organization's segments by name.
func (s *Service) List(ctx context.Context, p auth.Principal) ([]Segment, error) {
	if err := require(p, access.ContactsRead); err != nil {
		return nil, err
	}
	rows, err := store.ListSegments(ctx, s.deps.DB.Reader(), p.OrgID)
	if err != nil {
		return nil, err
	}
	out := make([]Segment, 0, len(rows))
	for _, r := range rows {
		sg, err := s.describe(ctx, r)
		if err != nil {
			return nil, err
		}
		out = append(out, sg)
	}
	return out, nil
}

// Patch changes a segment; nil fields keep their value. A new expression
// makes a new version. Base, when not 0, is the version the edit started
// from (ErrStale if the segment moved on since).
type Patch struct {
	Name, Description, Expression *string
	Base                          int
}

// Update changes a segment's name, description or expression.
func (s *Service) Update(ctx context.Context, p auth.Principal, segmentID string, in Patch) (Segment, error) {
	if err := require(p, access.SegmentsWrite); err != nil {
		return Segment{}, err
	}
	cur, err := store.GetSegment(ctx, s.deps.DB.Reader(), p.OrgID, segmentID)
	if err != nil {
		return Segment{}, err
	}
	if in.Base != 0 && in.Base != cur.Version {
		return Segment{}, ErrStale
	}
	next := cur
	if in.Name != nil {
		next.Name = strings.TrimSpace(*in.Name)
	}
	if in.Description != nil {
		next.Description = *in.Description
	}
	if errs := checkNames(next.Name, next.Description); len(errs) > 0 {
		return Segment{}, errs
	}
	src := ""
	var prog *Program
	if Kind(cur.Kind) == Dynamic {
		if src, err = s.expression(ctx, cur); err != nil {
			return Segment{}, err
		}
	}
	if in.Expression != nil {
		if Kind(cur.Kind) == Static {
			return Segment{}, message.FieldErrors{{Field: "expression", Msg: "a static segment has no expression"}}
		}
		if *in.Expression != src {
			src = *in.Expression
			next.Version++
		}
	}
	if Kind(cur.Kind) == Dynamic {
		if prog, err = s.check(ctx, p.OrgID, src); err != nil {
			return Segment{}, err
		}
	}
	next.UpdatedAt = s.now()
	err = s.deps.DB.Tx(ctx, func(tx *store.Tx) error {
		if next.Version != cur.Version {
			var err error
			if next.Expression, next.DEKVersion, err = s.deps.Keys.Seal(ctx, tx, expressionAAD(p.OrgID, segmentID), []byte(src)); err != nil {
				return fmt.Errorf("seal segment expression: %w", err)
			}
		}
		if err := store.UpdateSegment(ctx, tx, next, cur.Version); errors.Is(err, store.ErrNotFound) {
			return ErrStale // changed (or deleted) since it was read
		} else if err != nil {
			return err
		}
		return s.audit(ctx, tx, p.Actor(), p.OrgID, "segment.update", segmentID, definitionDetails(next, prog))
	})
	if err != nil {
		return Segment{}, err
	}
	return view(next, src, prog), nil
}

// Delete removes a segment and its static members (not the contacts).
func (s *Service) Delete(ctx context.Context, p auth.Principal, segmentID string) error {
	if err := require(p, access.SegmentsWrite); err != nil {
		return err
	}
	return s.deps.DB.Tx(ctx, func(tx *store.Tx) error {
		if err := store.DeleteSegment(ctx, tx, p.OrgID, segmentID); err != nil {
			return err
		}
		return s.audit(ctx, tx, p.Actor(), p.OrgID, "segment.delete", segmentID, nil)
	})
}

// expression opens a dynamic segment's sealed expression.
func (s *Service) expression(ctx context.Context, row store.SegmentRow) (string, error) {
	b, err := s.deps.Keys.Open(ctx, s.deps.DB.Reader(), expressionAAD(row.OrgID, row.ID), row.Expression)
	if err != nil {
		return "", fmt.Errorf("open segment expression %s: %w", row.ID, err)
	}
	return string(b), nil
}

// program returns a dynamic segment's compiled program, from the cache
// when this version was compiled against the same fields before.
func (s *Service) program(ctx context.Context, row store.SegmentRow) (*Program, error) {
	sch, err := s.deps.Contacts.Schema(ctx, row.OrgID)
	if err != nil {
		return nil, err
	}
	k := programKey{org: row.OrgID, id: row.ID, version: row.Version, schema: fingerprint(sch.Fields)}
	s.mu.Lock()
	p, ok := s.cache[k]
	s.mu.Unlock()
	if ok {
		return p, nil
	}
	src, err := s.expression(ctx, row)
	if err != nil {
		return nil, err
	}
	if p, err = Compile(src, sch.Fields); err != nil {
		return nil, err
	}
	s.mu.Lock()
	if len(s.cache) >= maxCached {
		clear(s.cache)
	}
	s.cache[k] = p
	s.mu.Unlock()
	return p, nil
}

// fingerprint identifies a field schema: what a program was compiled
// against.
func fingerprint(fields []contact.Field) [16]byte {
	h := sha256.New()
	for _, f := range fields {
		h.Write([]byte(f.Key))
		h.Write([]byte{0})
		h.Write([]byte(f.Type))
		var b [9]byte
		binary.BigEndian.PutUint64(b[:8], uint64(f.Tag))
		if f.PHI {
			b[8] = 1
		}
		h.Write(b[:])
	}
	var out [16]byte
	copy(out[:], h.Sum(nil))
	return out
}

// audit appends one entry about a segment.
func (s *Service) audit(ctx context.Context, tx *store.Tx, who audit.Actor, orgID, action, segmentID string, details map[string]string) error {
	targetType := "segment"
	if segmentID == "" {
		targetType = ""
	}
	err := s.deps.Audit.Append(ctx, tx, audit.Entry{Chain: orgID, Actor: who, Action: action, TargetType: targetType,
		TargetID: segmentID, Outcome: audit.Success, Details: details})
	return err
}
