package auth

import (
	"context"
	"crypto/subtle"
	"strings"
	"time"

	"github.com/carepost/carepost/internal/access"
	"github.com/carepost/carepost/internal/audit"
	"github.com/carepost/carepost/internal/store"
)

// API keys look like "cpk_<8-character id>_<secret>". The prefix
// "cpk_<id>" names the key in lists and logs and finds its row (id
// "key_<id>"); the secret, 32 random base64url characters (192 bits), is
// shown once and stored only as its SHA-256, which a secret this long makes
// safe without a slow hash. Comparison is in constant time.
const (
	apiKeyPrefix    = "cpk_"
	apiKeyIDPrefix  = "key_"
	apiKeyShortLen  = 8
	apiKeySecretLen = 32 // base64url characters: 192 bits
	// apiKeyTouch bounds how often a busy key writes last_used_at.
	apiKeyTouch = time.Minute
	base64url   = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"
)

// APIKey is a credential for the REST API and SMTP submission, acting for
// its owner with at most Scopes.
type APIKey struct {
	ID, OrgID, UserID, Name, Prefix             string
	Scopes                                      []string
	CreatedAt, ExpiresAt, RevokedAt, LastUsedAt time.Time
}

func apiKeyView(r store.APIKeyRow) APIKey {
	return APIKey{ID: r.ID, OrgID: r.OrgID, UserID: r.UserID, Name: r.Name,
		Prefix: apiKeyPrefix + strings.TrimPrefix(r.ID, apiKeyIDPrefix), Scopes: strings.Fields(r.Scopes),
		CreatedAt: r.CreatedAt, ExpiresAt: r.ExpiresAt, RevokedAt: r.RevokedAt, LastUsedAt: r.LastUsedAt}
}

// CreateAPIKey creates a key owned by p's user (apikeys:write) and returns
// it with the full key, shown once. Scopes must be documented permissions
// that p holds (no escalation through keys); expires is optional (zero) and
// must lie in the future. Keys are created by people, not by other keys.
func (s *Service) CreateAPIKey(ctx context.Context, p Principal, name string, scopes []string, expires time.Time) (APIKey, string, error) {
	if err := p.Require(access.APIKeysWrite); err != nil {
		return APIKey{}, "", err
	}
	if err := requirePerson(p); err != nil {
		return APIKey{}, "", err
	}
	return s.createAPIKey(ctx, p, p.Actor(), name, scopes, expires)
}

// AdminCreateAPIKey creates, for an administrator at the command line, a key
// owned by the user of orgID with this address, scoped to at most that
// user's permissions. It is audited with actor system "cli" and the owner as
// detail, so the record says who really made it.
func (s *Service) AdminCreateAPIKey(ctx context.Context, orgID, ownerEmail, name string, scopes []string, expires time.Time) (APIKey, string, error) {
	u, err := s.findByEmail(ctx, orgID, ownerEmail)
	if err != nil {
		return APIKey{}, "", err
	}
	if u.Status != store.UserActive {
		return APIKey{}, "", ErrDisabled
	}
	p, err := s.userPrincipal(ctx, s.reader(), orgID, u.ID, u.Email, u.Name)
	if err != nil {
		return APIKey{}, "", err
	}
	return s.createAPIKey(ctx, p, audit.Actor{Type: audit.ActorSystem, ID: "cli"}, name, scopes, expires)
}

func (s *Service) createAPIKey(ctx context.Context, p Principal, actor audit.Actor, name string, scopes []string, expires time.Time) (APIKey, string, error) {
	name, err := cleanText("name", name, 100)
	if err != nil {
		return APIKey{}, "", err
	}
	want, err := access.Parse(scopes)
	if err != nil {
		return APIKey{}, "", inputErr("scopes", err.Error())
	}
	if len(want) == 0 {
		return APIKey{}, "", inputErr("scopes", "give the key at least one scope")
	}
	if !access.CanGrant(p.grantable(), want) {
		return APIKey{}, "", ErrForbidden
	}
	now := s.now()
	if !expires.IsZero() && !expires.After(now) {
		return APIKey{}, "", inputErr("expires_at", "the expiry must be in the future")
	}
	secret := randomString(base64url, apiKeySecretLen)
	short := randomString(crockford, apiKeyShortLen)
	row := store.APIKeyRow{ID: apiKeyIDPrefix + short, OrgID: p.OrgID, UserID: p.UserID, Name: name,
		SecretHash: hashToken(secret), Scopes: want.Encode(), CreatedAt: now, ExpiresAt: store.FromMicros(store.Micros(expires))}
	err = s.tx(ctx, func(tx *store.Tx) error {
		if err := store.InsertAPIKey(ctx, tx, row); err != nil {
			return err
		}
		d := map[string]string{"scopes": row.Scopes}
		if !row.ExpiresAt.IsZero() {
			d["expires_at"] = row.ExpiresAt.Format(time.RFC3339)
		}
		d["owner"] = p.UserID
		return s.record(ctx, tx, audit.Entry{Chain: p.OrgID, Actor: actor, Action: "apikey.create",
			TargetType: "apikey", TargetID: row.ID, Outcome: audit.Success, Details: d})
	})
	if err != nil {
		return APIKey{}, "", err
	}
	return apiKeyView(row), apiKeyPrefix + short + "_" + secret, nil
}

// ListAPIKeys lists the keys of p's organization, newest first
// (apikeys:write).
func (s *Service) ListAPIKeys(ctx context.Context, p Principal) ([]APIKey, error) {
	if err := p.Require(access.APIKeysWrite); err != nil {
		return nil, err
	}
	rows, err := store.ListAPIKeys(ctx, s.reader(), p.OrgID)
	if err != nil {
		return nil, err
	}
	out := make([]APIKey, 0, len(rows))
	for _, r := range rows {
		out = append(out, apiKeyView(r))
	}
	return out, nil
}

// GetAPIKey reads a key of p's organization (apikeys:write); a key of
// another organization is store.ErrNotFound.
func (s *Service) GetAPIKey(ctx context.Context, p Principal, keyID string) (APIKey, error) {
	if err := p.Require(access.APIKeysWrite); err != nil {
		return APIKey{}, err
	}
	r, err := store.GetAPIKey(ctx, s.reader(), p.OrgID, keyID)
	if err != nil {
		return APIKey{}, err
	}
	return apiKeyView(r), nil
}

// RevokeAPIKey revokes a key of p's organization (apikeys:write), at once
// and for good. Revoking a revoked key changes nothing.
func (s *Service) RevokeAPIKey(ctx context.Context, p Principal, keyID string) error {
	if err := p.Require(access.APIKeysWrite); err != nil {
		return err
	}
	return s.tx(ctx, func(tx *store.Tx) error {
		if _, err := store.GetAPIKey(ctx, tx, p.OrgID, keyID); err != nil {
			return err
		}
		revoked, err := store.RevokeAPIKey(ctx, tx, p.OrgID, keyID, s.now())
		if err != nil || !revoked {
			return err
		}
		return s.record(ctx, tx, audit.Entry{Chain: p.OrgID, Actor: p.Actor(), Action: "apikey.revoke",
			TargetType: "apikey", TargetID: keyID, Outcome: audit.Success})
	})
}

// AuthenticateAPIKey resolves a presented key to a principal whose
// permissions are the key's scopes intersected with its owner's current
// permissions, so demoting the owner narrows the key. A malformed, unknown,
// wrong, revoked or expired key, or one whose owner or organization is
// disabled, is ErrInvalidCredentials; failures are audited and count
// against the client address, which is then throttled (*ThrottledError).
func (s *Service) AuthenticateAPIKey(ctx context.Context, token string, c Client) (Principal, error) {
	a := attempt{action: "auth.login", client: Client{IP: c.ip(), UserAgent: c.UserAgent},
		actor: audit.Actor{Type: audit.ActorSystem, ID: "anonymous"}, details: map[string]string{"method": "apikey"}}
	if a.client.IP != "" {
		a.ipKey = "ip:" + a.client.IP
	}
	p, k, reason, blockedUntil, err := s.checkAPIKey(ctx, token, a.ipKey)
	if err != nil {
		return Principal{}, err
	}
	// A blocked address is refused before its key counts, valid or not.
	// The key's look-up read the address's block with the key; without a
	// key row to read it with, it is read alone.
	var wait time.Duration
	if k.ID != "" {
		if now := s.now(); blockedUntil.After(now) {
			wait = blockedUntil.Sub(now)
		}
	} else if wait, err = s.blocked(ctx, a); err != nil {
		return Principal{}, err
	}
	if wait > 0 {
		return Principal{}, &ThrottledError{RetryAfter: wait}
	}
	if reason != "" {
		if k.ID != "" {
			a.orgID, a.actor, a.target = k.OrgID, audit.Actor{Type: audit.ActorAPIKey, ID: k.ID}, [2]string{"apikey", k.ID}
		}
		if err := s.tx(ctx, func(tx *store.Tx) error { return s.failed(ctx, tx, a, reason, false) }); err != nil {
			return Principal{}, err
		}
		return Principal{}, ErrInvalidCredentials
	}
	if now := s.now(); now.Sub(k.LastUsedAt) >= apiKeyTouch {
		err := s.tx(ctx, func(tx *store.Tx) error { return store.TouchAPIKey(ctx, tx, k.ID, now, now.Add(-apiKeyTouch)) })
		if err != nil {
			s.opts.Log.Warn("record API key use", "apikey", k.ID, "error", err)
		}
	}
	return p, nil
}

// checkAPIKey returns the principal of a valid key, or the reason it is not
// valid (with the key's row when it exists), and, when the key exists, the
// login throttle's block on throttleKey.
func (s *Service) checkAPIKey(ctx context.Context, token, throttleKey string) (Principal, store.APIKeyRow, string, time.Time, error) {
	short, secret, ok := parseAPIKey(token)
	if !ok {
		return Principal{}, store.APIKeyRow{}, "malformed", time.Time{}, nil
	}
	q := s.reader()
	k, owner, err := store.FindAPIKeyWithOwner(ctx, q, apiKeyIDPrefix+short, throttleKey)
	if isNotFound(err) {
		return Principal{}, store.APIKeyRow{}, "unknown_key", time.Time{}, nil
	}
	if err != nil {
		return Principal{}, store.APIKeyRow{}, "", time.Time{}, err
	}
	p, reason, err := s.keyPrincipal(ctx, q, k, owner, secret)
	return p, k, reason, owner.BlockedUntil, err
}

// keyPrincipal is the principal of key k presenting secret, or the reason
// it is not valid.
func (s *Service) keyPrincipal(ctx context.Context, q store.Querier, k store.APIKeyRow, owner store.APIKeyOwner, secret string) (Principal, string, error) {
	if subtle.ConstantTimeCompare(hashToken(secret), k.SecretHash) != 1 {
		return Principal{}, "bad_secret", nil
	}
	now := s.now()
	switch {
	case !k.RevokedAt.IsZero():
		return Principal{}, "revoked", nil
	case !k.ExpiresAt.IsZero() && !now.Before(k.ExpiresAt):
		return Principal{}, "expired", nil
	}
	if owner.UserStatus != store.UserActive || owner.OrgStatus != store.OrgActive {
		return Principal{}, "owner_disabled", nil
	}
	perms, err := rolePerms(ctx, q, k.OrgID, owner.Roles)
	if err != nil {
		return Principal{}, "", err
	}
	// Break-glass grants are the person's, never their keys'.
	p := Principal{OrgID: k.OrgID, UserID: k.UserID, APIKeyID: k.ID, Email: owner.Email, Name: owner.Name,
		Perms: access.Decode(k.Scopes).Intersect(perms), Roles: owner.Roles}
	return p, "", nil
}

// parseAPIKey splits "cpk_<id>_<secret>".
func parseAPIKey(token string) (short, secret string, ok bool) {
	rest, found := strings.CutPrefix(strings.TrimSpace(token), apiKeyPrefix)
	if !found || len(rest) < apiKeyShortLen+2 || rest[apiKeyShortLen] != '_' {
		return "", "", false
	}
	short, secret = rest[:apiKeyShortLen], rest[apiKeyShortLen+1:]
	if strings.Trim(short, crockford) != "" || len(secret) > 256 {
		return "", "", false
	}
	return short, secret, true
}
