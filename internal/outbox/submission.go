package outbox

import (
	"github.com/carepost/carepost/internal/audit"
	"github.com/carepost/carepost/internal/message"
	"github.com/carepost/carepost/internal/policy"
)

// Source says which door of the product a message came through.
type Source string

// Sources of outbound mail. All of them pass through Submit.
const (
	SourceAPI      Source = "api"
	SourceRaw      Source = "api-raw"
	SourceSMTP     Source = "smtp"
	SourceGateway  Source = "gateway"
	SourceCampaign Source = "campaign"
	SourceWorkflow Source = "workflow"
	SourcePortal   Source = "portal"
	SourceSystem   Source = "system" // DSNs, notifications, alerts
)

// Security is the minimum protection the submitter asks for. Policy may
// raise it, never lower it.
type Security string

// The levels a submitter may ask for.
const (
	SecurityAuto   Security = "auto"
	SecurityTLS    Security = "tls"
	SecurityE2E    Security = "e2e"
	SecurityPortal Security = "portal"
)

// Submission is one message handed to the outbox. Exactly one of Draft and
// Raw is set.
type Submission struct {
	OrgID string
	// Actor is who submitted (API key, user, system); SenderUserID is the
	// person the message belongs to ("see own messages"), when known.
	Actor        audit.Actor
	SenderUserID string
	Source       Source

	// Draft is a structured message (POST /messages, campaigns, workflows).
	Draft *message.Draft
	// Raw is a whole RFC 5322 message (POST /messages/raw, SMTP), with its
	// envelope: MailFrom (may be empty for a null reverse path only from
	// SourceSystem) and Rcpts.
	Raw      []byte
	MailFrom string
	Rcpts    []string

	Security Security
	// IdempotencyKey makes a retried submission return the first result;
	// RequestHash fingerprints the request so a reused key with a different
	// request is refused instead of silently answered.
	IdempotencyKey string
	RequestHash    []byte
	// RequireTLS is RFC 8689 REQUIRETLS from the submitter.
	RequireTLS bool
	// DSN asks for a delivery status notification to MailFrom on failure
	// (mail submitted over SMTP).
	DSN bool
	// NonPHI is set only by callers that guarantee the content carries no
	// PHI (it allows opportunistic TLS); when in doubt it stays false.
	NonPHI bool
	// TLSOnly is the "TLS only, else drop" mode for marketing sources: a
	// recipient that cannot get verified TLS fails with a reason and is
	// never handed to the portal.
	TLSOnly bool
	// Keys answers the policy's key questions for this submission's
	// recipients instead of the key directory (nil: the directory), as
	// policy.Message.Keys.
	Keys     policy.KeyDirectory
	Tags     []string
	Metadata map[string]string
}

// RecipientResult is one recipient's state after submission.
type RecipientResult struct {
	ID    string `json:"id"`
	Email string `json:"email"`
	State string `json:"state"`
	// Level is the minimum transport level policy requires.
	Level string `json:"level"`
	// Reason explains a state other than queued (suppressed, held).
	Reason string `json:"reason,omitempty"`
}

// Result is what Submit answers once the message is durably committed.
type Result struct {
	MessageID  string            `json:"id"`
	Duplicate  bool              `json:"duplicate"`
	Recipients []RecipientResult `json:"recipients"`
}

// withoutContent is s as a prepared message keeps it: the content it was
// built from is let go, as the message is in its packed form by then.
func (s Submission) withoutContent() Submission {
	s.Draft, s.Raw = nil, nil
	return s
}
