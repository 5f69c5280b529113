package audit

import (
	"bytes"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"reflect"
	"strings"
	"time"
)

// The JSON forms below are the export format: one object per line, field
// names stable, hashes and signatures in lower-case hex, times in RFC 3339
// UTC with exactly six fractional digits, "v" the format version. Decoding
// is strict (unknown fields, other versions and non-canonical values are
// refused) so that what a verifier accepts is exactly what it hashes.

// TimeFormat is how export lines write times.
const TimeFormat = "2006-01-02T15:04:05.000000Z"

type entryJSON struct {
	V          int               `json:"v"`
	Chain      string            `json:"chain"`
	Seq        int64             `json:"seq"`
	At         string            `json:"at"`
	ActorType  string            `json:"actor_type"`
	ActorID    string            `json:"actor_id"`
	Action     string            `json:"action"`
	TargetType string            `json:"target_type"`
	TargetID   string            `json:"target_id"`
	Outcome    string            `json:"outcome"`
	ClientIP   string            `json:"client_ip"`
	UserAgent  string            `json:"user_agent"`
	Details    map[string]string `json:"details"`
	PrevHash   string            `json:"prev_hash"`
	Hash       string            `json:"hash"`
}

type checkpointJSON struct {
	V         int    `json:"v"`
	Chain     string `json:"chain"`
	Seq       int64  `json:"seq"`
	Hash      string `json:"hash"`
	At        string `json:"at"`
	KeyID     string `json:"key_id"`
	Signature string `json:"signature"`
}

// MarshalJSON writes e as one export line (without the newline).
func (e Entry) MarshalJSON() ([]byte, error) {
	d := e.Details
	if d == nil {
		d = map[string]string{}
	}
	return marshal(entryJSON{
		V: FormatVersion, Chain: e.Chain, Seq: e.Seq, At: e.At.UTC().Format(TimeFormat),
		ActorType: string(e.Actor.Type), ActorID: e.Actor.ID, Action: e.Action,
		TargetType: e.TargetType, TargetID: e.TargetID, Outcome: string(e.Outcome),
		ClientIP: e.ClientIP, UserAgent: e.UserAgent, Details: d,
		PrevHash: hex.EncodeToString(e.PrevHash), Hash: hex.EncodeToString(e.Hash),
	})
}

// UnmarshalJSON reads one export line.
func (e *Entry) UnmarshalJSON(b []byte) error {
	var j entryJSON
	if err := unmarshalStrict(b, &j); err != nil {
		return fmt.Errorf("audit entry: %w", err)
	}
	if j.V != FormatVersion {
		return fmt.Errorf("audit entry: format version %d, want %d", j.V, FormatVersion)
	}
	at, err := parseTime(j.At)
	if err != nil {
		return fmt.Errorf("audit entry: at: %w", err)
	}
	prev, err := parseHex(j.PrevHash, HashSize)
	if err != nil {
		return fmt.Errorf("audit entry: prev_hash: %w", err)
	}
	hash, err := parseHex(j.Hash, HashSize)
	if err != nil {
		return fmt.Errorf("audit entry: hash: %w", err)
	}
	if j.Seq < 1 {
		return errors.New("audit entry: seq must be positive")
	}
	if len(j.Details) == 0 {
		j.Details = nil
	}
	*e = Entry{
		Chain: j.Chain, Seq: j.Seq, At: at,
		Actor:  Actor{Type: ActorType(j.ActorType), ID: j.ActorID},
		Action: j.Action, TargetType: j.TargetType, TargetID: j.TargetID,
		Outcome: Outcome(j.Outcome), ClientIP: j.ClientIP, UserAgent: j.UserAgent,
		Details: j.Details, PrevHash: prev, Hash: hash,
	}
	return nil
}

// MarshalJSON writes c as one line of ExportCheckpoints.
func (c Checkpoint) MarshalJSON() ([]byte, error) {
	return marshal(checkpointJSON{
		V: FormatVersion, Chain: c.Chain, Seq: c.Seq, Hash: hex.EncodeToString(c.Hash),
		At: c.At.UTC().Format(TimeFormat), KeyID: c.KeyID, Signature: hex.EncodeToString(c.Signature),
	})
}

// UnmarshalJSON reads one line of ExportCheckpoints.
func (c *Checkpoint) UnmarshalJSON(b []byte) error {
	var j checkpointJSON
	if err := unmarshalStrict(b, &j); err != nil {
		return fmt.Errorf("audit checkpoint: %w", err)
	}
	if j.V != FormatVersion {
		return fmt.Errorf("audit checkpoint: format version %d, want %d", j.V, FormatVersion)
	}
	if j.Seq < 1 {
		return errors.New("audit checkpoint: seq must be positive")
	}
	at, err := parseTime(j.At)
	if err != nil {
		return fmt.Errorf("audit checkpoint: at: %w", err)
	}
	hash, err := parseHex(j.Hash, HashSize)
	if err != nil {
		return fmt.Errorf("audit checkpoint: hash: %w", err)
	}
	sig, err := parseHex(j.Signature, -1)
	if err != nil {
		return fmt.Errorf("audit checkpoint: signature: %w", err)
	}
	*c = Checkpoint{Chain: j.Chain, Seq: j.Seq, Hash: hash, At: at, KeyID: j.KeyID, Signature: sig}
	return nil
}

func marshal(v any) ([]byte, error) {
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(v); err != nil {
		return nil, err
	}
	return bytes.TrimSuffix(buf.Bytes(), []byte("\n")), nil
}

// unmarshalStrict decodes one JSON object into v, refusing trailing data,
// unknown fields and, unlike encoding/json on its own, keys that match a
// field only case-insensitively or appear twice (at the top level or inside
// a nested object such as details): a line must not read differently to
// this verifier and to a SIEM.
func unmarshalStrict(b []byte, v any) error {
	if err := checkKeys(b, reflect.TypeOf(v).Elem()); err != nil {
		return err
	}
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		return err
	}
	if _, err := dec.Token(); err != io.EOF {
		return errors.New("trailing data after the object")
	}
	return nil
}

// checkKeys walks the object in b and checks that each key is the exact
// JSON name of a field of struct type t and appears once, and that nested
// objects have no duplicate keys.
func checkKeys(b []byte, t reflect.Type) error {
	names := map[string]bool{}
	for i := range t.NumField() {
		names[strings.Split(t.Field(i).Tag.Get("json"), ",")[0]] = true
	}
	dec := json.NewDecoder(bytes.NewReader(b))
	top, err := objectKeys(dec, func(key string, raw json.RawMessage) error {
		if !names[key] {
			return fmt.Errorf("unknown field %q", key)
		}
		if len(raw) > 0 && raw[0] == '{' {
			_, err := objectKeys(json.NewDecoder(bytes.NewReader(raw)), nil)
			return err
		}
		return nil
	})
	if err != nil {
		return err
	}
	if top == 0 {
		return errors.New("empty object")
	}
	return nil
}

// objectKeys reads one object from dec, failing on a duplicate key, and
// calls each (when not nil) with every key and raw value. It returns the
// number of keys.
func objectKeys(dec *json.Decoder, each func(key string, raw json.RawMessage) error) (int, error) {
	if tok, err := dec.Token(); err != nil || tok != json.Delim('{') {
		return 0, errors.New("not a JSON object")
	}
	seen := map[string]bool{}
	for dec.More() {
		tok, err := dec.Token()
		if err != nil {
			return 0, err
		}
		key, _ := tok.(string)
		if seen[key] {
			return 0, fmt.Errorf("duplicate key %q", key)
		}
		seen[key] = true
		var raw json.RawMessage
		if err := dec.Decode(&raw); err != nil {
			return 0, err
		}
		if each != nil {
			if err := each(key, raw); err != nil {
				return 0, err
			}
		}
	}
	return len(seen), nil
}

func parseTime(s string) (time.Time, error) {
	t, err := time.Parse(TimeFormat, s)
	if err != nil {
		return time.Time{}, err
	}
	if t.Format(TimeFormat) != s {
		return time.Time{}, errors.New("not in canonical form")
	}
	return t, nil
}

// parseHex decodes lower-case hex of exactly n bytes (any length when n < 0).
func parseHex(s string, n int) ([]byte, error) {
	b, err := hex.DecodeString(s)
	if err != nil {
		return nil, err
	}
	if n >= 0 && len(b) != n {
		return nil, fmt.Errorf("%d bytes, want %d", len(b), n)
	}
	if hex.EncodeToString(b) != s {
		return nil, errors.New("not lower-case hex")
	}
	return b, nil
}
