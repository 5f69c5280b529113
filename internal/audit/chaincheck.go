package audit

import (
	"bytes"
	"crypto/ed25519"
	"encoding/hex"
	"fmt"
	"time"
)

// keySet is the set of public keys checkpoint signatures are checked with.
type keySet struct {
	keys   map[string]ed25519.PublicKey
	fromDB bool
}

// check reports what is wrong with cp's signature, if anything.
func (k keySet) check(cp Checkpoint) (ProblemKind, string, bool) {
	pub, ok := k.keys[cp.KeyID]
	if !ok {
		return KindUnknownKey, fmt.Sprintf("checkpoint signed by key %q, which is not trusted", cp.KeyID), false
	}
	if !ed25519.Verify(pub, cp.message(), cp.Signature) {
		return KindCheckpointSignature, fmt.Sprintf("signature by key %s does not verify", cp.KeyID), false
	}
	return "", "", true
}

// chainCheck walks one chain in sequence order, entry by entry, and records
// problems in rep. The database verifier, the export verifier and the link
// check before signing or pruning all use it.
type chainCheck struct {
	rep      *ChainReport
	keys     keySet
	lastSeq  int64
	lastHash []byte
}

func newChainCheck(rep *ChainReport, keys keySet) *chainCheck {
	return &chainCheck{rep: rep, keys: keys, lastHash: genesisHash()}
}

func (c *chainCheck) problem(seq int64, kind ProblemKind, format string, args ...any) {
	if len(c.rep.Problems) >= MaxProblemsPerChain {
		c.rep.Omitted++
		return
	}
	c.rep.Problems = append(c.rep.Problems, Problem{Chain: c.rep.Chain, Seq: seq, Kind: kind, Detail: fmt.Sprintf(format, args...)})
}

// from makes the walk continue from (seq, hash) as if that entry had been
// seen: a checkpoint the next entry must link to.
func (c *chainCheck) from(seq int64, hash []byte) {
	c.lastSeq, c.lastHash = seq, hash
}

// start sets where the chain's first retained entry, at seq first with
// PrevHash firstPrev, links to: genesis at seq 1, else anchor, the
// checkpoint at first-1. When strict (the whole chain should be there), a
// start without a valid anchor, or with one younger than MinRetention, is
// truncation; otherwise (a partial export) the entry's own PrevHash is
// taken as given.
func (c *chainCheck) start(first int64, firstPrev []byte, anchor *Checkpoint, strict bool, now time.Time) {
	if first <= 1 {
		return
	}
	if anchor != nil && anchor.Seq == first-1 {
		if _, _, ok := c.keys.check(*anchor); ok {
			c.from(anchor.Seq, anchor.Hash)
			if strict && anchor.At.After(now.Add(-MinRetention)) {
				c.problem(first-1, KindTruncated, "entries 1..%d are gone but the checkpoint anchoring seq %d is younger than the retention", first-1, first-1)
			}
			return
		}
	}
	if strict {
		c.problem(first-1, KindTruncated, "entries 1..%d are missing and no valid checkpoint anchors seq %d", first-1, first-1)
	}
	c.from(first-1, firstPrev)
}

// entry checks e against its own hash and the entry before it. decodeErr is
// set when the stored row could not even be decoded.
func (c *chainCheck) entry(e Entry, decodeErr error) {
	c.rep.Entries++
	if c.rep.FirstSeq == 0 {
		c.rep.FirstSeq = e.Seq
	}
	c.rep.LastSeq = e.Seq
	switch {
	case decodeErr != nil:
		c.problem(e.Seq, KindHashMismatch, "stored details do not decode")
	case !bytes.Equal(e.ComputeHash(), e.Hash):
		c.problem(e.Seq, KindHashMismatch, "stored hash %s, content hashes to %s", short(e.Hash), short(e.ComputeHash()))
	}
	switch {
	case e.Seq > c.lastSeq+1:
		c.problem(e.Seq, KindSequenceGap, "entries %d..%d are missing", c.lastSeq+1, e.Seq-1)
	case e.Seq <= c.lastSeq:
		c.problem(e.Seq, KindSequenceGap, "seq %d follows seq %d", e.Seq, c.lastSeq)
	}
	if !bytes.Equal(e.PrevHash, c.lastHash) {
		c.problem(e.Seq, KindPrevHashMismatch, "links to %s, entry %d is %s", short(e.PrevHash), c.lastSeq, short(c.lastHash))
	}
	c.from(e.Seq, e.Hash)
}

// checkpoint checks cp against the stored hash of the entry at its seq
// (present is false when there is no such entry). Checkpoints below the
// first retained entry only have their signature checked.
func (c *chainCheck) checkpoint(cp Checkpoint, hash []byte, present bool) {
	c.rep.Checkpoints++
	if kind, detail, ok := c.keys.check(cp); !ok {
		c.problem(cp.Seq, kind, "%s", detail)
		return
	}
	if c.rep.FirstSeq == 0 || cp.Seq < c.rep.FirstSeq {
		return
	}
	if !present {
		c.problem(cp.Seq, KindCheckpointMismatch, "checkpoint signed at %s vouches for seq %d, which is missing", cp.At.Format(time.RFC3339), cp.Seq)
		return
	}
	if !bytes.Equal(hash, cp.Hash) {
		c.problem(cp.Seq, KindCheckpointMismatch, "checkpoint signed at %s has hash %s, entry has %s", cp.At.Format(time.RFC3339), short(cp.Hash), short(hash))
	}
}

// beyond handles a checkpoint past the last entry: a valid one proves the
// chain was truncated.
func (c *chainCheck) beyond(cp Checkpoint) {
	c.rep.Checkpoints++
	if kind, detail, ok := c.keys.check(cp); !ok {
		c.problem(cp.Seq, kind, "%s", detail)
		return
	}
	c.problem(cp.Seq, KindTruncated, "checkpoint signed at %s vouches for seq %d but the log ends at seq %d", cp.At.Format(time.RFC3339), cp.Seq, c.lastSeq)
}

func short(h []byte) string {
	s := hex.EncodeToString(h)
	if len(s) > 16 {
		return s[:16] + "…"
	}
	return s
}
