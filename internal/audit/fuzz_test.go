package audit_test

import (
	"bytes"
	"reflect"
	"strings"
	"testing"

	"github.com/carepost/carepost/internal/audit"
)

const (
	seedEntry      = `{"v":1,"chain":"org_a","seq":2,"at":"2026-01-02T03:04:05.678901Z","actor_type":"user","actor_id":"usr_1","action":"auth.login","target_type":"","target_id":"","outcome":"success","client_ip":"::1","user_agent":"ua","details":{"n":"1"},"prev_hash":"abababababababababababababababababababababababababababababababab","hash":"4882d7fbeab5ac3f44a99806f47ccd06ec437e3112afc67edf022b3d8d7a1593"}`
	seedCheckpoint = `{"v":1,"chain":"org_a","seq":8,"hash":"4882d7fbeab5ac3f44a99806f47ccd06ec437e3112afc67edf022b3d8d7a1593","at":"2026-01-02T03:04:05.000000Z","key_id":"0011223344556677","signature":"00ff"}`
)

// FuzzEntryJSON: what the export reader accepts re-encodes to a line it
// reads back identically, so a verifier hashes exactly what it parsed.
func FuzzEntryJSON(f *testing.F) {
	f.Add([]byte(seedEntry))
	f.Add([]byte(strings.Replace(seedEntry, `"details":{"n":"1"}`, `"details":{}`, 1)))
	f.Add([]byte(strings.Replace(seedEntry, `.678901Z`, `.6789Z`, 1)))
	f.Add([]byte(`{"v":1}`))
	f.Fuzz(func(t *testing.T, line []byte) {
		var e audit.Entry
		if err := e.UnmarshalJSON(line); err != nil {
			return
		}
		out, err := e.MarshalJSON()
		if err != nil {
			t.Fatalf("marshal an accepted entry: %v", err)
		}
		var back audit.Entry
		if err := back.UnmarshalJSON(out); err != nil {
			t.Fatalf("re-read %s: %v", out, err)
		}
		if !reflect.DeepEqual(back, e) {
			t.Fatalf("round trip changed the entry:\n%+v\n%+v", e, back)
		}
		again, _ := back.MarshalJSON()
		if !bytes.Equal(again, out) {
			t.Fatalf("encoding is not stable:\n%s\n%s", out, again)
		}
	})
}

func FuzzCheckpointJSON(f *testing.F) {
	f.Add([]byte(seedCheckpoint))
	f.Add([]byte(strings.Replace(seedCheckpoint, `"00ff"`, `"00FF"`, 1)))
	f.Fuzz(func(t *testing.T, line []byte) {
		var c audit.Checkpoint
		if err := c.UnmarshalJSON(line); err != nil {
			return
		}
		out, err := c.MarshalJSON()
		if err != nil {
			t.Fatalf("marshal an accepted checkpoint: %v", err)
		}
		var back audit.Checkpoint
		if err := back.UnmarshalJSON(out); err != nil || !reflect.DeepEqual(back, c) {
			t.Fatalf("round trip: %v\n%+v\n%+v", err, c, back)
		}
	})
}

// FuzzVerifyExport: any input is either refused or verified, never a panic,
// and a verified one with a problem is never reported OK.
func FuzzVerifyExport(f *testing.F) {
	f.Add([]byte(seedEntry + "\n" + seedEntry + "\n"))
	f.Add([]byte("\n\n" + seedEntry))
	f.Fuzz(func(t *testing.T, data []byte) {
		rep, err := audit.VerifyExport(bytes.NewReader(data), audit.ExportVerifyOptions{Complete: true})
		if err != nil {
			return
		}
		if rep.OK() != (len(rep.Problems()) == 0) {
			t.Fatalf("OK() disagrees with the problem list: %+v", rep)
		}
	})
}
