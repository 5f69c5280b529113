// Package senderdomain manages the domains an organization sends from: the
// DKIM keys of each, the DNS records it must publish, the check that reads
// them back, and the answers the rest of the sending pipeline asks for —
// may this organization send from this domain (Verified, for package
// outbox), and with which keys is its mail signed (Signer, for delivery).
//
// # Keys
//
// Add makes two keys per domain, RSA-2048 and Ed25519 (RFC 8463), under
// selectors named for the month (package dkim). The private keys are
// encoded as PKCS #8, put in one small JSON bundle and sealed by the
// keyring, bound to (organization, "sender_domains", "dkim_keys", row id)
// so a ciphertext copied to another row or tenant does not open. The table
// is registered with the keyring, so data-key rotation re-encrypts the keys
// with everything else. Unsealed keys live only in memory: in the Signer
// cache of this node, keyed by (organization, domain) and holding the exact
// ciphertext it came from; every Signer call re-reads the row, so a delete,
// a re-encryption or new keys on any node are noticed at the next message,
// and Delete on this node also drops the entry at commit.
//
// # Dual signing
//
// Signer signs every message with both keys (RFC 8463 section 4; RFC 6376
// section 4.2 lets a verifier accept any one valid signature): receivers
// that understand Ed25519 check the small, fast signature, and the rest
// fall back on RSA. Both keys must therefore be published.
//
// # Verification
//
// A domain starts pending. Check looks up, through the configured
// resolver (package dns), every record Records lists: both DKIM keys
// (RFC 6376 section 3.6.2.1), SPF (RFC 7208), DMARC (RFC 7489) and, when
// the server has a TLS-RPT mailbox, TLS-RPT (RFC 8460). Each is found,
// missing, mismatch (something else is published) or error (the lookup
// failed, try again), and the result is kept as the domain's last check.
// The domain becomes verified when both DKIM records publish exactly our
// public keys. Only DKIM decides, for two reasons. Publishing a random
// public key we generated at a name under the domain is proof that whoever
// asked controls the zone, which is all verification has to establish;
// and DKIM is what carepost itself needs, since every message is signed.
// SPF, DMARC and TLS-RPT are the domain's policy towards receivers: a
// clinic often has an SPF record for other senders that its DNS team must
// merge by hand, or a DMARC record in p=none while it rolls out, and
// carepost's aligned DKIM signature passes DMARC on its own (RFC 7489
// section 4.2: SPF or DKIM). So they are reported as warnings, never a
// reason to stop a clinic sending. A verified domain stays verified when a
// later check fails: a DNS outage must not stop clinical mail, and a
// receiver that cannot find the key rejects the signature anyway.
//
// # Exact domains only
//
// Verified and Signer match the From domain exactly: verifying example.org
// does not let its organization send as billing.example.org. A subdomain is
// often delegated to someone else (a marketing vendor, another hospital of
// the group), and DMARC's strict alignment, which the published record asks
// for (adkim=s), would fail a signature by example.org on mail from the
// subdomain anyway. Each subdomain is added and verified on its own.
//
// # One owner per domain
//
// A domain belongs to at most one organization. Adding one that another
// organization holds is refused with the same input error whoever holds it,
// so tenants cannot learn each other's domains beyond the fact of a claim.
// A pending claim holds the name for Options.PendingClaim (seven days);
// after that, another organization adding the name takes it over (audited
// "domain.release" in the old owner's chain), so an unverified claim
// cannot squat on a hospital's domain.
//
// # Demo mode
//
// With Options.Demo (demo.enabled) Add verifies at once, without DNS: demo
// mode captures every outbound message locally, so nothing reaches anyone
// in the domain's name. Such a verification is marked as demo-only and
// counts only while demo mode is on: turned off, the domain is pending
// again until a DNS check passes, so a demo cannot be used to skip proof
// of control.
//
// # Deleting
//
// Delete refuses while mail from the domain is still waiting for delivery
// (queued, sending or deferred recipients): the delivery workers could not
// sign it any more. Once that mail is delivered, bounced or expired the
// domain can go; deleting it drops the keys for good.
//
// Every change is audited in the organization's chain inside its own
// transaction: domain.add, domain.check, domain.verify, domain.delete,
// domain.release.
package senderdomain
