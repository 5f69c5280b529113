// Package tracking is engagement tracking for campaign mail — the open
// pixel, click redirects, machine-open detection — and unsubscribing: RFC
// 8058 one-click, the unsubscribe page and the preference page.
// docs/TRACKING.md describes it for operators.
//
// # Tokens
//
// Every tracking link carries a token: identifiers only (organization,
// campaign or message, contact; the link's index for a click, the list for
// an unsubscribe; the issue time), never PHI and never a URL, packed and
// authenticated with HMAC-SHA256 under a per-organization key, truncated to
// 128 bits, base64url (about 110 characters). The key is 32 random bytes
// kept as a sealed blob, like the blind-index keys. A token that does not
// parse, is of the wrong kind, names an organization without a key or
// fails its MAC is ErrInvalid, and nothing is recorded (the edge answers
// 404).
//
// # Links
//
// Rewrite sends each http(s) link of a rendered message through
// /t/c/{token}, where the token names the link by index in the campaign's
// LinkTable, and appends the open pixel /t/o/{token}.gif. The redirect
// goes only to the URL the table holds for that index: the destination
// never comes from the request, so the redirect cannot be pointed
// elsewhere, and a URL (possibly personalized) never sits in the tracking
// link that proxies, scanners and browser histories see. Text parts are
// rewritten the same way, sharing the table. Link URLs are sealed at rest.
//
// Tracking is only for mail that travels as ordinary email (Enabled):
// portal-delivered and end-to-end encrypted messages get neither pixel nor
// redirects — the campaign engine passes the recipient's method and
// Rewrite returns the message untouched.
//
// # Machines
//
// Privacy proxies fetch images on delivery (Apple Mail Privacy Protection)
// and security gateways follow links, so a table of rules (Detector,
// DefaultRules: user agents, networks, time since the message was issued)
// flags such fetches. They are counted apart and are never unique opens or
// clicks; their events say machine: true and which rule matched.
//
// # Unsubscribing
//
// Campaign messages carry List-Unsubscribe and List-Unsubscribe-Post
// (Recipient.Headers, RFC 8058), which package dkim signs. A POST to
// /u/{token} unsubscribes, idempotently; a GET shows a page with a button
// and never changes anything, because mail scanners fetch links. The
// state lives behind Subscriptions, which package contact implements; until
// it is wired, Local keeps it in carepost's own table.
//
// # Counting
//
// Each open and click is one group-committed transaction: the
// per-recipient row (which makes opens and clicks unique), the
// per-campaign counters the report reads in one query, and the event
// (message.opened, message.clicked, message.unsubscribed,
// message.complained) fanned out to webhooks for the CDP feedback loop.
package tracking
