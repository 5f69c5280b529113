// Package policy decides, for every recipient of every message, how the
// message may travel: the lowest protection level, the ordered methods
// delivery may use, and every rule that led there. It is carepost's answer
// to "encryption optional will fail audits": the system, not the sender,
// picks the method (HIPAA 164.312(e)(1), transmission security, and
// 164.312(e)(2)(ii), encryption).
//
// Levels, weakest to strongest:
//
//	opportunistic  TLS if the receiving server offers it (never for PHI)
//	verified-tls   TLS 1.2+, certificate valid for an MX host authorized by
//	               MTA-STS (enforce), DANE, or a partner pin
//	e2e            OpenPGP or S/MIME to the recipient's own key
//	portal         the content stays in carepost's secure portal
//
// # The floor
//
// Decide is the floor every decision starts from: PHI is assumed, so the
// level is verified TLS; only a source that guarantees its content carries
// no PHI may use opportunistic TLS; REQUIRETLS and the submitter's security
// field raise. Nothing below ever lowers it.
//
// # Requirements, then overrides (precedence and inheritance)
//
// Engine.Decide weighs, in order, each rule raising the level and none
// lowering it:
//
//  1. the floor (above);
//  2. content: a finding (package phi) at or above the policy's confidence
//     threshold refuses opportunistic even for a "no PHI" source; content
//     rules raise by detector ("an SSN goes by portal"); content that could
//     not be fully scanned raises to the strongest level any content rule
//     names (fail closed);
//  3. the subject tag ("[secure]" by default) raises to e2e — e2e if the
//     recipient has a key, else the portal — and is removed before the
//     message is stored, from Subject and from the Thread-Topic Exchange
//     repeats it in (StripSubjectTag; every source alike, the gateway
//     included); a finding in the subject sets SubjectFlagged so
//     notifications leave the subject out;
//  4. the recipient's domain: pinned partner domains require verified TLS;
//     always-portal domains (consumer mailbox providers by default) require
//     the portal for PHI;
//  5. overrides: per recipient address, recipient domain, sender address
//     or sender group (role). Inheritance is "most specific wins":
//     recipient address > recipient domain (a longer domain is more
//     specific) > sender address > sender group, and among equals the
//     strongest. The winning override then applies like any other rule —
//     it can only raise what steps 1-4 require, never lower it — so an
//     address override can relax what its domain's override asked, but not
//     what content, the tag, the domain lists or the submitter required;
//  6. a TLS-only source ("TLS only, else drop", for marketing) requires
//     verified TLS and never the portal (below).
//
// Every rule that applied is a Reason (id, level, detail without PHI) and
// the deciding one is Decision.Rule; the outbox stores both per recipient,
// so the security receipt, GET /messages/{id} and POST /policy/explain show
// the same explanation.
//
// # The fallback chain
//
// A decision carries Methods, the ordered list delivery walks:
//
//	verified-tls  → [verified-tls, e2e, portal]   (e2e only with a key)
//	e2e           → [e2e, portal]                  (portal alone without)
//	portal        → [portal]
//	opportunistic → [opportunistic]
//	TLS-only      → [verified-tls] and Drop, or [] and Drop when the
//	                requirement is above verified TLS: the recipient fails
//	                with its reason and is never handed to the portal
//
// so a message that needs verified TLS, to a domain that cannot offer it,
// goes end to end if carepost holds a usable key for the recipient and to
// the portal otherwise: it fails closed. Whether a key is usable (expired,
// revoked, failing validation) is the KeyDirectory's concern; the engine
// only asks. The decision is made once, here; the outbox stores Methods
// and Drop with the recipient and package delivery walks them, checking
// the transport and the key again at each attempt.
//
// # Configuration
//
// Each organization has one policy Document, versioned: every save is a new
// version, validated with errors naming the field, sealed with the keyring
// (overrides can name patients' addresses), audited as "policy.update".
// Compiled policies are cached per organization for Options.CacheTTL and
// dropped at once on this node when changed.
package policy
