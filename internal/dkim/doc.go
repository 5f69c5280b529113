// Package dkim manages sender-domain DKIM keys, the DNS records a sender
// domain publishes, and the signing of outbound messages.
//
// # Keys and records
//
// Every sender domain gets two keys, RSA-2048 and Ed25519 (RFC 8463), under
// selectors named for the month they were made ("cp202503r", "cp202503e"),
// so that a rotation can publish new keys beside the old ones before
// switching. The package makes and parses keys (PKCS #8) but never stores
// them: the caller seals the bytes with the keyring, and no error or Check
// here carries key material.
//
// Records lists what the domain must publish: both DKIM key records, SPF
// ending in -all, DMARC with strict alignment (adkim=s, aspf=s; quarantine
// unless told otherwise) and TLS-RPT. Verify looks them up through a
// LookupTXTFunc (the seam to package dns, or a loopback DNS server in tests)
// and reports, per record, whether DNS publishes exactly our key and a
// policy.
//
// # Signing
//
// A Signer signs with both keys by default, RFC 8463's dual signing:
// relaxed/relaxed canonicalization, SHA-256, a fixed list of header fields,
// no l= body length. The signer is our own (RFC 6376 sections 3.4, 3.5, 3.7
// and 5.4): the whole message is in memory, so the body is canonicalized
// and hashed once for every key, hashing unchanged lines in place, where
// go-msgauth's streaming signer copies the body a byte at a time per key.
// go-msgauth stays the independent verifier in the tests, and FuzzSign holds
// the two to the same body hash for any message. From, List-Unsubscribe and
// List-Unsubscribe-Post are oversigned (listed once more than they occur),
// so a header added after signing - a second From shown to the reader, a
// replaced unsubscribe link - makes the signature fail. Signing is the last
// change to a message: anything that edits the header afterwards (package
// message's SetHeader) must happen before.
package dkim
