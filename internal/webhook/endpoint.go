package webhook

import (
	"context"
	"fmt"
	"time"
	"unicode"
	"unicode/utf8"

	"github.com/carepost/carepost/internal/id"
	"github.com/carepost/carepost/internal/store"
)

// DisabledGone is Endpoint.DisabledReason when the receiver answered 410
// Gone ("Delivery success and failure" in the Standard Webhooks
// specification: the receiver wants no more webhooks from us).
const DisabledGone = "gone"

// MaxDescriptionLen bounds an endpoint's description.
const MaxDescriptionLen = 256

// Endpoint is an organization's receiver of webhooks. Its secret is shown
// only when it is created or rotated.
type Endpoint struct {
	ID          string
	OrgID       string
	URL         string
	Description string
	// EventTypes are the subscribed types, sorted; empty means all.
	EventTypes []string
	Enabled    bool
	// DisabledReason is DisabledGone when the receiver disabled it, ""
	// otherwise.
	DisabledReason string
	CreatedAt      time.Time
	UpdatedAt      time.Time
}

// EndpointInput is what an organization sets on an endpoint.
type EndpointInput struct {
	// URL is https://host[:port]/path?query: no user info, no fragment.
	URL string
	// Description is a label for people: not for PHI.
	Description string
	// EventTypes subscribes to some types only; empty means all.
	EventTypes []string
	// Disabled stops deliveries. An update with Disabled false turns an
	// endpoint the receiver disabled (DisabledGone) back on.
	Disabled bool
}

func (s *Service) validate(in EndpointInput) (store.WebhookEndpoint, error) {
	u, err := validateURL(in.URL, s.opts.AllowHTTP, s.guard)
	if err != nil {
		return store.WebhookEndpoint{}, err
	}
	if len(in.Description) > MaxDescriptionLen || !utf8.ValidString(in.Description) {
		return store.WebhookEndpoint{}, invalid("description must be valid UTF-8 of at most %d bytes", MaxDescriptionLen)
	}
	for _, r := range in.Description {
		if unicode.IsControl(r) {
			return store.WebhookEndpoint{}, invalid("description must not contain control characters")
		}
	}
	types, err := normalizeTypes(in.EventTypes)
	if err != nil {
		return store.WebhookEndpoint{}, err
	}
	return store.WebhookEndpoint{URL: u, Description: in.Description, EventTypes: joinTypes(types), Enabled: !in.Disabled}, nil
}

func fromRow(r store.WebhookEndpoint) Endpoint {
	return Endpoint{
		ID: r.ID, OrgID: r.OrgID, URL: r.URL, Description: r.Description,
		EventTypes: splitTypes(r.EventTypes), Enabled: r.Enabled, DisabledReason: r.DisabledReason,
		CreatedAt: r.CreatedAt, UpdatedAt: r.UpdatedAt,
	}
}

// CreateEndpoint adds an endpoint to org inside tx and returns it with its
// new signing secret ("whsec_…"), which is stored sealed and never shown
// again. Input errors wrap ErrInvalid.
func (s *Service) CreateEndpoint(ctx context.Context, tx *store.Tx, org string, in EndpointInput) (Endpoint, string, error) {
	row, err := s.validate(in)
	if err != nil {
		return Endpoint{}, "", err
	}
	now := s.now()
	row.OrgID, row.ID, row.CreatedAt, row.UpdatedAt = org, id.New(endpointPrefix), now, now
	secret, err := newSecret()
	if err != nil {
		return Endpoint{}, "", err
	}
	ct, v, err := s.kr.Seal(ctx, tx, secretAAD(org, row.ID, secretColumn), []byte(secret))
	if err != nil {
		return Endpoint{}, "", fmt.Errorf("create webhook endpoint: %w", err)
	}
	row.Secret, row.DEKVersion = ct, v
	if err := store.InsertWebhookEndpoint(ctx, tx, row); err != nil {
		return Endpoint{}, "", fmt.Errorf("create webhook endpoint: %w", err)
	}
	return fromRow(row), secret, nil
}

// GetEndpoint reads one endpoint of org; store.ErrNotFound if org has none
// with that id (also when another organization has it).
func (s *Service) GetEndpoint(ctx context.Context, org, endpointID string) (Endpoint, error) {
	r, err := store.GetWebhookEndpoint(ctx, s.db.Reader(), org, endpointID)
	if err != nil {
		return Endpoint{}, fmt.Errorf("get webhook endpoint: %w", err)
	}
	return fromRow(r), nil
}

// ListEndpoints returns org's endpoints, oldest first.
func (s *Service) ListEndpoints(ctx context.Context, org string) ([]Endpoint, error) {
	rows, err := store.ListWebhookEndpoints(ctx, s.db.Reader(), org)
	if err != nil {
		return nil, fmt.Errorf("list webhook endpoints: %w", err)
	}
	out := make([]Endpoint, 0, len(rows))
	for _, r := range rows {
		out = append(out, fromRow(r))
	}
	return out, nil
}

// UpdateEndpoint replaces an endpoint's settings inside tx; the secret is
// kept. store.ErrNotFound if org has no endpoint with that id. Deliveries
// already enqueued keep their event but go to the new URL.
func (s *Service) UpdateEndpoint(ctx context.Context, tx *store.Tx, org, endpointID string, in EndpointInput) (Endpoint, error) {
	row, err := s.validate(in)
	if err != nil {
		return Endpoint{}, err
	}
	old, err := store.GetWebhookEndpoint(ctx, tx, org, endpointID)
	if err != nil {
		return Endpoint{}, fmt.Errorf("update webhook endpoint: %w", err)
	}
	row.OrgID, row.ID, row.CreatedAt, row.UpdatedAt = org, endpointID, old.CreatedAt, s.now()
	if !row.Enabled && !old.Enabled {
		row.DisabledReason = old.DisabledReason
	}
	if err := store.UpdateWebhookEndpoint(ctx, tx, row); err != nil {
		return Endpoint{}, fmt.Errorf("update webhook endpoint: %w", err)
	}
	return fromRow(row), nil
}

// DeleteEndpoint removes an endpoint with its delivery log inside tx;
// pending deliveries are dropped. store.ErrNotFound if org has no endpoint
// with that id.
func (s *Service) DeleteEndpoint(ctx context.Context, tx *store.Tx, org, endpointID string) error {
	if err := store.DeleteWebhookEndpoint(ctx, tx, org, endpointID); err != nil {
		return fmt.Errorf("delete webhook endpoint: %w", err)
	}
	return nil
}

// RotateSecret gives an endpoint a new secret inside tx and returns it. For
// Options.SecretOverlap afterwards deliveries carry signatures under both
// the new and the previous secret (Standard Webhooks "zero downtime secret
// rotation"), so the receiver can switch at its own pace.
// store.ErrNotFound if org has no endpoint with that id.
func (s *Service) RotateSecret(ctx context.Context, tx *store.Tx, org, endpointID string) (string, error) {
	old, err := store.GetWebhookEndpoint(ctx, tx, org, endpointID)
	if err != nil {
		return "", fmt.Errorf("rotate webhook secret: %w", err)
	}
	prev, err := s.kr.Open(ctx, tx, secretAAD(org, endpointID, secretColumn), old.Secret)
	if err != nil {
		return "", fmt.Errorf("rotate webhook secret: %w", err)
	}
	defer clear(prev)
	secret, err := newSecret()
	if err != nil {
		return "", err
	}
	ct, v, err := s.kr.Seal(ctx, tx, secretAAD(org, endpointID, secretColumn), []byte(secret))
	if err != nil {
		return "", fmt.Errorf("rotate webhook secret: %w", err)
	}
	var prevCT []byte
	var until time.Time
	now := s.now()
	if s.opts.SecretOverlap > 0 {
		var pv int
		prevCT, pv, err = s.kr.Seal(ctx, tx, secretAAD(org, endpointID, previousSecretColumn), prev)
		if err != nil {
			return "", fmt.Errorf("rotate webhook secret: %w", err)
		}
		if pv != v {
			// The row records one version for both columns.
			return "", fmt.Errorf("rotate webhook secret: secrets sealed with data keys v%d and v%d", v, pv)
		}
		until = now.Add(s.opts.SecretOverlap)
	}
	if err := store.UpdateWebhookSecrets(ctx, tx, org, endpointID, ct, prevCT, until, v, now); err != nil {
		return "", fmt.Errorf("rotate webhook secret: %w", err)
	}
	return secret, nil
}
