// Package keyring is carepost's envelope encryption at rest: every sealed
// column in the database (message bodies, attachments, PHI attributes,
// private keys) is AES-256-GCM ciphertext under a data key, and every data
// key is stored wrapped by a key-encryption key that never enters the
// database. The design follows the HashiCorp Vault barrier: versioned data
// keys under a root key, a ciphertext that names its key version, and the
// record's identity as additional authenticated data.
//
// # Two levels of key
//
// The key-encryption key (KEK) sits behind KeyEncrypter. Keyset is the local
// implementation: one or more 256-bit keys in a 0600 file (or an environment
// variable), the first one primary, each named by a public fingerprint
// ("k1-" and 12 hex digits). A KMS can implement the same interface later.
//
// Data keys (DEKs) are random 256-bit keys, one series per scope: an
// organization id, or SystemScope for install-wide secrets. They live in
// table data_keys, versions 1, 2, 3…, each wrapped by the KEK with the AAD
// "carepost:dek:v1\x00" + scope + "\x00" + version, so a wrapped key copied
// to another scope or version does not unwrap. The newest active version of a
// scope seals new data. Keeping the KEK outside the database means a copy of
// the database or of a backup reveals nothing without the key file, and that
// the key file must be backed up separately.
//
// # Ciphertext
//
//	byte  0      format version, 0x01
//	bytes 1..4   data-key version, uint32 big-endian
//	bytes 5..16  nonce: 96 random bits (NIST SP 800-38D section 8.2.2)
//	bytes 17..   AES-256-GCM ciphertext followed by the 16-byte tag
//
// The additional data is the record's identity, AAD{Scope, Table, Column,
// RowID}, encoded as "carepost:v1\x00", the format byte, the four version
// bytes, then each field with a uint32 length prefix. A ciphertext moved to
// another row, column, table or organization therefore fails to open, and so
// does one whose header was altered. Every failure to open is ErrDecrypt; no
// error or log carries plaintext or key material.
//
// # Rotation lifecycle
//
// Rotate adds a version and makes it current. Rows sealed before still open:
// their ciphertext names the old version. Reencrypt then moves rows of the
// registered tables (see Register and store.SealedTable) to the current
// version in batches, each its own transaction. The batch's rows are locked
// (FOR UPDATE on PostgreSQL; SQLite has one writer) and each update is
// conditional on the row's old dek_version, so a concurrent writer is never
// overwritten. RetireUnused marks versions that no registered row
// references as retired: they still open, they no longer seal. Random nonces
// allow 2^32 seals per key (NIST SP 800-38D section 8.3), so rotate on a
// schedule well inside that.
//
// KEK rotation is separate and touches no ciphertext: give every node a
// keyset with a new primary (Keyset.WithNewPrimary), run RewrapAll, check
// Status that no data key names the old KEK, then drop it (Keyset.Without).
// A database backup carries its own data_keys, wrapped as they were when it
// was taken: keep a dropped KEK offline for as long as backups made before
// the rewrap are retained, or they cannot be restored.
//
// # Several nodes
//
// Unwrapped data keys are cached in memory for good: a version's key never
// changes. Keys read inside a transaction are cached only after it commits,
// so a key created by a transaction that rolled back never seals anything.
// The current version of a scope is cached for Options.CurrentTTL (30s by
// default), because on PostgreSQL another node may rotate: for up to that
// long after a rotation, other nodes keep sealing with the previous version.
// That is safe (the previous key still opens) and the next Reencrypt moves
// those rows; run it again after CurrentTTL to catch them. Two nodes sealing
// in a new scope at once both end up on the one version 1 that committed
// first.
//
// # Keys are never deleted automatically
//
// Retiring is the end of a key's automatic life. Deleting one would make
// unreadable, forever, every row that still names it: rows written by a node
// with a stale current version after RetireUnused looked, rows in a table
// someone forgot to Register, exports sealed under it. A data key costs a
// few dozen bytes. Destroying a scope's keys on purpose (crypto-shredding an
// organization) is a separate, deliberate operation, not a side effect of
// rotation.
package keyring
