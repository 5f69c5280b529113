package outbox

import (
	"bytes"
	"fmt"
	"strings"

	"github.com/carepost/carepost/internal/id"
	"github.com/carepost/carepost/internal/message"
	"github.com/carepost/carepost/internal/policy"
)

// prepared is everything Submit works out before its transaction.
type prepared struct {
	messageID  string
	raw        []byte
	mailFrom   string
	fromDomain string
	fromField  string
	rcpts      []preparedRcpt
	decision   policy.Decision
}

type preparedRcpt struct {
	id     string
	email  string
	domain string
	kind   string
}

func fieldError(field, msg string) error { return &message.FieldError{Field: field, Msg: msg} }

// prepare validates and builds the message outside the transaction, so the
// shared transaction holds only database work.
func (o *Outbox) prepare(s Submission) (prepared, error) {
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
	p.decision = policy.Decide(policy.Input{Security: string(s.Security), NonPHI: s.NonPHI, RequireTLS: s.RequireTLS})
	return p, nil
}

func (o *Outbox) prepareDraft(p *prepared, d message.Draft) error {
	limits := message.ValidateOptions{MaxSize: o.opts.MaxSize, MaxRecipients: o.opts.MaxRecipients}
	if err := d.ValidateWith(limits); err != nil {
		return err
	}
	from, err := message.NormalizeAddress(d.From)
	if err != nil {
		return fieldError("from", err.Error())
	}
	p.mailFrom, p.fromDomain, p.fromField = from.Email, from.Domain(), "from"
	raw, err := message.Build(d, message.BuildOptions{
		MessageID: p.messageID + "@" + p.fromDomain,
		Date:      o.opts.Clock(),
		Limits:    limits,
	})
	if err != nil {
		return err
	}
	p.raw = raw
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
	p.mailFrom = from.Email
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
