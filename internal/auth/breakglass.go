package auth

import (
	"context"
	"strconv"
	"time"
	"unicode/utf8"

	"github.com/carepost/carepost/internal/access"
	"github.com/carepost/carepost/internal/audit"
	"github.com/carepost/carepost/internal/id"
	"github.com/carepost/carepost/internal/keyring"
	"github.com/carepost/carepost/internal/store"
)

// Emergency access, HIPAA 164.312(a)(2)(ii): a person holding
// breakglass:activate may, after re-entering their credentials and writing
// why, hold access.PermissionsBreakGlass (reading PHI and any message) for
// a limited time. The reason is sealed, because it may name a patient;
// activation is audited and raises a high-severity alert in the same
// transaction, so emergency access never happens unnoticed.
const (
	DefaultBreakGlass = time.Hour
	MaxBreakGlass     = 4 * time.Hour
	minReasonLen      = 20
	maxReasonLen      = 2000
)

// Grant is one activation of emergency access.
type Grant struct {
	ID, UserID                    string
	StartedAt, ExpiresAt, EndedAt time.Time
}

func grantView(g store.BreakGlassRow) Grant {
	return Grant{ID: g.ID, UserID: g.UserID, StartedAt: g.StartedAt, ExpiresAt: g.ExpiresAt, EndedAt: g.EndedAt}
}

func reasonAAD(orgID, grantID string) keyring.AAD {
	return keyring.AAD{Scope: orgID, Table: "break_glass", Column: "reason", RowID: grantID}
}

// ActivateBreakGlass grants p emergency access for d (default one hour, at
// most four) with a written reason of at least 20 characters
// (breakglass:activate and a fresh re-authentication).
func (s *Service) ActivateBreakGlass(ctx context.Context, p Principal, reason string, d time.Duration) (Grant, error) {
	if err := s.requireFresh(p, access.BreakGlass); err != nil {
		return Grant{}, err
	}
	if d == 0 {
		d = DefaultBreakGlass
	}
	if d < time.Minute || d > MaxBreakGlass {
		return Grant{}, inputErr("duration", "emergency access lasts from one minute to four hours")
	}
	reason, err := cleanReason(reason)
	if err != nil {
		return Grant{}, err
	}
	now := s.now()
	row := store.BreakGlassRow{ID: id.New("bgl"), OrgID: p.OrgID, UserID: p.UserID, StartedAt: now, ExpiresAt: now.Add(d)}
	err = s.tx(ctx, func(tx *store.Tx) error {
		var err error
		if row.Reason, row.DEKVersion, err = s.opts.Keys.Seal(ctx, tx, reasonAAD(p.OrgID, row.ID), []byte(reason)); err != nil {
			return err
		}
		if err := store.InsertBreakGlass(ctx, tx, row); err != nil {
			return err
		}
		details := map[string]string{"user_id": p.UserID, "grant_id": row.ID,
			"duration_s": strconv.FormatInt(int64(d/time.Second), 10), "expires_at": row.ExpiresAt.Format(time.RFC3339)}
		if err := s.raiseAlert(ctx, tx, p.OrgID, "auth.breakglass", SeverityHigh, details); err != nil {
			return err
		}
		return s.record(ctx, tx, audit.Entry{Chain: p.OrgID, Actor: p.Actor(), Action: "auth.breakglass.activate",
			TargetType: "breakglass", TargetID: row.ID, Outcome: audit.Success, Details: details})
	})
	if err != nil {
		return Grant{}, err
	}
	return grantView(row), nil
}

// cleanReason checks the written reason: 20 to 2000 characters after
// trimming. The message never repeats it.
func cleanReason(reason string) (string, error) {
	r, err := cleanText("reason", reason, maxReasonLen)
	if err != nil {
		return "", err
	}
	if utf8.RuneCountInString(r) < minReasonLen {
		return "", inputErr("reason", "describe the emergency in at least 20 characters")
	}
	return r, nil
}

// EndBreakGlass ends p's emergency access now. Without an active grant it
// changes nothing.
func (s *Service) EndBreakGlass(ctx context.Context, p Principal) error {
	if p.OrgID == "" || p.UserID == "" {
		return ErrForbidden
	}
	return s.tx(ctx, func(tx *store.Tx) error {
		n, err := store.EndBreakGlass(ctx, tx, p.OrgID, p.UserID, s.now())
		if err != nil || n == 0 {
			return err
		}
		return s.record(ctx, tx, audit.Entry{Chain: p.OrgID, Actor: p.Actor(), Action: "auth.breakglass.end",
			TargetType: "user", TargetID: p.UserID, Outcome: audit.Success,
			Details: map[string]string{"grants_ended": strconv.Itoa(n)}})
	})
}

// BreakGlassReason opens the written reason of a grant for review
// (audit:read). Because it may name a patient, each reading is audited as
// "auth.breakglass.review".
func (s *Service) BreakGlassReason(ctx context.Context, p Principal, grantID string) (Grant, string, error) {
	if err := p.Require(access.AuditRead); err != nil {
		return Grant{}, "", err
	}
	var g store.BreakGlassRow
	var reason []byte
	err := s.tx(ctx, func(tx *store.Tx) error {
		var err error
		if g, err = store.GetBreakGlass(ctx, tx, p.OrgID, grantID); err != nil {
			return err
		}
		if reason, err = s.opts.Keys.Open(ctx, tx, reasonAAD(p.OrgID, g.ID), g.Reason); err != nil {
			return err
		}
		return s.record(ctx, tx, audit.Entry{Chain: p.OrgID, Actor: p.Actor(), Action: "auth.breakglass.review",
			TargetType: "breakglass", TargetID: g.ID, Outcome: audit.Success})
	})
	if err != nil {
		return Grant{}, "", err
	}
	return grantView(g), string(reason), nil
}
