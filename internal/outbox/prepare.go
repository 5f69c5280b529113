package outbox

import (
	"bytes"
	"context"
	"fmt"
	"strings"

	"github.com/carepost/carepost/internal/bufpool"
	"github.com/carepost/carepost/internal/id"
	"github.com/carepost/carepost/internal/message"
	"github.com/carepost/carepost/internal/phi"
	"github.com/carepost/carepost/internal/policy"
)

// prepared is everything Submit works out before its transaction.
type prepared struct {
	messageID string
	raw       []byte
	// rawSlot, when set, is the buildPool slot raw was built in, which
	// prepareWrite gives back once raw is packed.
	rawSlot *[]byte
	// packed is raw in its stored form (PackContent), made outside the
	// transaction; nil until prepareWrite, which keeps only it (and size).
	packed     []byte
	size       int
	mailFrom   string
	fromEmail  string
	fromDomain string
	fromField  string
	rcpts      []preparedRcpt
	parsed     *message.Parsed
	// decisions are the recipients' policy decisions, in rcpts order.
	decisions []policy.Decision
	eval      *policy.Evaluation // nil without a policy engine
	phi       bool
}

type preparedRcpt struct {
	id     string
	email  string
	domain string
	kind   string
}

func fieldError(field, msg string) error { return &message.FieldError{Field: field, Msg: msg} }

// prepare validates and builds the message and decides every recipient
// outside the transaction, so the shared transaction holds only database
// work.
func (o *Outbox) prepare(ctx context.Context, s Submission) (prepared, error) {
	p := prepared{messageID: id.NewAt("msg", o.opts.Clock())}
	if (s.Draft == nil) == (s.Raw == nil) {
		return p, fieldError("message", "give either a structured message or a raw one")
	}
	switch s.Security {
	case "", SecurityAuto, SecurityTLS, SecurityE2E, SecurityPortal:
	default:
		return p, fieldError("security", "must be auto, tls, e2e or portal")
	}
	if len(s.Metadata) > 50 {
		return p, fieldError("metadata", "at most 50 keys")
	}
	var err error
	if s.Draft != nil {
		err = o.prepareDraft(&p, *s.Draft)
	} else {
		err = o.prepareRaw(&p, s)
	}
	if err != nil {
		return p, err
	}
	if len(p.rcpts) == 0 {
		return p, fieldError("to", "give at least one recipient")
	}
	if len(p.rcpts) > o.opts.MaxRecipients {
		return p, fieldError("to", fmt.Sprintf("at most %d recipients per message", o.opts.MaxRecipients))
	}
	if len(p.raw) > o.opts.MaxSize {
		return p, fieldError("message", fmt.Sprintf("the message is larger than %d bytes", o.opts.MaxSize))
	}
	return p, o.decide(ctx, &p, s)
}

// prepareWrite is prepare for a submission about to be written: its
// content is also packed for storage (PackContent) here, before the
// transaction that seals and writes it. What the decisions were made on —
// the message as built, its parsed parts, the evaluation — is let go: a
// prepared message waiting for its transaction holds only its few packed
// KiB (a campaign batch holds a chunk of them).
func (o *Outbox) prepareWrite(ctx context.Context, s Submission) (prepared, error) {
	p, err := o.prepare(ctx, s)
	if err == nil {
		p.packed, p.size = PackContent(p.raw), len(p.raw)
		if p.rawSlot != nil && !sameStart(p.packed, p.raw) {
			buildPool.Put(p.rawSlot)
		}
		p.raw, p.rawSlot, p.parsed, p.eval = nil, nil, nil, nil
	}
	return p, err
}

// buildPool holds the buffers structured messages are built in: a message
// prepareWrite builds is packed and let go before its transaction (the
// policy engine's view of it, InspectDraft's, is made from the draft, not
// from these bytes), and a campaign builds one for every contact. Explain
// and the other callers of prepare keep theirs, which the collector frees.
var buildPool = bufpool.New(1 << 20)

// sameStart reports whether a and b begin at the same byte of memory
// (PackContent returns the message itself when compression would not
// shrink it: its buffer then lives on as the stored content).
func sameStart(a, b []byte) bool {
	return len(a) > 0 && len(b) > 0 && &a[0] == &b[0]
}

// decide asks the policy engine for each recipient's decision (the floor
// alone without an engine) and removes the subject tag the engine found,
// so the stored and delivered message no longer carries it.
func (o *Outbox) decide(ctx context.Context, p *prepared, s Submission) error {
	in := policy.Input{Security: string(s.Security), NonPHI: s.NonPHI, RequireTLS: s.RequireTLS, TLSOnly: s.TLSOnly}
	if o.deps.Policy == nil {
		d := policy.Decide(in)
		for range p.rcpts {
			p.decisions = append(p.decisions, d)
		}
		p.phi = d.PHI
		return nil
	}
	if p.parsed == nil {
		// A message Inspect cannot read is scanned as nothing, which the
		// engine treats as unscanned content (the strictest rule applies).
		p.parsed, _ = message.Inspect(p.raw, message.Limits{})
	}
	ev, err := o.deps.Policy.Evaluate(ctx, policy.Message{OrgID: s.OrgID, SenderUserID: s.SenderUserID, From: p.fromEmail,
		Security: in.Security, NonPHI: in.NonPHI, RequireTLS: in.RequireTLS, TLSOnly: in.TLSOnly, Parsed: p.parsed,
		Keys: s.Keys})
	if err != nil {
		return fmt.Errorf("policy: %w", err)
	}
	for _, r := range p.rcpts {
		d, err := ev.Decide(ctx, r.email)
		if err != nil {
			return fmt.Errorf("policy: %w", err)
		}
		p.decisions = append(p.decisions, d)
	}
	p.eval, p.phi = ev, ev.PHI
	if p.raw, err = ev.StripSubjectTag(p.raw); err != nil {
		return err
	}
	return nil
}

// Explanation is what Submit would decide for a submission, computed by
// the same code without storing or sending anything.
type Explanation struct {
	// PolicyVersion is the organization's policy version applied (0: the
	// built-in default).
	PolicyVersion  int                  `json:"policy_version"`
	PHI            bool                 `json:"phi"`
	SubjectFlagged bool                 `json:"subject_flagged"`
	Findings       []phi.Finding        `json:"findings"`
	Recipients     []ExplainedRecipient `json:"recipients"`
}

// ExplainedRecipient is one recipient's decision and the state Submit
// would give it (suppressions aside, which are not policy).
type ExplainedRecipient struct {
	Email    string          `json:"email"`
	Kind     string          `json:"kind"`
	State    string          `json:"state"`
	Reason   string          `json:"reason,omitempty"`
	Decision policy.Decision `json:"decision"`
}

// Explain validates s and decides each recipient exactly as Submit does,
// and returns the decisions. It writes nothing: no message, no recipient,
// no event, no audit entry.
func (o *Outbox) Explain(ctx context.Context, s Submission) (Explanation, error) {
	p, err := o.prepare(ctx, s)
	if err != nil {
		return Explanation{}, err
	}
	ex := Explanation{PHI: p.phi, Findings: []phi.Finding{}}
	if p.eval != nil {
		ex.PolicyVersion, ex.SubjectFlagged, ex.Findings = p.eval.Version, p.eval.SubjectFlagged, append(ex.Findings, p.eval.Findings...)
	}
	for i, r := range p.rcpts {
		d := p.decisions[i]
		state, reason := stateFor(d)
		if o.toPortal(state, d) {
			state, reason = StatePortal, PortalReason
		}
		ex.Recipients = append(ex.Recipients, ExplainedRecipient{Email: r.email, Kind: r.kind, State: state, Reason: reason, Decision: d})
	}
	return ex, nil
}

func (o *Outbox) prepareDraft(p *prepared, d message.Draft) error {
	limits := message.ValidateOptions{MaxSize: o.opts.MaxSize, MaxRecipients: o.opts.MaxRecipients}
	// Build validates the draft (every field error at once); only the
	// sender's domain is needed first, for the Message-ID. A sender that
	// does not normalize is reported with the draft's other errors.
	from, err := message.NormalizeAddress(d.From)
	if err != nil {
		if verr := d.ValidateWith(limits); verr != nil {
			return verr
		}
		return fieldError("from", err.Error())
	}
	p.mailFrom, p.fromEmail, p.fromDomain, p.fromField = from.Email, from.Email, from.Domain(), "from"
	slot := buildPool.Get()
	raw, err := message.Build(d, message.BuildOptions{
		MessageID: p.messageID + "@" + p.fromDomain,
		Date:      o.opts.Clock(),
		Limits:    limits,
		Buffer:    *slot,
	})
	if err != nil {
		buildPool.Put(slot)
		return err
	}
	*slot, p.rawSlot = raw, slot
	// The content the policy engine scans, read from the draft rather than
	// by parsing raw again (nil with attachments: decide inspects raw).
	p.raw, p.parsed = raw, message.InspectDraft(d, message.Limits{})
	for i, a := range d.To {
		if err := p.addRcpt(fmt.Sprintf("to[%d]", i), "to", a); err != nil {
			return err
		}
	}
	for i, a := range d.Cc {
		if err := p.addRcpt(fmt.Sprintf("cc[%d]", i), "cc", a); err != nil {
			return err
		}
	}
	for i, a := range d.Bcc {
		if err := p.addRcpt(fmt.Sprintf("bcc[%d]", i), "bcc", a); err != nil {
			return err
		}
	}
	return nil
}

func (p *prepared) addRcpt(field, kind string, a message.Address) error {
	n, err := message.NormalizeAddress(a)
	if err != nil {
		return fieldError(field, err.Error())
	}
	for _, r := range p.rcpts {
		if strings.EqualFold(r.email, n.Email) {
			return nil // one delivery per address
		}
	}
	p.rcpts = append(p.rcpts, preparedRcpt{id: id.New("rcp"), email: n.Email, domain: n.Domain(), kind: kind})
	return nil
}

// prepareRaw checks a whole RFC 5322 message and its envelope. Bare CR or
// LF is refused (RFC 5322 section 2.3; it is also the SMTP smuggling
// vector, CVE-2023-51764), as are lines over 998 octets.
func (o *Outbox) prepareRaw(p *prepared, s Submission) error {
	parsed, err := message.Inspect(s.Raw, message.Limits{})
	if err != nil {
		return fieldError("message", "the message could not be parsed as RFC 5322 with MIME")
	}
	if parsed.Lines.BareCR || parsed.Lines.BareLF || parsed.Lines.NUL {
		return fieldError("message", "lines must end with CRLF; bare CR or LF and NUL are refused")
	}
	if parsed.Lines.Longest > 998 {
		return fieldError("message", "a line is longer than 998 octets (RFC 5322 section 2.1.1)")
	}
	if len(parsed.From) != 1 {
		return fieldError("message", "the message needs exactly one From address")
	}
	from, err := message.NormalizeAddress(parsed.From[0])
	if err != nil {
		return fieldError("message", "the From address is invalid")
	}
	p.fromDomain, p.fromField = from.Domain(), "from"
	p.mailFrom, p.fromEmail, p.parsed = from.Email, from.Email, parsed
	if s.MailFrom != "" {
		mf, err := message.ParseAddress(s.MailFrom)
		if err != nil {
			return fieldError("mail_from", err.Error())
		}
		p.mailFrom = mf.Email
	}
	raw := s.Raw
	if parsed.MessageID == "" {
		raw = append([]byte("Message-ID: <"+p.messageID+"@"+p.fromDomain+">\r\n"), raw...)
	}
	if !bytes.Contains(headerBlock(raw), []byte("\nDate:")) && !bytes.HasPrefix(raw, []byte("Date:")) {
		raw = append([]byte("Date: "+o.opts.Clock().Format("Mon, 02 Jan 2006 15:04:05 -0700")+"\r\n"), raw...)
	}
	p.raw = raw
	for i, r := range s.Rcpts {
		a, err := message.ParseAddress(r)
		if err != nil {
			return fieldError(fmt.Sprintf("rcpts[%d]", i), err.Error())
		}
		if err := p.addRcpt(fmt.Sprintf("rcpts[%d]", i), "to", a); err != nil {
			return err
		}
	}
	return nil
}

// headerBlock is the header section of a raw message, for cheap checks.
func headerBlock(raw []byte) []byte {
	if i := bytes.Index(raw, []byte("\r\n\r\n")); i >= 0 {
		return raw[:i+2]
	}
	return raw
}
