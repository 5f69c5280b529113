package audit_test

// An independent implementation of the encodings as the package
// documentation describes them, written the way an external verifier (or an
// attacker) would. The tests check it against the package and use it to
// forge.

import (
	"crypto/sha256"
	"encoding/binary"
	"sort"

	"github.com/carepost/carepost/internal/audit"
)

func specStr(b []byte, s string) []byte {
	b = binary.BigEndian.AppendUint32(b, uint32(len(s)))
	return append(b, s...)
}

func specEntry(e audit.Entry) []byte {
	b := []byte("CPAE\x01")
	b = specStr(b, e.Chain)
	b = binary.BigEndian.AppendUint64(b, uint64(e.Seq))
	b = binary.BigEndian.AppendUint64(b, uint64(e.At.UnixMicro()))
	for _, s := range []string{string(e.Actor.Type), e.Actor.ID, e.Action, e.TargetType, e.TargetID,
		string(e.Outcome), e.ClientIP, e.UserAgent} {
		b = specStr(b, s)
	}
	keys := make([]string, 0, len(e.Details))
	for k := range e.Details {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	b = binary.BigEndian.AppendUint32(b, uint32(len(keys)))
	for _, k := range keys {
		b = specStr(b, k)
		b = specStr(b, e.Details[k])
	}
	return specStr(b, string(e.PrevHash))
}

func specHash(e audit.Entry) []byte {
	sum := sha256.Sum256(specEntry(e))
	return sum[:]
}

func specCheckpointMessage(c audit.Checkpoint) []byte {
	b := []byte("CPAC\x01")
	b = specStr(b, c.Chain)
	b = binary.BigEndian.AppendUint64(b, uint64(c.Seq))
	b = specStr(b, string(c.Hash))
	return binary.BigEndian.AppendUint64(b, uint64(c.At.UnixMicro()))
}
