package store

import (
	"context"
	"database/sql"
	"sync"
)

// stmtCache keeps prepared statements for SQLite's writer connection.
//
// modernc.org/sqlite parses a statement's SQL on every Exec that is not
// prepared, and parsing is a large share of a short write (profiling the
// outbox showed the SQL parser at over a quarter of its CPU). database/sql
// reuses a statement inside a transaction (Tx.StmtContext) only when the
// statement was already prepared on that connection outside any
// transaction. With a single writer connection that is only possible
// between transactions, so a statement first seen inside a transaction is
// noted, and prepared on the pool right after the commit; from then on
// every transaction reuses it.
//
// PostgreSQL needs none of this: pgx caches prepared statements per
// connection by itself.
type stmtCache struct {
	db      *sql.DB
	mu      sync.Mutex
	stmts   map[string]*sql.Stmt
	pending map[string]bool
}

// maxCachedStatements bounds the cache; queries with a variable number of
// VALUES rows make a long tail of distinct texts that are not worth keeping.
const maxCachedStatements = 256

func newStmtCache(db *sql.DB) *stmtCache {
	return &stmtCache{db: db, stmts: map[string]*sql.Stmt{}, pending: map[string]bool{}}
}

// lookup returns the prepared statement for query, or nil after noting it
// for preparation.
func (c *stmtCache) lookup(query string) *sql.Stmt {
	c.mu.Lock()
	defer c.mu.Unlock()
	if st, ok := c.stmts[query]; ok {
		return st
	}
	if len(c.stmts)+len(c.pending) < maxCachedStatements {
		c.pending[query] = true
	}
	return nil
}

// lookupNow returns the prepared statement for query, preparing it at once
// (for the read pool, where no transaction holds the connections).
func (c *stmtCache) lookupNow(ctx context.Context, query string) *sql.Stmt {
	c.mu.Lock()
	st, ok := c.stmts[query]
	full := len(c.stmts) >= maxCachedStatements
	c.mu.Unlock()
	if ok || full {
		return st
	}
	st, err := c.db.PrepareContext(ctx, query)
	if err != nil {
		return nil
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if prev, dup := c.stmts[query]; dup {
		st.Close()
		return prev
	}
	c.stmts[query] = st
	return st
}

// preparePending prepares the noted statements. It runs after a commit,
// when the writer connection is free.
func (c *stmtCache) preparePending(ctx context.Context) {
	c.mu.Lock()
	if len(c.pending) == 0 {
		c.mu.Unlock()
		return
	}
	queries := make([]string, 0, len(c.pending))
	for q := range c.pending {
		queries = append(queries, q)
	}
	c.pending = map[string]bool{}
	c.mu.Unlock()
	for _, q := range queries {
		st, err := c.db.PrepareContext(ctx, q)
		if err != nil {
			continue // a statement that does not prepare runs unprepared
		}
		c.mu.Lock()
		if _, dup := c.stmts[q]; dup {
			st.Close()
		} else {
			c.stmts[q] = st
		}
		c.mu.Unlock()
	}
}

func (c *stmtCache) close() {
	c.mu.Lock()
	defer c.mu.Unlock()
	for _, st := range c.stmts {
		st.Close()
	}
	c.stmts = map[string]*sql.Stmt{}
}
