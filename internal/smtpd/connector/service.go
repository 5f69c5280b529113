package connector

import (
	"context"
	"errors"
	"strings"
	"time"

	"github.com/carepost/carepost/internal/access"
	"github.com/carepost/carepost/internal/audit"
	"github.com/carepost/carepost/internal/auth"
	"github.com/carepost/carepost/internal/id"
	"github.com/carepost/carepost/internal/store"
)

// Service manages an organization's connectors (settings:write) and reads
// every enabled one for the gateway listener. Each change is audited in the
// organization's chain in the same transaction.
type Service struct {
	db    *store.DB
	audit *audit.Log
	clock func() time.Time
}

// New returns the service; clock may be nil (time.Now).
func New(db *store.DB, log *audit.Log, clock func() time.Time) *Service {
	if clock == nil {
		clock = time.Now
	}
	return &Service{db: db, audit: log, clock: clock}
}

func (s *Service) now() time.Time { return store.FromMicros(store.Micros(s.clock())) }

// Create adds a connector to p's organization.
func (s *Service) Create(ctx context.Context, p auth.Principal, in Input) (Connector, error) {
	if err := p.Require(access.SettingsWrite); err != nil {
		return Connector{}, err
	}
	c, err := Validate(in)
	if err != nil {
		return Connector{}, err
	}
	c.ID, c.OrgID = id.New("gwc"), p.OrgID
	c.CreatedAt = s.now()
	c.UpdatedAt = c.CreatedAt
	err = s.db.Tx(ctx, func(tx *store.Tx) error {
		if err := store.InsertGatewayConnector(ctx, tx, c.row()); err != nil {
			return nameTaken(err)
		}
		return s.record(ctx, tx, p, "gateway.connector.create", c)
	})
	if err != nil {
		return Connector{}, err
	}
	return c, nil
}

// List returns the connectors of p's organization, oldest first.
func (s *Service) List(ctx context.Context, p auth.Principal) ([]Connector, error) {
	if err := p.Require(access.SettingsWrite); err != nil {
		return nil, err
	}
	rows, err := store.ListGatewayConnectors(ctx, s.db.Reader(), p.OrgID)
	if err != nil {
		return nil, err
	}
	out := make([]Connector, 0, len(rows))
	for _, r := range rows {
		out = append(out, fromRow(r))
	}
	return out, nil
}

// Get reads a connector of p's organization; another organization's is
// store.ErrNotFound.
func (s *Service) Get(ctx context.Context, p auth.Principal, connID string) (Connector, error) {
	if err := p.Require(access.SettingsWrite); err != nil {
		return Connector{}, err
	}
	r, err := store.GetGatewayConnector(ctx, s.db.Reader(), p.OrgID, connID)
	if err != nil {
		return Connector{}, err
	}
	return fromRow(r), nil
}

// Update replaces a connector's settings with in.
func (s *Service) Update(ctx context.Context, p auth.Principal, connID string, in Input) (Connector, error) {
	if err := p.Require(access.SettingsWrite); err != nil {
		return Connector{}, err
	}
	var out Connector
	err := s.db.Tx(ctx, func(tx *store.Tx) error {
		old, err := store.GetGatewayConnector(ctx, tx, p.OrgID, connID)
		if err != nil {
			return err
		}
		c, err := Validate(in)
		if err != nil {
			return err
		}
		c.ID, c.OrgID, c.CreatedAt, c.UpdatedAt = old.ID, old.OrgID, old.CreatedAt, s.now()
		if err := store.UpdateGatewayConnector(ctx, tx, c.row()); err != nil {
			return nameTaken(err)
		}
		out = c
		return s.record(ctx, tx, p, "gateway.connector.update", c)
	})
	return out, err
}

// Delete removes a connector of p's organization.
func (s *Service) Delete(ctx context.Context, p auth.Principal, connID string) error {
	if err := p.Require(access.SettingsWrite); err != nil {
		return err
	}
	return s.db.Tx(ctx, func(tx *store.Tx) error {
		old, err := store.GetGatewayConnector(ctx, tx, p.OrgID, connID)
		if err != nil {
			return err
		}
		if err := store.DeleteGatewayConnector(ctx, tx, p.OrgID, connID); err != nil {
			return err
		}
		return s.record(ctx, tx, p, "gateway.connector.delete", fromRow(old))
	})
}

// Enabled returns every enabled connector of every active organization,
// for the gateway listener to match a connection against.
func (s *Service) Enabled(ctx context.Context) ([]Connector, error) {
	rows, err := store.EnabledGatewayConnectors(ctx, s.db.Reader())
	if err != nil {
		return nil, err
	}
	out := make([]Connector, 0, len(rows))
	for _, r := range rows {
		out = append(out, fromRow(r))
	}
	return out, nil
}

// DomainOwner returns the organization with domain as a verified sender
// domain, or "" when none has it.
func (s *Service) DomainOwner(ctx context.Context, domain string) (string, error) {
	org, err := store.SenderDomainOwner(ctx, s.db.Reader(), strings.ToLower(domain))
	if errors.Is(err, store.ErrNotFound) {
		return "", nil
	}
	return org, err
}

// record audits a change with what the connector trusts (ranges, pins,
// names, tenant), which is configuration, never PHI.
func (s *Service) record(ctx context.Context, tx *store.Tx, p auth.Principal, action string, c Connector) error {
	r := c.row()
	d := map[string]string{"name": c.Name, "require_tls": boolText(c.RequireTLS), "enabled": boolText(c.Enabled)}
	for k, v := range map[string]string{"ip_ranges": r.IPRanges, "cert_sha256": r.CertSHA256, "cert_names": r.CertNames, "tenant_id": r.TenantID} {
		if v != "" {
			d[k] = clip(v)
		}
	}
	if c.ClientCA != "" {
		d["client_ca"] = "set"
	}
	err := s.audit.Append(ctx, tx, audit.Entry{Chain: p.OrgID, Actor: p.Actor(), Action: action,
		TargetType: "gateway_connector", TargetID: c.ID, Outcome: audit.Success, Details: d})
	return err
}

// clip keeps a space-separated list within an audit detail's 1024 bytes,
// cutting at a separator.
func clip(v string) string {
	const limit = 1000
	if len(v) <= limit {
		return v
	}
	cut := strings.LastIndexByte(v[:limit], ' ')
	return v[:cut] + " …"
}

func boolText(b bool) string {
	if b {
		return "true"
	}
	return "false"
}

func nameTaken(err error) error {
	if errors.Is(err, store.ErrConflict) {
		return &auth.InputError{Field: "name", Msg: "another connector of your organization has this name"}
	}
	return err
}
