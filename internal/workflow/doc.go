// Package workflow is carepost's automated workflows: per-contact journeys
// through steps — send email, wait for time, wait for an event, branch, go
// to, add to segment, end — started by triggers. docs/WORKFLOWS.md is the
// guide for authors and operators.
//
// # Definitions and versions
//
// A workflow is a JSON Definition, validated on save (Validate: every
// problem names its step — unknown targets, unreachable steps, a branch
// without fallback, a template failing the PHI lint) and stored as an
// immutable, sealed version. A contact is pinned to the version it entered
// with: publishing a new version changes what new contacts get, never the
// path of a contact in flight, which finishes on its version.
//
// # The engine
//
// A contact's journey is one row (store.WorkflowRunRow) with its current
// step, a due time and, when it waits for something, a wait key. Waiting
// costs a row and two index entries — no goroutine, no job per contact.
// One kind of job (RunArgs) claims due rows in batches (ClaimDueRuns:
// highest priority first, oldest due first; FOR UPDATE SKIP LOCKED on
// PostgreSQL, so several nodes take disjoint rows; SQLite's single writer
// serializes) and executes each contact's steps until it waits or ends.
// Everything a batch does — the rows' new state, their history, the step
// counters, the messages its send steps hand to the outbox (each
// prepared and decided as its step runs, all written together at the
// batch's flush by outbox.CommitManyOnceTx, sharing the statements), audit
// entries, events and webhooks — commits in that one transaction. A crash before the commit leaves no trace, so the
// batch runs again from the same state; each message also carries an
// idempotency key derived from the run and the step, so even work
// committed twice sends once. The job is armed, unique per second, in the
// transaction that makes rows due now, re-armed for the next due time
// after each run, and a periodic tick catches anything else.
//
// Events reach waiting contacts through the wait index (organization,
// contact, key), never a scan: package contact's observer calls
// (ContactEvent, ListJoined), the event recorder's observer for opens and
// clicks of a workflow's mail (ObserveEvent), and the seams for segments
// (SegmentEntered) and forms (FormSubmitted). They wake a run by making it
// due now; the engine, not the caller, moves it on.
//
// # Rules
//
// A step a contact already visited in a run is never executed again: the
// contact is marked complete (loop_prevented), so no contact loops. A
// contact that was ever in a workflow is not enrolled again (a unique
// index on workflow, contact and occurrence; date triggers have one
// occurrence per year). Consent, the contact's status and suppressions are
// checked at every send step, not only at enrolment. Time comes from
// Options.Clock; windows are read on the wall clock of their IANA
// timezone, from the standard library's database.
package workflow
