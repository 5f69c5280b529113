package contact

import (
	"encoding/binary"
	"encoding/json"
	"errors"
	"math"
	"slices"
	"time"
)

// The sealed map: every PHI value of one contact, encoded compactly so one
// AES-GCM open yields them all.
//
//	byte 0        encoding version, 0x01
//	then entries  uvarint(tag) byte(kind) payload
//
// with payload by kind: text uvarint(len) bytes; number 8 bytes (IEEE 754
// bits, big-endian); date varint(days since 1970-01-01); boolean 1 byte;
// list uvarint(n) then n × (uvarint(len) bytes). Entries are in tag order.
// The kind makes every entry skippable, so a value under a tag the schema
// no longer has (a deleted field) is passed over, never misread.
const mapVersion byte = 0x01

const (
	kindText byte = iota + 1
	kindNumber
	kindDate
	kindBool
	kindList
)

var errCorrupt = errors.New("contact: sealed map is corrupt")

var kinds = map[FieldType]byte{TypeText: kindText, TypeNumber: kindNumber, TypeDate: kindDate, TypeBoolean: kindBool, TypeList: kindList}

const day = 24 * time.Hour

// Dates are days since 1970-01-01, within years 0001 to 9999 (what
// YYYY-MM-DD can write).
const (
	minDay = -719162
	maxDay = 2932896
)

// encodePHI encodes the contact's built-ins and its custom values of PHI
// fields.
func encodePHI(c *Contact, s *Schema) []byte {
	b := make([]byte, 1, 128)
	b[0] = mapVersion
	for _, f := range s.Fields {
		if !f.PHI {
			continue
		}
		if p := c.builtin(f.Tag); p != nil {
			if *p != "" {
				b = appendEntry(b, f.Tag, Value{Type: TypeText, Text: *p})
			}
			continue
		}
		if v, ok := c.Fields[f.Key]; ok {
			b = appendEntry(b, f.Tag, v)
		}
	}
	return b
}

func appendEntry(b []byte, tag int, v Value) []byte {
	b = binary.AppendUvarint(b, uint64(tag))
	b = append(b, kinds[v.Type])
	switch v.Type {
	case TypeNumber:
		b = binary.BigEndian.AppendUint64(b, math.Float64bits(v.Number))
	case TypeDate:
		b = binary.AppendVarint(b, v.Date.Unix()/int64(day/time.Second))
	case TypeBoolean:
		if v.Bool {
			b = append(b, 1)
		} else {
			b = append(b, 0)
		}
	case TypeList:
		b = binary.AppendUvarint(b, uint64(len(v.List)))
		for _, item := range v.List {
			b = appendString(b, item)
		}
	default:
		b = appendString(b, v.Text)
	}
	return b
}

func appendString(b []byte, s string) []byte {
	b = binary.AppendUvarint(b, uint64(len(s)))
	return append(b, s...)
}

// decodePHI fills c's built-ins and PHI fields from an encoded map.
func decodePHI(b []byte, s *Schema, c *Contact) error {
	if len(b) == 0 || b[0] != mapVersion {
		return errCorrupt
	}
	d := decoder{b: b[1:]}
	for len(d.b) > 0 {
		tag := d.uvarint()
		if d.err != nil || len(d.b) == 0 {
			return errCorrupt
		}
		kind := d.b[0]
		d.b = d.b[1:]
		v := d.value(kind)
		if d.err != nil {
			return d.err
		}
		f, ok := s.byTag[int(tag)]
		if !ok || kinds[f.Type] != kind {
			continue // a deleted field, or one redefined since
		}
		if p := c.builtin(f.Tag); p != nil {
			*p = v.Text
			continue
		}
		if c.Fields == nil {
			c.Fields = map[string]Value{}
		}
		c.Fields[f.Key] = v
	}
	return nil
}

type decoder struct {
	b   []byte
	err error
}

func (d *decoder) uvarint() uint64 {
	v, n := binary.Uvarint(d.b)
	if n <= 0 {
		d.err = errCorrupt
		return 0
	}
	d.b = d.b[n:]
	return v
}

func (d *decoder) str() string {
	n := d.uvarint()
	if d.err != nil || n > uint64(len(d.b)) {
		d.err = errCorrupt
		return ""
	}
	s := string(d.b[:n])
	d.b = d.b[n:]
	return s
}

func (d *decoder) value(kind byte) Value {
	switch kind {
	case kindText:
		return Value{Type: TypeText, Text: d.str()}
	case kindNumber:
		if len(d.b) < 8 {
			d.err = errCorrupt
			return Value{}
		}
		v := Value{Type: TypeNumber, Number: math.Float64frombits(binary.BigEndian.Uint64(d.b))}
		d.b = d.b[8:]
		if math.IsNaN(v.Number) || math.IsInf(v.Number, 0) {
			d.err = errCorrupt // never encoded: ParseValue refuses them
		}
		return v
	case kindDate:
		days, n := binary.Varint(d.b)
		if n <= 0 || days < minDay || days > maxDay {
			d.err = errCorrupt
			return Value{}
		}
		d.b = d.b[n:]
		return Value{Type: TypeDate, Date: time.Unix(days*int64(day/time.Second), 0).UTC()}
	case kindBool:
		if len(d.b) < 1 {
			d.err = errCorrupt
			return Value{}
		}
		v := Value{Type: TypeBoolean, Bool: d.b[0] == 1}
		d.b = d.b[1:]
		return v
	case kindList:
		n := d.uvarint()
		if d.err != nil || n > uint64(len(d.b)) {
			d.err = errCorrupt
			return Value{}
		}
		v := Value{Type: TypeList, List: make([]string, 0, n)}
		for i := uint64(0); i < n && d.err == nil; i++ {
			v.List = append(v.List, d.str())
		}
		return v
	}
	d.err = errCorrupt
	return Value{}
}

// encodeAttrs is the JSON object of the contact's values of fields not
// marked PHI, keys sorted (encoding/json sorts map keys), "{}" for none.
func encodeAttrs(c *Contact, s *Schema) string {
	m := map[string]any{}
	for _, f := range s.Custom() {
		if v, ok := c.Fields[f.Key]; ok && !f.PHI {
			m[f.Key] = v.JSON()
		}
	}
	if len(m) == 0 {
		return "{}"
	}
	b, _ := json.Marshal(m) // strings, numbers, booleans, string slices
	return string(b)
}

// decodeAttrs fills c's non-PHI fields from the attrs JSON.
func decodeAttrs(attrs string, s *Schema, c *Contact) error {
	if attrs == "" || attrs == "{}" {
		return nil
	}
	var m map[string]any
	if err := json.Unmarshal([]byte(attrs), &m); err != nil {
		return errCorrupt
	}
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	for _, k := range keys {
		f, ok := s.byKey[k]
		if !ok || f.PHI || f.BuiltIn {
			continue
		}
		v, err := ValueFromJSON(*f, m[k])
		if err != nil {
			continue // redefined since; the value no longer fits
		}
		if c.Fields == nil {
			c.Fields = map[string]Value{}
		}
		c.Fields[k] = v
	}
	return nil
}
