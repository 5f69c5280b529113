package auth

import (
	"context"
	"encoding/json"
	"fmt"
	"time"

	"github.com/carepost/carepost/internal/access"
	"github.com/carepost/carepost/internal/id"
	"github.com/carepost/carepost/internal/store"
)

// Alert severities.
const (
	SeverityMedium = "medium"
	SeverityHigh   = "high"
)

// Alert is a security event for people to look at: repeated sign-in
// failures ("auth.failures"), emergency access ("auth.breakglass"). They are
// recorded now; delivering them (mail, webhook) is the alerting feature's.
// Details hold ids, counts and reasons, never PHI.
type Alert struct {
	ID, OrgID, Kind, Severity string
	Details                   map[string]string
	CreatedAt                 time.Time
}

// raiseAlert records an alert inside tx, so it exists exactly when the
// event it reports does. orgID is an organization or "system".
func (s *Service) raiseAlert(ctx context.Context, tx *store.Tx, orgID, kind, severity string, details map[string]string) error {
	b, err := json.Marshal(details)
	if err != nil {
		return fmt.Errorf("alert %s: %w", kind, err)
	}
	return store.InsertAlert(ctx, tx, store.AlertRow{ID: id.New("alr"), OrgID: orgID, Kind: kind,
		Severity: severity, Details: string(b), CreatedAt: s.now()})
}

// maxAlerts bounds one ListAlerts answer.
const maxAlerts = 500

// ListAlerts lists the alerts of p's organization raised at or after since,
// newest first, at most 500 (alerts:read).
func (s *Service) ListAlerts(ctx context.Context, p Principal, since time.Time) ([]Alert, error) {
	if err := p.Require(access.AlertsRead); err != nil {
		return nil, err
	}
	return s.alerts(ctx, p.OrgID, since)
}

// SystemAlerts lists install-wide alerts (failures on unknown accounts and
// from client addresses) for operators; there is no principal because no
// organization owns them.
func (s *Service) SystemAlerts(ctx context.Context, since time.Time) ([]Alert, error) {
	return s.alerts(ctx, "system", since)
}

func (s *Service) alerts(ctx context.Context, orgID string, since time.Time) ([]Alert, error) {
	rows, err := store.ListAlerts(ctx, s.reader(), orgID, since, maxAlerts)
	if err != nil {
		return nil, err
	}
	out := make([]Alert, 0, len(rows))
	for _, r := range rows {
		a := Alert{ID: r.ID, OrgID: r.OrgID, Kind: r.Kind, Severity: r.Severity, CreatedAt: r.CreatedAt}
		if err := json.Unmarshal([]byte(r.Details), &a.Details); err != nil {
			return nil, fmt.Errorf("alert %s: details: %w", r.ID, err)
		}
		out = append(out, a)
	}
	return out, nil
}
