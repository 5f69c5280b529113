package audit

import (
	"maps"
	"time"
)

// SystemChain is the chain of install-wide events (migrations, signing-key
// changes, jobs acting for no organization). Every other chain is named by
// its organization id.
const SystemChain = "system"

// ActorType says what kind of principal acted.
type ActorType string

const (
	// ActorUser is a console user; ID is the user id.
	ActorUser ActorType = "user"
	// ActorAPIKey is an API or SMTP-submission credential; ID is the key id.
	ActorAPIKey ActorType = "apikey"
	// ActorSystem is carepost itself (a job, the retention sweep, start-up);
	// ID, optional, names the component ("jobs.retention").
	ActorSystem ActorType = "system"
	// ActorRecipient is an external recipient acting in the portal; ID is
	// the recipient id, never the address.
	ActorRecipient ActorType = "recipient"
)

// Actor is who acted.
type Actor struct {
	Type ActorType
	ID   string
}

// Outcome says how the action ended.
type Outcome string

const (
	// Success: the action was carried out.
	Success Outcome = "success"
	// Failure: the action was attempted and failed (wrong password, a
	// delivery that failed).
	Failure Outcome = "failure"
	// Denied: policy or permissions refused the action.
	Denied Outcome = "denied"
)

// Entry is one audit record. Callers fill Chain, Actor, Action, Outcome and
// optionally the target, client and details; Append sets Seq, At, PrevHash
// and Hash (values the caller put there are ignored, so an entry cannot be
// backdated).
type Entry struct {
	// Chain is the organization id, or SystemChain.
	Chain string
	Seq   int64
	// At is when the entry was appended, UTC, microsecond precision.
	At     time.Time
	Actor  Actor
	Action string
	// TargetType and TargetID name what was acted on ("message",
	// "msg_01…"); both may be empty.
	TargetType string
	TargetID   string
	Outcome    Outcome
	// ClientIP and UserAgent default to the Request in the context.
	ClientIP  string
	UserAgent string
	// Details hold IDs, counts and reasons; never PHI. See the package
	// documentation and the limits below.
	Details  map[string]string
	PrevHash []byte
	Hash     []byte
}

// Limits on an entry's fields. They keep entries small and shaped like
// identifiers, which makes PHI in them unlikely (see the package
// documentation); they are not a PHI detector.
const (
	MaxChainLen      = 64
	MaxIDLen         = 128
	MaxActionLen     = 64
	MaxTargetTypeLen = 32
	MaxUserAgentLen  = 256
	MaxDetails       = 32
	MaxDetailKeyLen  = 40
	// MaxDetailValue fits a full permission list (an API key's scopes, a
	// role's grants), which compliance needs recorded in full.
	MaxDetailValue = 1024
)

// DetailRequestID is the detail key under which Append records the request
// id from the context, unless the caller set it.
const DetailRequestID = "request_id"

// clone returns e with its own Details map and hash slices, so Append never
// changes the caller's values.
func (e Entry) clone() Entry {
	e.Details = maps.Clone(e.Details)
	e.PrevHash = append([]byte(nil), e.PrevHash...)
	e.Hash = append([]byte(nil), e.Hash...)
	return e
}
