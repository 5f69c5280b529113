package delivery

import (
	"context"
	"strings"
	"time"

	"github.com/carepost/carepost/internal/policy"
	"github.com/carepost/carepost/internal/store"
)

// The fallback walk. The outbox records, beside each recipient, the
// methods its policy decision allows, in order, and whether running out
// of them drops the recipient (store.RecipientPolicy). Delivery follows
// that record and decides nothing about policy itself: for each recipient
// it tries the current method and moves to the next only when the method
// is unavailable — never when it failed in a way that may pass (a 4xx, a
// TLS failure at an authorized host: those defer, and the next attempt
// walks the chain again from its start).
//
//	opportunistic  send with STARTTLS when offered (no PHI only)
//	verified-tls   send only to MX hosts MTA-STS, DANE or a pin authorize;
//	               unavailable when no host of the domain is authorized
//	e2e            encrypt to the recipient's key (Encrypter) and send;
//	               unavailable when no valid key is known now
//	portal         Portal.Handoff in the outcome transaction
//
// When the chain runs out the recipient is dropped (failed) if policy says
// so — the "TLS only, else drop" mode, never the portal — and held
// otherwise: fail closed.

// chain returns the methods the walk may use for a recipient, from its
// recorded decision, keeping only methods at least as strong as its level
// (and never opportunistic for PHI): the outbox writes nothing else, so a
// method dropped here is a defect, logged.
func (s *Service) chain(m store.MessageRow, row store.RecipientRow, p store.RecipientPolicy) ([]policy.Level, bool) {
	level := policy.Level(row.Level)
	if !level.Valid() {
		s.log.Error("recipient with an unknown level reached delivery", "recipient", row.ID, "level", row.Level)
		return nil, false
	}
	listed := policy.ParseMethods(p.Methods)
	if len(listed) == 0 && !p.Drop {
		// Recorded before decisions carried methods: the level alone,
		// which is what delivery offered then.
		listed = []policy.Level{level}
	}
	var out []policy.Level
	for _, l := range listed {
		if !l.AtLeast(level) || (l == policy.Opportunistic && m.PHI) {
			s.log.Error("method below the recipient's level refused", "recipient", row.ID, "level", row.Level, "method", string(l))
			continue
		}
		out = append(out, l)
	}
	return out, p.Drop
}

// current is the method the recipient is at, or false when none is left.
func (r *rcpt) current() (policy.Level, bool) {
	if r.step >= len(r.methods) {
		return "", false
	}
	return r.methods[r.step], true
}

// deliver walks one message's recipients along their chains and returns a
// verdict per recipient, in order.
func (b *batch) deliver(ctx context.Context, g *group) []verdict {
	out := make([]verdict, len(g.rcpts))
	todo := make([]int, len(g.rcpts))
	for i := range todo {
		todo[i] = i
	}
	for len(todo) > 0 {
		var order []policy.Level
		by := map[policy.Level][]int{}
		for _, i := range todo {
			m, ok := g.rcpts[i].current()
			if !ok {
				out[i] = g.rcpts[i].exhausted()
				continue
			}
			if by[m] == nil {
				order = append(order, m)
			}
			by[m] = append(by[m], i)
		}
		todo = todo[:0:0]
		for _, m := range order {
			idx := by[m]
			rs := make([]*rcpt, len(idx))
			for j, i := range idx {
				rs[j] = g.rcpts[i]
			}
			vs := b.attempt(ctx, g, m, rs)
			for j, i := range idx {
				if vs[j].kind == unavailable {
					r := g.rcpts[i]
					r.skipped = append(r.skipped, Skip{Method: string(m), Reason: vs[j].reason})
					r.step++
					todo = append(todo, i)
					continue
				}
				out[i] = vs[j]
			}
		}
	}
	for i, r := range g.rcpts {
		out[i] = r.annotate(out[i], b.s.clock)
	}
	return out
}

// attempt tries one method for recipients of a message.
func (b *batch) attempt(ctx context.Context, g *group, m policy.Level, rs []*rcpt) []verdict {
	switch m {
	case policy.Opportunistic, policy.VerifiedTLS:
		tr := opportunistic
		if m == policy.VerifiedTLS {
			tr = verified
		}
		return b.transfer(ctx, g, rs, tr)
	case policy.E2E:
		out := make([]verdict, len(rs))
		for i, r := range rs {
			out[i] = b.encrypted(ctx, g, r)
		}
		return out
	case policy.Portal:
		if b.s.deps.Portal == nil {
			return repeat(verdict{kind: unavailable, reason: "the secure portal is not available on this node"}, len(rs))
		}
		out := make([]verdict, len(rs))
		for i, r := range rs {
			out[i] = verdict{kind: portaled, reason: r.skipSummary()}
		}
		return out
	}
	return repeat(verdict{kind: unavailable, reason: "unknown method " + string(m)}, len(rs))
}

// transfer sends the message as it is to rs over tr: signed, captured in
// demo mode, else over SMTP. Without a verified path a verified-tls
// attempt is unavailable, so the walk moves on.
func (b *batch) transfer(ctx context.Context, g *group, rs []*rcpt, tr transport) []verdict {
	raw, err := b.content(ctx, g)
	if err != nil {
		return repeat(tempf("4.3.0", "the message could not be opened"), len(rs))
	}
	signed, err := b.sign(ctx, g.msg, raw)
	if err != nil {
		b.s.log.Warn("dkim sign", "message", g.msg.ID, "error", err)
		return repeat(tempf("4.3.0", "the message could not be DKIM-signed"), len(rs))
	}
	if b.s.deps.Capture != nil {
		return repeat(demoVerdict(signed), len(rs))
	}
	vs := b.send(ctx, &txn{msg: &g.msg, rcpts: rs, tr: tr}, signed)
	for i := range vs {
		if vs[i].kind == held {
			vs[i].kind = unavailable
		}
	}
	return vs
}

// demoVerdict is a demo-mode capture of content: delivered, nothing sent.
func demoVerdict(content []byte) verdict {
	return verdict{kind: delivered, code: 250, reason: "captured by demo mode; nothing was sent", capture: content,
		receipt: &Receipt{AuthorizedBy: byDemo, TLS: "none", Verification: "none", Code: 250}}
}

// exhausted is the verdict when no method is left: dropped when policy
// forbids the portal, held otherwise (fail closed).
func (r *rcpt) exhausted() verdict {
	if r.drop {
		return verdict{kind: dropped, enhanced: "5.7.1", reason: "dropped by policy (TLS only, else drop; never the portal): " + r.skipSummary()}
	}
	if len(r.skipped) == 0 {
		return verdict{kind: held, reason: "no acceptable delivery method for the required level " + r.row.Level}
	}
	if len(r.skipped) == 1 {
		return verdict{kind: held, reason: r.skipped[0].Reason}
	}
	return verdict{kind: held, reason: r.skipSummary()}
}

// skipSummary says why the methods before the current one were passed
// over: "verified-tls: no verified TLS path …; e2e: no valid key …".
func (r *rcpt) skipSummary() string {
	if len(r.skipped) == 0 {
		return "no method was available"
	}
	parts := make([]string, len(r.skipped))
	for i, sk := range r.skipped {
		parts[i] = sk.Method + ": " + sk.Reason
	}
	return strings.Join(parts, "; ")
}

// annotate adds the walk to a verdict's receipt: the method used and the
// ones passed over. A verdict of the first method with no receipt keeps
// the recipient's previous one (as before the walk existed).
func (r *rcpt) annotate(v verdict, now func() time.Time) verdict {
	m, _ := r.current()
	used := ""
	switch v.kind {
	case delivered, temporary, permanent, portaled:
		used = string(m)
	}
	if v.receipt == nil {
		if len(r.skipped) == 0 && v.kind != portaled && v.kind != dropped {
			return v
		}
		v.receipt = &Receipt{At: now().UTC(), AuthorizedBy: byNone, TLS: "none", Verification: "none"}
		if v.kind == portaled {
			v.receipt.AuthorizedBy = byPortal
		}
	}
	v.receipt.Method, v.receipt.Skipped = used, r.skipped
	return v
}
