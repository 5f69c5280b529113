package event

import (
	"encoding/json"
	"slices"
	"strconv"
)

// encodeData is json.Marshal(data) — the same bytes — for the maps events
// carry: string, integer and boolean values under string keys, encoded
// without reflection. Every step of a workflow and every delivery outcome
// records an event inside the write transaction, and marshalling the map
// through reflection (sorting its keys, boxing every value) was a fifth of
// recording it. Any other value, and any string that JSON must escape
// (quotes, backslashes, control characters, <, >, &, non-ASCII), goes
// through encoding/json; FuzzEncodeData holds the two together.
func encodeData(data map[string]any) ([]byte, error) {
	keys := make([]string, 0, len(data))
	size := 2
	for k, v := range data {
		switch v := v.(type) {
		case string:
			size += len(k) + len(v) + 6
		case int, int64, bool:
			size += len(k) + 24
		default:
			return json.Marshal(data)
		}
		keys = append(keys, k)
	}
	slices.Sort(keys)
	out := make([]byte, 0, size)
	out = append(out, '{')
	for i, k := range keys {
		if i > 0 {
			out = append(out, ',')
		}
		var err error
		if out, err = appendString(out, k); err != nil {
			return nil, err
		}
		out = append(out, ':')
		switch v := data[k].(type) {
		case string:
			if out, err = appendString(out, v); err != nil {
				return nil, err
			}
		case int:
			out = strconv.AppendInt(out, int64(v), 10)
		case int64:
			out = strconv.AppendInt(out, v, 10)
		case bool:
			out = strconv.AppendBool(out, v)
		}
	}
	return append(out, '}'), nil
}

// appendString appends s as a JSON string: as it is between quotes when no
// byte needs escaping, else as encoding/json writes it.
func appendString(out []byte, s string) ([]byte, error) {
	for i := 0; i < len(s); i++ {
		if c := s[i]; c < 0x20 || c >= 0x7f || c == '"' || c == '\\' || c == '<' || c == '>' || c == '&' {
			b, err := json.Marshal(s)
			return append(out, b...), err
		}
	}
	out = append(out, '"')
	out = append(out, s...)
	return append(out, '"'), nil
}
