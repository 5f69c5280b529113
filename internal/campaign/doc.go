// Package campaign is carepost's marketing campaigns: a template version
// sent to an audience of lists and segments, now or at a scheduled time,
// throttled, paused, resumed or cancelled, with per-contact skip reasons,
// tracking for mail that travels as ordinary email, and reports.
// docs/CAMPAIGNS.md describes it for marketers and operators.
//
// # States
//
//	draft ──schedule──▶ scheduled ──(send time)──▶ sending ──(last batch)──▶ completed
//	  │                   │  ▲                        │  ▲
//	  └──────send─────────┴──┼──────────send─────────▶│  │
//	                         │                      pause resume
//	                         └───resume (not yet started)─ paused
//	scheduled, sending, paused ──cancel──▶ cancelled
//
// Only a draft can be edited or deleted. Each action is one transaction
// that locks the campaign's row, checks the action is allowed in its
// state (StateError otherwise), and writes the job that follows it.
//
// # Fan-out without a job per message
//
// River burns down about 1.7k jobs/s on SQLite, so a campaign is not a job
// per contact. Sending runs in two steps:
//
//   - The prepare job streams the audience — each list's subscribed
//     members (package contact), then each segment's members (Segments,
//     package segment) — by contact id, never holding it: a page of
//     Options.BatchSize ids becomes, in one transaction, that many
//     campaign_recipients rows (pending), one campaign_batches row, the
//     cursor, and one batch job. The rows' primary key (campaign,
//     contact) makes a contact in two lists one recipient. A prepare
//     interrupted by a crash resumes from its cursor.
//   - A batch job loads its pending contacts as they are now and decides
//     each: skipped with a reason (unsubscribed from marketing or from the
//     list, bounced, complained, suppressed for the organization, deleted,
//     no address, or — for a campaign that uses PHI — no valid marketing
//     authorization, HIPAA 164.508(a)(3)), or rendered and prepared through
//     the outbox, the one door. Chunks of Options.Chunk contacts are
//     written in group-committed transactions (store.Committer): the
//     recipient row moves from pending to sent, with its message id, in
//     the transaction that writes the message (outbox.CommitTx), and only
//     while the campaign is still sending in the job's epoch.
//
// # Exactly once
//
// Jobs are at least once. A batch run twice — a retry, a job rescued from
// a node killed after its transaction committed, the sweep giving a
// stalled batch a new job — finds only what is still pending, and the
// conditional update of the recipient row in the message's own
// transaction means a contact's message and "sent" commit together or not
// at all. Pause, resume and cancel move the epoch on (resume and cancel)
// or the state (pause), and a job of another epoch or state does nothing.
//
// # Throttle
//
// A throttle (messages per minute) caps a batch at a minute's quota and
// spaces batches by a batch's share of a minute, through the jobs'
// scheduled times; campaigns.paced_until keeps the spacing across pauses
// and a prepare that is still writing.
//
// # Security and tracking
//
// The security mode is the organization's policy (auto) or "TLS only, else
// drop" (outbox.Submission.TLSOnly): a recipient the policy would send to
// the portal is dropped with a reason, never notified. The outbox decides
// each message on its content as rendered; a message whose first method
// is ordinary email then gets tracking (tracking.Rewrite: click redirects
// and the open pixel) — portal and end-to-end encrypted messages get none.
// Every campaign message carries List-Unsubscribe and
// List-Unsubscribe-Post (RFC 8058), which package dkim signs.
//
// # Reports
//
// Report reads the recipient rows (targeted, skipped by reason, sent),
// the delivery rows of the campaign's messages (delivered, deferred,
// bounced, dropped, the method mix) and the tracking counters (opens,
// clicks per link, machine fetches, unsubscribes, complaints). For a
// viewer without phi:read, figures below the small-cell floor are shown
// as "fewer than" it.
package campaign
