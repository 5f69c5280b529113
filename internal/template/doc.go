// Package template is carepost's email templates: personalization, the
// HTML sanitizer, the derived text part, the PHI lint, and per-organization
// versioned storage. docs/TEMPLATES.md is the guide for template authors.
//
// # Syntax and data
//
// The subject, preheader and text part are Go text/template; the HTML part
// is html/template, whose contextual escaping makes a field value safe
// wherever it lands (text, attribute, URL). A template sees Data: the
// contact's built-in fields (.Contact.FirstName …), its custom fields by
// name (.Contact.Fields.condition), the send time and carepost's own
// links (unsubscribe, preferences). A small set of pure functions
// (default, upper, lower, title, trim, date) joins the built-ins; dates
// and times show in the contact's timezone (NewData moves instants there;
// a calendar Date is the same day everywhere). A missing field renders as
// nothing, so fallbacks read {{ .Contact.FirstName | default "there" }}.
//
// # Saving: sanitize, derive, lint, compile
//
// Prepare turns what an editor sends into what is stored. Editor HTML goes
// through an allowlist (bluemonday): the elements, attributes and inline
// styles email needs stay; scripts, event handlers, forms, frames and
// non-web URLs go. The sanitizer never sees template actions: they are
// swapped for marker words and put back afterwards, and an action the
// sanitizer would have dropped is an error rather than a silent change.
// With no text part, one is derived from the HTML template (links as
// "text (url)", lists, paragraphs) — derived once per version, as a
// template, so sending never converts HTML.
//
// # The PHI lint
//
// Subjects, preheaders and link URLs stay readable outside the encrypted
// body: subjects in notification previews and logs, URLs in proxies,
// browser history and link scanners. Lint refuses any PHI field reaching
// them (FieldSet says which fields are PHI; an unknown field counts as
// PHI). It works on the parse tree, not on the text, with a taint analysis
// (taint.go) that follows variables, with/range dot, index, function
// arguments and — because output chosen by a PHI condition reveals it —
// control flow. In the subject and preheader every use of a PHI field is
// an error. In the HTML, html/template's own escaper says where each
// action lands: the lint escapes an instrumented copy (a no-op marker at
// the start and end of every branch) and reads the escaping functions the
// escaper appended, so "in a URL" means exactly what the escaper treats as
// a URL (href, src, any URL attribute, CSS url()), including
// href="{{.X}}", href="https://a/?q={{.X}}", {{$u := .X}}…{{$u}}, and
// {{with .X}}<a href="{{.}}">. In the text part, an action or branch
// directly after "http(s)://", "www.", "mailto:" or "tel:" is in a URL.
// PHI in the body is allowed: the body travels encrypted.
//
// # Sending
//
// Versions are immutable; campaigns reference one. Service.Compiled
// parses a version once and caches it; Compiled.Render executes it per
// contact (safe for concurrent use, pooled buffers). Tracking (links and
// the open pixel) is added after rendering by package tracking.
package template
