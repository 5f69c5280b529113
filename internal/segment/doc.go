// Package segment is carepost's segments: sets of an organization's
// contacts for campaigns and workflows. docs/SEGMENTS.md describes the
// language and the API for users.
//
// # Dynamic and static
//
// A dynamic segment is a filter expression, evaluated when asked, so its
// membership is always current. A static segment is a member list
// (segment_members) that the API and workflow steps (AddStatic, inside the
// step's transaction) add to. Other packages use Members, a streaming
// iterator of member ids in id order (campaigns), and Contains (workflows).
//
// # The language
//
// Expressions are expr-lang/expr, checked against a typed environment
// built from the organization's field definitions: every field a variable
// of its type (text, number, date, boolean, list), plus the clear columns
// (status, timezone, locale, consent, suppressed, created_at) and
// functions (lang.go). Compile runs twice over the source: once as the
// author wrote it, with the documented signatures, so that every error —
// an unknown field, a type mismatch, a look-up whose arguments are not
// constants — is an *Error at the offending token (line, column, caret);
// then a fresh parse is rewritten (rewrite.go) into the program that runs:
// look-ups become variables filled from one query per evaluation, date
// functions read the evaluation's day from a variable, and each condition
// that reads a field which may be unset is guarded by that field's
// presence, so a condition about a missing value is false and never
// evaluated. Programs are cached per segment version and field schema:
// compiled once, shared by every evaluation (each binds its own
// environment and VM).
//
// # Evaluation and PHI
//
// An evaluation streams the organization's contacts through contact.Scan
// (pages, parallel opening, no long read transaction) and opens the sealed
// PHI map only when the expression reads a PHI field (Program.UsesPHI);
// otherwise no contact key is unwrapped. It is carepost reading, not a
// person: values stay in the process, and what reaches a person is
// audited where it does — segment.preview for each preview a person runs,
// contact.phi.read for a page of members shown with phi:read,
// contact.export for an export, and one segment.evaluate entry (actor
// system) per Members stream of a dynamic segment. Contains and AddStatic
// write none: they run inside workflow steps that record their own
// actions. Expressions are sealed at rest; audit entries name the fields
// an expression reads, never its text.
//
// # The small-cell floor
//
// Counts shown to principals without phi:read never reveal a group of
// fewer than Options.Floor contacts (config marketing.small_cell_floor,
// default 11): such a count reads "fewer than 11", the member page is
// withheld, and the export refused (ErrSmallCell).
package segment
