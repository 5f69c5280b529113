package store

import (
	"context"
	"crypto/sha256"
	"embed"
	"encoding/hex"
	"fmt"
	"io/fs"
	"path"
	"sort"
	"strconv"
	"strings"
	"time"
)

//go:embed migrations
var migrationFS embed.FS

// Migration is one numbered schema change.
type Migration struct {
	Version   int
	Name      string
	Checksum  string
	AppliedAt time.Time // zero when pending
}

// migrationLockKey is the PostgreSQL advisory lock held while migrating, so
// nodes starting together apply each migration once.
const migrationLockKey = 0x63617265706f7374 // "carepost"

func migrations(d Driver) ([]Migration, map[int]string, error) {
	dir := path.Join("migrations", string(d))
	entries, err := fs.ReadDir(migrationFS, dir)
	if err != nil {
		return nil, nil, fmt.Errorf("read embedded migrations: %w", err)
	}
	var list []Migration
	bodies := map[int]string{}
	for _, e := range entries {
		name := e.Name()
		if !strings.HasSuffix(name, ".sql") {
			continue
		}
		num, rest, ok := strings.Cut(strings.TrimSuffix(name, ".sql"), "_")
		v, err := strconv.Atoi(num)
		if !ok || err != nil {
			return nil, nil, fmt.Errorf("migration %s: name must be NNNN_description.sql", name)
		}
		body, err := fs.ReadFile(migrationFS, path.Join(dir, name))
		if err != nil {
			return nil, nil, fmt.Errorf("read migration %s: %w", name, err)
		}
		if _, dup := bodies[v]; dup {
			return nil, nil, fmt.Errorf("migration %d defined twice", v)
		}
		sum := sha256.Sum256(body)
		list = append(list, Migration{Version: v, Name: rest, Checksum: hex.EncodeToString(sum[:8])})
		bodies[v] = string(body)
	}
	sort.Slice(list, func(i, j int) bool { return list[i].Version < list[j].Version })
	return list, bodies, nil
}

const createMigrationsTable = `CREATE TABLE IF NOT EXISTS schema_migrations (
	version    INTEGER PRIMARY KEY,
	name       TEXT NOT NULL,
	checksum   TEXT NOT NULL,
	applied_at BIGINT NOT NULL
)`

// MigrationStatus lists every migration the binary carries, with the time
// each was applied (zero when pending). It fails if the database records a
// migration this binary does not know or whose checksum differs: that means a
// newer or different binary migrated it.
func (db *DB) MigrationStatus(ctx context.Context) ([]Migration, error) {
	known, _, err := migrations(db.driver)
	if err != nil {
		return nil, err
	}
	applied, err := db.appliedMigrations(ctx, db.Reader())
	if err != nil {
		return nil, err
	}
	for i, m := range known {
		if a, ok := applied[m.Version]; ok {
			if a.Checksum != m.Checksum {
				return nil, fmt.Errorf("migration %d (%s) was applied with checksum %s but this binary has %s: the schema was changed by a different build", m.Version, m.Name, a.Checksum, m.Checksum)
			}
			known[i].AppliedAt = a.AppliedAt
			delete(applied, m.Version)
		}
	}
	for v := range applied {
		return nil, fmt.Errorf("database has migration %d that this binary does not know: it was migrated by a newer carepost", v)
	}
	return known, nil
}

func (db *DB) appliedMigrations(ctx context.Context, q Querier) (map[int]Migration, error) {
	var exists int
	var probe string
	if db.driver == Postgres {
		probe = `SELECT count(*) FROM information_schema.tables WHERE table_schema = current_schema() AND table_name = 'schema_migrations'`
	} else {
		probe = `SELECT count(*) FROM sqlite_master WHERE type = 'table' AND name = 'schema_migrations'`
	}
	if err := Scan(q.QueryRow(ctx, probe), &exists); err != nil {
		return nil, fmt.Errorf("look for schema_migrations: %w", err)
	}
	out := map[int]Migration{}
	if exists == 0 {
		return out, nil
	}
	rows, err := q.Query(ctx, `SELECT version, name, checksum, applied_at FROM schema_migrations`)
	if err != nil {
		return nil, fmt.Errorf("read schema_migrations: %w", err)
	}
	defer rows.Close()
	for rows.Next() {
		var m Migration
		var at int64
		if err := rows.Scan(&m.Version, &m.Name, &m.Checksum, &at); err != nil {
			return nil, fmt.Errorf("read schema_migrations: %w", err)
		}
		m.AppliedAt = FromMicros(at)
		out[m.Version] = m
	}
	return out, rows.Err()
}

// Migrate applies every pending migration in order, each in its own
// transaction, and returns the ones it applied.
func (db *DB) Migrate(ctx context.Context) ([]Migration, error) {
	known, bodies, err := migrations(db.driver)
	if err != nil {
		return nil, err
	}
	var done []Migration
	for _, m := range known {
		applied := false
		err := db.Tx(ctx, func(tx *Tx) error {
			if db.driver == Postgres {
				if _, err := tx.Exec(ctx, `SELECT pg_advisory_xact_lock(?)`, int64(migrationLockKey)); err != nil {
					return fmt.Errorf("take migration lock: %w", err)
				}
			}
			if _, err := tx.Exec(ctx, createMigrationsTable); err != nil {
				return fmt.Errorf("create schema_migrations: %w", err)
			}
			have, err := db.appliedMigrations(ctx, tx)
			if err != nil {
				return err
			}
			if a, ok := have[m.Version]; ok {
				if a.Checksum != m.Checksum {
					return fmt.Errorf("migration %d (%s) was applied with a different checksum: the schema was changed by a different build", m.Version, m.Name)
				}
				return nil
			}
			if _, err := tx.tx.ExecContext(ctx, bodies[m.Version]); err != nil {
				return fmt.Errorf("apply migration %d (%s): %w", m.Version, m.Name, err)
			}
			m.AppliedAt = time.Now().UTC()
			if _, err := tx.Exec(ctx, `INSERT INTO schema_migrations (version, name, checksum, applied_at) VALUES (?, ?, ?, ?)`,
				m.Version, m.Name, m.Checksum, Micros(m.AppliedAt)); err != nil {
				return fmt.Errorf("record migration %d: %w", m.Version, err)
			}
			applied = true
			return nil
		})
		if err != nil {
			return done, err
		}
		if applied {
			done = append(done, m)
		}
	}
	return done, nil
}

// Pending reports how many migrations are not yet applied.
func (db *DB) Pending(ctx context.Context) (int, error) {
	st, err := db.MigrationStatus(ctx)
	if err != nil {
		return 0, err
	}
	n := 0
	for _, m := range st {
		if m.AppliedAt.IsZero() {
			n++
		}
	}
	return n, nil
}
