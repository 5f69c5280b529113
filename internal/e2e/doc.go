// Package e2e holds what PGP/MIME (package pgp) and S/MIME (package smime)
// share when carepost encrypts a message end to end: splitting a raw RFC
// 5322 message into the header that stays outside and the MIME entity that
// is encrypted, with the original header fields protected inside it.
//
// # Protected headers
//
// Both RFC 3156 (section 4) and RFC 8551 (section 3.1) encrypt a MIME
// entity, not a message: without more, the Subject, which in healthcare
// mail is often PHI ("Your biopsy results"), would travel in the clear.
// Split follows draft-autocrypt-lamps-protected-headers (version 1): every
// header field of the message except transport traces is copied into the
// header of the encrypted entity, whose Content-Type carries the parameter
// protected-headers="v1", and the outer Subject is replaced with a neutral
// one ("..." unless configured). A client that knows the draft (Thunderbird,
// K-9/Thunderbird for Android, Mailpile, Proton) shows the inner Subject;
// one that does not shows "...", which is the point. No "legacy display"
// part is added: it would put the Subject back into the body of clients
// that do not need it.
//
// The outer header keeps only what transport and threading need: From,
// Sender, To, Cc, Reply-To, Date, Message-ID, In-Reply-To, References, trace
// fields (Received, Return-Path, Resent-*), list fields (RFC 2369, RFC 2919,
// RFC 8058) and Auto-Submitted/Precedence. Everything else (X-* fields,
// Keywords, Comments) is only inside. DKIM-Signature and ARC fields are
// dropped: they sign a body that no longer exists, so DKIM signing must
// happen after encryption (package delivery signs last).
//
// # Canonical form
//
// The encrypted entity is written with CRLF line endings (RFC 5322 section
// 2.3; RFC 3156 section 5 and RFC 8551 section 3.1.1 require canonical text
// for signed content). A message that uses bare LF is converted; bare CR is
// left alone.
package e2e
