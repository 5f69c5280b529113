package delivery

import (
	"bytes"
	"context"
	"errors"
	"net/netip"

	"github.com/carepost/carepost/internal/message"
	"github.com/carepost/carepost/internal/smtpclient"
	"github.com/carepost/carepost/internal/store"
)

// transport is how an SMTP transaction may travel.
type transport uint8

const (
	// opportunistic: STARTTLS when offered (RFC 7435); only for content
	// without PHI.
	opportunistic transport = iota + 1
	// verified: only to MX hosts MTA-STS, DANE or a pin authorize, over
	// TLS 1.2+ verified as they require.
	verified
	// bestEffort: end-to-end encrypted content (e2e.go): verified where
	// the domain publishes a way to verify, opportunistic where it
	// publishes none.
	bestEffort
)

// txn is one SMTP transaction's worth: a message, its recipients that
// share content and method, and how it may travel.
type txn struct {
	msg   *store.MessageRow
	rcpts []*rcpt
	tr    transport
}

// send delivers a group to the domain's MX hosts in preference order (RFC
// 5321 section 5.1): a host that is not authorized, cannot be reached or
// fails temporarily passes the remaining recipients to the next; a final
// answer (250 or 5xx) ends their attempt.
func (b *batch) send(ctx context.Context, g *txn, signed []byte) []verdict {
	n := len(g.rcpts)
	rt := b.route(ctx)
	if rt.fail != nil {
		return repeat(*rt.fail, n)
	}
	out := make([]verdict, n)
	pending := make([]int, n)
	for i := range pending {
		pending[i] = i
	}
	var notes []verdict // why hosts were skipped without an attempt
	tried, refusedTLS := make([]int, n), make([]int, n)
	for _, h := range rt.hosts {
		if len(pending) == 0 {
			break
		}
		b.resolve(ctx, h)
		if h.fail != nil {
			notes = append(notes, *h.fail)
			continue
		}
		var az *authz
		if g.tr != opportunistic {
			if az = b.authorize(ctx, g.msg.OrgID, h); az.fail != nil {
				if g.tr != bestEffort || az.fail.kind != held {
					notes = append(notes, *az.fail)
					continue
				}
				// The domain publishes no way to verify this host: the
				// end-to-end encrypted copy goes opportunistically.
				az = nil
			}
		}
		vs := b.sendHost(ctx, h, az, g, pending, signed)
		next := pending[:0:0]
		for j, i := range pending {
			out[i] = vs[j]
			tried[i]++
			if vs[j].requireTLS {
				refusedTLS[i]++
			}
			if vs[j].kind == temporary {
				next = append(next, i)
			}
		}
		pending = next
	}
	for _, i := range pending {
		switch {
		case tried[i] == 0:
			out[i] = summarize(notes)
		case refusedTLS[i] == tried[i]:
			// RFC 8689 section 4.2.1: no MX host supports REQUIRETLS, so
			// the message is returned, not sent without it.
			out[i] = verdict{kind: permanent, enhanced: "5.7.30", receipt: out[i].receipt,
				reason: "REQUIRETLS requested and no MX host of the domain supports it (RFC 8689)"}
		}
	}
	return out
}

// summarize is the verdict when no host was attempted: temporary if any
// host might work later, else permanent if one said so, else held (no
// verified path exists).
func summarize(notes []verdict) verdict {
	for _, k := range []kind{temporary, permanent, held} {
		for _, v := range notes {
			if v.kind == k {
				return v
			}
		}
	}
	return tempf("4.4.4", "no MX host could be tried")
}

// sendHost runs one transaction at host, trying its addresses in turn
// until one accepts a session; it returns a verdict per pending recipient.
func (b *batch) sendHost(ctx context.Context, h *mxHost, az *authz, g *txn, pending []int, signed []byte) []verdict {
	emails := make([]string, len(pending))
	utf8 := !ascii(g.msg.MailFrom)
	for j, i := range pending {
		emails[j] = g.rcpts[i].email
		utf8 = utf8 || !ascii(emails[j])
	}
	opts := smtpclient.SendOptions{RequireTLS: g.msg.RequireTLS, SMTPUTF8: utf8, EightBitMIME: message.EightBit(signed)}
	// A bytes.Buffer rather than a bytes.Reader: Send takes a Buffer's
	// bytes for BDAT without a copy. Nothing writes to it, so each attempt
	// wraps signed in a Buffer of its own.
	var last []verdict
	for _, ip := range h.ips {
		p, key, err := b.connect(ctx, h, ip.String(), az)
		if err != nil {
			v := dialVerdict(h.name, err)
			v.receipt = b.receipt(g, h, ip, az, nil)
			last = repeat(v, len(pending))
			continue
		}
		res, err := p.conn.Send(ctx, g.msg.MailFrom, emails, bytes.NewBuffer(signed), opts)
		if err != nil && p.reused && stale(err) {
			// The server closed a session we kept: one fresh try.
			b.drop(key)
			if p, key, err = b.connect(ctx, h, ip.String(), az); err != nil {
				v := dialVerdict(h.name, err)
				v.receipt = b.receipt(g, h, ip, az, nil)
				return repeat(v, len(pending))
			}
			res, err = p.conn.Send(ctx, g.msg.MailFrom, emails, bytes.NewBuffer(signed), opts)
		}
		if err != nil && stale(err) {
			b.drop(key)
		}
		vs := classify(len(pending), res, err)
		for j := range vs {
			vs[j].receipt = b.receipt(g, h, ip, az, p)
			vs[j].receipt.Code, vs[j].receipt.Enhanced = vs[j].code, vs[j].enhanced
		}
		return vs
	}
	return last
}

// stale reports an error that leaves the session unusable: a network
// failure or a 421 (RFC 5321 section 3.8).
func stale(err error) bool {
	var e *smtpclient.Error
	return errors.As(err, &e) && e.Kind == smtpclient.KindTemporary && (e.Code == 0 || e.Code == 421)
}

// receipt describes an attempt at host and ip; p is nil when no session
// formed.
func (b *batch) receipt(_ *txn, h *mxHost, ip netip.Addr, az *authz, p *pooled) *Receipt {
	r := &Receipt{At: b.s.clock().UTC(), MX: h.name, IP: ip.String(), AuthorizedBy: byNone, TLS: "none", Verification: "none"}
	if az != nil {
		r.AuthorizedBy, r.MTASTS = az.by, az.sts
	}
	if p != nil {
		r.fillTLS(p.conn.TLS(), p.verification)
		if p.dane != nil {
			r.DANERecord = p.dane.Record.String()
		}
	}
	return r
}

func ascii(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] >= 0x80 {
			return false
		}
	}
	return true
}
