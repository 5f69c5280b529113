package audit_test

import (
	"bytes"
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/carepost/carepost/internal/audit"
	"github.com/carepost/carepost/internal/store"
	"github.com/carepost/carepost/internal/store/storetest"
)

func TestAppendLinksEntriesAndIgnoresCallerChainFields(t *testing.T) {
	t.Parallel()
	storetest.Each(t, func(t *testing.T, d store.Driver) {
		e := setup(t, d)
		first := e.record(t, orgA, 1)[0]
		if first.Seq != 1 || !bytes.Equal(first.PrevHash, make([]byte, audit.HashSize)) {
			t.Fatalf("first entry: seq %d prev %x, want 1 and zeros", first.Seq, first.PrevHash)
		}
		e.clock.Advance(time.Second)
		forged := entry(orgA, "message.read", 2)
		forged.Seq, forged.At, forged.Hash, forged.PrevHash = 99, time.Unix(0, 0), []byte("x"), []byte("y")
		second, err := e.log.Record(t.Context(), forged)
		if err != nil {
			t.Fatal(err)
		}
		wantAt := e.clock.Now().Truncate(time.Microsecond)
		if second.Seq != 2 || !bytes.Equal(second.PrevHash, first.Hash) || !second.At.Equal(wantAt) || second.At.Location() != time.UTC {
			t.Fatalf("second entry: seq %d prev %x at %v; want 2, %x, %v UTC", second.Seq, second.PrevHash, second.At, first.Hash, wantAt)
		}
		if !bytes.Equal(second.Hash, specHash(second)) {
			t.Fatal("returned hash is not the hash of the returned entry")
		}
	})
}

func TestAppendRolledBackLeavesNoEntryAndNoHeadChange(t *testing.T) {
	t.Parallel()
	storetest.Each(t, func(t *testing.T, d store.Driver) {
		e := setup(t, d)
		ctx := t.Context()
		boom := errors.New("the action failed after its audit entry")
		for _, chain := range []string{orgA, orgB} { // orgB: a chain with no head yet
			if chain == orgA {
				e.record(t, orgA, 2)
			}
			err := e.db.Tx(ctx, func(tx *store.Tx) error {
				if err := e.log.Append(ctx, tx, entry(chain, "message.send", 0)); err != nil {
					return err
				}
				return boom
			})
			if !errors.Is(err, boom) {
				t.Fatalf("tx: %v", err)
			}
		}
		if n := e.count(t, `SELECT count(*) FROM audit_entries`); n != 2 {
			t.Fatalf("%d entries after the rollbacks, want 2", n)
		}
		if h, err := store.AuditHeadOf(ctx, e.db.Reader(), orgA); err != nil || h.Seq != 2 {
			t.Fatalf("org_a head %+v %v, want seq 2", h, err)
		}
		if _, err := store.AuditHeadOf(ctx, e.db.Reader(), orgB); !errors.Is(err, store.ErrNotFound) {
			t.Fatalf("org_b head after rollback: %v, want none", err)
		}
		if next := e.record(t, orgA, 1)[0]; next.Seq != 3 {
			t.Fatalf("next seq %d, want 3: a rollback must not leave a gap", next.Seq)
		}
		if rep := e.verify(t, audit.VerifyOptions{}); !rep.OK() {
			t.Fatal(rep.Problems())
		}
	})
}

// If the audit write fails, the action it records is refused: both are in
// one transaction.
func TestActionIsRefusedWhenItsAuditWriteFails(t *testing.T) {
	t.Parallel()
	storetest.Each(t, func(t *testing.T, d store.Driver) {
		e := setup(t, d)
		ctx := t.Context()
		e.record(t, orgA, 1)
		// Make the next append fail in the database: a row already sits
		// at seq 2 (the head was not moved).
		e.execArgs(t, `INSERT INTO audit_entries (chain, seq, at, actor_type, actor_id, action, target_type, target_id, outcome, client_ip, user_agent, details, prev_hash, hash)
			VALUES ('org_a', 2, 1, 'system', '', 'x.y', '', '', 'success', '', '', '{}', ?, ?)`, []byte{0}, []byte{0})
		err := e.db.Tx(ctx, func(tx *store.Tx) error {
			if _, err := tx.Exec(ctx, `INSERT INTO organizations (id, name, created_at) VALUES ('org_new', 'New', 1)`); err != nil {
				return err
			}
			err := e.log.Append(ctx, tx, entry(orgA, "org.create", 0))
			return err
		})
		if !errors.Is(err, store.ErrConflict) {
			t.Fatalf("append over an occupied seq: %v, want ErrConflict", err)
		}
		if n := e.count(t, `SELECT count(*) FROM organizations`); n != 0 {
			t.Fatal("the action committed although its audit entry failed")
		}
	})
}

func TestAppendRefusesMalformedEntries(t *testing.T) {
	t.Parallel()
	long := strings.Repeat("x", audit.MaxDetailValue+1)
	many := map[string]string{}
	for i := 0; i <= audit.MaxDetails; i++ {
		many["k"+strings.Repeat("a", i)] = "1"
	}
	cases := []struct {
		name   string
		mutate func(*audit.Entry)
	}{
		{"detail key with upper case", func(e *audit.Entry) { e.Details = map[string]string{"Reason": "x"} }},
		{"detail key with a space", func(e *audit.Entry) { e.Details = map[string]string{"a b": "x"} }},
		{"detail key with a dash", func(e *audit.Entry) { e.Details = map[string]string{"a-b": "x"} }},
		{"detail key too long", func(e *audit.Entry) { e.Details = map[string]string{strings.Repeat("k", audit.MaxDetailKeyLen+1): "x"} }},
		{"empty detail key", func(e *audit.Entry) { e.Details = map[string]string{"": "x"} }},
		{"oversize detail value", func(e *audit.Entry) { e.Details = map[string]string{"reason": long} }},
		{"address in a detail", func(e *audit.Entry) { e.Details = map[string]string{"to": "pat@example.com"} }},
		{"control character in a detail", func(e *audit.Entry) { e.Details = map[string]string{"reason": "a\nb"} }},
		{"invalid UTF-8 in a detail", func(e *audit.Entry) { e.Details = map[string]string{"reason": "\xff"} }},
		{"too many details", func(e *audit.Entry) { e.Details = many }},
		{"action with one word", func(e *audit.Entry) { e.Action = "login" }},
		{"action with upper case", func(e *audit.Entry) { e.Action = "Auth.Login" }},
		{"action with an empty word", func(e *audit.Entry) { e.Action = "auth..login" }},
		{"unknown actor type", func(e *audit.Entry) { e.Actor.Type = "robot" }},
		{"user without id", func(e *audit.Entry) { e.Actor.ID = "" }},
		{"address as actor id", func(e *audit.Entry) { e.Actor = audit.Actor{Type: audit.ActorRecipient, ID: "pat@example.com"} }},
		{"unknown outcome", func(e *audit.Entry) { e.Outcome = "ok" }},
		{"client ip not an address", func(e *audit.Entry) { e.ClientIP = "not-an-ip" }},
		{"target id without type", func(e *audit.Entry) { e.TargetType = "" }},
		{"empty chain", func(e *audit.Entry) { e.Chain = "" }},
		{"chain with a space", func(e *audit.Entry) { e.Chain = "org a" }},
	}
	storetest.Each(t, func(t *testing.T, d store.Driver) {
		e := setup(t, d)
		for _, tc := range cases {
			en := entry(orgA, "message.read", 1)
			tc.mutate(&en)
			if _, err := e.log.Record(t.Context(), en); !errors.Is(err, audit.ErrInvalidEntry) {
				t.Errorf("%s: got %v, want ErrInvalidEntry", tc.name, err)
			} else if strings.Contains(err.Error(), "example.com") {
				t.Errorf("%s: the error echoes the value: %v", tc.name, err)
			}
		}
		if n := e.count(t, `SELECT count(*) FROM audit_entries`); n != 0 {
			t.Fatalf("refused entries left %d rows", n)
		}
		if _, err := store.AuditHeadOf(t.Context(), e.db.Reader(), orgA); !errors.Is(err, store.ErrNotFound) {
			t.Fatalf("refused entries moved the head: %v", err)
		}
	})
}

func TestAppendTakesRequestMetadataFromContext(t *testing.T) {
	t.Parallel()
	storetest.Each(t, func(t *testing.T, d store.Driver) {
		e := setup(t, d)
		ctx := audit.WithRequest(t.Context(), audit.Request{ClientIP: "[2001:db8::1]:443", UserAgent: "Mozilla/5.0\x00\r\nX-Evil: 1", RequestID: "req_42"})
		got, err := e.log.Record(ctx, entry(orgA, "auth.login", 1))
		if err != nil {
			t.Fatal(err)
		}
		if got.ClientIP != "2001:db8::1" || got.UserAgent != "Mozilla/5.0   X-Evil: 1" || got.Details[audit.DetailRequestID] != "req_42" {
			t.Fatalf("from context: ip %q ua %q details %v", got.ClientIP, got.UserAgent, got.Details)
		}
		own := entry(orgA, "auth.login", 2)
		own.ClientIP, own.UserAgent = "192.0.2.7", "cli/1.0"
		own.Details[audit.DetailRequestID] = "mine"
		got, err = e.log.Record(ctx, own)
		if err != nil {
			t.Fatal(err)
		}
		if got.ClientIP != "192.0.2.7" || got.UserAgent != "cli/1.0" || got.Details[audit.DetailRequestID] != "mine" {
			t.Fatalf("explicit values must win: %+v", got)
		}
		if _, set := own.Details["n"]; !set || len(own.Details) != 2 {
			t.Fatalf("Append changed the caller's details map: %v", own.Details)
		}
		stored := e.readChain(t, orgA)
		if stored[0].ClientIP != "2001:db8::1" || stored[0].Details[audit.DetailRequestID] != "req_42" {
			t.Fatalf("stored entry lost the request metadata: %+v", stored[0])
		}
		junk := audit.WithRequest(t.Context(), audit.Request{ClientIP: "unknown", RequestID: "a\nb"})
		got, err = e.log.Record(junk, entry(orgA, "auth.login", 3))
		if err != nil || got.ClientIP != "" || got.Details[audit.DetailRequestID] != "" {
			t.Fatalf("malformed request metadata must be dropped, not refuse the action: %+v %v", got, err)
		}
		if _, ok := audit.RequestFrom(context.Background()); ok {
			t.Fatal("RequestFrom on a bare context reports a request")
		}
	})
}
