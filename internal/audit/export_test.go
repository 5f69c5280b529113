package audit_test

import (
	"bytes"
	"crypto/ed25519"
	"encoding/hex"
	"encoding/json"
	"flag"
	"fmt"
	"os"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/carepost/carepost/internal/audit"
	"github.com/carepost/carepost/internal/store"
	"github.com/carepost/carepost/internal/store/storetest"
)

func exportLines(t *testing.T, e *env, opts audit.ExportOptions) []string {
	t.Helper()
	var buf bytes.Buffer
	n, err := e.log.Export(t.Context(), &buf, opts)
	if err != nil {
		t.Fatalf("export: %v", err)
	}
	lines := strings.Split(strings.TrimSuffix(buf.String(), "\n"), "\n")
	if buf.Len() == 0 {
		lines = nil
	}
	if n != len(lines) {
		t.Fatalf("export reported %d entries, wrote %d lines", n, len(lines))
	}
	return lines
}

func TestExportSinceWritesOnlyLaterEntriesAsJSONLines(t *testing.T) {
	t.Parallel()
	storetest.Each(t, func(t *testing.T, d store.Driver) {
		e := setup(t, d)
		e.record(t, orgB, 4)
		e.record(t, orgA, 4)
		since := e.clock.Now().Add(time.Millisecond)
		later := append(e.record(t, orgB, 4), e.record(t, orgA, 3)...)
		lines := exportLines(t, e, audit.ExportOptions{Since: since})
		if len(lines) != len(later) {
			t.Fatalf("export since: %d lines, want %d", len(lines), len(later))
		}
		prevChain, prevSeq := "", int64(0)
		byKey := map[string]audit.Entry{}
		for _, en := range later {
			byKey[en.Chain+"/"+fmt.Sprint(en.Seq)] = en
		}
		for _, line := range lines {
			var fields map[string]any
			if err := json.Unmarshal([]byte(line), &fields); err != nil {
				t.Fatalf("not JSON: %q: %v", line, err)
			}
			for _, f := range []string{"v", "chain", "seq", "at", "actor_type", "actor_id", "action", "target_type", "target_id", "outcome", "client_ip", "user_agent", "details", "prev_hash", "hash"} {
				if _, ok := fields[f]; !ok {
					t.Fatalf("line lacks %q: %s", f, line)
				}
			}
			var got audit.Entry
			if err := json.Unmarshal([]byte(line), &got); err != nil {
				t.Fatal(err)
			}
			if got.At.Before(since) {
				t.Fatalf("entry %s/%d at %v is before since %v", got.Chain, got.Seq, got.At, since)
			}
			if got.Chain < prevChain || got.Chain == prevChain && got.Seq <= prevSeq {
				t.Fatalf("%s/%d follows %s/%d: not ordered by chain then seq", got.Chain, got.Seq, prevChain, prevSeq)
			}
			prevChain, prevSeq = got.Chain, got.Seq
			if want := byKey[got.Chain+"/"+fmt.Sprint(got.Seq)]; !reflect.DeepEqual(got, want) {
				t.Fatalf("exported entry differs from the recorded one:\n got %+v\nwant %+v", got, want)
			}
		}
		if all := exportLines(t, e, audit.ExportOptions{}); len(all) != 15 {
			t.Fatalf("full export: %d lines, want 15", len(all))
		}
		if one := exportLines(t, e, audit.ExportOptions{Chain: orgA, Since: since}); len(one) != 3 {
			t.Fatalf("one chain since: %d lines, want 3", len(one))
		}
		if none := exportLines(t, e, audit.ExportOptions{Since: e.clock.Now().Add(time.Hour)}); len(none) != 0 {
			t.Fatalf("export since the future: %d lines", len(none))
		}
	})
}

func TestVerifyExportOffline(t *testing.T) {
	t.Parallel()
	storetest.Each(t, func(t *testing.T, d store.Driver) {
		e := setup(t, d)
		seed(t, e)
		var cpBuf, buf bytes.Buffer
		if _, err := e.log.ExportCheckpoints(t.Context(), &cpBuf, audit.ExportOptions{}); err != nil {
			t.Fatal(err)
		}
		if _, err := e.log.Export(t.Context(), &buf, audit.ExportOptions{}); err != nil {
			t.Fatal(err)
		}
		cps, err := audit.ReadCheckpoints(&cpBuf)
		if err != nil {
			t.Fatal(err)
		}
		opts := audit.ExportVerifyOptions{Keys: []ed25519.PublicKey{e.signer.Public()}, Checkpoints: cps, Complete: true, Now: e.clock.Now()}
		lines := strings.SplitAfter(buf.String(), "\n")
		lines = lines[:len(lines)-1]
		verify := func(ls []string, opts audit.ExportVerifyOptions) audit.Report {
			t.Helper()
			rep, err := audit.VerifyExport(strings.NewReader(strings.Join(ls, "")), opts)
			if err != nil {
				t.Fatal(err)
			}
			return rep
		}
		if rep := verify(lines, opts); !rep.OK() || chainReport(t, rep, orgA).Checkpoints != 1 {
			t.Fatalf("clean export: %v %+v", rep.Problems(), rep)
		}
		// orgA's lines come first (chains in order): 0..9 are seq 1..10.
		edited := append([]string(nil), lines...)
		edited[4] = strings.Replace(edited[4], `"message.read"`, `"message.send"`, 1)
		if rep := verify(edited, opts); !hasProblem(rep, orgA, 5, audit.KindHashMismatch) {
			t.Fatalf("edited line: %v", rep.Problems())
		}
		dropped := append(append([]string(nil), lines[:4]...), lines[5:]...)
		if rep := verify(dropped, opts); !hasProblem(rep, orgA, 6, audit.KindSequenceGap) {
			t.Fatalf("dropped line: %v", rep.Problems())
		}
		truncated := append(append([]string(nil), lines[:6]...), lines[10:]...)
		if rep := verify(truncated, opts); !hasProblem(rep, orgA, 8, audit.KindTruncated) {
			t.Fatalf("truncated export: %v", rep.Problems())
		}
		partial := opts
		partial.Complete = false
		if rep := verify(lines[3:], partial); !rep.OK() || chainReport(t, rep, orgA).FirstSeq != 4 {
			t.Fatalf("partial export: %v", rep.Problems())
		}
		if rep := verify(lines[3:], opts); !hasProblem(rep, orgA, 3, audit.KindTruncated) {
			t.Fatalf("export claimed complete but starts at seq 4: %v", rep.Problems())
		}
		if _, err := audit.VerifyExport(strings.NewReader("{not json\n"), opts); err == nil {
			t.Fatal("a malformed line was accepted")
		}
	})
}

func TestCanonicalEncodingGolden(t *testing.T) {
	t.Parallel()
	en := audit.Entry{
		Chain: "org_01jd8x3k9w", Seq: 42, At: time.Date(2026, 1, 2, 3, 4, 5, 678901000, time.UTC),
		Actor:  audit.Actor{Type: audit.ActorAPIKey, ID: "key_7"},
		Action: "message.send", TargetType: "message", TargetID: "msg_9",
		Outcome: audit.Denied, ClientIP: "192.0.2.1", UserAgent: "curl/8.0",
		Details:  map[string]string{"reason": "scope", "count": "3"},
		PrevHash: bytes.Repeat([]byte{0xab}, audit.HashSize),
	}
	en.Hash = en.ComputeHash()
	b, err := json.Marshal(en)
	if err != nil {
		t.Fatal(err)
	}
	got := "canonical " + hex.EncodeToString(en.Canonical()) + "\nhash " + hex.EncodeToString(en.Hash) + "\njson " + string(b) + "\n"
	golden := readGolden(t, "testdata/entry_v1.golden", got)
	if got != golden {
		t.Fatalf("format 1 changed; an external verifier would break.\n got:\n%s\nwant:\n%s", got, golden)
	}
	if !bytes.Equal(specEntry(en), en.Canonical()) {
		t.Fatal("package encoding differs from the documented one")
	}
	var back audit.Entry
	if err := json.Unmarshal(b, &back); err != nil || !reflect.DeepEqual(back, en) {
		t.Fatalf("JSON round trip: %v\n%+v\n%+v", err, back, en)
	}
}

var update = flag.Bool("update", false, "rewrite golden files")

func readGolden(t *testing.T, path, got string) string {
	t.Helper()
	if *update {
		if err := os.WriteFile(path, []byte(got), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("read %s: %v (run with -update to create it)", path, err)
	}
	return string(b)
}
