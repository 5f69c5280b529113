package audit

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"math"
	"slices"

	"github.com/carepost/carepost/internal/store"
)

// VerifyOptions selects what Verify checks.
type VerifyOptions struct {
	// Chain limits the check to one chain. Empty checks every chain.
	Chain string
	// Checkpoints are copies kept outside the database (see
	// ExportCheckpoints). They are checked exactly like stored ones, so
	// deleting checkpoints from the database hides nothing they cover.
	Checkpoints []Checkpoint
}

// Verify checks the whole log, streaming each chain in pages: every entry's
// hash and link, sequence continuity, every checkpoint's signature and its
// agreement with the entry at its seq, checkpoints beyond the end
// (truncation), the anchor of a pruned start, and the head row. It returns
// an error only when it could not read the log; what it found is in the
// Report. Appends running concurrently are not reported as problems.
func (l *Log) Verify(ctx context.Context, opts VerifyOptions) (Report, error) {
	keys, err := l.keySet(ctx)
	if err != nil {
		return Report{}, err
	}
	external := map[string][]Checkpoint{}
	for _, cp := range opts.Checkpoints {
		if opts.Chain == "" || cp.Chain == opts.Chain {
			external[cp.Chain] = append(external[cp.Chain], cp)
		}
	}
	chains := []string{opts.Chain}
	if opts.Chain == "" {
		if chains, err = store.AuditChains(ctx, l.db.Reader()); err != nil {
			return Report{}, fmt.Errorf("audit verify: %w", err)
		}
		for ch := range external {
			if _, found := slices.BinarySearch(chains, ch); !found {
				chains = append(chains, ch)
			}
		}
		slices.Sort(chains)
	}
	rep := Report{KeysFromDatabase: keys.fromDB}
	for _, ch := range chains {
		ext := external[ch]
		slices.SortFunc(ext, func(a, b Checkpoint) int { return cmp.Compare(a.Seq, b.Seq) })
		cr, err := l.verifyChain(ctx, ch, keys, ext)
		if err != nil {
			return rep, fmt.Errorf("audit verify %s: %w", ch, err)
		}
		rep.Chains = append(rep.Chains, cr)
	}
	return rep, nil
}

func (l *Log) verifyChain(ctx context.Context, chain string, keys keySet, external []Checkpoint) (ChainReport, error) {
	q := l.db.Reader()
	now := l.now()
	cr := ChainReport{Chain: chain}
	c := newChainCheck(&cr, keys)
	cps := checkpointSource{l: l, chain: chain, external: external}

	// Read the latest checkpoint before the head: any checkpoint committed
	// by then has a seq at or below the head, so one beyond it is not a
	// race with Checkpoint but proof of truncation.
	latest, err := cps.latest(ctx)
	if err != nil {
		return cr, err
	}
	head, err := store.AuditHeadOf(ctx, q, chain)
	hasHead := err == nil
	if err != nil && !errors.Is(err, store.ErrNotFound) {
		return cr, err
	}
	bound := int64(math.MaxInt64)
	if hasHead {
		bound = head.Seq // later entries are concurrent appends
	}

	walked := int64(0) // entries and checkpoints up to here are done
	for {
		recs, err := store.AuditRecords(ctx, q, chain, walked, bound, l.pageSize)
		if err != nil {
			return cr, err
		}
		if len(recs) == 0 {
			break
		}
		last := recs[len(recs)-1].Seq
		page, err := cps.in(ctx, walked, last)
		if err != nil {
			return cr, err
		}
		if walked == 0 {
			c.start(recs[0].Seq, recs[0].PrevHash, anchorAt(page, recs[0].Seq-1, keys), true, now)
		}
		hashes := make(map[int64][]byte, len(recs))
		for _, r := range recs {
			e, err := fromRecord(r)
			c.entry(e, err)
			hashes[r.Seq] = r.Hash
		}
		for _, cp := range page {
			h, ok := hashes[cp.Seq]
			c.checkpoint(cp, h, ok)
		}
		walked = last
	}
	if cr.Entries == 0 && hasHead {
		// No entry left: a chain pruned up to its head, or emptied. The
		// checkpoint at the head must anchor it.
		page, err := cps.in(ctx, 0, head.Seq)
		if err != nil {
			return cr, err
		}
		c.start(head.Seq+1, head.Hash, anchorAt(page, head.Seq, keys), true, now)
		for _, cp := range page {
			c.checkpoint(cp, nil, false)
		}
		walked = head.Seq
	}
	trailing, err := cps.in(ctx, walked, latest)
	if err != nil {
		return cr, err
	}
	for _, cp := range trailing {
		c.beyond(cp)
	}
	return cr, l.checkHead(ctx, c, head, hasHead)
}

// checkHead compares the head row with the last entry, then looks for
// entries stored beyond the head (a head that was rewound).
func (l *Log) checkHead(ctx context.Context, c *chainCheck, head store.AuditHead, hasHead bool) error {
	if !hasHead {
		if c.lastSeq > 0 {
			c.problem(c.lastSeq, KindHeadMismatch, "the chain has entries but no head row")
		}
		return nil
	}
	switch {
	case c.lastSeq != head.Seq:
		c.problem(head.Seq, KindHeadMismatch, "head is at seq %d but the log ends at seq %d", head.Seq, c.lastSeq)
	case string(c.lastHash) != string(head.Hash):
		c.problem(head.Seq, KindHeadMismatch, "head hash %s, last entry %s", short(head.Hash), short(c.lastHash))
	}
	q := l.db.Reader()
	maxSeq, err := store.AuditMaxSeq(ctx, q, head.Chain)
	if err != nil || maxSeq <= head.Seq {
		return err
	}
	// Entries read before re-reading the head committed before it, so a
	// legitimate one is at or below the new head.
	now, err := store.AuditHeadOf(ctx, q, head.Chain)
	if err != nil {
		return err
	}
	if maxSeq > now.Seq {
		c.problem(maxSeq, KindHeadMismatch, "entries up to seq %d are stored beyond the head at seq %d", maxSeq, now.Seq)
	}
	return nil
}

// checkpointSource merges stored checkpoints with external copies.
type checkpointSource struct {
	l        *Log
	chain    string
	external []Checkpoint // sorted by seq
}

func (s checkpointSource) latest(ctx context.Context) (int64, error) {
	var seq int64
	cp, err := store.LatestAuditCheckpoint(ctx, s.l.db.Reader(), s.chain)
	switch {
	case err == nil:
		seq = cp.Seq
	case !errors.Is(err, store.ErrNotFound):
		return 0, err
	}
	if n := len(s.external); n > 0 {
		seq = max(seq, s.external[n-1].Seq)
	}
	return seq, nil
}

// in returns the checkpoints with after < seq <= through, in seq order,
// an external copy identical to a stored checkpoint counted once.
func (s checkpointSource) in(ctx context.Context, after, through int64) ([]Checkpoint, error) {
	var out []Checkpoint
	for cursor := after; cursor < through; {
		page, err := store.AuditCheckpoints(ctx, s.l.db.Reader(), s.chain, cursor, through, s.l.pageSize)
		if err != nil {
			return nil, err
		}
		for _, cp := range page {
			out = append(out, fromStoreCheckpoint(cp))
		}
		if len(page) < s.l.pageSize {
			break
		}
		cursor = page[len(page)-1].Seq
	}
	for _, cp := range s.external {
		if cp.Seq > after && cp.Seq <= through && !slices.ContainsFunc(out, cp.equal) {
			out = append(out, cp)
		}
	}
	slices.SortStableFunc(out, func(a, b Checkpoint) int { return cmp.Compare(a.Seq, b.Seq) })
	return out, nil
}

func (c Checkpoint) equal(o Checkpoint) bool {
	return c.Chain == o.Chain && c.Seq == o.Seq && string(c.Hash) == string(o.Hash) &&
		c.At.Equal(o.At) && c.KeyID == o.KeyID && string(c.Signature) == string(o.Signature)
}

// anchorAt returns a checkpoint at seq whose signature verifies, or nil.
func anchorAt(cps []Checkpoint, seq int64, keys keySet) *Checkpoint {
	for i := range cps {
		if cps[i].Seq != seq {
			continue
		}
		if _, _, ok := keys.check(cps[i]); ok {
			return &cps[i]
		}
	}
	return nil
}
