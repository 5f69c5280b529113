package audit_test

import (
	"bytes"
	"crypto/ed25519"
	"testing"

	"github.com/carepost/carepost/internal/audit"
	"github.com/carepost/carepost/internal/store"
	"github.com/carepost/carepost/internal/store/storetest"
)

const (
	orgA = "org_a"
	orgB = "org_b"
)

// seed writes the log every tamper case starts from: org_a entries 1..8, a
// checkpoint of both chains (org_a at 8, org_b at 4), then org_a 9..10.
func seed(t *testing.T, e *env) {
	t.Helper()
	e.record(t, orgA, 8)
	e.record(t, orgB, 4)
	if cps := e.checkpoint(t); len(cps) != 2 {
		t.Fatalf("checkpoint wrote %d, want 2", len(cps))
	}
	e.record(t, orgA, 2)
}

func TestVerifyCleanLog(t *testing.T) {
	t.Parallel()
	storetest.Each(t, func(t *testing.T, d store.Driver) {
		e := setup(t, d)
		seed(t, e)
		e.record(t, audit.SystemChain, 1)
		rep := e.verify(t, audit.VerifyOptions{})
		if !rep.OK() || rep.KeysFromDatabase {
			t.Fatalf("clean log: ok=%v keysFromDB=%v problems %v", rep.OK(), rep.KeysFromDatabase, rep.Problems())
		}
		want := map[string][3]int64{orgA: {10, 1, 10}, orgB: {4, 1, 4}, audit.SystemChain: {1, 0, 1}}
		if len(rep.Chains) != len(want) {
			t.Fatalf("report has %d chains, want %d", len(rep.Chains), len(want))
		}
		for ch, w := range want {
			c := chainReport(t, rep, ch)
			if got := [3]int64{c.Entries, c.Checkpoints, c.LastSeq}; got != w {
				t.Errorf("%s: entries, checkpoints, last seq = %v, want %v", ch, got, w)
			}
		}
		one := e.verify(t, audit.VerifyOptions{Chain: orgB})
		if len(one.Chains) != 1 || one.Chains[0].Chain != orgB || !one.OK() {
			t.Fatalf("verify one chain: %+v", one)
		}
	})
}

func TestStoredHashesFollowTheDocumentedEncoding(t *testing.T) {
	t.Parallel()
	storetest.Each(t, func(t *testing.T, d store.Driver) {
		e := setup(t, d)
		recorded := e.record(t, orgA, 3)
		stored := e.readChain(t, orgA)
		prev := make([]byte, audit.HashSize)
		for i, en := range stored {
			if !bytes.Equal(en.PrevHash, prev) || !bytes.Equal(specHash(en), en.Hash) || !bytes.Equal(en.Hash, recorded[i].Hash) {
				t.Fatalf("entry %d: stored hash %x, documented encoding gives %x, Record returned %x", en.Seq, en.Hash, specHash(en), recorded[i].Hash)
			}
			prev = en.Hash
		}
	})
}

// tamperCase is one attack on the seeded log and what Verify must report.
type tamperCase struct {
	name   string
	attack func(t *testing.T, e *env)
	want   []want
	// clean lists kinds that must not appear: the attack was designed to
	// get past them, so only the named defence may catch it.
	clean []audit.ProblemKind
}

type want struct {
	seq  int64
	kind audit.ProblemKind
}

var tamperCases = []tamperCase{
	{
		name: "edited action",
		attack: func(t *testing.T, e *env) {
			e.attack(t, `UPDATE audit_entries SET action = 'auth.logout' WHERE chain = 'org_a' AND seq = 5`)
		},
		want:  []want{{5, audit.KindHashMismatch}},
		clean: []audit.ProblemKind{audit.KindPrevHashMismatch, audit.KindCheckpointMismatch},
	},
	{
		name: "edited details",
		attack: func(t *testing.T, e *env) {
			e.attack(t, `UPDATE audit_entries SET details = '{"n":"999"}' WHERE chain = 'org_a' AND seq = 5`)
		},
		want: []want{{5, audit.KindHashMismatch}},
	},
	{
		name: "edited time",
		attack: func(t *testing.T, e *env) {
			e.attack(t, `UPDATE audit_entries SET at = at - 3600000000 WHERE chain = 'org_a' AND seq = 2`)
		},
		want: []want{{2, audit.KindHashMismatch}},
	},
	{
		name:   "deleted middle entry",
		attack: func(t *testing.T, e *env) { e.attack(t, `DELETE FROM audit_entries WHERE chain = 'org_a' AND seq = 5`) },
		want:   []want{{6, audit.KindSequenceGap}, {6, audit.KindPrevHashMismatch}},
	},
	{
		name: "reordered entries",
		attack: func(t *testing.T, e *env) {
			es := e.readChain(t, orgA)
			a, b := es[2], es[3]
			a.Seq, b.Seq = 4, 3
			e.dropTriggers(t)
			e.writeRow(t, a)
			e.writeRow(t, b)
		},
		want: []want{{3, audit.KindHashMismatch}, {4, audit.KindHashMismatch}},
	},
	{
		name: "reordered entries with recomputed hashes",
		attack: func(t *testing.T, e *env) {
			e.rewrite(t, orgA, func(es []audit.Entry) { es[2], es[3] = es[3], es[2] })
		},
		want:  []want{{8, audit.KindCheckpointMismatch}},
		clean: []audit.ProblemKind{audit.KindHashMismatch, audit.KindPrevHashMismatch, audit.KindSequenceGap, audit.KindHeadMismatch},
	},
	{
		name: "whole chain rewritten consistently",
		attack: func(t *testing.T, e *env) {
			e.rewrite(t, orgA, func(es []audit.Entry) {
				for i := range es {
					es[i].Action = "message.send"
				}
			})
		},
		want:  []want{{8, audit.KindCheckpointMismatch}},
		clean: []audit.ProblemKind{audit.KindHashMismatch, audit.KindPrevHashMismatch, audit.KindHeadMismatch},
	},
	{
		name: "truncated tail behind the last checkpoint, head rewound",
		attack: func(t *testing.T, e *env) {
			e.attack(t, `DELETE FROM audit_entries WHERE chain = 'org_a' AND seq >= 7`,
				`UPDATE audit_heads SET seq = 6, hash = (SELECT hash FROM audit_entries WHERE chain = 'org_a' AND seq = 6) WHERE chain = 'org_a'`)
		},
		want:  []want{{8, audit.KindTruncated}},
		clean: []audit.ProblemKind{audit.KindHeadMismatch, audit.KindSequenceGap},
	},
	{
		name: "tail deleted, head left",
		attack: func(t *testing.T, e *env) {
			e.attack(t, `DELETE FROM audit_entries WHERE chain = 'org_a' AND seq >= 9`)
		},
		want: []want{{10, audit.KindHeadMismatch}},
	},
	{
		name: "head rewound over entries",
		attack: func(t *testing.T, e *env) {
			e.attack(t, `UPDATE audit_heads SET seq = 9, hash = (SELECT hash FROM audit_entries WHERE chain = 'org_a' AND seq = 9) WHERE chain = 'org_a'`)
		},
		want: []want{{10, audit.KindHeadMismatch}},
	},
	{
		name:   "head row deleted",
		attack: func(t *testing.T, e *env) { e.attack(t, `DELETE FROM audit_heads WHERE chain = 'org_a'`) },
		want:   []want{{10, audit.KindHeadMismatch}},
	},
	{
		name: "forged checkpoint signature",
		attack: func(t *testing.T, e *env) {
			e.dropTriggers(t)
			var sig []byte
			if err := store.Scan(e.db.Reader().QueryRow(t.Context(), `SELECT signature FROM audit_checkpoints WHERE chain = 'org_a'`), &sig); err != nil {
				t.Fatal(err)
			}
			sig[0] ^= 1
			e.execArgs(t, `UPDATE audit_checkpoints SET signature = ? WHERE chain = 'org_a'`, sig)
		},
		want: []want{{8, audit.KindCheckpointSignature}},
	},
	{
		name: "chain rewritten and re-signed with the attacker's own key",
		attack: func(t *testing.T, e *env) {
			e.rewrite(t, orgA, func(es []audit.Entry) { es[0].Outcome = audit.Denied })
			e.exec(t, `DELETE FROM audit_checkpoints WHERE chain = 'org_a'`)
			e.forgeCheckpoint(t, orgA)
		},
		want:  []want{{10, audit.KindUnknownKey}},
		clean: []audit.ProblemKind{audit.KindHashMismatch, audit.KindPrevHashMismatch},
	},
	{
		name: "start deleted, no checkpoint anchors it",
		attack: func(t *testing.T, e *env) {
			e.attack(t, `DELETE FROM audit_entries WHERE chain = 'org_a' AND seq <= 3`)
		},
		want: []want{{3, audit.KindTruncated}},
	},
	{
		name: "start deleted up to a checkpoint younger than the retention",
		attack: func(t *testing.T, e *env) {
			e.attack(t, `DELETE FROM audit_entries WHERE chain = 'org_a' AND seq <= 8`)
		},
		want: []want{{8, audit.KindTruncated}},
	},
}

func TestVerifyDetectsTampering(t *testing.T) {
	t.Parallel()
	for _, tc := range tamperCases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			storetest.Each(t, func(t *testing.T, d store.Driver) {
				e := setup(t, d)
				seed(t, e)
				if rep := e.verify(t, audit.VerifyOptions{}); !rep.OK() {
					t.Fatalf("before the attack: %v", rep.Problems())
				}
				tc.attack(t, e)
				rep := e.verify(t, audit.VerifyOptions{})
				if rep.OK() {
					t.Fatal("Verify reports OK after the attack")
				}
				for _, p := range rep.Problems() {
					t.Log(p)
				}
				for _, w := range tc.want {
					if !hasProblem(rep, orgA, w.seq, w.kind) {
						t.Errorf("want %s at seq %d; got %v", w.kind, w.seq, rep.Problems())
					}
				}
				for _, k := range tc.clean {
					if hasProblem(rep, orgA, -1, k) {
						t.Errorf("unexpected %s: the attack should only be caught by %v; got %v", k, tc.want, rep.Problems())
					}
				}
				if c := chainReport(t, rep, orgB); len(c.Problems) != 0 {
					t.Errorf("untouched chain reports %v", c.Problems)
				}
			})
		})
	}
}

// Deleting the checkpoints along with the entries they cover hides a
// truncation from the database alone; a copy kept off the box reveals it.
func TestVerifyWithOffBoxCheckpoints(t *testing.T) {
	t.Parallel()
	storetest.Each(t, func(t *testing.T, d store.Driver) {
		e := setup(t, d)
		seed(t, e)
		var offBox bytes.Buffer
		if _, err := e.log.ExportCheckpoints(t.Context(), &offBox, audit.ExportOptions{}); err != nil {
			t.Fatal(err)
		}
		kept, err := audit.ReadCheckpoints(&offBox)
		if err != nil || len(kept) != 2 {
			t.Fatalf("read checkpoints: %d, %v", len(kept), err)
		}
		e.attack(t, `DELETE FROM audit_entries WHERE chain = 'org_a' AND seq >= 7`,
			`UPDATE audit_heads SET seq = 6, hash = (SELECT hash FROM audit_entries WHERE chain = 'org_a' AND seq = 6) WHERE chain = 'org_a'`,
			`DELETE FROM audit_checkpoints WHERE chain = 'org_a'`)
		if rep := e.verify(t, audit.VerifyOptions{}); !rep.OK() {
			t.Fatalf("without the copy the truncation is expected to go unseen (package doc), got %v", rep.Problems())
		}
		rep := e.verify(t, audit.VerifyOptions{Checkpoints: kept})
		if !hasProblem(rep, orgA, 8, audit.KindTruncated) {
			t.Fatalf("with the off-box checkpoints: want truncated at 8, got %v", rep.Problems())
		}
		if c := chainReport(t, rep, orgB); len(c.Problems) != 0 || c.Checkpoints != 1 {
			t.Fatalf("org_b: the stored checkpoint and its copy should count once and agree: %+v", c)
		}
	})
}

func TestVerifyTrustsOnlyConfiguredKeys(t *testing.T) {
	t.Parallel()
	storetest.Each(t, func(t *testing.T, d store.Driver) {
		e := setup(t, d)
		seed(t, e)
		// After a signing-key change the old key must be configured as
		// trusted, or its checkpoints are unknown.
		rotated := newSigner(t)
		withOld := e.newLog(audit.Options{Signer: rotated, TrustedKeys: []ed25519.PublicKey{e.signer.Public()}})
		e.record(t, orgA, 1)
		if _, err := withOld.Checkpoint(t.Context()); err != nil {
			t.Fatal(err)
		}
		rep, err := withOld.Verify(t.Context(), audit.VerifyOptions{})
		if err != nil || !rep.OK() {
			t.Fatalf("rotated key with the old one trusted: %v %v", err, rep.Problems())
		}
		newOnly := e.newLog(audit.Options{Signer: rotated})
		rep, err = newOnly.Verify(t.Context(), audit.VerifyOptions{})
		if err != nil || !hasProblem(rep, orgA, 8, audit.KindUnknownKey) {
			t.Fatalf("old key not trusted: want unknown-key at 8, got %v %v", err, rep.Problems())
		}
		// With no key configured, the recorded keys are used and the
		// report says so.
		bare := e.newLog(audit.Options{})
		rep, err = bare.Verify(t.Context(), audit.VerifyOptions{})
		if err != nil || !rep.OK() || !rep.KeysFromDatabase {
			t.Fatalf("database keys: ok=%v fromDB=%v %v %v", rep.OK(), rep.KeysFromDatabase, err, rep.Problems())
		}
	})
}
