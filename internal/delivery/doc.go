// Package delivery is carepost's outbound queue: it takes the recipients
// the outbox committed and delivers them to their domains' MX hosts at the
// transport level policy requires, or not at all.
//
// # Scheduling
//
// The queue is the recipients table; River runs the work, one job per
// destination-domain batch, never one per message (River on SQLite burns
// down about 1.7k jobs/s). The outbox calls ScheduleTx in the submission's
// transaction. It arms the domain's head row in delivery_slots and inserts
// a job only when the domain was not armed already, so a burst of a
// thousand submissions to one domain makes one job. A job disarms the
// domain as it starts, so a submission that commits after that arms it
// again: nothing is missed. This is a row in our own table rather than
// River's unique jobs because River requires "running" among the unique
// states — a unique job that has already claimed would swallow the wake-up
// of a message committed after its claim. Every decision about a domain
// (arming, a job starting, a batch ending) begins by locking its head row;
// on PostgreSQL that orders them, so a job's claim sees every submission
// that armed before it, and a batch that ends sees what a job that found
// no free slot left behind. Only a job's start waits for that lock;
// submissions and batch ends run in group-commit transactions holding other
// locks, so they only try it and, when it is taken, insert a spare job
// rather than risk a deadlock.
//
// # Claims and parallel batches
//
// A job takes a free slot of its domain (at most
// delivery.connections_per_domain batches, each on its own connection,
// deliver to one domain at once, across all nodes) and claims up to
// delivery.batch due recipients — queued, deferred with next_attempt_at
// reached, or sending with an expired lease — in one short transaction that
// marks them sending with a lease (delivery.lease, 10 minutes). On
// PostgreSQL the claim selects FOR UPDATE SKIP LOCKED, so claims racing on
// one domain take disjoint rows; River's own locking only keeps one job
// from running twice, and the row claim is what keeps two different jobs,
// on any nodes, from sending the same recipient. The lease is also the
// claim's fencing token: outcomes are written only to rows that still hold
// it. A full claim wakes the domain again, so the next batch starts in
// another slot while this one delivers; a job that finds every slot held
// ends, and the batch that ends next looks for more work in the
// transaction that writes its last outcomes. A job whose batch was full
// claims again at once, keeping its slot and its sessions, for up to a
// fifth of a lease (run): ending after every batch left the slot idle
// until the job engine fetched the next job, and under a backlog a domain
// then ran on a few of its slots. delivery.rate_per_domain caps
// recipients claimed per domain per minute. A periodic sweep (River's
// elected leader, every delivery.sweep_interval) wakes domains whose
// retries came due or whose leases expired — a node killed mid-batch — and
// re-arms domains whose job was lost.
//
// # Routing
//
// A batch resolves its domain once: MX records in preference order, equal
// preferences shuffled (RFC 5321 section 5.1); a null MX bounces at once
// with 5.1.10 (RFC 7505); a domain without MX records is its own exchanger
// at its A/AAAA addresses (RFC 5321 section 5.1, "implicit MX"); a domain
// that does not exist bounces (5.1.2); a failed lookup defers. Recipients
// are grouped by message, so each message is one SMTP transaction with one
// RCPT per recipient, and every transaction of the batch to one host reuses
// one connection — and so do the job's next batches, when the host is
// authorized the same way again (connKey: host, address and how its
// certificate is judged, a DANE record set included). Messages are
// DKIM-signed through the Signers seam (package senderdomain) just before
// sending.
//
// # Transport levels and how each is authorized
//
// PHI never leaves below the level policy set for the recipient. An
// opportunistic recipient (a source that declared no PHI) gets STARTTLS
// when offered (RFC 7435); a PHI message at that level is refused. A
// verified-tls recipient goes only to an MX host one of these authorizes,
// tried in this order:
//
//   - DANE (RFC 7672): when the MX answer and the host's address answer are
//     DNSSEC-authentic (delivery.trust_dnssec), usable DANE-EE or DANE-TA
//     records at _25._tcp.<host> from an authentic answer replace PKIX: the
//     certificate must match them. A TLSA lookup that fails defers and never
//     falls back (section 2.1.1); unsigned or absent records mean no DANE.
//   - MTA-STS (RFC 8461): a policy in enforce mode that lists the host;
//     the certificate must be valid for the host name under the web PKI.
//     Policies are cached in the database for their max_age, so one learned
//     before an attack survives restarts. Testing mode authorizes nothing;
//     an enforce policy that does not list the host forbids it.
//   - a partner pin the organization configured for the domain
//     (transport_pins): PKIX for an MX host matching its pattern and,
//     optionally, exactly the pinned certificate.
//
// In every case the session must have STARTTLS, TLS 1.2 or later and the
// verification, or smtpclient sends nothing, not even the envelope. A host
// nothing authorizes is skipped; when no host of the domain is authorized,
// verified TLS is unavailable (NoVerifiedPath) and the walk moves on. An
// authorized host whose TLS fails — an attacker stripping STARTTLS, a wrong
// certificate — defers: the attacker causes delay and finally failure,
// never cleartext, and never another method. REQUIRETLS (RFC 8689) is
// passed on; when no MX host supports it the message bounces with 5.7.30.
//
// # The fallback walk
//
// Delivery decides nothing about policy: the outbox records, beside each
// recipient, the methods its decision allows in order and whether running
// out of them drops it, and delivery follows that record (walk.go). It
// tries the current method and moves to the next only when the method is
// unavailable — verified TLS with no authorized host, e2e with no key
// valid now, no portal on the node — never because an attempt failed in a
// way that may pass. e2e encrypts each recipient's copy through the
// Encrypter (the key directory: PGP/MIME or S/MIME), DKIM-signs the
// encrypted message and sends it over verified TLS where the domain
// publishes a way to verify, opportunistic TLS where it publishes none
// (e2e.go). The portal method hands the recipient over with Portal.Handoff
// inside the outcome transaction, in a savepoint: when the portal does not
// take it, only the handoff is undone and the recipient stays held. A
// chain that runs out drops the recipient (failed: the "TLS only, else
// drop" mode, never the portal) or holds it (fail closed). The receipt
// names the method used and the ones passed over with why, so it can be
// read against POST /policy/explain.
//
// # Outcomes
//
// A 250 after the data delivers; a 5xx bounces; a 4xx, a network, TLS or
// lookup failure defers with growing delays (delivery.retry: 1m, 5m, 15m,
// 30m, 1h, 2h, 4h, 8h, then every 8h) until the message's lifetime
// (delivery.lifetime, 5 days) ends, when it fails. A hard bounce of the
// address itself (RFC 3463 5.1.1, 5.1.2, 5.1.3, 5.1.6, 5.1.10, 5.2.1; see
// hardBounce) suppresses the address for the organization. When a message
// asked for notification (SMTP submission, RFC 3461), its bounced and
// failed recipients produce one delivery status notification (RFC 3464,
// headers of the original only, never its body) that goes back through
// the outbox, the one door, as a system message.
//
// Every state change is written in batched transactions (through group
// commit when the app has a Committer; a transaction PostgreSQL aborts to
// break a lock cycle is tried again) with, in the same transaction, its
// event (and webhook fan-out), the suppression, the portal handoff, and an
// audit entry per recipient for delivered, bounced, failed, held and
// handed to the portal (message.fallback): the accounting of
// disclosures needs each recipient, by id, never the address. Each attempt
// leaves a security receipt on the recipient (Receipt): MX host and
// address, TLS version and cipher, certificate fingerprint, how the peer
// was verified and what authorized it, the rule that set the level, the
// reply code — never the server's text.
//
// # Demo mode and several nodes
//
// With a Capture (demo mode, package demo) nothing is sent: each recipient
// is captured in the transaction that marks it delivered, with a receipt
// that says so. Several nodes on one PostgreSQL share the queue through the
// slot rows, the row claims and River; duplicates are possible only when a
// node dies between a 250 and writing it (at-least-once), losses are not.
package delivery
