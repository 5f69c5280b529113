// Package audit is carepost's tamper-evident audit log: the audit controls of
// HIPAA 164.312(b) ("record and examine activity in information systems that
// contain or use electronic protected health information"), kept for the six
// years of HIPAA 164.316(b)(2).
//
// # Chains
//
// Every entry belongs to one hash chain: the organization it concerns (the
// chain is the organization id, "org_…") or SystemChain for install-wide
// events. Each entry carries its chain's next sequence number, the hash of the
// entry before it (PrevHash; 32 zero bytes for seq 1) and its own Hash, the
// SHA-256 of its canonical encoding, which includes PrevHash. Editing,
// deleting or reordering an entry therefore breaks the links after it.
//
// The chain's head row (audit_heads: chain, seq, hash) is the serialization
// point. Append runs inside the caller's transaction, so if the audit write
// fails the action it records is refused, and if the action rolls back so
// does its entry. Append checks the entry and queues it on the transaction
// (store.Tx.Queue); just before the transaction commits, Flush writes every
// entry it queued: per chain, the head upserted once (seq = seq + n, see
// store.AdvanceAuditHeadBy) and the entries inserted together, chains in
// name order. The upsert locks the head row until the transaction ends on
// PostgreSQL and is serialized by the single writer on SQLite; several
// nodes on one PostgreSQL thus produce one gap-free chain per organization.
// Because the heads are taken last, they are held only for the commit, and
// because every transaction takes them in one order, a group-commit batch
// holding several organizations' heads never waits in a cycle with another
// (an entry written at once, in request order, did: two batches could hold
// two organizations' heads in opposite orders and deadlock on PostgreSQL).
// A savepoint rolled back drops what it queued. Record appends in a
// transaction of its own and returns the entry as written; on SQLite never
// call it while holding a write transaction — use Append with that
// transaction.
//
// # Canonical encoding (format version 1)
//
// An external verifier can recompute every hash from an export. With
// str(s) = uint32 big-endian byte length of s, then the bytes of s, and
// u64/i64 = 8 bytes big-endian (i64 in two's complement), an entry encodes as:
//
//	"CPAE" 0x01                      magic and format version
//	str(chain) u64(seq)
//	i64(at)                          microseconds since the Unix epoch, UTC
//	str(actor_type) str(actor_id)
//	str(action)
//	str(target_type) str(target_id)
//	str(outcome)
//	str(client_ip) str(user_agent)
//	uint32(n) then n × (str(key) str(value))  details, keys in ascending byte order
//	str(prev_hash)                   32 bytes
//
// and Hash = SHA-256(encoding). A checkpoint signs, with Ed25519 (RFC 8032,
// pure, no pre-hash):
//
//	"CPAC" 0x01 str(chain) u64(seq) str(hash) i64(at)
//
// The distinct magics keep an entry encoding and a checkpoint message from
// ever being mistaken for one another, and the version byte lets a later
// format coexist: a future version will add a column saying which rows use it.
// Export writes the same fields as JSON lines (Entry.MarshalJSON, hashes in
// lower-case hex, at in RFC 3339 with exactly six fractional digits), so
// VerifyExport, or a verifier written from this description, needs nothing
// but the export, the checkpoints and the public keys.
//
// # What an entry may hold
//
// Actions are dotted lower-case names, "<area>.<verb>" or deeper:
// "auth.login", "auth.mfa.enroll", "keys.rotate", "message.read". The area is
// the package or product that acts. Targets name what was acted on by type
// ("message", "user", "apikey") and id. Details are a small map of IDs, counts
// and reasons; never PHI. Callers pass no e-mail addresses, subjects, names,
// phone numbers or message content: an entry is retained for six years and
// exported to SIEMs that are not PHI stores. Append enforces the shape (key
// charset, value size, no '@' in values or ids) as a guard against mistakes,
// not as a PHI detector; a refused entry refuses the action. WithRequest lets
// the HTTP edge attach the client IP, user agent and request id once per
// request; being client input, a malformed IP or request id from there is
// dropped and the user agent is cleaned and cut to MaxUserAgentLen instead.
//
// # Checkpoints and keys
//
// A periodic job calls Checkpoint, which for each chain whose head moved
// first re-verifies the entries since the chain's previous checkpoint and
// then signs (chain, seq, hash, time) with the install's Ed25519 key. The
// public key is recorded in audit_signing_keys on first use. Verify walks
// every chain in pages, recomputing each hash and link, compares each
// checkpoint's hash with the entry at its seq, checks the head row against
// the last entry, and reports a checkpoint beyond the last entry as
// truncation.
//
// Verify trusts the public keys of Options.Signer and Options.TrustedKeys.
// Only when neither is configured does it fall back to the keys recorded in
// the database, and says so (Report.KeysFromDatabase), because anyone who
// can write the database can also add a key there.
//
// # Threat model
//
// Detected: an attacker with write access to the database (the triggers of
// migration 0001 dropped) who edits, deletes, inserts or reorders entries,
// rewrites a chain with consistent recomputed hashes up to a checkpointed
// seq, truncates entries covered by a checkpoint, moves the head, forges or
// alters a checkpoint, or removes entries from the start of a chain that are
// younger than the retention.
//
// Not detected: changes to entries written after the chain's last checkpoint
// by an attacker who also rewinds or rewrites the head (the checkpoint
// interval bounds that window; a SIEM copy of the export narrows it);
// deletion of checkpoints together with the entries they cover, or of a whole
// chain with its head, unless a copy of the checkpoints kept elsewhere is
// passed to VerifyOptions.Checkpoints;
// and anything done by an attacker holding both the database and the signing
// key, who can rewrite and re-sign everything. That is why checkpoints (the
// return value of Checkpoint, or ExportCheckpoints) should also be shipped
// off the box, to the SIEM or to write-once storage, and why the trusted
// public keys should come from outside the database.
//
// # Retention
//
// Nothing in the application deletes an entry younger than MinRetention (six
// years; the database triggers refuse it too). Prune removes older entries
// only up to a signed checkpoint, in transactions of about ten thousand
// entries that each end at a checkpoint, records each deletion as an
// "audit.prune" entry in SystemChain, and leaves that checkpoint as the
// chain's anchor: Verify accepts a chain that starts after seq 1 only when a
// valid checkpoint at the seq before its first entry exists, matches that
// entry's PrevHash and is older than MinRetention.
package audit
