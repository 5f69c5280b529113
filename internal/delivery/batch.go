package delivery

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"time"

	"github.com/carepost/carepost/internal/mtasts"
	"github.com/carepost/carepost/internal/outbox"
	"github.com/carepost/carepost/internal/policy"
	"github.com/carepost/carepost/internal/store"
)

// batch is one job's work: the claimed recipients of one domain, and what
// it learned about the domain on the way (route, policies, connections),
// which every message of the batch shares.
type batch struct {
	s *Service
	c *claim

	rt        *route
	stsDone   bool
	stsPolicy *mtasts.Policy
	stsStatus mtasts.Status
	danes     map[string]daneState
	pins      map[string]*store.TransportPin
	authz     map[string]*authz
	pool      map[connKey]*pooled
	signers   map[string]Signer
}

// rcpt is one claimed recipient and where it is on its fallback chain.
type rcpt struct {
	row   store.RecipientRow
	email string
	// methods are the acceptable methods in the order the walk tries
	// them, and drop whether running out of them fails the recipient
	// instead of holding it (the recorded policy decision, walk.go).
	methods []policy.Level
	drop    bool
	// step is the index of the method being tried; skipped says why the
	// ones before it could not be used.
	step    int
	skipped []Skip
}

// group is the recipients of one message in the batch. Those that share a
// method share one SMTP transaction (e2e content differs per recipient, so
// each e2e recipient is its own).
type group struct {
	msg   store.MessageRow
	rcpts []*rcpt
	// raw is the message's content, opened once when a method needs it.
	raw     []byte
	rawErr  error
	rawDone bool
}

// run is one delivery job for domain: it delivers a batch and, while each
// batch it claims is full, claims the next one at once, for up to a fifth
// of a lease, keeping its sessions open across them.
//
// A job that ended after every batch would leave its slot to the next job,
// which starts only when the job engine next fetches (it inserts jobs in
// transactions, and on SQLite River polls for them): a slot was then busy
// for a batch and idle for a poll, and under a backlog the domain ran on a
// handful of its slots. The claim's own wake-up still adds jobs while more
// is due, so the other slots fill.
//
// The sessions carried from one batch to the next are judged as any
// session in a batch is: each batch decides again, per host, whether and
// how the host is authorized, and uses a session only when it was opened
// under the same judgement (connKey: host, address, mode — for DANE the
// records too). A session the server closed meanwhile is retried once, as
// within a batch.
func (s *Service) run(ctx context.Context, domain string) error {
	start := time.Now()
	pool := map[connKey]*pooled{}
	defer func() {
		for _, p := range pool {
			_ = p.conn.Close()
		}
	}()
	for {
		full, err := s.runBatch(ctx, domain, pool)
		// The last batch may start as late as a fifth of a lease into the
		// job and stops starting transactions at four fifths of its own
		// lease (claim.budgetLeft): within the job's timeout, a lease.
		if err != nil || !full || ctx.Err() != nil || time.Since(start) >= s.opts.Lease/5 {
			return err
		}
	}
}

// runBatch claims a batch of domain and delivers it, using and adding to
// pool's sessions; full reports whether the claim took a whole batch (more
// may be due).
func (s *Service) runBatch(ctx context.Context, domain string, pool map[connKey]*pooled) (full bool, err error) {
	c, err := s.claim(ctx, domain)
	if err != nil || len(c.rows) == 0 {
		return false, err
	}
	b := &batch{s: s, c: c, danes: map[string]daneState{}, pins: map[string]*store.TransportPin{},
		authz: map[string]*authz{}, pool: pool, signers: map[string]Signer{}}
	rec := &recorder{b: b}
	groups, err := b.groups(ctx, rec)
	if err != nil {
		// Nothing was sent: put the rows back now rather than when the
		// lease ends (if even that fails, the lease ending does it).
		rec.releaseAll(c.rows)
		return false, errors.Join(err, rec.finish(ctx))
	}
	for _, g := range groups {
		if ctx.Err() != nil || !c.budgetLeft(s.opts.Lease) {
			rec.releaseGroup(g)
			continue
		}
		rec.add(g, b.deliver(ctx, g))
		// The opened content is done with (a DSN opens the message
		// itself): a batch holds one message's plaintext at a time, not
		// its whole claim's, for as long as the batch runs.
		g.raw, g.rawDone = nil, false
		if err := rec.maybeFlush(ctx); err != nil {
			return false, err
		}
	}
	return len(c.rows) == s.opts.Batch, rec.finish(ctx)
}

// groups reads the batch's messages, the recipients' recorded policy
// decisions, and opens their addresses, and groups recipients by message
// in claim order. Recipients that cannot be sent at all are recorded at
// once.
func (b *batch) groups(ctx context.Context, rec *recorder) ([]*group, error) {
	ids := make([]string, 0, len(b.c.rows))
	rids := make([]string, 0, len(b.c.rows))
	for _, r := range b.c.rows {
		ids = append(ids, r.MessageID)
		rids = append(rids, r.ID)
	}
	slices.Sort(ids)
	q := b.s.deps.DB.Reader()
	msgs, err := store.MessagesByID(ctx, q, slices.Compact(ids))
	if err != nil {
		return nil, err
	}
	pols, err := store.RecipientPoliciesByID(ctx, q, rids)
	if err != nil {
		return nil, err
	}
	var out []*group
	index := map[string]*group{}
	for _, row := range b.c.rows {
		m, ok := msgs[row.MessageID]
		if !ok || m.OrgID != row.OrgID {
			return nil, fmt.Errorf("recipient %s: message %s missing", row.ID, row.MessageID)
		}
		email, err := b.s.deps.Keys.Open(ctx, q, outbox.AddressAAD(row.OrgID, row.ID), row.Address)
		if err != nil {
			b.s.log.Error("open recipient address", "recipient", row.ID, "error", err)
			rec.addOne(m, &rcpt{row: row}, tempf("4.3.0", "the recipient's address could not be opened"))
			continue
		}
		g := index[row.MessageID]
		if g == nil {
			g = &group{msg: m}
			index[row.MessageID] = g
			out = append(out, g)
		}
		r := &rcpt{row: row, email: string(email)}
		r.methods, r.drop = b.s.chain(m, row, pols[row.ID])
		g.rcpts = append(g.rcpts, r)
	}
	return out, nil
}

// content opens the group's message once.
func (b *batch) content(ctx context.Context, g *group) ([]byte, error) {
	if !g.rawDone {
		g.rawDone = true
		g.raw, g.rawErr = outbox.OpenContent(ctx, b.s.deps.Keys, b.s.deps.DB.Reader(), g.msg.OrgID, g.msg.ID, g.msg.Content)
		if g.rawErr != nil {
			b.s.log.Error("open message content", "message", g.msg.ID, "error", g.rawErr)
		}
	}
	return g.raw, g.rawErr
}

// sign DKIM-signs raw for its organization and sender domain; without a
// signer for the domain the message goes as it is.
func (b *batch) sign(ctx context.Context, m store.MessageRow, raw []byte) ([]byte, error) {
	if b.s.deps.Signers == nil {
		return raw, nil
	}
	key := m.OrgID + "\x00" + m.FromDomain
	sg, ok := b.signers[key]
	if !ok {
		var err error
		if sg, err = b.s.deps.Signers.Signer(ctx, m.OrgID, m.FromDomain); err != nil {
			return nil, err
		}
		b.signers[key] = sg
	}
	if sg == nil {
		return raw, nil
	}
	return sg.Sign(raw)
}

func repeat(v verdict, n int) []verdict {
	out := make([]verdict, n)
	for i := range out {
		out[i] = v
	}
	return out
}
