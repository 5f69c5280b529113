package store

// Persistence for package audit, the tamper-evident audit log required by
// HIPAA 164.312(b) (audit controls). The hashing, signing and verification
// live in package audit; this file only moves rows. The tables are defined in
// migration 0001: audit_heads (one row per chain, the serialization point
// for appends), audit_entries (append-only; UPDATE and young DELETE refused
// by triggers), audit_checkpoints and audit_signing_keys.

import (
	"context"
	"database/sql"
	"fmt"
	"time"
)

// AuditRecord is one row of audit_entries, as stored. Details is the JSON
// object the audit package wrote; the store does not interpret it.
type AuditRecord struct {
	Chain      string
	Seq        int64
	At         time.Time
	ActorType  string
	ActorID    string
	Action     string
	TargetType string
	TargetID   string
	Outcome    string
	ClientIP   string
	UserAgent  string
	Details    string
	PrevHash   []byte
	Hash       []byte
}

// AuditHead is a chain's head: the sequence number and hash of its last
// entry.
type AuditHead struct {
	Chain string
	Seq   int64
	Hash  []byte
}

// AuditCheckpoint is one signed checkpoint row.
type AuditCheckpoint struct {
	Chain     string
	Seq       int64
	Hash      []byte
	At        time.Time
	KeyID     string
	Signature []byte
}

// AuditSigningKey is a checkpoint-signing public key, recorded on first use.
type AuditSigningKey struct {
	KeyID     string
	PublicKey []byte
	CreatedAt time.Time
}

// AuditHeadOf returns chain's head, or ErrNotFound.
func AuditHeadOf(ctx context.Context, q Querier, chain string) (AuditHead, error) {
	h := AuditHead{Chain: chain}
	if err := Scan(q.QueryRow(ctx, `SELECT seq, hash FROM audit_heads WHERE chain = ?`, chain), &h.Seq, &h.Hash); err != nil {
		return AuditHead{}, fmt.Errorf("read audit head %s: %w", chain, err)
	}
	return h, nil
}

// AuditChains lists, in order, every chain that has a head, an entry or a
// checkpoint, so a verifier also sees a chain whose head row was removed.
func AuditChains(ctx context.Context, q Querier) ([]string, error) {
	rows, err := q.Query(ctx, `SELECT chain FROM audit_heads
		UNION SELECT chain FROM audit_checkpoints
		UNION SELECT DISTINCT chain FROM audit_entries
		ORDER BY 1`)
	if err != nil {
		return nil, fmt.Errorf("list audit chains: %w", err)
	}
	defer rows.Close()
	var out []string
	for rows.Next() {
		var c string
		if err := rows.Scan(&c); err != nil {
			return nil, fmt.Errorf("list audit chains: %w", err)
		}
		out = append(out, c)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("list audit chains: %w", mapError(err))
	}
	return out, nil
}

const auditRecordColumns = `chain, seq, at, actor_type, actor_id, action, target_type, target_id, outcome, client_ip, user_agent, details, prev_hash, hash`

// AuditRecords returns up to limit entries of chain with afterSeq < seq <=
// throughSeq, in sequence order: one page of a streaming walk.
func AuditRecords(ctx context.Context, q Querier, chain string, afterSeq, throughSeq int64, limit int) ([]AuditRecord, error) {
	return queryAuditRecords(ctx, q, `SELECT `+auditRecordColumns+` FROM audit_entries
		WHERE chain = ? AND seq > ? AND seq <= ? ORDER BY seq LIMIT ?`, chain, afterSeq, throughSeq, limit)
}

// AuditRecordsSince returns up to limit entries of chain with seq > afterSeq
// and at >= since, in sequence order.
func AuditRecordsSince(ctx context.Context, q Querier, chain string, since time.Time, afterSeq int64, limit int) ([]AuditRecord, error) {
	return queryAuditRecords(ctx, q, `SELECT `+auditRecordColumns+` FROM audit_entries
		WHERE chain = ? AND seq > ? AND at >= ? ORDER BY seq LIMIT ?`, chain, afterSeq, Micros(since), limit)
}

func queryAuditRecords(ctx context.Context, q Querier, query string, args ...any) ([]AuditRecord, error) {
	rows, err := q.Query(ctx, query, args...)
	if err != nil {
		return nil, fmt.Errorf("read audit entries: %w", err)
	}
	defer rows.Close()
	var out []AuditRecord
	for rows.Next() {
		var r AuditRecord
		var at int64
		if err := rows.Scan(&r.Chain, &r.Seq, &at, &r.ActorType, &r.ActorID, &r.Action, &r.TargetType, &r.TargetID,
			&r.Outcome, &r.ClientIP, &r.UserAgent, &r.Details, &r.PrevHash, &r.Hash); err != nil {
			return nil, fmt.Errorf("read audit entries: %w", err)
		}
		r.At = FromMicros(at)
		out = append(out, r)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("read audit entries: %w", mapError(err))
	}
	return out, nil
}

// AuditFirstSeqSince returns the lowest seq of chain with at >= since, or 0
// when there is none. An export starts its walk there instead of scanning the
// chain from its beginning.
func AuditFirstSeqSince(ctx context.Context, q Querier, chain string, since time.Time) (int64, error) {
	var seq int64
	if err := Scan(q.QueryRow(ctx, `SELECT COALESCE(MIN(seq), 0) FROM audit_entries WHERE chain = ? AND at >= ?`,
		chain, Micros(since)), &seq); err != nil {
		return 0, fmt.Errorf("find first audit entry of %s since a time: %w", chain, err)
	}
	return seq, nil
}

// AuditMaxSeq returns the highest seq stored for chain, or 0.
func AuditMaxSeq(ctx context.Context, q Querier, chain string) (int64, error) {
	var seq int64
	if err := Scan(q.QueryRow(ctx, `SELECT COALESCE(MAX(seq), 0) FROM audit_entries WHERE chain = ?`, chain), &seq); err != nil {
		return 0, fmt.Errorf("read last audit seq of %s: %w", chain, err)
	}
	return seq, nil
}

// AuditMaxAt returns the latest time among chain's entries with seq <=
// throughSeq (the zero time when there are none).
func AuditMaxAt(ctx context.Context, q Querier, chain string, throughSeq int64) (time.Time, error) {
	var at int64
	if err := Scan(q.QueryRow(ctx, `SELECT COALESCE(MAX(at), 0) FROM audit_entries WHERE chain = ? AND seq <= ?`,
		chain, throughSeq), &at); err != nil {
		return time.Time{}, fmt.Errorf("read audit entry times of %s: %w", chain, err)
	}
	return FromMicros(at), nil
}

// PruneAuditChain deletes chain's entries with seq <= throughSeq and its
// checkpoints with seq < throughSeq, leaving the checkpoint at throughSeq as
// the anchor the rest of the chain links to. It returns the number of entries
// deleted. The retention trigger of migration 0001 still refuses to delete
// an entry younger than six years (HIPAA 164.316(b)(2)).
func PruneAuditChain(ctx context.Context, tx *Tx, chain string, throughSeq int64) (int64, error) {
	res, err := tx.Exec(ctx, `DELETE FROM audit_entries WHERE chain = ? AND seq <= ?`, chain, throughSeq)
	if err != nil {
		return 0, fmt.Errorf("prune audit entries of %s: %w", chain, err)
	}
	n, err := res.RowsAffected()
	if err != nil {
		return 0, fmt.Errorf("prune audit entries of %s: %w", chain, err)
	}
	if _, err := tx.Exec(ctx, `DELETE FROM audit_checkpoints WHERE chain = ? AND seq < ?`, chain, throughSeq); err != nil {
		return 0, fmt.Errorf("prune audit checkpoints of %s: %w", chain, err)
	}
	return n, nil
}

// AuditCheckpoints returns up to limit checkpoints of chain with afterSeq <
// seq <= throughSeq, in sequence order.
func AuditCheckpoints(ctx context.Context, q Querier, chain string, afterSeq, throughSeq int64, limit int) ([]AuditCheckpoint, error) {
	return queryAuditCheckpoints(ctx, q, `SELECT chain, seq, hash, at, key_id, signature FROM audit_checkpoints
		WHERE chain = ? AND seq > ? AND seq <= ? ORDER BY seq LIMIT ?`, chain, afterSeq, throughSeq, limit)
}

// AuditCheckpointsSince returns up to limit checkpoints of chain with seq >
// afterSeq and at >= since, in sequence order.
func AuditCheckpointsSince(ctx context.Context, q Querier, chain string, since time.Time, afterSeq int64, limit int) ([]AuditCheckpoint, error) {
	return queryAuditCheckpoints(ctx, q, `SELECT chain, seq, hash, at, key_id, signature FROM audit_checkpoints
		WHERE chain = ? AND seq > ? AND at >= ? ORDER BY seq LIMIT ?`, chain, afterSeq, Micros(since), limit)
}

// LatestAuditCheckpoint returns chain's checkpoint with the highest seq, or
// ErrNotFound.
func LatestAuditCheckpoint(ctx context.Context, q Querier, chain string) (AuditCheckpoint, error) {
	cps, err := queryAuditCheckpoints(ctx, q, `SELECT chain, seq, hash, at, key_id, signature FROM audit_checkpoints
		WHERE chain = ? ORDER BY seq DESC LIMIT 1`, chain)
	if err != nil {
		return AuditCheckpoint{}, err
	}
	if len(cps) == 0 {
		return AuditCheckpoint{}, fmt.Errorf("read latest audit checkpoint of %s: %w", chain, ErrNotFound)
	}
	return cps[0], nil
}

func queryAuditCheckpoints(ctx context.Context, q Querier, query string, args ...any) ([]AuditCheckpoint, error) {
	rows, err := q.Query(ctx, query, args...)
	if err != nil {
		return nil, fmt.Errorf("read audit checkpoints: %w", err)
	}
	defer rows.Close()
	var out []AuditCheckpoint
	for rows.Next() {
		var c AuditCheckpoint
		var at int64
		if err := rows.Scan(&c.Chain, &c.Seq, &c.Hash, &at, &c.KeyID, &c.Signature); err != nil {
			return nil, fmt.Errorf("read audit checkpoints: %w", err)
		}
		c.At = FromMicros(at)
		out = append(out, c)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("read audit checkpoints: %w", mapError(err))
	}
	return out, nil
}

// AuditHeadAhead is a chain whose head has moved past its latest checkpoint,
// with that checkpoint (nil when the chain has none).
type AuditHeadAhead struct {
	Head       AuditHead
	Checkpoint *AuditCheckpoint
}

// AuditHeadsAhead returns up to limit chains ordered by name, after
// afterChain, whose head seq is beyond their latest checkpoint.
func AuditHeadsAhead(ctx context.Context, q Querier, afterChain string, limit int) ([]AuditHeadAhead, error) {
	rows, err := q.Query(ctx, `SELECT h.chain, h.seq, h.hash, c.seq, c.hash, c.at, c.key_id, c.signature
		FROM audit_heads h
		LEFT JOIN audit_checkpoints c ON c.chain = h.chain
			AND c.seq = (SELECT MAX(seq) FROM audit_checkpoints m WHERE m.chain = h.chain)
		WHERE h.chain > ? AND h.seq > COALESCE(c.seq, 0)
		ORDER BY h.chain LIMIT ?`, afterChain, limit)
	if err != nil {
		return nil, fmt.Errorf("find audit heads ahead of their checkpoints: %w", err)
	}
	defer rows.Close()
	var out []AuditHeadAhead
	for rows.Next() {
		var a AuditHeadAhead
		var cpSeq, cpAt sql.NullInt64
		var cpKey sql.NullString
		var cpHash, cpSig []byte
		if err := rows.Scan(&a.Head.Chain, &a.Head.Seq, &a.Head.Hash, &cpSeq, &cpHash, &cpAt, &cpKey, &cpSig); err != nil {
			return nil, fmt.Errorf("find audit heads ahead of their checkpoints: %w", err)
		}
		if cpSeq.Valid {
			a.Checkpoint = &AuditCheckpoint{Chain: a.Head.Chain, Seq: cpSeq.Int64, Hash: cpHash,
				At: FromMicros(cpAt.Int64), KeyID: cpKey.String, Signature: cpSig}
		}
		out = append(out, a)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("find audit heads ahead of their checkpoints: %w", mapError(err))
	}
	return out, nil
}

// InsertAuditCheckpoint stores c unless a checkpoint of the same chain and
// seq exists (another node wrote it first); it reports whether it wrote.
func InsertAuditCheckpoint(ctx context.Context, tx *Tx, c AuditCheckpoint) (bool, error) {
	res, err := tx.Exec(ctx, `INSERT INTO audit_checkpoints (chain, seq, hash, at, key_id, signature)
		VALUES (?, ?, ?, ?, ?, ?) ON CONFLICT (chain, seq) DO NOTHING`,
		c.Chain, c.Seq, c.Hash, Micros(c.At), c.KeyID, c.Signature)
	if err != nil {
		return false, fmt.Errorf("insert audit checkpoint %s/%d: %w", c.Chain, c.Seq, err)
	}
	n, err := res.RowsAffected()
	if err != nil {
		return false, fmt.Errorf("insert audit checkpoint %s/%d: %w", c.Chain, c.Seq, err)
	}
	return n == 1, nil
}

// RegisterAuditSigningKey records k unless its key id is already recorded.
// It fails with ErrConflict when the id is recorded with a different public
// key.
func RegisterAuditSigningKey(ctx context.Context, tx *Tx, k AuditSigningKey) error {
	if _, err := tx.Exec(ctx, `INSERT INTO audit_signing_keys (key_id, public_key, created_at)
		VALUES (?, ?, ?) ON CONFLICT (key_id) DO NOTHING`, k.KeyID, k.PublicKey, Micros(k.CreatedAt)); err != nil {
		return fmt.Errorf("record audit signing key %s: %w", k.KeyID, err)
	}
	var have []byte
	if err := Scan(tx.QueryRow(ctx, `SELECT public_key FROM audit_signing_keys WHERE key_id = ?`, k.KeyID), &have); err != nil {
		return fmt.Errorf("read audit signing key %s: %w", k.KeyID, err)
	}
	if string(have) != string(k.PublicKey) {
		return fmt.Errorf("record audit signing key %s: %w: recorded with a different public key", k.KeyID, ErrConflict)
	}
	return nil
}

// AuditSigningKeys lists every recorded signing key.
func AuditSigningKeys(ctx context.Context, q Querier) ([]AuditSigningKey, error) {
	rows, err := q.Query(ctx, `SELECT key_id, public_key, created_at FROM audit_signing_keys ORDER BY key_id`)
	if err != nil {
		return nil, fmt.Errorf("list audit signing keys: %w", err)
	}
	defer rows.Close()
	var out []AuditSigningKey
	for rows.Next() {
		var k AuditSigningKey
		var at int64
		if err := rows.Scan(&k.KeyID, &k.PublicKey, &at); err != nil {
			return nil, fmt.Errorf("list audit signing keys: %w", err)
		}
		k.CreatedAt = FromMicros(at)
		out = append(out, k)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("list audit signing keys: %w", mapError(err))
	}
	return out, nil
}
