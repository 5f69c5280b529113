package delivery

import (
	"context"
	"errors"
)

// End-to-end encryption in the walk.
//
// An e2e recipient's copy is encrypted to its own key by the Encrypter
// (PGP/MIME or S/MIME, with the original header protected inside and a
// neutral outer Subject, package e2e), then DKIM-signed — last, so the
// signature covers what is sent — and sent in an SMTP transaction of its
// own, since no two recipients share a ciphertext.
//
// What transport e2e content needs: its confidentiality no longer rests
// on the transport, but the envelope and the outer header (From, To, Date,
// Message-ID) still travel, and a domain's own MTA-STS and DANE policies
// bind every sender (RFC 8461 section 4.1, RFC 7672 section 2.2). So an
// e2e copy goes over verified TLS to the hosts MTA-STS (enforce), DANE or
// a partner pin authorize, exactly like verified-tls mail, whenever the
// domain publishes a way to verify; only when nothing authorizes any host
// (the very case e2e is the fallback for) does it go with opportunistic
// TLS (RFC 7435: STARTTLS when offered). A TLS failure at an authorized
// host defers it, as it would verified-tls mail.

// encrypted is one e2e attempt for r: unavailable without a valid key.
func (b *batch) encrypted(ctx context.Context, g *group, r *rcpt) verdict {
	if b.s.deps.Encrypter == nil {
		return verdict{kind: unavailable, reason: "end-to-end encryption is not available on this node"}
	}
	raw, err := b.content(ctx, g)
	if err != nil {
		return tempf("4.3.0", "the message could not be opened")
	}
	enc, format, err := b.s.deps.Encrypter.Encrypt(ctx, g.msg.OrgID, r.email, raw)
	switch {
	case errors.Is(err, ErrNoKey):
		return verdict{kind: unavailable, reason: "no valid end-to-end key for the recipient (expired, revoked or removed)"}
	case err != nil:
		b.s.log.Warn("encrypt end to end", "message", g.msg.ID, "recipient", r.row.ID, "error", err)
		return tempf("4.3.0", "the message could not be encrypted end to end")
	}
	signed, err := b.sign(ctx, g.msg, enc)
	if err != nil {
		b.s.log.Warn("dkim sign", "message", g.msg.ID, "error", err)
		return tempf("4.3.0", "the message could not be DKIM-signed")
	}
	var v verdict
	if b.s.deps.Capture != nil {
		v = demoVerdict(signed)
	} else {
		v = b.send(ctx, &txn{msg: &g.msg, rcpts: []*rcpt{r}, tr: bestEffort}, signed)[0]
	}
	if v.receipt == nil {
		v.receipt = &Receipt{AuthorizedBy: byNone, TLS: "none", Verification: "none"}
	}
	v.receipt.E2E = format
	return v
}
