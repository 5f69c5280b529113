package event

import (
	"bytes"
	"encoding/json"
	"testing"
)

// FuzzEncodeData holds encodeData to json.Marshal: the same bytes for every
// map of the value types events carry, and for the others too (which it
// hands to json.Marshal).
func FuzzEncodeData(f *testing.F) {
	f.Add("state", "delivered", "code", int64(250), true, "")
	f.Add("reason", `quote " back \ <b> & é`, "n", int64(-7), false, "\x00\x1f\u2028")
	f.Add("", "", "", int64(0), false, "x")
	f.Fuzz(func(t *testing.T, k1, v1, k2 string, n int64, b bool, k3 string) {
		data := map[string]any{k1: v1, k2: n, k3: b, "step": "send", "count": int(n % 1000)}
		want, werr := json.Marshal(data)
		got, gerr := encodeData(data)
		if (werr == nil) != (gerr == nil) || !bytes.Equal(got, want) {
			t.Fatalf("encodeData(%q) = %s, %v; json.Marshal = %s, %v", data, got, gerr, want, werr)
		}
		other := map[string]any{k1: []string{v1}, k2: 1.5}
		want, _ = json.Marshal(other)
		if got, _ := encodeData(other); !bytes.Equal(got, want) {
			t.Fatalf("encodeData(%q) = %s; json.Marshal = %s", other, got, want)
		}
	})
}
