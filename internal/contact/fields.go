package contact

import (
	"context"
	"encoding/json"
	"slices"
	"strconv"
	"strings"

	"github.com/carepost/carepost/internal/access"
	"github.com/carepost/carepost/internal/message"
	"github.com/carepost/carepost/internal/store"
)

// FieldInput defines or changes a custom field. PHI defaults to true: a
// field is sealed, masked and audited unless whoever defines it says it
// holds no PHI (fail closed).
type FieldInput struct {
	Key     string
	Label   string
	Type    FieldType
	PHI     *bool
	Options []string
}

// MaxFields is the most custom fields an organization may define.
const MaxFields = 200

// Fields lists the organization's fields: built-ins first.
func (s *Service) Fields(ctx context.Context, a Actor) ([]Field, error) {
	if err := a.require(access.ContactsRead); err != nil {
		return nil, err
	}
	sch, err := s.Schema(ctx, a.orgID)
	if err != nil {
		return nil, err
	}
	return sch.Fields, nil
}

// CreateField defines a custom field. Its key, type and PHI flag never
// change afterwards: values already stored depend on them (sealed or in
// clear, and how they are encoded).
func (s *Service) CreateField(ctx context.Context, a Actor, in FieldInput) (Field, error) {
	if err := a.require(access.ContactsWrite); err != nil {
		return Field{}, err
	}
	var errs message.FieldErrors
	bad := func(f, msg string) { errs = append(errs, &message.FieldError{Field: f, Msg: msg}) }
	if !keyPattern.MatchString(in.Key) {
		bad("key", "must be 1-40 of a-z, 0-9 and _, starting with a letter")
	} else if slices.Contains(reserved, in.Key) {
		bad("key", "is reserved")
	}
	if !validType(in.Type) {
		bad("type", "must be text, number, date, boolean or list")
	}
	f := Field{Key: in.Key, Label: in.Label, Type: in.Type, PHI: in.PHI == nil || *in.PHI, CreatedAt: s.now()}
	if f.Label == "" {
		f.Label = f.Key
	}
	errs = append(errs, checkFieldLabel(f.Label, in.Type, in.Options)...)
	f.Options = normalizeOptions(in.Options)
	if len(errs) > 0 {
		return Field{}, errs
	}
	opts, _ := json.Marshal(f.Options)
	err := s.write(ctx, func(tx *store.Tx) error {
		have, err := store.ListContactFields(ctx, tx, a.orgID, false)
		if err != nil {
			return err
		}
		if len(have) >= MaxFields {
			return message.FieldErrors{{Field: "key", Msg: "the organization has " + strconv.Itoa(MaxFields) + " fields already"}}
		}
		f.Tag, err = store.InsertContactField(ctx, tx, store.ContactFieldRow{OrgID: a.orgID, Key: f.Key, Label: f.Label,
			Type: string(f.Type), PHI: f.PHI, Options: string(opts), CreatedAt: f.CreatedAt}, firstCustomTag)
		if err != nil {
			return err
		}
		return s.appendAudit(ctx, tx, a, "contact.field.create", "contact_field", f.Key,
			map[string]string{"type": string(f.Type), "phi": strconv.FormatBool(f.PHI)}, nil)
	})
	if err != nil {
		return Field{}, err
	}
	return f, nil
}

func checkFieldLabel(label string, t FieldType, options []string) message.FieldErrors {
	var errs message.FieldErrors
	if checkText(label, 128) != nil {
		errs = append(errs, &message.FieldError{Field: "label", Msg: "is at most 128 characters, without control characters"})
	}
	if len(options) > 0 && t != TypeList {
		errs = append(errs, &message.FieldError{Field: "options", Msg: "only list fields have options"})
	}
	if len(options) > 500 {
		errs = append(errs, &message.FieldError{Field: "options", Msg: "at most 500 options"})
	}
	for _, o := range options {
		if o == "" || checkText(o, MaxListItem) != nil || o != strings.TrimSpace(o) {
			errs = append(errs, &message.FieldError{Field: "options", Msg: "options are 1-256 characters, without control characters or surrounding spaces"})
			break
		}
	}
	return errs
}

func normalizeOptions(o []string) []string {
	out := slices.Clone(o)
	slices.Sort(out)
	out = slices.Compact(out)
	if out == nil {
		out = []string{}
	}
	return out
}

// UpdateField changes a custom field's label and, for a list, its options
// (values already stored that are not among new options stay as they are).
func (s *Service) UpdateField(ctx context.Context, a Actor, key, label string, options []string) (Field, error) {
	if err := a.require(access.ContactsWrite); err != nil {
		return Field{}, err
	}
	sch, err := s.Schema(ctx, a.orgID)
	if err != nil {
		return Field{}, err
	}
	f, ok := sch.Field(key)
	if !ok || f.BuiltIn {
		return Field{}, store.ErrNotFound
	}
	if label != "" {
		f.Label = label
	}
	if options != nil {
		f.Options = normalizeOptions(options)
	}
	if errs := checkFieldLabel(f.Label, f.Type, f.Options); len(errs) > 0 {
		return Field{}, errs
	}
	opts, _ := json.Marshal(f.Options)
	err = s.write(ctx, func(tx *store.Tx) error {
		if err := store.UpdateContactField(ctx, tx, a.orgID, key, f.Label, string(opts)); err != nil {
			return err
		}
		return s.appendAudit(ctx, tx, a, "contact.field.update", "contact_field", key, nil, nil)
	})
	return f, err
}

// DeleteField removes a custom field. Its values stay in contacts'
// sealed maps until each contact is next written, but no read shows them:
// the field's tag is never reused.
func (s *Service) DeleteField(ctx context.Context, a Actor, key string) error {
	if err := a.require(access.ContactsWrite); err != nil {
		return err
	}
	return s.write(ctx, func(tx *store.Tx) error {
		if err := store.DeleteContactField(ctx, tx, a.orgID, key, s.now()); err != nil {
			return err
		}
		return s.appendAudit(ctx, tx, a, "contact.field.delete", "contact_field", key, nil, nil)
	})
}
