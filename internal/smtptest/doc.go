// Package smtptest runs real SMTP servers on 127.0.0.1 for tests: the sinks
// that every delivery test sends to, and the attacker that strips STARTTLS.
//
// A Sink is an emersion/go-smtp server (the well-kept Go SMTP server; see
// its Backend and Session) behind a listener that counts connections and
// records the raw bytes it reads. It records every accepted message with its
// envelope and transport (TLS or not, version, the SNI the client sent), and
// what a test needs to assert connection reuse and pipelining: connections,
// transactions and round trips per connection. Options shape it as the
// servers a delivery agent meets: STARTTLS with any certificate (valid,
// self-signed, wrong name, expired — make them with internal/testpki), TLS
// version limits (a TLS 1.0-only server), no STARTTLS at all, a broken TLS
// configuration, REQUIRETLS, SIZE, and a Script of failures: recipients
// refused with 5xx, DATA refused with 4xx the first N times, DATA refused
// with 5xx always, the connection dropped in the middle of the data, a slow
// greeting. go-smtp's server always advertises CHUNKING (RFC 3030) and
// takes BDAT, so a Sink receives most of carepost's messages by BDAT and
// its Script applies to BDAT as to DATA; there is no switch to turn it
// off.
//
// A StripTLSProxy sits between client and sink as the downgrade attacker of
// RFC 3207 section 6: it removes STARTTLS (and any other keywords asked for,
// such as PIPELINING or CHUNKING) from EHLO replies and answers STARTTLS
// itself with 454, so no TLS session can form through it.
//
// Everything binds 127.0.0.1:0 and is closed by t.Cleanup. Nothing here is
// used outside tests.
package smtptest
