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
// A Signer signs with both keys by default, RFC 8463's dual signing, using
// go-msgauth: relaxed/relaxed canonicalization, SHA-256, a fixed list of
// header fields, no l= body length. From, List-Unsubscribe and
// List-Unsubscribe-Post are oversigned (listed once more than they occur),
// so a header added after signing - a second From shown to the reader, a
// replaced unsubscribe link - makes the signature fail. Signing is the last
// change to a message: anything that edits the header afterwards (package
// message's SetHeader) must happen before.
package dkim
