package audit

import (
	"crypto/sha256"
	"encoding/binary"
	"slices"

	"github.com/carepost/carepost/internal/store"
)

// FormatVersion is the version of the canonical encoding this package
// writes and verifies (see the package documentation).
const FormatVersion = 1

// HashSize is the length of an entry hash (SHA-256).
const HashSize = sha256.Size

// Magics that start the two signed or hashed encodings; they differ so one
// can never be taken for the other (domain separation).
const (
	entryMagic      = "CPAE"
	checkpointMagic = "CPAC"
)

// genesisHash is the PrevHash of a chain's first entry.
func genesisHash() []byte { return make([]byte, HashSize) }

type encoder struct{ b []byte }

func (w *encoder) str(s string) {
	w.b = binary.BigEndian.AppendUint32(w.b, uint32(len(s)))
	w.b = append(w.b, s...)
}

func (w *encoder) bytes(p []byte) {
	w.b = binary.BigEndian.AppendUint32(w.b, uint32(len(p)))
	w.b = append(w.b, p...)
}

func (w *encoder) u64(v uint64) { w.b = binary.BigEndian.AppendUint64(w.b, v) }

// Canonical returns the format-1 encoding of e that Hash is computed over.
// It uses every field except Hash.
func (e Entry) Canonical() []byte {
	w := encoder{b: make([]byte, 0, 256)}
	w.b = append(w.b, entryMagic...)
	w.b = append(w.b, FormatVersion)
	w.str(e.Chain)
	w.u64(uint64(e.Seq))
	w.u64(uint64(store.Micros(e.At)))
	w.str(string(e.Actor.Type))
	w.str(e.Actor.ID)
	w.str(e.Action)
	w.str(e.TargetType)
	w.str(e.TargetID)
	w.str(string(e.Outcome))
	w.str(e.ClientIP)
	w.str(e.UserAgent)
	keys := make([]string, 0, len(e.Details))
	for k := range e.Details {
		keys = append(keys, k)
	}
	slices.Sort(keys) // Go compares strings bytewise
	w.b = binary.BigEndian.AppendUint32(w.b, uint32(len(keys)))
	for _, k := range keys {
		w.str(k)
		w.str(e.Details[k])
	}
	w.bytes(e.PrevHash)
	return w.b
}

// ComputeHash returns SHA-256 of e's canonical encoding: what e.Hash must be.
func (e Entry) ComputeHash() []byte {
	sum := sha256.Sum256(e.Canonical())
	return sum[:]
}

// message returns the bytes a checkpoint's signature covers.
func (c Checkpoint) message() []byte {
	w := encoder{b: make([]byte, 0, 128)}
	w.b = append(w.b, checkpointMagic...)
	w.b = append(w.b, FormatVersion)
	w.str(c.Chain)
	w.u64(uint64(c.Seq))
	w.bytes(c.Hash)
	w.u64(uint64(store.Micros(c.At)))
	return w.b
}
