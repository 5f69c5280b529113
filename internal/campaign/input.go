package campaign

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"unicode"

	"github.com/carepost/carepost/internal/message"
	"github.com/carepost/carepost/internal/store"
	"github.com/carepost/carepost/internal/template"
)

// Input is what a person gives to create a campaign or change a draft;
// nil fields keep their current values on an update (and are required on
// create where noted).
type Input struct {
	Name *string // required on create: 1-200 characters, one line
	// FromEmail must be in a verified sender domain of the organization
	// (required on create); FromName and ReplyTo are optional.
	FromEmail *string
	FromName  *string
	ReplyTo   *string
	// TemplateID and TemplateVersion (0: the current version, resolved
	// and fixed when saved) name what is sent. TemplateID is required on
	// create.
	TemplateID      *string
	TemplateVersion *int
	// Audience needs at least one list or segment (required on create).
	Audience *Audience
	// Throttle is at most this many messages per minute, 0 for no limit.
	Throttle *int
	// Security is auto (default) or tls_only.
	Security *Security
	// UsesPHI defaults to true. A campaign whose template reads a PHI
	// field cannot say false.
	UsesPHI *bool
}

// Limits on a campaign's settings.
const (
	MaxSources  = 20
	MaxThrottle = 1_000_000
)

func fe(field, msg string) *message.FieldError { return &message.FieldError{Field: field, Msg: msg} }

// apply copies the given fields of in onto r, normalizing them, and
// reports every problem with the values given.
func (in Input) apply(r *store.CampaignRow, create bool) message.FieldErrors {
	var errs message.FieldErrors
	if in.Name != nil {
		n := strings.TrimSpace(*in.Name)
		if n == "" || len(n) > 200 || strings.ContainsFunc(n, unicode.IsControl) {
			errs = append(errs, fe("name", "is required: 1 to 200 characters on one line"))
		}
		r.Name = n
	} else if create {
		errs = append(errs, fe("name", "is required"))
	}
	if in.FromEmail != nil {
		a, err := message.NormalizeAddress(message.Address{Email: strings.TrimSpace(*in.FromEmail)})
		if err != nil {
			errs = append(errs, fe("from_email", err.Error()))
		}
		r.FromEmail = a.Email
	} else if create {
		errs = append(errs, fe("from_email", "is required"))
	}
	if in.FromName != nil {
		n := strings.TrimSpace(*in.FromName)
		if len(n) > 200 || strings.ContainsFunc(n, unicode.IsControl) {
			errs = append(errs, fe("from_name", "is at most 200 characters on one line"))
		}
		r.FromName = n
	}
	if in.ReplyTo != nil {
		r.ReplyTo = ""
		if v := strings.TrimSpace(*in.ReplyTo); v != "" {
			a, err := message.NormalizeAddress(message.Address{Email: v})
			if err != nil {
				errs = append(errs, fe("reply_to", err.Error()))
			}
			r.ReplyTo = a.Email
		}
	}
	if in.TemplateID != nil {
		r.TemplateID = strings.TrimSpace(*in.TemplateID)
		r.TemplateVersion = 0
	} else if create {
		errs = append(errs, fe("template_id", "is required"))
	}
	if in.TemplateVersion != nil {
		if *in.TemplateVersion < 0 {
			errs = append(errs, fe("template_version", "is a version number, or 0 for the current version"))
		}
		r.TemplateVersion = *in.TemplateVersion
	}
	if in.Audience != nil {
		a := Audience{Lists: dedupe(in.Audience.Lists), Segments: dedupe(in.Audience.Segments)}
		switch n := len(a.Lists) + len(a.Segments); {
		case n == 0:
			errs = append(errs, fe("audience", "name at least one list or segment"))
		case n > MaxSources:
			errs = append(errs, fe("audience", fmt.Sprintf("at most %d lists and segments", MaxSources)))
		}
		r.Audience = encodeAudience(a)
	} else if create {
		errs = append(errs, fe("audience", "is required: lists and/or segments"))
	}
	if in.Throttle != nil {
		if *in.Throttle < 0 || *in.Throttle > MaxThrottle {
			errs = append(errs, fe("throttle", fmt.Sprintf("is messages per minute: 0 (no limit) to %d", MaxThrottle)))
		}
		r.Throttle = *in.Throttle
	}
	if in.Security != nil {
		switch *in.Security {
		case SecurityAuto, SecurityTLSOnly:
			r.Security = string(*in.Security)
		default:
			errs = append(errs, fe("security", "must be auto or tls_only"))
		}
	} else if create {
		r.Security = string(SecurityAuto)
	}
	if in.UsesPHI != nil {
		r.UsesPHI = *in.UsesPHI
	} else if create {
		r.UsesPHI = true
	}
	return errs
}

func dedupe(ids []string) []string {
	out := make([]string, 0, len(ids))
	for _, id := range ids {
		id = strings.TrimSpace(id)
		if id != "" && !contains(out, id) {
			out = append(out, id)
		}
	}
	return out
}

func contains(s []string, v string) bool {
	for _, x := range s {
		if x == v {
			return true
		}
	}
	return false
}

// check verifies what r names exists in the organization: the sender
// domain, the template version, the lists and segments; and that a
// campaign saying it uses no PHI has a template that reads none. It
// resolves template version 0 to the current one.
func (s *Service) check(ctx context.Context, q store.Querier, r *store.CampaignRow) error {
	var errs message.FieldErrors
	if r.FromEmail != "" && s.deps.Domains != nil {
		domain := r.FromEmail[strings.LastIndexByte(r.FromEmail, '@')+1:]
		ok, err := s.deps.Domains.Verified(ctx, q, r.OrgID, domain)
		if err != nil {
			return fmt.Errorf("check sender domain: %w", err)
		}
		if !ok {
			errs = append(errs, fe("from_email", "the domain is not a verified sending domain of your organization"))
		}
	}
	if r.TemplateID != "" {
		t, err := s.deps.Templates.Get(ctx, r.OrgID, r.TemplateID, r.TemplateVersion)
		switch {
		case errors.Is(err, store.ErrNotFound):
			errs = append(errs, fe("template_id", "no such template (or version) in your organization"))
		case err != nil:
			return err
		default:
			r.TemplateVersion = t.Version
			if err := s.checkPHI(ctx, r, t.Source); err != nil {
				errs = append(errs, err)
			}
		}
	}
	var a Audience
	_ = decodeAudience(r.Audience, &a)
	for i, l := range a.Lists {
		if err := store.ContactListExists(ctx, q, r.OrgID, l); errors.Is(err, store.ErrNotFound) {
			errs = append(errs, fe(fmt.Sprintf("audience.lists[%d]", i), "no such list in your organization"))
		} else if err != nil {
			return err
		}
	}
	for i, sg := range a.Segments {
		field := fmt.Sprintf("audience.segments[%d]", i)
		if s.deps.Segments == nil {
			errs = append(errs, fe(field, "segments are not available on this server yet"))
			continue
		}
		if err := s.deps.Segments.Exists(ctx, r.OrgID, sg); errors.Is(err, store.ErrNotFound) {
			errs = append(errs, fe(field, "no such segment in your organization"))
		} else if err != nil {
			return err
		}
	}
	if len(errs) > 0 {
		return errs
	}
	return nil
}

// checkPHI refuses uses_phi false for a template that reads PHI fields:
// such a campaign is marketing with PHI (HIPAA 164.508(a)(3)).
func (s *Service) checkPHI(ctx context.Context, r *store.CampaignRow, src template.Source) *message.FieldError {
	if r.UsesPHI || s.deps.Fields == nil {
		return nil
	}
	fs, err := s.deps.Fields.FieldSet(ctx, r.OrgID)
	if err != nil {
		return fe("uses_phi", "the organization's fields could not be read; leave uses_phi true")
	}
	if names := template.PHIFields(src, fs); len(names) > 0 {
		for i, n := range names {
			if n == "*" {
				names[i] = "(the whole contact)"
			}
		}
		return fe("uses_phi", "the template reads PHI fields ("+strings.Join(names, ", ")+
			"): a campaign that uses PHI goes only to contacts with a marketing authorization; set uses_phi true")
	}
	return nil
}
