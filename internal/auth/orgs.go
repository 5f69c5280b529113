package auth

import (
	"context"
	"fmt"
	"strconv"
	"time"

	"github.com/carepost/carepost/internal/access"
	"github.com/carepost/carepost/internal/audit"
	"github.com/carepost/carepost/internal/id"
	"github.com/carepost/carepost/internal/store"
)

// Session limits. HIPAA 164.312(a)(2)(iii), automatic logoff: an idle
// session ends after the organization's idle timeout, never more than 30
// minutes; every session ends after its absolute lifetime.
const (
	DefaultIdleTimeout = 15 * time.Minute
	MinIdleTimeout     = time.Minute
	MaxIdleTimeout     = 30 * time.Minute
	MinSessionLifetime = time.Hour
	MaxSessionLifetime = 12 * time.Hour
)

// Org is an organization (tenant). Every other record belongs to one.
type Org struct {
	ID, Name, Status string
	IdleTimeout      time.Duration
	SessionLifetime  time.Duration
	CreatedAt        time.Time
}

// OrgSettings changes an organization; nil fields stay as they are.
type OrgSettings struct {
	Name            *string
	IdleTimeout     *time.Duration
	SessionLifetime *time.Duration
}

func orgFromRow(r store.OrgRow) Org {
	return Org{ID: r.ID, Name: r.Name, Status: r.Status, CreatedAt: r.CreatedAt,
		IdleTimeout:     time.Duration(r.IdleTimeoutS) * time.Second,
		SessionLifetime: time.Duration(r.SessionLifetimeS) * time.Second}
}

// CreateOrganization adds an organization inside tx with the default
// session settings, creates its data key (keyring.EnsureScope) and records
// "org.create" in its own chain. The audit actor is the system ("cli").
func (s *Service) CreateOrganization(ctx context.Context, tx *store.Tx, name string) (Org, error) {
	name, err := cleanText("name", name, 200)
	if err != nil {
		return Org{}, err
	}
	now := s.now()
	row := store.OrgRow{ID: id.New("org"), Name: name, Status: store.OrgActive,
		IdleTimeoutS:     int64(DefaultIdleTimeout / time.Second),
		SessionLifetimeS: int64(min(MaxSessionLifetime, s.opts.SessionLifetime) / time.Second),
		CreatedAt:        now, UpdatedAt: now}
	if row.SessionLifetimeS < int64(MinSessionLifetime/time.Second) {
		row.SessionLifetimeS = int64(MinSessionLifetime / time.Second)
	}
	if err := store.InsertOrganization(ctx, tx, row); err != nil {
		return Org{}, err
	}
	if err := s.opts.Keys.EnsureScope(ctx, tx, row.ID); err != nil {
		return Org{}, err
	}
	err = s.record(ctx, tx, audit.Entry{Chain: row.ID, Actor: cliActor, Action: "org.create",
		TargetType: "org", TargetID: row.ID, Outcome: audit.Success})
	if err != nil {
		return Org{}, err
	}
	return orgFromRow(row), nil
}

// HasOrganizations reports whether the install has any organization yet
// (`carepost init` refuses a second bootstrap without --another).
func (s *Service) HasOrganizations(ctx context.Context) (bool, error) {
	n, err := store.CountOrganizations(ctx, s.reader())
	return n > 0, err
}

// Organization returns the principal's organization.
func (s *Service) Organization(ctx context.Context, p Principal) (Org, error) {
	if p.OrgID == "" {
		return Org{}, ErrForbidden
	}
	row, err := store.GetOrganization(ctx, s.reader(), p.OrgID)
	if err != nil {
		return Org{}, err
	}
	return orgFromRow(row), nil
}

// UpdateOrganization changes the name and session settings (settings:write).
// The idle timeout must lie in 1..30 minutes and the lifetime in 1..12 hours.
// Sessions read the organization's current values, so a change applies to
// open sessions at once.
func (s *Service) UpdateOrganization(ctx context.Context, p Principal, in OrgSettings) (Org, error) {
	if err := p.Require(access.SettingsWrite); err != nil {
		return Org{}, err
	}
	var out Org
	err := s.tx(ctx, func(tx *store.Tx) error {
		row, err := store.LockOrganization(ctx, tx, p.OrgID)
		if err != nil {
			return err
		}
		details := map[string]string{}
		if in.Name != nil {
			name, err := cleanText("name", *in.Name, 200)
			if err != nil {
				return err
			}
			if name != row.Name {
				row.Name, details["name_changed"] = name, "true"
			}
		}
		if in.IdleTimeout != nil {
			d := *in.IdleTimeout
			if d < MinIdleTimeout || d > MaxIdleTimeout || d%time.Second != 0 {
				return inputErr("idle_timeout", "the idle timeout must be whole seconds from 1 to 30 minutes")
			}
			row.IdleTimeoutS = int64(d / time.Second)
			details["idle_timeout_s"] = strconv.FormatInt(row.IdleTimeoutS, 10)
		}
		if in.SessionLifetime != nil {
			d := *in.SessionLifetime
			if d < MinSessionLifetime || d > MaxSessionLifetime || d%time.Second != 0 {
				return inputErr("session_lifetime", "the session lifetime must be whole seconds from 1 to 12 hours")
			}
			row.SessionLifetimeS = int64(d / time.Second)
			details["session_lifetime_s"] = strconv.FormatInt(row.SessionLifetimeS, 10)
		}
		row.UpdatedAt = s.now()
		if err := store.UpdateOrganization(ctx, tx, row); err != nil {
			return err
		}
		out = orgFromRow(row)
		return s.record(ctx, tx, audit.Entry{Chain: p.OrgID, Actor: p.Actor(), Action: "org.update",
			TargetType: "org", TargetID: p.OrgID, Outcome: audit.Success, Details: details})
	})
	return out, err
}

// Bootstrap creates an organization and its first owner, whose one-time
// password must be changed at first sign-in, where enrolling a second factor
// comes before anything else. Used by `carepost init`.
func (s *Service) Bootstrap(ctx context.Context, orgName, ownerEmail, ownerName string) (Org, User, string, error) {
	in := NewUser{Email: ownerEmail, Name: ownerName, Roles: []string{access.Owner}}
	prep, err := s.prepareUser(ctx, in)
	if err != nil {
		return Org{}, User{}, "", err
	}
	var org Org
	var user User
	err = s.tx(ctx, func(tx *store.Tx) error {
		var err error
		if org, err = s.CreateOrganization(ctx, tx, orgName); err != nil {
			return err
		}
		user, err = s.insertUser(ctx, tx, systemManager(org.ID), prep)
		return err
	})
	if err != nil {
		return Org{}, User{}, "", fmt.Errorf("bootstrap: %w", err)
	}
	return org, user, prep.oneTime, nil
}
