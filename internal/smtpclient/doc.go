// Package smtpclient is carepost's outbound SMTP client: one connection to
// one MX host, with the transport security the delivery policy asks for
// enforced before any message data leaves the process.
//
// The caller (the delivery workers) resolves MX hosts and addresses, picks a
// TLSPolicy from the recipient's policy (MTA-STS, DANE, a pinned partner
// policy or plain opportunistic), calls Dial, sends one or more messages on
// the Conn and closes it. The Conn records a TLSReport, the raw material of
// the per-recipient security receipt.
//
// # Transport security levels
//
// RequireVerified (the zero value, so a forgotten field cannot downgrade):
// the server must offer STARTTLS (RFC 3207), the handshake must negotiate TLS
// 1.2 or later, and the peer must be verified, before MAIL is sent. Without a
// VerifyConnection hook, verification is PKIX: the chain must lead to a
// system root or to one of DialOptions.RootCAs, be valid now, and name Host
// (RFC 6125 via crypto/x509). With a hook, the hook replaces PKIX entirely:
// DANE-EE and DANE-TA (RFC 7672 section 3.1) authenticate certificates that
// PKIX would refuse (self-signed, private CA, name not matching), so running
// PKIX first would make DANE useless, and the hook is the only judge. Any
// failure closes the connection and returns an *Error of KindTLS: not one
// byte of the message, nor even its envelope, has been sent.
//
// Opportunistic (RFC 7435): STARTTLS when offered, TLS 1.0 or later,
// verification performed and recorded in the TLSReport but never fatal.
// Verified in the report is true only when the session would also have met
// RequireVerified (TLS 1.2+, verified peer), so a receipt can be trusted on
// that one field. When STARTTLS is offered but the handshake fails, the
// connection is unusable (half of a TLS handshake has been spoken), so Dial
// reconnects once and continues in plaintext, recording the handshake error.
// This is common practice: Postfix's "may" level and mox's queue do the same,
// because a server with a broken certificate configuration would otherwise
// never receive mail. A 454 reply to STARTTLS continues in plaintext on the
// same connection (RFC 3207 section 4). Opportunistic is for mail the policy
// has judged not to need protection; it must never carry PHI.
//
// InsecureNoTLS: plaintext, STARTTLS never attempted. For tests and the demo
// capture sink only; the name says so.
//
// After STARTTLS the client discards anything the server sent before the
// handshake and issues EHLO again (RFC 3207 section 4.2), so a
// man-in-the-middle cannot inject replies or capabilities into the protected
// session. The client never pipelines STARTTLS.
//
// # Sending
//
// Send issues MAIL, RCPT per recipient and the message, and reports a
// result per recipient: partial acceptance is normal, and only the accepted
// recipients receive the message. Options refused locally before MAIL, with
// nothing sent: REQUIRETLS (RFC 8689) unless the server advertises it and
// the session is verified TLS; a message larger than the server's SIZE (RFC
// 1870); SMTPUTF8 (RFC 6531) and 8BITMIME (RFC 6152) when not advertised.
//
// The message goes by BDAT (RFC 3030 CHUNKING) when the server advertises
// CHUNKING and PIPELINING (RFC 2920), the caller hands Send the message as
// bytes (see Send) and they are canonical (CRLF line endings only, the
// last line ended, no NUL, no line over 998 octets): MAIL, the RCPTs, "BDAT <size> LAST" and the message bytes as
// they are (no dot-stuffing: the size delimits them, and SIZE in MAIL is
// the same exact count) leave in one write and one flush, and the replies
// are read after. That is one round trip and one flush per message instead
// of the two of pipelined DATA, which waits for its 354. It matters most to a remote
// MX across a WAN, where each round trip is tens of milliseconds; on
// loopback it saves the syscalls and wake-ups of a second exchange on both
// sides. The price is that the content leaves before the RCPT replies
// arrive: it reaches the server even when the server then refuses the
// sender or every recipient. It goes only to the server the envelope went
// to, over the same session, already held to the TLS policy, and that
// server must discard a chunk of a transaction without a valid recipient
// (RFC 3030 section 2). A site that wants content never to leave before a
// recipient is accepted sets DialOptions.NoChunking.
//
// Otherwise the message goes by DATA: MAIL, the RCPTs and DATA in one
// round trip when the server advertises PIPELINING, then the data, only
// once a recipient is accepted and the server has answered 354: when no
// recipient is accepted the message data is never sent. The data stream
// is dot-stuffed (RFC 5321 section 4.5.2) and its line endings normalized:
// CRLF stays, a bare LF or a bare CR becomes CRLF. A bare CR or LF never
// reaches the wire on either path, which closes the SMTP smuggling
// ambiguity (receivers that accept "\n.\n" as the end of data) whatever
// the input.
//
// After a transaction the Conn can send another message (Reset issues RSET
// explicitly; Send issues it itself after a transaction that failed midway).
// Close sends QUIT. A Conn is not safe for concurrent use.
//
// # Errors
//
// Every failure is an *Error carrying the Stage (connect, greeting, ehlo,
// starttls, tls-verify, mail, rcpt, data, rset, quit), the server's reply
// code and enhanced status code (RFC 3463) when there was a reply, and a Kind:
//
//   - KindTemporary: 4xx replies, network errors, timeouts, cancellation.
//     Retry later, perhaps at another MX.
//   - KindPermanent: 5xx replies and local refusals that cannot succeed at
//     this server (message too large, extension missing). Bounce, or try
//     another MX, as the caller's policy says.
//   - KindTLS: the transport security the policy required could not be
//     established or verified. Not a server reply: policy decides whether to
//     defer or to hand the message to the portal.
//
// A refused BDAT is a data failure, as a refused DATA is. On the BDAT path
// a network failure after the flush is reported at the data stage too,
// whichever reply was awaited: the message has left and may have been
// received.
//
// Error() names the stage, the codes, the kind and any local cause, never the
// server's text (which may echo an address or content), message content or
// recipient addresses. The server's text, sanitized (printable ASCII,
// address-like tokens redacted, truncated), is in Error.Msg for the receipt.
//
// Timeouts follow RFC 5321 section 4.5.3.2: connect 30s (ours), greeting 5
// minutes, each command 5 minutes, data transfer and its final reply 10
// minutes, each configurable. Context cancellation aborts any exchange.
//
// # Why not go-smtp's client
//
// emersion/go-smtp's Client is a good general client, but a delivery agent
// that must prove transport security needs control it does not expose as one
// piece: MAIL, RCPT and DATA or BDAT pipelined in one round trip with
// per-recipient results, verification that records its outcome even when
// it is not enforced, refusal of REQUIRETLS before MAIL, discarding pre-TLS buffered
// bytes, per-stage deadlines and an error classification with the stage and
// no PHI. The protocol surface a sender needs is small (reply parsing, a
// handful of commands, the data writer), so carepost writes it, in the manner
// of mox's smtpclient. The test sinks (internal/smtptest) use go-smtp's server.
package smtpclient
