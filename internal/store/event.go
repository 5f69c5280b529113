package store

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"
)

// EventRow is one delivery or engagement event.
type EventRow struct {
	ID, OrgID, Type, MessageID, RecipientID string
	At                                      time.Time
	Data                                    string // JSON object, no PHI
	// Pos is the row's place in the feed (set by EventsAfter): opaque, in
	// commit order, the cursor to continue after it.
	Pos string
}

// InsertEvents writes events, up to 512 rows a statement.
func InsertEvents(ctx context.Context, tx *Tx, rows []EventRow) error {
	// A statement carries at most 512 rows (runs): an engine batch records
	// several events per contact, and one statement for all of them would
	// pass the drivers' limits on bound parameters (SQLite 32,766,
	// PostgreSQL 65,535).
	for start, end := range runs(len(rows), 512) {
		part := rows[start:end]
		args := make([]any, 0, len(part)*7)
		for _, r := range part {
			args = append(args, r.ID, r.OrgID, r.Type, r.MessageID, r.RecipientID, Micros(r.At), r.Data)
		}
		if _, err := tx.Exec(ctx, `INSERT INTO events (id, org_id, type, message_id, recipient_id, at, data) VALUES `+
			rowPlaceholders(len(part), 7), args...); err != nil {
			return fmt.Errorf("insert events: %w", err)
		}
	}
	return nil
}

// eventsAfterSQL is EventsAfter's query: its arguments are the
// organization, the position (rowid; or transaction id and sequence), the
// message id when byMessage, and the limit. One message's events come
// through events_message (migration 0020), a partial index the query names
// by repeating its predicate, instead of a walk over the organization's
// events from the cursor on.
func eventsAfterSQL(d Driver, byMessage bool) string {
	const cols = `id, org_id, type, message_id, recipient_id, at, data`
	var query string
	if d == Postgres {
		query = `SELECT xid::text, seq, ` + cols + ` FROM events WHERE org_id = ? AND (xid, seq) > (?::xid8, ?)
			AND xid < pg_snapshot_xmin(pg_current_snapshot())`
	} else {
		query = `SELECT '', rowid, ` + cols + ` FROM events WHERE org_id = ? AND rowid > ?`
	}
	if byMessage {
		query += ` AND message_id <> '' AND message_id = ?`
	}
	if d == Postgres {
		return query + ` ORDER BY xid, seq LIMIT ?`
	}
	return query + ` ORDER BY rowid LIMIT ?`
}

// ErrBadCursor means an event-feed cursor is neither a position EventsAfter
// returned nor the id of one of the organization's events.
var ErrBadCursor = errors.New("not a cursor of this event feed")

// EventsAfter lists an organization's events after the cursor (a Pos from
// an earlier call, the id of one of its events, or "" for the oldest), in
// commit order, optionally for one message. Commit order matters: ids are
// time-ordered, but a transaction holding an earlier id may commit after
// one holding a later id, so a cursor on ids would skip it (migration
// 0018). On SQLite the position is the rowid (one writer: rowid order is
// commit order); on PostgreSQL it is (transaction id, sequence), and only
// rows of transactions older than every one still in progress are returned.
func EventsAfter(ctx context.Context, q Querier, orgID, after, messageID string, limit int) ([]EventRow, error) {
	if strings.HasPrefix(after, "evt_") {
		pos, err := eventPos(ctx, q, orgID, after)
		if err != nil {
			return nil, err
		}
		after = pos
	}
	var args []any
	if q.Driver() == Postgres {
		xid, seq, err := parsePGPos(after)
		if err != nil {
			return nil, err
		}
		args = []any{orgID, xid, seq}
	} else {
		var rowid int64
		if after != "" {
			n, err := strconv.ParseInt(after, 10, 64)
			if err != nil || n < 0 {
				return nil, ErrBadCursor
			}
			rowid = n
		}
		args = []any{orgID, rowid}
	}
	if messageID != "" {
		args = append(args, messageID)
	}
	args = append(args, limit)
	query := eventsAfterSQL(q.Driver(), messageID != "")
	rows, err := q.Query(ctx, query, args...)
	if err != nil {
		return nil, fmt.Errorf("list events: %w", err)
	}
	defer rows.Close()
	var out []EventRow
	for rows.Next() {
		var r EventRow
		var xid string
		var seq, at int64
		if err := rows.Scan(&xid, &seq, &r.ID, &r.OrgID, &r.Type, &r.MessageID, &r.RecipientID, &at, &r.Data); err != nil {
			return nil, fmt.Errorf("list events: %w", err)
		}
		r.At = FromMicros(at)
		r.Pos = strconv.FormatInt(seq, 10)
		if xid != "" {
			r.Pos = xid + "." + r.Pos
		}
		out = append(out, r)
	}
	return out, rows.Err()
}

// eventPos is the feed position of one of the organization's events.
func eventPos(ctx context.Context, q Querier, orgID, eventID string) (string, error) {
	var xid string
	var seq int64
	query := `SELECT '', rowid FROM events WHERE org_id = ? AND id = ?`
	if q.Driver() == Postgres {
		query = `SELECT xid::text, seq FROM events WHERE org_id = ? AND id = ?`
	}
	err := mapError(q.QueryRow(ctx, query, orgID, eventID).Scan(&xid, &seq))
	switch {
	case errors.Is(err, ErrNotFound):
		return "", ErrBadCursor
	case err != nil:
		return "", fmt.Errorf("find event %s: %w", eventID, err)
	case xid != "":
		return xid + "." + strconv.FormatInt(seq, 10), nil
	}
	return strconv.FormatInt(seq, 10), nil
}

// parsePGPos reads "xid.seq" ("" is the start).
func parsePGPos(pos string) (xid string, seq int64, err error) {
	if pos == "" {
		return "0", 0, nil
	}
	x, s, ok := strings.Cut(pos, ".")
	if !ok {
		return "", 0, ErrBadCursor
	}
	if _, err := strconv.ParseUint(x, 10, 64); err != nil {
		return "", 0, ErrBadCursor
	}
	if seq, err = strconv.ParseInt(s, 10, 64); err != nil || seq < 0 {
		return "", 0, ErrBadCursor
	}
	return x, seq, nil
}

// EventsOf lists an organization's committed events by id (time order),
// optionally for one message, up to limit. Unlike EventsAfter it is not a
// feed: it shows every committed row at once, for views of one message and
// for tests, and gives no cursor.
func EventsOf(ctx context.Context, q Querier, orgID, messageID string, limit int) ([]EventRow, error) {
	query := `SELECT id, org_id, type, message_id, recipient_id, at, data FROM events WHERE org_id = ?`
	args := []any{orgID}
	if messageID != "" {
		query += ` AND message_id <> '' AND message_id = ?`
		args = append(args, messageID)
	}
	query += ` ORDER BY id LIMIT ?`
	args = append(args, limit)
	rows, err := q.Query(ctx, query, args...)
	if err != nil {
		return nil, fmt.Errorf("list events of %s: %w", orgID, err)
	}
	defer rows.Close()
	var out []EventRow
	for rows.Next() {
		var r EventRow
		var at int64
		if err := rows.Scan(&r.ID, &r.OrgID, &r.Type, &r.MessageID, &r.RecipientID, &at, &r.Data); err != nil {
			return nil, fmt.Errorf("list events of %s: %w", orgID, err)
		}
		r.At = FromMicros(at)
		out = append(out, r)
	}
	return out, rows.Err()
}
