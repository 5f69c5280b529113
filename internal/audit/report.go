package audit

import "fmt"

// ProblemKind classifies what Verify found wrong.
type ProblemKind string

const (
	// KindHashMismatch: an entry's stored hash is not the hash of its
	// content; the entry was edited.
	KindHashMismatch ProblemKind = "hash-mismatch"
	// KindPrevHashMismatch: an entry does not link to the entry before it;
	// one was edited, removed or moved.
	KindPrevHashMismatch ProblemKind = "prev-hash-mismatch"
	// KindSequenceGap: sequence numbers skip; entries were removed.
	KindSequenceGap ProblemKind = "sequence-gap"
	// KindCheckpointSignature: a checkpoint's signature does not verify;
	// it was forged or altered.
	KindCheckpointSignature ProblemKind = "checkpoint-signature"
	// KindCheckpointMismatch: a valid checkpoint disagrees with the entry
	// at its seq (or there is none); the chain was rewritten.
	KindCheckpointMismatch ProblemKind = "checkpoint-mismatch"
	// KindTruncated: entries a valid checkpoint vouches for are gone, from
	// the end of the chain or (younger than the retention) from its start.
	KindTruncated ProblemKind = "truncated"
	// KindUnknownKey: a checkpoint names a key that is not trusted.
	KindUnknownKey ProblemKind = "unknown-key"
	// KindHeadMismatch: the head row disagrees with the last entry.
	KindHeadMismatch ProblemKind = "head-mismatch"
)

// Problem is one finding. Detail holds sequence numbers, hashes and key ids,
// never entry content.
type Problem struct {
	Chain  string
	Seq    int64
	Kind   ProblemKind
	Detail string
}

func (p Problem) String() string {
	return fmt.Sprintf("%s seq %d: %s: %s", p.Chain, p.Seq, p.Kind, p.Detail)
}

// MaxProblemsPerChain bounds the problems a report lists for one chain; the
// rest are counted in ChainReport.Omitted.
const MaxProblemsPerChain = 1000

// ChainReport is what Verify found in one chain.
type ChainReport struct {
	Chain string
	// Entries and Checkpoints count what was checked.
	Entries     int64
	Checkpoints int64
	// FirstSeq and LastSeq are the first and last entries seen (0 when
	// none). FirstSeq > 1 means the start was pruned (or, in an export,
	// not exported).
	FirstSeq int64
	LastSeq  int64
	Problems []Problem
	// Omitted counts problems beyond MaxProblemsPerChain.
	Omitted int
}

// Report is the result of a verification.
type Report struct {
	Chains []ChainReport
	// KeysFromDatabase is true when no trusted key was configured, so
	// checkpoint signatures were checked against the keys recorded in the
	// database, which anyone able to write the database can add to.
	KeysFromDatabase bool
}

// OK reports whether no problem was found.
func (r Report) OK() bool {
	for _, c := range r.Chains {
		if len(c.Problems) > 0 || c.Omitted > 0 {
			return false
		}
	}
	return true
}

// Problems returns every listed problem, chain by chain.
func (r Report) Problems() []Problem {
	var out []Problem
	for _, c := range r.Chains {
		out = append(out, c.Problems...)
	}
	return out
}
