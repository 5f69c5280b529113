// Package smtpd is carepost's inbound SMTP edge: submission for mail
// clients and applications, and the gateway relay for the Microsoft 365,
// Google Workspace and on-premises servers of an organization. It
// translates SMTP into one call, outbox.Submit, and chooses the reply; it
// holds no business rules. The SMTP protocol engine is emersion/go-smtp.
//
// # Listeners
//
// Three listeners, each optional (config [submission] and [gateway]):
//
//   - submission (port 587, RFC 6409): STARTTLS, then AUTH, then mail.
//     AUTH is neither advertised nor accepted before TLS (go-smtp answers
//     523 5.7.10), and MAIL before AUTH is 530 5.7.0 (RFC 4954 section 6).
//   - submissions (port 465, RFC 8314 section 3.3): the same over implicit
//     TLS, the form RFC 8314 prefers.
//   - gateway (port 25): relay without AUTH for configured connectors
//     (package connector), with STARTTLS offered and a client certificate
//     requested but verified per connector, not by the handshake.
//
// # Authentication
//
// AUTH PLAIN (RFC 4616) and LOGIN take an API key as the password; the
// user name is ignored, so clients that insist on one may send anything
// ("apikey"), and the key alone says who is sending. The key must carry
// messages:send. A wrong key, a revoked or expired one, or one without the
// permission is 535 5.7.8 with no further detail; package auth audits the
// failure and throttles the client address (then 454 4.7.0). Three
// failures end the connection. Each key may submit at most
// submission.rate_per_minute messages a minute on this node (a token bucket
// per key in memory, so per node), else 451 4.7.0 at MAIL.
//
// # Defenses
//
// SMTP smuggling (CVE-2023-51764 and relatives): go-smtp ends DATA only at
// CRLF "." CRLF; "\n.\n", "\r.\n", "\n.\r\n" and the like are data to it.
// Data is then refused if any CR or LF stands alone (550 5.6.0), so such a
// sequence never reaches the outbox, and with it a next hop that might read
// it as an end of data. QUIRK: go-smtp drops a "." CR at the start of a
// line when no LF follows (its dot-unstuffing); what remains holds no bare
// CR and cannot end data early, so it is accepted.
// BDAT chunks (RFC 3030; go-smtp always offers CHUNKING, and Exchange
// Online uses it) have no end-of-data marker at all, and the same line-end
// rule applies to them.
//
// STARTTLS command injection (CVE-2011-0411): after the handshake go-smtp
// builds a new reader on the TLS connection, so any plaintext pipelined
// behind STARTTLS is discarded, never executed; the session, envelope and
// any authentication restart as RFC 3207 section 4.2 requires.
//
// # Accepted means durable
//
// DATA is read to its end within the SIZE limit (RFC 1870; 552 5.3.4
// beyond it), then handed to outbox.Submit, which returns only after the
// message, its recipients and the audit entry are committed. Only then is
// the reply 250, carrying the message id. Any failure that is not the
// client's is 451 4.3.0, so the client keeps the message and retries:
// nothing is dropped silently, and a failed commit stores nothing.
//
// # Replies
//
// Every reply carries an enhanced status code (RFC 3463, RFC 5248) and a
// fixed text. Input refused by the outbox (*message.FieldError) maps to a
// 5xx whose text is the field's rule, which never holds the value; internal
// causes are logged with the connection id and never sent to the peer.
//
// # Gateway trust
//
// A connection is matched against every enabled connector when the client
// says EHLO (again after STARTTLS, with its certificate); an unmatched one
// gets 550 5.7.1 at MAIL, and one whose connectors require TLS gets 530
// 5.7.0 until STARTTLS. At the end of DATA the message's
// X-MS-Exchange-CrossTenant-Id and From domain let connector.Choose pick
// the one organization the message is relayed for. The message is
// submitted for that organization, with source gateway and actor
// "gateway:<connector id>", and the outbox refuses a From domain that is
// not one of that organization's verified sender domains, so one
// organization's connector can never send as another organization.
//
// # Metrics
//
// carepost_smtp_sessions_total{listener,result} counts connections by
// outcome (accepted, rejected, auth_failed, denied, empty) and
// carepost_smtp_messages_total{listener,result} messages (accepted,
// rejected, deferred). Labels never carry addresses or key ids.
package smtpd
