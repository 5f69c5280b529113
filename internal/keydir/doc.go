// Package keydir is an organization's recipient key directory and the seam
// through which delivery encrypts a message end to end: OpenPGP public keys
// (package pgp) and S/MIME certificates (package smime) that recipients or
// their organizations handed over, and optionally keys found in the
// recipient's Web Key Directory.
//
// # What is stored, and what is sealed
//
// Public keys are not secret, but their binding to an address is PHI
// adjacent: that a patient has a key, and which address is theirs. OpenPGP
// user IDs and certificate names carry the address, and a fingerprint can
// be looked up on public key servers, so the key material, its bound
// addresses and its fingerprint are sealed together by the keyring in
// recipient_keys.content (AAD = organization, table, column, row id).
// Lookups go by keyed blind index (package blindindex): the address index
// in recipient_key_addresses, and a fingerprint index that makes a
// re-upload of the same key replace the stored copy. In clear are only the
// kind, the algorithm label and the validity period, which identify no
// one. Listing masks addresses for principals without phi:read; an
// administrator can still ask for one address (List with email).
//
// # Validity is checked when a key is used
//
// Add refuses keys that fail their kind's checks (expired, revoked,
// address not bound, untrusted chain, no e-mail protection, EC or weak
// key), but keys expire and are revoked while they sit in the directory,
// so Key re-applies pgp.Check or smime.Verify at the moment of every
// encryption and skips a key that fails. Among several valid keys for an
// address, the most recently added or updated wins: the last upload is the
// administrator's latest intent. A re-upload of a revoked OpenPGP key is
// refused and updates the stored copy, so the revocation takes effect.
//
// # Web Key Directory
//
// With Options.WKD, an address with no valid directory key is looked up
// by draft-koch-openpgp-webkey-service section 3.1: the advanced method
// (https://openpgpkey.<domain>/.well-known/openpgpkey/<domain>/hu/<hash>)
// and, only when that host does not exist in DNS, the direct method
// (https://<domain>/.well-known/openpgpkey/hu/<hash>), <hash> being the
// z-base-32 SHA-1 of the lower-cased local part (WKDHash), with ?l= the
// local part. Hosts are resolved by carepost's resolver and every address
// is checked by an SSRF guard (no loopback, private, link-local or other
// special ranges unless Options.WKDAllow lists them); proxies are not used
// and redirects not followed; TLS is verified. Only keys with a valid user
// ID for the address that pass pgp.Check are taken. Answers, a key or its
// absence, are cached in memory for Options.WKDCacheTTL, never in the
// database: Key never writes. A failed lookup is treated as no key.
//
// # The seam for delivery and policy
//
//	HasValidKey(ctx, orgID, email) (kind string, ok bool, err error)
//	Encrypt(ctx, orgID, email, raw) (encrypted []byte, method string, err error)
//
// The policy engine asks HasValidKey when choosing e2e; delivery calls
// Encrypt with the whole message before DKIM signing, gets PGP/MIME or
// S/MIME back with method "pgp" or "smime", and on ErrNoKey (the key
// expired or was removed since the decision) falls back to the portal. The
// organization's signing keys sign when they exist: an OpenPGP key made by
// GenerateOpenPGPSigningKey, an S/MIME identity set by SetSMIMESigner, each
// a keyring-sealed blob.
package keydir
