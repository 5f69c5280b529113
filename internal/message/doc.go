// Package message builds, validates, inspects and edits Internet messages
// (RFC 5322 with MIME, RFC 2045-2049) for carepost's sending pipeline.
//
// # Building
//
// A Draft is the REST API's send request. Draft.Validate checks every field
// and reports each problem as a FieldError that names the field the way the
// API does ("to[2].email", "headers.X-Foo"), so a client can fix them all at
// once. Build validates and renders the draft: the smallest MIME structure
// that carries it (text, html, multipart/alternative, multipart/related for
// inline images, multipart/mixed for attachments), quoted-printable UTF-8
// text, base64 attachments, RFC 2047 encoded words for non-ASCII subjects and
// names, RFC 2231 for non-ASCII filenames. With a fixed date, Message-ID and
// boundary generator the output is byte-for-byte reproducible, which the
// golden files in testdata pin.
//
// # Security properties
//
//   - No header injection. Every value that reaches a header (addresses,
//     display names, subject, custom headers, filenames, content types,
//     content ids) is refused if it holds a CR, LF, NUL or any other control
//     character, before anything is written. Custom headers are limited to
//     X-* and a short allowlist; structural ones (From, Date, Content-*,
//     DKIM-Signature, Received…) are always ours.
//   - Line rules. Output uses CRLF only, has no bare CR or LF and no line
//     over 998 octets (RFC 5322 sections 2.1.1 and 2.3); headers are folded
//     at 78 where they can be. Build checks its own output before returning,
//     and a fuzz target checks it for random drafts.
//   - Bcc never leaks. Bcc recipients are envelope-only; no header carries
//     them.
//   - No PHI in errors. Addresses, subjects and file names can be protected
//     health information, so no error, FieldError or Defect in this package
//     contains a value from the message: they name the field and the rule.
//
// # Inspecting and relaying
//
// Raw submissions (POST /messages/raw, SMTP, the gateway) are not rebuilt.
// Inspect parses one for the policy engine: header fields, addresses,
// decoded subject, line structure (bare CR/LF, long lines: reported, the
// caller decides), bodies, attachments and the decoded text of every text
// part (TextContent, bounded, with a flag when incomplete). Limits bound
// depth, part count and decoded bytes, so a MIME bomb costs at most a small
// multiple of its own size. SetHeader, RemoveHeader and PrependHeader edit a
// raw message's header without touching anything else, byte for byte, so
// the gateway can strip a "[secure]" subject tag and add fields before DKIM
// signing (package dkim).
//
// # Delivery status notifications
//
// BuildDSN writes RFC 3464 reports carrying only the original header, never
// its body.
package message
