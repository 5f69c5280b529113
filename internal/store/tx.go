package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"sync"
)

// Querier runs SQL written with "?" placeholders on either driver. Both a
// transaction and the read pool satisfy it.
type Querier interface {
	Exec(ctx context.Context, query string, args ...any) (sql.Result, error)
	Query(ctx context.Context, query string, args ...any) (*sql.Rows, error)
	QueryRow(ctx context.Context, query string, args ...any) *sql.Row
	Driver() Driver
}

type sqlRunner interface {
	ExecContext(ctx context.Context, query string, args ...any) (sql.Result, error)
	QueryContext(ctx context.Context, query string, args ...any) (*sql.Rows, error)
	QueryRowContext(ctx context.Context, query string, args ...any) *sql.Row
}

type conn struct {
	q      sqlRunner
	driver Driver
}

func (c *conn) Driver() Driver { return c.driver }

// Exec, Query and QueryRow run query with its placeholders rebound for the
// driver. On SQLite the connection runs a text again on the statement it
// prepared for it (stmtconn.go); pgx does the same for PostgreSQL.
func (c *conn) Exec(ctx context.Context, query string, args ...any) (sql.Result, error) {
	res, err := c.q.ExecContext(ctx, rebind(c.driver, query), args...)
	return res, mapError(err)
}

func (c *conn) Query(ctx context.Context, query string, args ...any) (*sql.Rows, error) {
	rows, err := c.q.QueryContext(ctx, rebind(c.driver, query), args...)
	return rows, mapError(err)
}

func (c *conn) QueryRow(ctx context.Context, query string, args ...any) *sql.Row {
	return c.q.QueryRowContext(ctx, rebind(c.driver, query), args...)
}

// Tx is a write transaction. A state change and the job that follows it are
// written in the same Tx (the job engine inserts through SQL()).
type Tx struct {
	conn
	tx          *sql.Tx
	afterCommit []func()
	queued      []queuedItem // written just before COMMIT (Queue)
}

// A Flusher writes, inside a transaction and just before it commits, the
// items the transaction's work queued for it (Tx.Queue), in queueing
// order. An error rolls the transaction back.
type Flusher interface {
	Flush(ctx context.Context, tx *Tx, items []any) error
}

type queuedItem struct {
	to   Flusher
	item any
}

// Queue hands item to f, which writes it with everything else queued for
// it when fn of DB.Tx has returned and before COMMIT: one Flush call per
// Flusher, in the order of their first items. It is for writes that are
// best made last and together: the audit log's chain heads are locked
// from their update until COMMIT, so appending at the end holds them
// briefly, and appending a whole group-commit batch's entries at once
// can take several organizations' heads in one order (audit.Log.Flush).
// A savepoint rolled back (Savepoint, group commit) drops what was queued
// inside it.
func (tx *Tx) Queue(f Flusher, item any) { tx.queued = append(tx.queued, queuedItem{f, item}) }

// flushQueued runs the Flushers of what was queued.
func (tx *Tx) flushQueued(ctx context.Context) error {
	if len(tx.queued) == 0 {
		return nil
	}
	var order []Flusher
	items := map[Flusher][]any{}
	for _, q := range tx.queued {
		if _, ok := items[q.to]; !ok {
			order = append(order, q.to)
		}
		items[q.to] = append(items[q.to], q.item)
	}
	tx.queued = nil
	for _, f := range order {
		if err := f.Flush(ctx, tx, items[f]); err != nil {
			return err
		}
	}
	return nil
}

// txMark is how far a transaction's hooks and queue reached, so a
// savepoint rolled back can undo what was registered inside it.
type txMark struct{ hooks, queued int }

func (tx *Tx) mark() txMark { return txMark{len(tx.afterCommit), len(tx.queued)} }

func (tx *Tx) undo(m txMark) {
	tx.afterCommit = tx.afterCommit[:m.hooks]
	tx.queued = tx.queued[:m.queued]
}

// SQL exposes the underlying transaction for the job engine's InsertTx.
func (tx *Tx) SQL() *sql.Tx { return tx.tx }

// AfterCommit registers fn to run once the transaction has committed, for
// side effects that must not happen if it rolls back (filling a cache,
// waking a worker). Functions run in registration order.
func (tx *Tx) AfterCommit(fn func()) { tx.afterCommit = append(tx.afterCommit, fn) }

// Tx runs fn in a write transaction, committing if fn returns nil and rolling
// back otherwise. The commit is synchronous: when Tx returns nil the change is
// durable.
func (db *DB) Tx(ctx context.Context, fn func(tx *Tx) error) (err error) {
	sqlTx, err := db.write.BeginTx(ctx, nil)
	if err != nil {
		return fmt.Errorf("begin transaction: %w", mapError(err))
	}
	tx := &Tx{conn: conn{q: sqlTx, driver: db.driver}, tx: sqlTx}
	defer func() {
		if p := recover(); p != nil {
			_ = sqlTx.Rollback()
			panic(p)
		}
	}()
	err = fn(tx)
	if err == nil {
		err = tx.flushQueued(ctx)
	}
	if err != nil {
		if rbErr := sqlTx.Rollback(); rbErr != nil && !errors.Is(rbErr, sql.ErrTxDone) {
			return errors.Join(err, fmt.Errorf("roll back: %w", rbErr))
		}
		return err
	}
	if err := sqlTx.Commit(); err != nil {
		return fmt.Errorf("commit: %w", mapError(err))
	}
	for _, f := range tx.afterCommit {
		f()
	}
	return nil
}

var rebindCache sync.Map // query string -> rebound string

// rebind turns "?" placeholders into PostgreSQL's "$1, $2, ...". Question
// marks inside single-quoted literals, double-quoted identifiers and
// comments are left alone. SQLite takes "?" as is.
func rebind(d Driver, query string) string {
	if d != Postgres || !strings.Contains(query, "?") {
		return query
	}
	if v, ok := rebindCache.Load(query); ok {
		return v.(string)
	}
	var b strings.Builder
	b.Grow(len(query) + 16)
	n := 0
	var quote byte
	for i := 0; i < len(query); i++ {
		c := query[i]
		switch {
		case quote != 0:
			if c == quote {
				quote = 0
			}
		case c == '\'' || c == '"':
			quote = c
		case c == '-' && i+1 < len(query) && query[i+1] == '-':
			end := strings.IndexByte(query[i:], '\n')
			if end < 0 {
				end = len(query) - i
			}
			b.WriteString(query[i : i+end])
			i += end - 1
			continue
		case c == '?':
			n++
			b.WriteByte('$')
			b.WriteString(strconv.Itoa(n))
			continue
		}
		b.WriteByte(c)
	}
	out := b.String()
	rebindCache.Store(query, out)
	return out
}
