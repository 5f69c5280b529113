// Package portal is carepost's secure portal: where a recipient whose
// message may not travel by email (policy level portal, or the fallback
// chain when neither verified TLS nor end-to-end encryption can be had)
// reads it, downloads its attachments and replies, after proving who they
// are. It is the fail-closed end of every decision: PHI that cannot leave
// at the level policy requires stays in carepost.
//
// # Handoff
//
// Handoff moves one recipient of a committed message into the portal, in
// the caller's transaction: the outbox calls it for recipients whose first
// method is portal, in the submission's own transaction, and delivery
// calls it, in its outcome transaction, for recipients whose fallback walk
// reached the portal (no verified TLS path, no valid key). It
// refuses (ErrDeclined, and the recipient stays held) a recipient whose
// methods do not include the portal — a TLS-only source's recipient is
// dropped, never portaled — and the portal's own notifications and codes,
// so a notification that policy itself holds can never loop. The content
// is not copied: the portal item binds the recipient to the message, whose
// content stays sealed in messages.content under its keyring AAD. The
// recipient becomes state portal with a message.held event and an audit
// entry, and a notification is submitted through the outbox in the same
// transaction. A recipient handed over at submission gets a security
// receipt saying so (method portal); one handed over by delivery keeps
// delivery's, which names the methods passed over.
//
// # What the notification may contain
//
// The notification is a system message that declares itself free of PHI
// (so policy lets it travel at opportunistic TLS) and is therefore built
// only from what is not PHI: the sender organization's name, the
// organization's notification text (checked by the PHI detectors when it
// is saved), the link, and the link's expiry. Never the body, never
// attachment names, and never the subject — unless the organization chose
// to show it and the policy engine found no PHI in it
// (Decision.SubjectFlagged). One-time codes go the same way and carry the
// organization's name and the code only. Both are tagged so that Handoff
// declines them.
//
// # Token lifecycle, and why GET never consumes
//
// The link carries a token of 256 random bits ("cpm_" and 43 base64url
// characters); only its SHA-256 is stored, so the database alone cannot
// open anything. The token names the item; it is never a credential on
// its own: every visit needs a fresh proof. Mail scanners and link
// rewriters (Safe Links) fetch links before people click them, so a GET of
// the link only shows a landing page and changes nothing; every action —
// sending a code, checking a proof — is an explicit POST with a CSRF
// check. The token stays usable until the item is revoked or expires
// (default 30 days, per organization), after which the portal answers 410
// and shows no content.
//
// # Identity proofs
//
//   - a one-time code sent to the recipient's address through the outbox
//     (default 8 digits, single use, 10 minutes, 5 tries per code, 5 codes
//     an hour), or by SMS to a phone number the sender gave, through
//     SMSSender — which the secure-text feature implements; until then
//     SMS is not offered;
//   - a passphrase the sender set (argon2id through package password);
//   - a portal account: password (NIST SP 800-63B policy, argon2id) and
//     TOTP (RFC 6238), created by a recipient who proved their address
//     with an emailed code, and found again by the blind index of that
//     address in the same organization.
//
// Failed proofs of every kind count against the item; max_failures in a
// row lock it for the lockout time. Every proof, failed or not, is
// audited with the recipient as the actor (audit.ActorRecipient, the
// recipient id, never the address).
//
// # Sessions, kept apart from staff
//
// A proof opens a portal session: a server-side row (portal_sessions)
// granting exactly one item, with its own cookie (__Host-carepost-portal),
// a short idle timeout and an absolute lifetime, its own CSRF token. A
// portal session is not an auth.Session and carries no permissions;
// portal accounts are not users. Revoking or expiring an item ends its
// sessions. Every read of content or of an attachment is audited, and
// refused when the audit entry cannot be written.
//
// # Reading and replying
//
// HTML is sanitized with an allowlist (bluemonday, stricter than its UGC
// policy: no classes, styles, forms or scripts) and remote content is
// removed (images only as data: URIs; links open in a new window without
// a referrer), then shown under a CSP that loads nothing from elsewhere.
// Attachments download as attachments with nosniff. A reply is a new
// message to the original sender through the outbox, with the recipient
// as its actor, under the same policy as any message; forwarding is not
// offered.
package portal
