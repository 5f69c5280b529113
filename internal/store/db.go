package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strings"

	"github.com/jackc/pgx/v5/pgxpool"
)

// Driver names a database engine behind the store.
type Driver string

const (
	// SQLite is the embedded default: one file in the data folder.
	SQLite Driver = "sqlite"
	// Postgres is selected by a postgres:// or postgresql:// URL and lets
	// several carepost nodes share one database.
	Postgres Driver = "postgres"
)

// Options says which database to open.
type Options struct {
	// URL is a PostgreSQL URL (postgres://...) or a SQLite file path
	// (optionally prefixed with sqlite:// or file:).
	URL string
	// MaxConns bounds the PostgreSQL pool and the SQLite read pool.
	// Zero means 10.
	MaxConns int
}

// DB is an open store. It is safe for concurrent use.
type DB struct {
	driver Driver
	write  *sql.DB
	read   *sql.DB
	pool   *pgxpool.Pool // PostgreSQL only; the job engine listens on it
	path   string        // SQLite only: the database file
	ckpt   *checkpointer // SQLite only: copies the log into the database file
}

// DriverFor reports which driver a URL selects.
func DriverFor(url string) Driver {
	lower := strings.ToLower(url)
	if strings.HasPrefix(lower, "postgres://") || strings.HasPrefix(lower, "postgresql://") {
		return Postgres
	}
	return SQLite
}

// Open connects to the database named by opts.URL and checks it answers.
// It does not migrate; call Migrate.
func Open(ctx context.Context, opts Options) (*DB, error) {
	if opts.URL == "" {
		return nil, errors.New("open store: empty database URL")
	}
	if opts.MaxConns <= 0 {
		opts.MaxConns = 10
	}
	var (
		db  *DB
		err error
	)
	switch DriverFor(opts.URL) {
	case Postgres:
		db, err = openPostgres(ctx, opts)
	default:
		db, err = openSQLite(ctx, opts)
	}
	if err != nil {
		return nil, err
	}
	if err := db.Ping(ctx); err != nil {
		db.Close()
		return nil, err
	}
	return db, nil
}

// Driver reports the engine in use.
func (db *DB) Driver() Driver { return db.driver }

// Path is the SQLite database file, or "" on PostgreSQL.
func (db *DB) Path() string { return db.path }

// Ping checks that the database answers.
func (db *DB) Ping(ctx context.Context) error {
	if err := db.write.PingContext(ctx); err != nil {
		return fmt.Errorf("ping %s: %w", db.driver, err)
	}
	return nil
}

// Close releases every connection.
func (db *DB) Close() error {
	var errs []error
	if db.ckpt != nil {
		errs = append(errs, db.ckpt.close())
	}
	if db.read != db.write {
		errs = append(errs, db.read.Close())
	}
	errs = append(errs, db.write.Close())
	if db.pool != nil {
		db.pool.Close()
	}
	return errors.Join(errs...)
}

// SQL is the pool the job engine uses: the single writer connection on
// SQLite, the shared pool on PostgreSQL. Domain code never uses it directly.
func (db *DB) SQL() *sql.DB { return db.write }

// PgxPool is the native pgx pool on PostgreSQL (nil on SQLite). The job engine
// uses it for LISTEN/NOTIFY.
func (db *DB) PgxPool() *pgxpool.Pool { return db.pool }

// Reader runs queries outside a transaction. On SQLite it uses the read
// pool, so it does not see writes that have not committed.
func (db *DB) Reader() Querier {
	return &conn{q: db.read, driver: db.driver}
}
