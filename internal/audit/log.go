package audit

import (
	"context"
	"crypto/ed25519"
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"slices"
	"time"

	"github.com/carepost/carepost/internal/store"
)

// Options configures a Log.
type Options struct {
	// Clock returns the current time. Default time.Now.
	Clock func() time.Time
	// Signer signs checkpoints. Default nil: Checkpoint fails with
	// ErrNoSigner; appending, verifying and exporting still work.
	Signer Signer
	// TrustedKeys are further public keys whose checkpoints Verify and
	// Prune accept besides Signer's: the keys used before a signing-key
	// change. Default none. When neither Signer nor TrustedKeys is set,
	// Verify falls back to the keys recorded in the database (see
	// Report.KeysFromDatabase).
	TrustedKeys []ed25519.PublicKey
}

// Log is the audit log over one store. It is safe for concurrent use.
type Log struct {
	db      *store.DB
	clock   func() time.Time
	signer  Signer
	trusted map[string]ed25519.PublicKey // key id -> key; empty: trust the database
	// pageSize is how many rows a walk reads per query.
	pageSize int
	// pruneBatch is about how many entries one prune transaction deletes.
	pruneBatch int64
}

const (
	defaultPageSize   = 1000
	defaultPruneBatch = 10000
)

// New returns the audit log stored in db.
func New(db *store.DB, opts Options) *Log {
	l := &Log{db: db, clock: opts.Clock, signer: opts.Signer,
		trusted: map[string]ed25519.PublicKey{}, pageSize: defaultPageSize, pruneBatch: defaultPruneBatch}
	if l.clock == nil {
		l.clock = time.Now
	}
	if opts.Signer != nil {
		l.trusted[opts.Signer.KeyID()] = opts.Signer.Public()
	}
	for _, k := range opts.TrustedKeys {
		l.trusted[KeyID(k)] = k
	}
	return l
}

func (l *Log) now() time.Time { return store.FromMicros(store.Micros(l.clock())) }

// Append adds e to its chain in tx, the transaction of the action it
// records. The entry is checked now — a malformed one fails the action at
// once — and written when tx is about to commit, with every other entry
// the transaction appended (Flush). If Append fails, or the transaction
// cannot write its entries, the action fails with them (HIPAA
// 164.312(b): no unaudited access); if tx rolls back, the entries and the
// head moves vanish with it.
func (l *Log) Append(ctx context.Context, tx *store.Tx, e Entry) error {
	if tx == nil {
		return errors.New("audit append: nil transaction")
	}
	e = e.clone()
	fillFromRequest(ctx, &e)
	if err := normalize(&e); err != nil {
		// The action is not echoed: it failed validation.
		return fmt.Errorf("audit append: %w", err)
	}
	tx.Queue(l, e)
	return nil
}

// Flush writes the entries a transaction appended (store.Flusher; the
// store calls it before COMMIT). Each chain's entries are written
// together, in the order appended — the head moved once, the entries
// inserted in one statement — and the chains in name order: every
// transaction locks the heads it needs in that one order, so two
// transactions appending to the same organizations (group commit mixes
// them) never wait on each other in a cycle, and no head is held while
// the transaction does anything else.
func (l *Log) Flush(ctx context.Context, tx *store.Tx, items []any) error {
	byChain := map[string][]Entry{}
	for _, it := range items {
		e, ok := it.(Entry)
		if !ok {
			return fmt.Errorf("audit flush: queued %T, not an entry", it)
		}
		byChain[e.Chain] = append(byChain[e.Chain], e)
	}
	for _, chain := range slices.Sorted(maps.Keys(byChain)) {
		if _, err := l.write(ctx, tx, byChain[chain]); err != nil {
			return err
		}
	}
	return nil
}

// write appends checked entries of one chain in tx: the head moved once,
// each entry hash-chained to the one before, the rows inserted together.
// The time is taken under the head lock, so on one node At follows Seq.
func (l *Log) write(ctx context.Context, tx *store.Tx, entries []Entry) ([]Entry, error) {
	out := slices.Clone(entries)
	chain := out[0].Chain
	seq, prev, err := store.AdvanceAuditHeadBy(ctx, tx, chain, len(out), genesisHash())
	if err != nil {
		return nil, fmt.Errorf("audit append %s: %w", out[0].Action, err)
	}
	at := l.now()
	recs := make([]store.AuditRecord, len(out))
	for i := range out {
		out[i].Seq, out[i].PrevHash, out[i].At = seq+int64(i), prev, at
		out[i].Hash = out[i].ComputeHash()
		prev = out[i].Hash
		if recs[i], err = toRecord(out[i]); err != nil {
			return nil, fmt.Errorf("audit append %s: %w", out[i].Action, err)
		}
	}
	if err := store.InsertAuditRecords(ctx, tx, recs); err != nil {
		return nil, fmt.Errorf("audit append %s: %w", out[0].Action, err)
	}
	return out, nil
}

// Record appends e in a transaction of its own, for events that change
// nothing else (a denied request, a failed login), and returns it with
// Seq, At, PrevHash and Hash set. On SQLite it must not be called while
// the caller holds a write transaction.
func (l *Log) Record(ctx context.Context, e Entry) (Entry, error) {
	e = e.clone()
	fillFromRequest(ctx, &e)
	if err := normalize(&e); err != nil {
		return Entry{}, fmt.Errorf("audit append: %w", err)
	}
	var out []Entry
	err := l.db.Tx(ctx, func(tx *store.Tx) error {
		var err error
		out, err = l.write(ctx, tx, []Entry{e})
		return err
	})
	if err != nil {
		return Entry{}, err
	}
	return out[0], nil
}

func toRecord(e Entry) (store.AuditRecord, error) {
	details := e.Details
	if details == nil {
		details = map[string]string{}
	}
	d, err := json.Marshal(details)
	if err != nil {
		return store.AuditRecord{}, fmt.Errorf("encode details: %w", err)
	}
	return store.AuditRecord{
		Chain: e.Chain, Seq: e.Seq, At: e.At,
		ActorType: string(e.Actor.Type), ActorID: e.Actor.ID,
		Action: e.Action, TargetType: e.TargetType, TargetID: e.TargetID,
		Outcome: string(e.Outcome), ClientIP: e.ClientIP, UserAgent: e.UserAgent,
		Details: string(d), PrevHash: e.PrevHash, Hash: e.Hash,
	}, nil
}

// fromRecord rebuilds an entry as stored. Details that do not decode are an
// error the verifier reports as a hash mismatch: the row was altered.
func fromRecord(r store.AuditRecord) (Entry, error) {
	e := Entry{
		Chain: r.Chain, Seq: r.Seq, At: r.At,
		Actor:  Actor{Type: ActorType(r.ActorType), ID: r.ActorID},
		Action: r.Action, TargetType: r.TargetType, TargetID: r.TargetID,
		Outcome: Outcome(r.Outcome), ClientIP: r.ClientIP, UserAgent: r.UserAgent,
		PrevHash: r.PrevHash, Hash: r.Hash,
	}
	if err := json.Unmarshal([]byte(r.Details), &e.Details); err != nil {
		return e, fmt.Errorf("decode details of %s/%d: %w", r.Chain, r.Seq, err)
	}
	if len(e.Details) == 0 {
		e.Details = nil
	}
	return e, nil
}
