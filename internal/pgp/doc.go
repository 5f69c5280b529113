// Package pgp is carepost's OpenPGP: parsing and checking recipients'
// public keys, the organization's signing key, and PGP/MIME messages, with
// github.com/ProtonMail/go-crypto (the maintained fork of x/crypto/openpgp,
// RFC 4880 and RFC 9580).
//
// # Keys
//
// ParseKeys reads transferable public keys (RFC 9580 section 10.1),
// ASCII-armored (section 6.2) or binary, at most MaxKeySize, and refuses
// private keys. Binding self-signatures are verified while parsing (a user
// ID or subkey whose signature does not verify is dropped). Describe
// reports the fingerprint, the addresses of the self-signed user IDs,
// creation and expiry. Check is the rule for using a key, applied at upload
// and again each time a message is encrypted:
//
//   - the primary key is not revoked (a key-compromise revocation counts
//     from the beginning) and neither it nor its self-signature has expired;
//   - a user ID carrying the recipient's address has a valid, unexpired,
//     unrevoked self-signature (the address binding is what makes the key
//     the recipient's);
//   - an encryption-capable subkey is valid at that time: its binding
//     signature has the encrypt-communications flag (section 5.2.3.29), it
//     is not expired or revoked; the newest one is chosen; a primary key
//     flagged for encryption serves only when no subkey does;
//   - that key is not RSA below 2048 bits nor ElGamal (section 12).
//
// # PGP/MIME
//
// Encrypt writes RFC 3156 section 4 multipart/encrypted around the inner
// MIME entity that package e2e splits off (protected headers,
// draft-autocrypt-lamps-protected-headers). The OpenPGP message uses
// AES-256 unless the recipients' preferences exclude it, SEIPD version 2
// (AEAD) only when every recipient announces it, and otherwise version 1
// with the MDC. Signing, when the organization has a key, is the combined
// method of RFC 3156 section 6.2: one OpenPGP message both signed and
// encrypted.
//
// # The organization's key
//
// GenerateSigningKey makes a v4 Ed25519 key that GnuPG 2.2 verifies. Its
// private serialization is sealed by the caller (package keydir keeps it as
// a keyring-sealed blob); ArmorPublic gives the public key to publish.
package pgp
