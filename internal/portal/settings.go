package portal

import (
	"context"
	"errors"
	"time"

	"github.com/carepost/carepost/internal/access"
	"github.com/carepost/carepost/internal/audit"
	"github.com/carepost/carepost/internal/auth"
	"github.com/carepost/carepost/internal/config"
	"github.com/carepost/carepost/internal/phi"
	"github.com/carepost/carepost/internal/store"
)

// Settings are an organization's portal settings.
type Settings struct {
	// Expiry is how long a new portal message can be opened.
	Expiry time.Duration
	// NotificationText is the paragraph of every notification; never PHI.
	NotificationText string
	// ShowSubject puts the original subject in the notification, unless
	// the policy engine found PHI in it (Decision.SubjectFlagged).
	ShowSubject bool
	// Custom is false while the organization uses the [portal] defaults.
	Custom    bool
	UpdatedAt time.Time
}

// settings returns an organization's settings, or the defaults.
func (s *Service) settings(ctx context.Context, q store.Querier, orgID string) (Settings, error) {
	row, err := store.GetPortalSettings(ctx, q, orgID)
	if errors.Is(err, store.ErrNotFound) {
		return Settings{Expiry: s.opts.DefaultExpiry, NotificationText: s.opts.NotificationText}, nil
	}
	if err != nil {
		return Settings{}, err
	}
	return Settings{Expiry: row.Expiry, NotificationText: row.NotificationText, ShowSubject: row.ShowSubject, Custom: true,
		UpdatedAt: row.UpdatedAt}, nil
}

// GetSettings returns the principal's organization's settings
// (settings:write).
func (s *Service) GetSettings(ctx context.Context, p auth.Principal) (Settings, error) {
	if !p.Perms.Has(access.SettingsWrite) {
		return Settings{}, ErrForbidden
	}
	return s.settings(ctx, s.deps.DB.Reader(), p.OrgID)
}

// PutSettings validates and saves the organization's settings, audited as
// portal.settings.update. They apply to messages handed to the portal
// from then on; existing portal messages keep their expiry.
func (s *Service) PutSettings(ctx context.Context, p auth.Principal, in Settings) (Settings, error) {
	if !p.Perms.Has(access.SettingsWrite) {
		return Settings{}, ErrForbidden
	}
	if err := checkSettings(in); err != nil {
		return Settings{}, err
	}
	row := store.PortalSettingsRow{OrgID: p.OrgID, Expiry: in.Expiry, NotificationText: in.NotificationText,
		ShowSubject: in.ShowSubject, UpdatedAt: s.now()}
	err := s.deps.DB.Tx(ctx, func(tx *store.Tx) error {
		if err := store.PutPortalSettings(ctx, tx, row); err != nil {
			return err
		}
		err := s.deps.Audit.Append(ctx, tx, audit.Entry{Chain: p.OrgID, Actor: p.Actor(), Action: "portal.settings.update",
			TargetType: "organization", TargetID: p.OrgID, Outcome: audit.Success,
			Details: map[string]string{"expiry": in.Expiry.String(), "show_subject": boolString(in.ShowSubject)}})
		return err
	})
	if err != nil {
		return Settings{}, err
	}
	return Settings{Expiry: row.Expiry, NotificationText: row.NotificationText, ShowSubject: row.ShowSubject, Custom: true,
		UpdatedAt: row.UpdatedAt}, nil
}

// checkSettings refuses an expiry out of range and a notification text
// that is not plain text or in which the built-in detectors find PHI at
// medium confidence or more: the notification travels as mail without
// PHI, so its text must not carry any.
func checkSettings(in Settings) error {
	if in.Expiry < time.Hour || in.Expiry > config.MaxPortalExpiry.Duration() {
		return &InputError{Field: "expiry", Msg: "must be between 1h and 366d"}
	}
	if msg := config.NotificationTextProblem(in.NotificationText); msg != "" {
		return &InputError{Field: "notification_text", Msg: msg}
	}
	scanner, err := phi.New(phi.Config{})
	if err != nil {
		return err
	}
	for _, f := range scanner.Scan(phi.InBody, in.NotificationText) {
		if f.Confidence >= phi.Medium {
			return &InputError{Field: "notification_text", Msg: "looks like it contains PHI (" + f.Detector + "); notifications must not"}
		}
	}
	return nil
}

func boolString(b bool) string {
	if b {
		return "true"
	}
	return "false"
}
