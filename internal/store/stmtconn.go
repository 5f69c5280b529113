package store

import (
	"context"
	"database/sql/driver"
	"strings"

	"modernc.org/sqlite"
)

// Prepared statements kept by each SQLite connection.
//
// modernc.org/sqlite parses a statement's SQL on every ExecContext and
// QueryContext a connection is given (sqlite3_prepare_v2), and parsing is
// a large share of a short write (profiling the outbox showed the SQL
// parser at over a quarter of its CPU). cachedConn keeps, per connection,
// the statements of the SQL texts it has run, and runs the same text again
// on the same prepared statement, as pgx does for PostgreSQL: the store's
// queries, inside transactions or not, and the job engine's (River's
// SQLite driver issues them on the writer pool directly; fetching,
// inserting and completing jobs were half of a campaign message's SQL
// parsing while only the store's own queries were prepared). A statement whose rows are still open is not shared: a
// second query of the same text meanwhile (a query inside a loop over the
// rows of the same query) gets a statement of its own. Texts of several
// statements (migrations) are never kept: SQLite prepares them one at a
// time anyway.

// maxConnStatements bounds one connection's statements; the least recently
// used one not in use is finalized to make room.
const maxConnStatements = 256

// cachingConnector opens SQLite connections that keep their statements.
type cachingConnector struct {
	dsn string
	drv *sqlite.Driver
}

func newCachingConnector(dsn string) cachingConnector {
	return cachingConnector{dsn: dsn, drv: &sqlite.Driver{}}
}

func (c cachingConnector) Connect(context.Context) (driver.Conn, error) {
	conn, err := c.drv.Open(c.dsn)
	if err != nil {
		return nil, err
	}
	return newCachedConn(conn), nil
}

func (c cachingConnector) Driver() driver.Driver { return c.drv }

// sqliteConn is what database/sql uses of a modernc.org/sqlite connection.
type sqliteConn interface {
	driver.Conn
	driver.ConnBeginTx
	driver.ConnPrepareContext
	driver.ExecerContext
	driver.QueryerContext
	driver.Pinger
	driver.SessionResetter
	driver.Validator
}

// sqliteStmt is what cachedConn uses of its statements.
type sqliteStmt interface {
	driver.Stmt
	driver.StmtExecContext
	driver.StmtQueryContext
}

// sqliteRows is what database/sql uses of modernc.org/sqlite's rows.
type sqliteRows interface {
	driver.Rows
	driver.RowsColumnTypeDatabaseTypeName
	driver.RowsColumnTypeLength
	driver.RowsColumnTypeNullable
	driver.RowsColumnTypePrecisionScale
	driver.RowsColumnTypeScanType
}

type cachedStmt struct {
	st      sqliteStmt
	busy    bool   // rows of it are open
	lastUse uint64 // cachedConn.clock when last run
}

// cachedConn is a SQLite connection with its statements kept. database/sql
// uses a connection from one goroutine at a time, so it needs no lock.
type cachedConn struct {
	sqliteConn
	stmts    map[string]*cachedStmt
	clock    uint64
	prepares int // statements prepared for the cache (tests)
}

func newCachedConn(c driver.Conn) driver.Conn {
	sc, ok := c.(sqliteConn)
	if !ok {
		return c // not the driver this was written for: no cache
	}
	return &cachedConn{sqliteConn: sc, stmts: map[string]*cachedStmt{}}
}

// statement returns the kept statement for query, preparing it on first
// use, or nil when query is not to be kept or its statement is in use.
func (c *cachedConn) statement(ctx context.Context, query string) (*cachedStmt, error) {
	c.clock++
	if cs, ok := c.stmts[query]; ok {
		if cs.busy {
			return nil, nil
		}
		cs.lastUse = c.clock
		return cs, nil
	}
	if strings.Contains(strings.TrimRight(query, "; \t\r\n"), ";") {
		return nil, nil
	}
	if len(c.stmts) >= maxConnStatements && !c.evict() {
		return nil, nil
	}
	st, err := c.sqliteConn.PrepareContext(ctx, query)
	if err != nil {
		return nil, err
	}
	ss, ok := st.(sqliteStmt)
	if !ok {
		_ = st.Close()
		return nil, nil
	}
	c.prepares++
	cs := &cachedStmt{st: ss, lastUse: c.clock}
	c.stmts[query] = cs
	return cs, nil
}

// evict finalizes the least recently used statement not in use.
func (c *cachedConn) evict() bool {
	var oldest string
	var at uint64
	for q, cs := range c.stmts {
		if !cs.busy && (oldest == "" || cs.lastUse < at) {
			oldest, at = q, cs.lastUse
		}
	}
	if oldest == "" {
		return false
	}
	_ = c.stmts[oldest].st.Close()
	delete(c.stmts, oldest)
	return true
}

// ExecContext runs query on its kept statement.
func (c *cachedConn) ExecContext(ctx context.Context, query string, args []driver.NamedValue) (driver.Result, error) {
	cs, err := c.statement(ctx, query)
	if err != nil {
		return nil, err
	}
	if cs == nil {
		return c.sqliteConn.ExecContext(ctx, query, args)
	}
	return cs.st.ExecContext(ctx, args)
}

// QueryContext runs query on its kept statement, which is in use until
// the rows are closed.
func (c *cachedConn) QueryContext(ctx context.Context, query string, args []driver.NamedValue) (driver.Rows, error) {
	cs, err := c.statement(ctx, query)
	if err != nil {
		return nil, err
	}
	if cs == nil {
		return c.sqliteConn.QueryContext(ctx, query, args)
	}
	r, err := cs.st.QueryContext(ctx, args)
	if err != nil {
		return nil, err
	}
	sr, ok := r.(sqliteRows)
	if !ok {
		return r, nil // closing these rows leaves the statement as it found it
	}
	cs.busy = true
	return &cachedRows{sqliteRows: sr, stmt: cs}, nil
}

// Close finalizes the kept statements and closes the connection.
func (c *cachedConn) Close() error {
	for q, cs := range c.stmts {
		_ = cs.st.Close()
		delete(c.stmts, q)
	}
	return c.sqliteConn.Close()
}

// cachedRows frees its statement for the next query when closed.
type cachedRows struct {
	sqliteRows
	stmt *cachedStmt
}

func (r *cachedRows) Close() error {
	err := r.sqliteRows.Close()
	r.stmt.busy = false
	return err
}
