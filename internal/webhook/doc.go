// Package webhook sends an organization's message events (queued,
// delivered, deferred, bounced, failed, held) to the HTTPS endpoints it
// registered, signed per the Standard Webhooks specification
// (https://www.standardwebhooks.com/, version 1.0.0), retried for more than
// a day, recorded in a delivery log, and kept away from internal networks.
//
// # Endpoints
//
// An endpoint belongs to one organization: every call takes the org id, and
// another organization's endpoint is store.ErrNotFound, exactly like a
// missing one. It has a URL, a description, the event types it subscribes
// to (none means all) and a signing secret, "whsec_" and the base64 of 32
// random bytes, shown once when created or rotated and stored sealed by the
// keyring (bound to org, webhook_endpoints, secret, endpoint id); the table
// is registered with the keyring, so data-key rotation re-encrypts secrets.
// RotateSecret keeps the previous secret for Options.SecretOverlap, during
// which requests carry both signatures. Changes run in the caller's
// transaction, so the caller appends the audit entry (it knows the actor)
// in the same one.
//
// # Payload contract: no PHI
//
// The producing package builds Event.Data; this package wraps it as
// {"id", "type", "timestamp", "data"} (the Standard Webhooks payload
// structure), minified, at most MaxPayload bytes. Data holds identifiers,
// states, reason codes, counts and timestamps only, never addresses, names,
// subjects, bodies, file names or remote server text: the receiver is
// outside carepost's controls, and payloads are kept in clear in the
// delivery log. A receiver that needs more fetches it through the API,
// which authenticates and audits the read ("thin payloads" in the
// specification). Enqueue refuses data containing '@' as a guard against
// addresses slipping in; it is not a PHI detector.
//
// # Delivery state machine
//
// Enqueue runs in the producer's transaction: it stores the event once and
// a delivery per subscribed, enabled endpoint, each with its River job, so
// an event exists and will be sent if and only if that transaction commits.
// A delivery's id is its webhook-id, the same on every attempt, which
// receivers use as an idempotency key.
//
//	pending --2xx--------------------------------> succeeded
//	pending --410 Gone (endpoint disabled)-------> failed
//	pending --endpoint disabled meanwhile--------> failed
//	pending --other status, timeout, network-----> pending (next attempt)
//	pending --same, and the schedule is done-----> exhausted
//
// Each job makes one attempt. It reads the delivery outside any transaction
// (no write lock is held during the request), posts, then in one
// transaction records the attempt (conditional on the delivery still being
// pending with the expected attempt count, so a job River runs twice records
// once), moves the state and inserts the job of the next attempt with
// ScheduledAt. River's own retries are left to failures of the database; the
// schedule and the log are ours. Redirects are not followed and count as
// failures. Deleting an endpoint deletes its log and drops pending
// deliveries.
//
// # Schedule
//
// DefaultSchedule is the Standard Webhooks example cut after a day:
// immediately, 5s, 5m, 30m, 2h, 5h, 10h, 10h, eight attempts over 27h35m,
// each retry delayed by up to Options.Jitter (10%) more at random. River
// promotes scheduled jobs every few seconds, so short delays are a lower
// bound. Each attempt has Options.Timeout (10s).
//
// # Signatures
//
// Each request carries webhook-id, webhook-timestamp (the attempt's Unix
// time in seconds) and webhook-signature: "v1," and the base64 of
// HMAC-SHA256, keyed with the base64-decoded secret after "whsec_", over
// id + "." + timestamp + "." + body. Several space-separated signatures may
// appear (secret rotation). Verify is the receiver's side, with a five
// minute tolerance and constant-time comparison.
//
// # Wiring
//
// The worker inserts each next attempt through the River client running it
// (river.ClientFromContext), so it does not need the job client and can be
// registered before that client exists; the Service needs it for Enqueue.
// A River client that works jobs refuses to insert kinds it has no worker
// for, so register the worker on the client passed to New:
//
//	w, err := webhook.NewWorker(db, keys, opts)
//	workers := river.NewWorkers()
//	river.AddWorker(workers, w)
//	jc, err := jobs.New(db, workers, periodic, jobOpts)
//	hooks, err := webhook.New(db, keys, jc, opts)
//
// # SSRF threat model
//
// Endpoint URLs are chosen by organization administrators, who must not be
// able to reach what carepost can: the cloud metadata service
// (169.254.169.254), the database, admin ports on loopback, the hospital's
// internal network. The guard is a net.Dialer Control hook, so it checks
// every address after name resolution and before connect(2): a name that
// resolves to a forbidden address, including one that changes its answer
// between validation and delivery (DNS rebinding), is refused without a
// packet sent. Refused by default: loopback, RFC 1918 and RFC 4193
// private, link-local, unspecified and "this network", CGNAT 100.64/10,
// multicast, broadcast and reserved, documentation and benchmarking ranges,
// and IPv6 forms that carry such an IPv4 address (mapped, compatible,
// NAT64, 6to4, Teredo). Options.Allow lets an administrator open ranges.
// Proxies from the environment are ignored (a proxy would dial out of the
// guard's sight), redirects are not followed, and URLs are validated when
// set: https only (http only with Options.AllowHTTP, for development), no
// user info or fragment, and IP literals in forbidden ranges refused at
// once with a clear message. Not covered: a public receiver that is itself
// a proxy into someone's network; an allowed range is trusted wholesale.
package webhook
