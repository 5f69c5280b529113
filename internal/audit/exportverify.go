package audit

import (
	"bufio"
	"bytes"
	"cmp"
	"crypto/ed25519"
	"errors"
	"fmt"
	"io"
	"slices"
	"time"
)

// maxLine bounds one export line; entries are far smaller (see the limits
// in entry.go).
const maxLine = 1 << 20

// ExportVerifyOptions configures VerifyExport.
type ExportVerifyOptions struct {
	// Keys are the trusted checkpoint public keys. Required when
	// Checkpoints are given.
	Keys []ed25519.PublicKey
	// Checkpoints are those exported before the entries (see Export).
	Checkpoints []Checkpoint
	// Complete says the export holds whole chains (Since was zero): a
	// chain must then start at seq 1 or at a checkpoint older than
	// MinRetention, and a chain with checkpoints but no entries was
	// removed. Otherwise the first exported entry of a chain is taken as
	// its start and chains absent from the export are not reported.
	Complete bool
	// Now is the time the retention is measured from. Default time.Now.
	Now time.Time
}

// VerifyExport checks an export (lines of Entry JSON) without the database:
// every hash and link, and the given checkpoints against the entries, the
// same rules as Verify except the head row, which an export does not carry.
// It returns an error for an unreadable line.
func VerifyExport(r io.Reader, opts ExportVerifyOptions) (Report, error) {
	if len(opts.Checkpoints) > 0 && len(opts.Keys) == 0 {
		return Report{}, errors.New("verify export: checkpoints given without the public keys to check them")
	}
	if opts.Now.IsZero() {
		opts.Now = time.Now()
	}
	keys := keySet{keys: map[string]ed25519.PublicKey{}}
	for _, k := range opts.Keys {
		keys.keys[KeyID(k)] = k
	}
	v := &exportVerifier{opts: opts, keys: keys, chains: map[string]*exportChain{}}
	for _, cp := range opts.Checkpoints {
		v.chain(cp.Chain).pending[cp.Seq] = append(v.chain(cp.Chain).pending[cp.Seq], cp)
	}
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 0, 64<<10), maxLine)
	for n := 1; sc.Scan(); n++ {
		line := bytes.TrimSpace(sc.Bytes())
		if len(line) == 0 {
			continue
		}
		var e Entry
		if err := e.UnmarshalJSON(line); err != nil {
			return Report{}, fmt.Errorf("verify export: line %d: %w", n, err)
		}
		v.entry(e)
	}
	if err := sc.Err(); err != nil {
		return Report{}, fmt.Errorf("verify export: %w", err)
	}
	return v.finish(), nil
}

type exportVerifier struct {
	opts   ExportVerifyOptions
	keys   keySet
	chains map[string]*exportChain
}

type exportChain struct {
	rep     ChainReport
	check   *chainCheck
	started bool
	pending map[int64][]Checkpoint // by seq, not yet matched
}

func (v *exportVerifier) chain(name string) *exportChain {
	c, ok := v.chains[name]
	if !ok {
		c = &exportChain{rep: ChainReport{Chain: name}, pending: map[int64][]Checkpoint{}}
		c.check = newChainCheck(&c.rep, v.keys)
		v.chains[name] = c
	}
	return c
}

func (v *exportVerifier) entry(e Entry) {
	c := v.chain(e.Chain)
	if !c.started {
		c.check.start(e.Seq, e.PrevHash, anchorAt(c.pending[e.Seq-1], e.Seq-1, v.keys), v.opts.Complete, v.opts.Now)
		c.started = true
	}
	c.check.entry(e, nil)
	for _, cp := range c.pending[e.Seq] {
		c.check.checkpoint(cp, e.Hash, true)
	}
	delete(c.pending, e.Seq)
}

// finish checks the checkpoints no entry matched: below the first entry
// (signature only), inside the exported range (a missing entry) or past its
// end (truncation).
func (v *exportVerifier) finish() Report {
	var rep Report
	for _, c := range v.chains {
		var rest []Checkpoint
		for _, cps := range c.pending {
			rest = append(rest, cps...)
		}
		slices.SortFunc(rest, func(a, b Checkpoint) int { return cmp.Compare(a.Seq, b.Seq) })
		switch {
		case !c.started && !v.opts.Complete:
			for _, cp := range rest {
				c.check.checkpoint(cp, nil, false) // outside the export
			}
		default:
			for _, cp := range rest {
				if cp.Seq > c.check.lastSeq {
					c.check.beyond(cp)
				} else {
					c.check.checkpoint(cp, nil, false)
				}
			}
		}
		rep.Chains = append(rep.Chains, c.rep)
	}
	slices.SortFunc(rep.Chains, func(a, b ChainReport) int { return cmp.Compare(a.Chain, b.Chain) })
	return rep
}

// ReadCheckpoints reads the lines ExportCheckpoints wrote.
func ReadCheckpoints(r io.Reader) ([]Checkpoint, error) {
	var out []Checkpoint
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 0, 4<<10), maxLine)
	for n := 1; sc.Scan(); n++ {
		line := bytes.TrimSpace(sc.Bytes())
		if len(line) == 0 {
			continue
		}
		var cp Checkpoint
		if err := cp.UnmarshalJSON(line); err != nil {
			return nil, fmt.Errorf("read checkpoints: line %d: %w", n, err)
		}
		out = append(out, cp)
	}
	if err := sc.Err(); err != nil {
		return nil, fmt.Errorf("read checkpoints: %w", err)
	}
	return out, nil
}
