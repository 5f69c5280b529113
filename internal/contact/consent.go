package contact

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"regexp"
	"time"

	"github.com/carepost/carepost/internal/access"
	"github.com/carepost/carepost/internal/id"
	"github.com/carepost/carepost/internal/message"
	"github.com/carepost/carepost/internal/store"
)

// Method is how an authorization was given.
type Method string

// Authorization methods: a signed paper form, or an electronic signature
// (E-SIGN Act; HIPAA accepts either for 164.508).
const (
	Written    Method = "written"
	Electronic Method = "electronic"
)

// Authorization is one marketing authorization (HIPAA 164.508(a)(3)): a
// patient's permission to use their PHI for marketing. A contact's current
// authorization is the one granted last; it is valid from GrantedAt until
// ExpiresAt or RevokedAt. 164.508(c)(1)(v) requires an expiration date or
// an expiration event: when only an event is given (ExpiryEvent, "end of
// the diabetes programme"), the authorization stays valid until someone
// records it as revoked. Authorizations are kept after the contact is
// deleted (164.508(b)(6), 164.530(j)).
type Authorization struct {
	ID, ContactID string
	GrantedAt     time.Time
	Method        Method
	// TextVersion names the authorization text the patient agreed to;
	// Text, when given to Grant, is recorded under that version (or under
	// "sha256:<hex>" of the text when no version is given).
	TextVersion string
	Text        string
	// Source says where it came from: "form:frm_…", "import:imp_…",
	// "ehr", "api". An identifier, never PHI.
	Source       string
	ExpiresAt    time.Time
	ExpiryEvent  string
	RevokedAt    time.Time
	RevokeSource string
	CreatedAt    time.Time
}

var sourcePattern = regexp.MustCompile(`^[A-Za-z0-9_.:/-]{1,128}$`)

// validate checks the record and fills the text version from the text.
func (g *Authorization) validate(now time.Time) message.FieldErrors {
	var errs message.FieldErrors
	bad := func(f, msg string) { errs = append(errs, &message.FieldError{Field: f, Msg: msg}) }
	if g.GrantedAt.IsZero() {
		g.GrantedAt = now
	}
	if g.GrantedAt.After(now.Add(5 * time.Minute)) {
		bad("granted_at", "is in the future")
	}
	if g.Method != Written && g.Method != Electronic {
		bad("method", "must be written or electronic")
	}
	if g.TextVersion == "" && g.Text != "" {
		sum := sha256.Sum256([]byte(g.Text))
		g.TextVersion = "sha256:" + hex.EncodeToString(sum[:16])
	}
	if !sourcePattern.MatchString(g.TextVersion) {
		bad("text_version", "is required: the version id of the authorization text (1-128 of A-Z a-z 0-9 _ . : / -), or give the text")
	}
	if checkText(g.Text, 20000) != nil {
		bad("text", "is at most 20000 characters, without control characters")
	}
	if !sourcePattern.MatchString(g.Source) {
		bad("source", "is required: where the authorization came from (1-128 of A-Z a-z 0-9 _ . : / -)")
	}
	if g.ExpiresAt.IsZero() && g.ExpiryEvent == "" {
		bad("expires_at", "an authorization needs an expiration date or an expiry_event (HIPAA 164.508(c)(1)(v))")
	}
	if !g.ExpiresAt.IsZero() && !g.ExpiresAt.After(g.GrantedAt) {
		bad("expires_at", "must be after granted_at")
	}
	if checkText(g.ExpiryEvent, 256) != nil {
		bad("expiry_event", "is at most 256 characters")
	}
	return errs
}

func (g Authorization) row(orgID string, now time.Time) store.ConsentRow {
	return store.ConsentRow{OrgID: orgID, ID: g.ID, ContactID: g.ContactID, GrantedAt: g.GrantedAt, Method: string(g.Method),
		TextVersion: g.TextVersion, Source: g.Source, ExpiresAt: g.ExpiresAt, ExpiryEvent: g.ExpiryEvent,
		RevokedAt: g.RevokedAt, RevokeSource: g.RevokeSource, CreatedAt: now}
}

func (g Authorization) summary() Consent {
	return Consent{ID: g.ID, GrantedAt: g.GrantedAt, ExpiresAt: g.ExpiresAt, RevokedAt: g.RevokedAt}
}

func fromConsentRow(r store.ConsentRow) Authorization {
	return Authorization{ID: r.ID, ContactID: r.ContactID, GrantedAt: r.GrantedAt, Method: Method(r.Method), TextVersion: r.TextVersion,
		Source: r.Source, ExpiresAt: r.ExpiresAt, ExpiryEvent: r.ExpiryEvent, RevokedAt: r.RevokedAt, RevokeSource: r.RevokeSource,
		CreatedAt: r.CreatedAt}
}

// Grant records an authorization for a contact and makes it the contact's
// current one.
func (s *Service) Grant(ctx context.Context, a Actor, contactID string, g Authorization) (Authorization, error) {
	if err := a.require(access.ContactsWrite); err != nil {
		return Authorization{}, err
	}
	now := s.now()
	if errs := g.validate(now); len(errs) > 0 {
		return Authorization{}, errs
	}
	g.ID, g.ContactID, g.RevokedAt, g.RevokeSource, g.CreatedAt = id.New("cns"), contactID, time.Time{}, "", now
	err := s.write(ctx, func(tx *store.Tx) error {
		if _, err := store.ContactKey(ctx, tx, a.orgID, contactID); err != nil {
			return err
		}
		if g.Text != "" {
			if err := store.PutConsentText(ctx, tx, a.orgID, g.TextVersion, g.Text, now); err != nil {
				return err
			}
		}
		if err := store.InsertConsents(ctx, tx, []store.ConsentRow{g.row(a.orgID, now)}); err != nil {
			return err
		}
		if err := store.SetContactConsent(ctx, tx, a.orgID, contactID, g.summary().row()); err != nil {
			return err
		}
		return s.appendAudit(ctx, tx, a, "contact.consent.grant", "contact", contactID,
			map[string]string{"consent": g.ID, "method": string(g.Method), "text_version": g.TextVersion}, nil)
	})
	if err != nil {
		return Authorization{}, err
	}
	return g, nil
}

// Authorizations lists a contact's authorizations, newest first. They
// hold no PHI.
func (s *Service) Authorizations(ctx context.Context, a Actor, contactID string) ([]Authorization, error) {
	if err := a.require(access.ContactsRead); err != nil {
		return nil, err
	}
	if _, err := store.ContactKey(ctx, s.deps.DB.Reader(), a.orgID, contactID); err != nil {
		return nil, err
	}
	rows, err := store.ListConsents(ctx, s.deps.DB.Reader(), a.orgID, contactID)
	if err != nil {
		return nil, err
	}
	out := make([]Authorization, 0, len(rows))
	for _, r := range rows {
		out = append(out, fromConsentRow(r))
	}
	return out, nil
}

// ErrRevoked means the authorization was revoked already.
var ErrRevoked = errors.New("the authorization is revoked already")

// Revoke records the revocation of an authorization (HIPAA 164.508(b)(5)):
// from at (default now), campaigns that use PHI skip the contact. source
// says how it came ("portal", "letter", "api").
func (s *Service) Revoke(ctx context.Context, a Actor, consentID string, at time.Time, source string) (Authorization, error) {
	if err := a.require(access.ContactsWrite); err != nil {
		return Authorization{}, err
	}
	now := s.now()
	if at.IsZero() || at.After(now) {
		at = now
	}
	if !sourcePattern.MatchString(source) {
		return Authorization{}, message.FieldErrors{{Field: "source", Msg: "is required (1-128 of A-Z a-z 0-9 _ . : / -)"}}
	}
	var out Authorization
	err := s.write(ctx, func(tx *store.Tx) error {
		r, err := store.GetConsent(ctx, tx, a.orgID, consentID)
		if err != nil {
			return err
		}
		if !r.RevokedAt.IsZero() {
			return ErrRevoked
		}
		if err := store.RevokeConsent(ctx, tx, a.orgID, consentID, at, source); err != nil {
			return err
		}
		r.RevokedAt, r.RevokeSource = at, source
		out = fromConsentRow(r)
		if row, err := store.GetContact(ctx, tx, a.orgID, r.ContactID); err == nil && row.ConsentID == consentID {
			if err := store.SetContactConsent(ctx, tx, a.orgID, r.ContactID, out.summary().row()); err != nil {
				return err
			}
		} else if err != nil && !errors.Is(err, store.ErrNotFound) {
			return err
		}
		return s.appendAudit(ctx, tx, a, "contact.consent.revoke", "contact", r.ContactID, map[string]string{"consent": consentID}, nil)
	})
	return out, err
}
