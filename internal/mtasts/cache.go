package mtasts

import (
	"context"
	"slices"
	"sync"
	"time"
)

// CachedPolicy is a fetched policy as a Cache keeps it.
type CachedPolicy struct {
	// Policy as fetched, any mode (a cached "none" withdraws an earlier
	// policy, RFC 8461 section 8.3).
	Policy Policy
	// ID is the TXT record id the policy was fetched under.
	ID string
	// Fetched is when the policy was fetched; it expires MaxAge later.
	Fetched time.Time
}

// Expires is when the policy stops applying (RFC 8461 section 5.1).
func (c CachedPolicy) Expires() time.Time { return c.Fetched.Add(c.Policy.MaxAge) }

// Cache keeps policies between lookups, keyed by the policy domain in
// lower-case A-labels. The Client decides what is fresh and what is
// expired; a Cache only stores. Implementations must be safe for
// concurrent use and must return values the caller may keep (copies).
//
// The in-memory MemoryCache forgets on restart; a store-backed Cache will
// keep policies across restarts, which matters because a policy learned
// before an attack is what defeats it (RFC 8461 section 10.2).
type Cache interface {
	// Get returns the cached policy of domain and whether there is one.
	// An error is a storage failure; the Client treats it as a miss.
	Get(ctx context.Context, domain string) (CachedPolicy, bool, error)
	// Put stores p for domain, replacing what was there.
	Put(ctx context.Context, domain string, p CachedPolicy) error
}

// MemoryCache is a Cache in memory. Entries stay until replaced; the
// number of policy domains a node delivers to bounds its size.
type MemoryCache struct {
	mu sync.Mutex
	m  map[string]CachedPolicy
}

var _ Cache = (*MemoryCache)(nil)

// NewMemoryCache returns an empty MemoryCache.
func NewMemoryCache() *MemoryCache { return &MemoryCache{m: map[string]CachedPolicy{}} }

// Get implements Cache.
func (c *MemoryCache) Get(_ context.Context, domain string) (CachedPolicy, bool, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	p, ok := c.m[domain]
	return clonePolicy(p), ok, nil
}

// Put implements Cache.
func (c *MemoryCache) Put(_ context.Context, domain string, p CachedPolicy) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.m[domain] = clonePolicy(p)
	return nil
}

func clonePolicy(p CachedPolicy) CachedPolicy {
	p.Policy.MX = slices.Clone(p.Policy.MX)
	p.Policy.Extensions = slices.Clone(p.Policy.Extensions)
	return p
}
