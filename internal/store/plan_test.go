package store

import (
	"context"
	"path/filepath"
	"strings"
	"testing"
)

// TestHotQueryPlans asks SQLite how it runs the batched look-ups on the
// hot paths (imports, upserts, workflow sends and wake-ups) and checks that
// each probes its index once per value. Without statistics SQLite can
// prefer a primary key's organization prefix and walk the organization's
// every row per batch instead: an import of a million contacts fell to 894
// rows/s on exactly that.
func TestHotQueryPlans(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	db := plansDB(t)
	const n = 400
	in := "(?" + strings.Repeat(", ?", n-1) + ")"
	for _, c := range []struct {
		name, query string
		fixed       int
		want        string
	}{
		{"contacts by e-mail index", contactIDsByEmailSQL(n), 1, "USING COVERING INDEX contacts_email (org_id=? AND email_index=?)"},
		{"contacts by id", contactSelect + ` WHERE c.org_id = ? AND c.id IN ` + in, 1, "USING PRIMARY KEY (org_id=? AND id=?)"},
		{"list memberships", membershipsSQL(SQLite, n), 1, "USING INDEX contact_list_members_contact (org_id=? AND contact_id=?)"},
		{"held idempotency keys", `SELECT idempotency_key, id, request_hash FROM messages WHERE org_id = ? AND idempotency_key <> ''
			AND idempotency_key IN ` + in, 1, "USING INDEX messages_idempotency (org_id=? AND idempotency_key=?)"},
		{"filter wake-ups", `UPDATE workflow_runs SET wake = ?, due_at = ? WHERE org_id = ? AND wait_key = ? AND wait_key <> ''
			AND state = 'waiting' AND contact_id IN ` + in, 4, "USING INDEX workflow_runs_wait (org_id=? AND contact_id=? AND wait_key=?)"},
	} {
		args := make([]any, 0, c.fixed+n)
		for range c.fixed {
			args = append(args, "x")
		}
		for i := range n {
			args = append(args, "v"+string(rune('a'+i%26))+string(rune('a'+i/26)))
		}
		var plan []string
		err := db.Tx(ctx, func(tx *Tx) error {
			rows, err := tx.Query(ctx, `EXPLAIN QUERY PLAN `+c.query, args...)
			if err != nil {
				return err
			}
			defer rows.Close()
			for rows.Next() {
				var id, parent, unused int
				var detail string
				if err := rows.Scan(&id, &parent, &unused, &detail); err != nil {
					return err
				}
				plan = append(plan, detail)
			}
			return rows.Err()
		})
		if err != nil {
			t.Fatalf("%s: %v", c.name, err)
		}
		if !strings.Contains(strings.Join(plan, "\n"), c.want) {
			t.Errorf("%s: plan %q, want %q", c.name, plan, c.want)
		}
	}
}

// TestEventsOfAMessagePlan: one message's events in the feed come through
// events_message, in rowid order, not by walking the organization's events.
func TestEventsOfAMessagePlan(t *testing.T) {
	t.Parallel()
	db := plansDB(t)
	got := queryPlan(t, db, eventsAfterSQL(SQLite, true), "org_a", 0, "msg_1", 100)
	if !strings.Contains(got, "USING INDEX events_message (org_id=? AND message_id=? AND rowid>?)") || strings.Contains(got, "TEMP B-TREE") {
		t.Fatalf("plan %q: want events_message in rowid order", got)
	}
}

// TestOpenRecipientPlans: the queue-depth gauge and a sender domain's
// undelivered mail are read from recipients_open, which holds only
// recipients whose delivery has not ended, not by walking every recipient
// ever kept.
func TestOpenRecipientPlans(t *testing.T) {
	t.Parallel()
	db := plansDB(t)
	for _, c := range []struct {
		name, query string
		args        []any
		want        string
	}{
		{"queue depth", queueDepthSQL, nil, "SCAN recipients USING COVERING INDEX recipients_open"},
		{"undelivered from a domain", undeliveredFromSQL, []any{"org_a", "clinic.example", "org_a"}, "recipients_open (org_id=?"},
	} {
		plan := queryPlan(t, db, c.query, c.args...)
		if !strings.Contains(plan, c.want) {
			t.Errorf("%s: plan %q, want %q", c.name, plan, c.want)
		}
	}
}

// queryPlan is SQLite's plan for query, its steps one to a line.
func queryPlan(t *testing.T, db *DB, query string, args ...any) string {
	t.Helper()
	rows, err := db.Reader().Query(context.Background(), `EXPLAIN QUERY PLAN `+query, args...)
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	var plan []string
	for rows.Next() {
		var id, parent, unused int
		var detail string
		if err := rows.Scan(&id, &parent, &unused, &detail); err != nil {
			t.Fatal(err)
		}
		plan = append(plan, detail)
	}
	if err := rows.Err(); err != nil {
		t.Fatal(err)
	}
	return strings.Join(plan, "\n")
}

// plansDB is a migrated SQLite database to ask for query plans.
func plansDB(t *testing.T) *DB {
	t.Helper()
	ctx := context.Background()
	db, err := Open(ctx, Options{URL: "sqlite://" + filepath.Join(t.TempDir(), "plans.db")})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	if _, err := db.Migrate(ctx); err != nil {
		t.Fatal(err)
	}
	return db
}
