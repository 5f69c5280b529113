package delivery

import (
	"context"
	"fmt"
	"slices"

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

// rcpt is one claimed recipient.
type rcpt struct {
	row   store.RecipientRow
	email string
}

// group is the recipients of one message at one level: one SMTP
// transaction with one RCPT each.
type group struct {
	msg   store.MessageRow
	level policy.Level
	rcpts []*rcpt
}

// run delivers one batch of domain.
func (s *Service) run(ctx context.Context, domain string) error {
	c, err := s.claim(ctx, domain)
	if err != nil || len(c.rows) == 0 {
		return err
	}
	b := &batch{s: s, c: c, danes: map[string]daneState{}, pins: map[string]*store.TransportPin{},
		authz: map[string]*authz{}, pool: map[connKey]*pooled{}, signers: map[string]Signer{}}
	defer b.closeAll()
	rec := &recorder{b: b}
	groups, err := b.groups(ctx, rec)
	if err != nil {
		// Nothing was sent: the rows come due again when the lease ends.
		return err
	}
	for _, g := range groups {
		if ctx.Err() != nil || !c.budgetLeft(s.opts.Lease) {
			rec.releaseGroup(g)
			continue
		}
		rec.add(g, b.deliver(ctx, g))
		if err := rec.maybeFlush(ctx); err != nil {
			return err
		}
	}
	return rec.finish(ctx)
}

// groups reads the batch's messages and opens its addresses, and groups
// recipients by message and level in claim order. Recipients that cannot
// be sent at all are recorded at once.
func (b *batch) groups(ctx context.Context, rec *recorder) ([]*group, error) {
	ids := make([]string, 0, len(b.c.rows))
	for _, r := range b.c.rows {
		ids = append(ids, r.MessageID)
	}
	slices.Sort(ids)
	msgs, err := store.MessagesByID(ctx, b.s.deps.DB.Reader(), slices.Compact(ids))
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
		email, err := b.s.deps.Keys.Open(ctx, b.s.deps.DB.Reader(), outbox.AddressAAD(row.OrgID, row.ID), row.Address)
		if err != nil {
			b.s.log.Error("open recipient address", "recipient", row.ID, "error", err)
			rec.addOne(m, &rcpt{row: row}, tempf("4.3.0", "the recipient's address could not be opened"))
			continue
		}
		key := row.MessageID + "\x00" + row.Level
		g := index[key]
		if g == nil {
			g = &group{msg: m, level: policy.Level(row.Level)}
			index[key] = g
			out = append(out, g)
		}
		g.rcpts = append(g.rcpts, &rcpt{row: row, email: string(email)})
	}
	return out, nil
}

// deliver sends one group and returns a verdict per recipient, in order.
func (b *batch) deliver(ctx context.Context, g *group) []verdict {
	if v, refuse := b.refuse(g); refuse {
		return repeat(v, len(g.rcpts))
	}
	raw, err := b.s.deps.Keys.Open(ctx, b.s.deps.DB.Reader(), outbox.ContentAAD(g.msg.OrgID, g.msg.ID), g.msg.Content)
	if err != nil {
		b.s.log.Error("open message content", "message", g.msg.ID, "error", err)
		return repeat(tempf("4.3.0", "the message could not be opened"), len(g.rcpts))
	}
	signed, err := b.sign(ctx, g.msg, raw)
	if err != nil {
		b.s.log.Warn("dkim sign", "message", g.msg.ID, "error", err)
		return repeat(tempf("4.3.0", "the message could not be DKIM-signed"), len(g.rcpts))
	}
	if b.s.deps.Capture != nil {
		v := verdict{kind: delivered, code: 250, reason: "captured by demo mode; nothing was sent", capture: signed,
			receipt: &Receipt{AuthorizedBy: byDemo, TLS: "none", Verification: "none", Code: 250}}
		return repeat(v, len(g.rcpts))
	}
	return b.send(ctx, g, signed)
}

// refuse applies the transport floor before anything is opened: levels
// above verified-tls are never handed to the transport (the outbox holds
// them; this is the defensive second check), and PHI never travels
// opportunistically.
func (b *batch) refuse(g *group) (verdict, bool) {
	switch {
	case g.level.AtLeast(policy.E2E):
		b.s.log.Error("recipient above transport level reached delivery", "message", g.msg.ID, "level", string(g.level))
		return verdict{kind: held, reason: "required level " + string(g.level) + " is not available for this recipient"}, true
	case g.level != policy.VerifiedTLS && g.level != policy.Opportunistic:
		return verdict{kind: held, reason: "unknown transport level " + string(g.level)}, true
	case g.level == policy.Opportunistic && g.msg.PHI:
		b.s.log.Error("PHI message at opportunistic level reached delivery", "message", g.msg.ID)
		return verdict{kind: held, reason: NoVerifiedPath}, true
	}
	return verdict{}, false
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
