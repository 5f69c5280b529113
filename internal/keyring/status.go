package keyring

import (
	"context"
	"fmt"
	"slices"
	"sort"
	"time"

	"github.com/carepost/carepost/internal/store"
)

// StateMissing is the state Status reports for a version that rows
// reference but data_keys does not hold: those rows cannot be opened.
const StateMissing = "missing"

// ScopeStatus describes one scope's data keys.
type ScopeStatus struct {
	Scope string
	// Current is the version new writes use; 0 if the scope has no active key.
	Current  int
	Versions []VersionStatus // by version
}

// VersionStatus describes one data-key version and the rows it sealed.
type VersionStatus struct {
	Version int
	// State is store.DataKeyActive, store.DataKeyRetired or StateMissing.
	State     string
	KEKID     string
	CreatedAt time.Time
	RetiredAt time.Time
	// Rows counts rows across registered tables; RowsByTable splits it.
	Rows        int64
	RowsByTable map[string]int64
}

// Register declares a table holding sealed columns so Reencrypt, Status and
// RetireUnused cover it. Registering the same descriptor twice is a no-op.
// It panics on an invalid descriptor or on a second, different descriptor
// for the same table: both are wiring mistakes, found at start-up.
func (k *Keyring) Register(t store.SealedTable) {
	if err := t.Validate(); err != nil {
		panic("keyring: register: " + err.Error())
	}
	t.Columns = slices.Clone(t.Columns)
	k.mu.Lock()
	defer k.mu.Unlock()
	for _, have := range k.tables {
		if have.Table == t.Table {
			if !have.Equal(t) {
				panic(fmt.Sprintf("keyring: register: table %s registered twice with different columns", t.Table))
			}
			return
		}
	}
	k.tables = append(k.tables, t)
}

// Scopes lists every scope that has a data key.
func (k *Keyring) Scopes(ctx context.Context) ([]string, error) {
	return store.DataKeyScopes(ctx, k.db.Reader())
}

// Status reports every scope's versions with state, wrapping KEK, times and
// row counts per version across the registered tables. It reads without a
// transaction, so counts taken while writes run may be a moment apart.
func (k *Keyring) Status(ctx context.Context) ([]ScopeStatus, error) {
	q := k.db.Reader()
	keys, err := store.ListDataKeys(ctx, q)
	if err != nil {
		return nil, fmt.Errorf("key status: %w", err)
	}
	byScope := map[string]map[int]*VersionStatus{}
	entry := func(scope string, v int) *VersionStatus {
		if byScope[scope] == nil {
			byScope[scope] = map[int]*VersionStatus{}
		}
		vs := byScope[scope][v]
		if vs == nil {
			vs = &VersionStatus{Version: v, State: StateMissing, RowsByTable: map[string]int64{}}
			byScope[scope][v] = vs
		}
		return vs
	}
	for _, dk := range keys {
		vs := entry(dk.Scope, dk.Version)
		vs.State, vs.KEKID, vs.CreatedAt, vs.RetiredAt = dk.State, dk.KEKID, dk.CreatedAt, dk.RetiredAt
	}
	for _, t := range k.registered() {
		counts, err := store.CountSealed(ctx, q, t)
		if err != nil {
			return nil, fmt.Errorf("key status: %w", err)
		}
		for _, c := range counts {
			vs := entry(c.Scope, c.Version)
			vs.Rows += c.Rows
			vs.RowsByTable[t.Table] += c.Rows
		}
	}
	out := make([]ScopeStatus, 0, len(byScope))
	for scope, versions := range byScope {
		st := ScopeStatus{Scope: scope}
		for _, vs := range versions {
			st.Versions = append(st.Versions, *vs)
			if vs.State == store.DataKeyActive && vs.Version > st.Current {
				st.Current = vs.Version
			}
		}
		sort.Slice(st.Versions, func(i, j int) bool { return st.Versions[i].Version < st.Versions[j].Version })
		out = append(out, st)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Scope < out[j].Scope })
	return out, nil
}
