package audit_test

import (
	"bufio"
	"bytes"
	"context"
	"crypto/ed25519"
	"encoding/json"
	"testing"

	"github.com/carepost/carepost/internal/audit"
	"github.com/carepost/carepost/internal/store"
)

// readChain returns chain's stored entries, read through Export.
func (e *env) readChain(t *testing.T, chain string) []audit.Entry {
	t.Helper()
	var buf bytes.Buffer
	if _, err := e.log.Export(context.Background(), &buf, audit.ExportOptions{Chain: chain}); err != nil {
		t.Fatalf("export %s: %v", chain, err)
	}
	var out []audit.Entry
	sc := bufio.NewScanner(&buf)
	for sc.Scan() {
		var en audit.Entry
		if err := json.Unmarshal(sc.Bytes(), &en); err != nil {
			t.Fatalf("parse export line: %v", err)
		}
		out = append(out, en)
	}
	return out
}

// writeRow overwrites the stored row at en.Seq with en, as an attacker.
func (e *env) writeRow(t *testing.T, en audit.Entry) {
	t.Helper()
	d, err := json.Marshal(en.Details)
	if err != nil {
		t.Fatal(err)
	}
	if en.Details == nil {
		d = []byte("{}")
	}
	e.execArgs(t, `UPDATE audit_entries SET at = ?, actor_type = ?, actor_id = ?, action = ?, target_type = ?,
		target_id = ?, outcome = ?, client_ip = ?, user_agent = ?, details = ?, prev_hash = ?, hash = ?
		WHERE chain = ? AND seq = ?`,
		store.Micros(en.At), string(en.Actor.Type), en.Actor.ID, en.Action, en.TargetType, en.TargetID,
		string(en.Outcome), en.ClientIP, en.UserAgent, string(d), en.PrevHash, en.Hash, en.Chain, en.Seq)
}

// rewrite lets mutate change chain's entries (keeping their seq numbers),
// then recomputes every hash and link and the head from the documented
// encoding, so the chain is self-consistent again: the best an attacker
// with database access but without the signing key can do.
func (e *env) rewrite(t *testing.T, chain string, mutate func(es []audit.Entry)) {
	t.Helper()
	es := e.readChain(t, chain)
	mutate(es)
	e.dropTriggers(t)
	prev := make([]byte, audit.HashSize)
	for i := range es {
		es[i].Seq = int64(i + 1)
		es[i].PrevHash = prev
		es[i].Hash = specHash(es[i])
		prev = es[i].Hash
		e.writeRow(t, es[i])
	}
	e.execArgs(t, `UPDATE audit_heads SET seq = ?, hash = ? WHERE chain = ?`, int64(len(es)), prev, chain)
}

// forgeCheckpoint signs chain's current head with an attacker's key,
// registered in the database like a real one.
func (e *env) forgeCheckpoint(t *testing.T, chain string) {
	t.Helper()
	forger := newSigner(t)
	es := e.readChain(t, chain)
	last := es[len(es)-1]
	cp := audit.Checkpoint{Chain: chain, Seq: last.Seq, Hash: last.Hash, At: e.clock.Now(), KeyID: forger.KeyID()}
	cp.Signature = forger.Sign(specCheckpointMessage(cp))
	if !ed25519.Verify(forger.Public(), specCheckpointMessage(cp), cp.Signature) {
		t.Fatal("forged signature does not even verify")
	}
	e.execArgs(t, `INSERT INTO audit_signing_keys (key_id, public_key, created_at) VALUES (?, ?, ?)`,
		forger.KeyID(), []byte(forger.Public()), store.Micros(e.clock.Now()))
	e.execArgs(t, `INSERT INTO audit_checkpoints (chain, seq, hash, at, key_id, signature) VALUES (?, ?, ?, ?, ?, ?)`,
		cp.Chain, cp.Seq, cp.Hash, store.Micros(cp.At), cp.KeyID, cp.Signature)
}
