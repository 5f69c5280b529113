package store

import (
	"context"
	"database/sql"
	"sync"
	"sync/atomic"
	"time"
)

// SQLite in WAL mode appends every commit to the write-ahead log and copies
// the log back into the database file in a checkpoint
// (https://www.sqlite.org/wal.html#checkpointing). By default the
// connection whose commit takes the log past 1,000 pages runs that
// checkpoint inside its commit: copying the pages and syncing the database
// file, on the writer, while every other write waits behind it. On the
// workflow engine's batches that was 15% of the engine's time; on the API
// path it lands on whichever request's commit crosses the line.
//
// So the writer does not checkpoint in the ordinary way. A checkpointer
// goroutine with a connection of its own runs a PASSIVE checkpoint every
// checkpointInterval — PASSIVE neither waits for nor blocks the writer or
// readers; it copies the frames no reader still needs — and the writer
// keeps SQLite's automatic checkpoint only as a backstop at
// writerAutocheckpoint pages (40 MiB of log), for a checkpointer that
// cannot keep up. Checkpoints change nothing about durability: a commit is
// durable in the log (synchronous=FULL) before any checkpoint copies it.
const (
	checkpointInterval   = 100 * time.Millisecond
	writerAutocheckpoint = 10000
)

type checkpointer struct {
	db     *sql.DB
	stop   chan struct{}
	done   sync.WaitGroup
	closed sync.Once

	// last is the latest checkpoint's outcome: frames in the log and
	// frames copied to the database (tests wait on it).
	logFrames, copied atomic.Int64
}

// startCheckpointer opens the checkpointer's connection to path and starts
// it; stopCheckpointer ends it.
func startCheckpointer(path string) (*checkpointer, error) {
	conn, err := sql.Open("sqlite", sqliteCheckpointDSN(path))
	if err != nil {
		return nil, err
	}
	conn.SetMaxOpenConns(1)
	conn.SetMaxIdleConns(1)
	conn.SetConnMaxLifetime(0)
	conn.SetConnMaxIdleTime(0)
	c := &checkpointer{db: conn, stop: make(chan struct{})}
	c.done.Add(1)
	go c.run()
	return c, nil
}

func (c *checkpointer) run() {
	defer c.done.Done()
	t := time.NewTicker(checkpointInterval)
	defer t.Stop()
	for {
		select {
		case <-c.stop:
			return
		case <-t.C:
			c.checkpoint()
		}
	}
}

// checkpoint runs one PASSIVE checkpoint. A failure (the database busy
// with another process's checkpoint, a disk error) is left for the next
// tick and, failing that, the writer's backstop: nothing is lost by a
// checkpoint not run.
func (c *checkpointer) checkpoint() {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	var busy, log, copied int64
	if err := c.db.QueryRowContext(ctx, "PRAGMA wal_checkpoint(PASSIVE)").Scan(&busy, &log, &copied); err != nil {
		return
	}
	c.logFrames.Store(log)
	c.copied.Store(copied)
}

// close stops the checkpointer; a second call (DB.Close twice) does
// nothing more.
func (c *checkpointer) close() error {
	var err error
	c.closed.Do(func() {
		close(c.stop)
		c.done.Wait()
		err = c.db.Close()
	})
	return err
}
