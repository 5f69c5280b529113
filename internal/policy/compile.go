package policy

import (
	"fmt"
	"slices"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/carepost/carepost/internal/message"
	"github.com/carepost/carepost/internal/phi"
	"github.com/carepost/carepost/internal/store"
)

// Override kinds, by specificity (higher wins).
const (
	overGroup     = "sender_group"
	overSender    = "sender"
	overDomain    = "recipient_domain"
	overRecipient = "recipient"
)

var specificity = map[string]int{overGroup: 1, overSender: 2, overDomain: 3, overRecipient: 4}

// compiled is a Document ready to decide with: detectors built once,
// thresholds parsed, lists lower-cased, and the organization's transport
// pins. It is immutable and shared by every decision until it expires.
type compiled struct {
	doc      Document
	scanner  *phi.Scanner
	minConf  phi.Confidence
	rules    []rule
	strictly Level // the strongest level any content rule names
	tag      string
	pins     map[string]bool
	groups   bool // some override names a sender group
	loadedAt time.Time
}

type rule struct {
	name      string
	detectors []string
	minCount  int
	minConf   phi.Confidence
	in        string
	level     Level
}

// compile builds a validated document. It fails only if the stored
// document no longer validates (a newer binary's rules), which the engine
// reports rather than deciding on a policy it does not understand.
func compile(doc Document, pins []store.TransportPin, now time.Time) (*compiled, error) {
	sc, err := doc.validate()
	if err != nil {
		return nil, fmt.Errorf("policy version %d does not validate: %w", doc.Version, err)
	}
	minConf, _ := phi.ParseConfidence(doc.MinConfidence)
	c := &compiled{doc: doc, scanner: sc, minConf: minConf, strictly: VerifiedTLS,
		tag: doc.SubjectTag, pins: map[string]bool{}, loadedAt: now}
	for _, r := range doc.ContentRules {
		conf := minConf
		if r.MinConfidence != "" {
			conf, _ = phi.ParseConfidence(r.MinConfidence)
		}
		c.rules = append(c.rules, rule{name: r.Name, detectors: r.Detectors, minCount: r.MinCount, minConf: conf, in: r.In, level: r.Level})
		c.strictly = Max(c.strictly, r.Level)
	}
	for _, p := range pins {
		c.pins[strings.ToLower(p.Domain)] = true
	}
	for _, o := range doc.Overrides {
		c.groups = c.groups || o.SenderGroup != ""
	}
	return c, nil
}

// counts reports whether rule r counts finding f.
func (r rule) counts(f phi.Finding) bool {
	if f.Confidence < r.minConf || (r.in != "" && f.Location != r.in) {
		return false
	}
	for _, d := range r.detectors {
		switch {
		case d == detectorAny, d == f.Detector:
			return true
		case d == "regex" && strings.HasPrefix(f.Detector, phi.RegexPrefix):
			return true
		}
	}
	return false
}

// trigger reports whether r fires on findings, with a detail naming what
// it counted (detectors, counts, confidences, places; never content).
func (r rule) trigger(findings []phi.Finding) (string, bool) {
	total := 0
	var parts []string
	for _, f := range findings {
		if r.counts(f) {
			total += f.Count
			parts = append(parts, f.String())
		}
	}
	if total < r.minCount || total == 0 {
		return "", false
	}
	return "content rule " + r.name + ": " + strings.Join(parts, ", "), true
}

// domainIn reports the entry of list that covers domain (itself or a
// parent), preferring the longest.
func domainIn(domain string, list []string) (string, bool) {
	best := ""
	for _, e := range list {
		if (domain == e || strings.HasSuffix(domain, "."+e)) && len(e) > len(best) {
			best = e
		}
	}
	return best, best != ""
}

// matchOverrides returns the overrides that apply to a recipient of a
// message, the deciding one first: most specific kind, then (for domains)
// the longest domain, then the strongest level.
func (c *compiled) matchOverrides(email, domain, sender string, groups []string) []Override {
	var out []Override
	for _, o := range c.doc.Overrides {
		switch {
		case o.Recipient != "" && strings.EqualFold(o.Recipient, email),
			o.RecipientDomain != "" && (domain == o.RecipientDomain || strings.HasSuffix(domain, "."+o.RecipientDomain)),
			o.Sender != "" && strings.EqualFold(o.Sender, sender),
			o.SenderGroup != "" && slices.Contains(groups, o.SenderGroup):
			out = append(out, o)
		}
	}
	slices.SortStableFunc(out, func(a, b Override) int {
		if d := specificity[b.kind()] - specificity[a.kind()]; d != 0 {
			return d
		}
		if d := len(b.RecipientDomain) - len(a.RecipientDomain); d != 0 {
			return d
		}
		return rank[b.Level] - rank[a.Level]
	})
	return out
}

func (o Override) kind() string {
	switch {
	case o.Recipient != "":
		return overRecipient
	case o.RecipientDomain != "":
		return overDomain
	case o.Sender != "":
		return overSender
	}
	return overGroup
}

// dicomHead is how much of an attachment the attachment detector sees.
const dicomHead = 132

// scan runs the organization's detectors over a parsed message: the
// subject, the text of every text part (HTML made text first), and the
// attachments. unscanned is set when the message's text could not all be
// read (beyond message.Limits, or undecodable): a scan that did not see
// everything must not pass for a clean one.
func (c *compiled) scan(p *message.Parsed) (findings []phi.Finding, unscanned bool) {
	if p == nil {
		return nil, true
	}
	if p.Subject != "" {
		findings = append(findings, c.scanner.Scan(phi.InSubject, p.Subject)...)
	}
	texts, complete := p.TextParts()
	if len(texts) > 0 {
		findings = append(findings, c.scanner.ScanHTML(phi.InBody, texts)...)
	}
	if len(p.Attachments) > 0 {
		parts := make([]phi.AttachmentPart, len(p.Attachments))
		for i, a := range p.Attachments {
			parts[i] = phi.AttachmentPart{ContentType: a.ContentType, Filename: a.Filename, Head: a.Content[:min(len(a.Content), dicomHead)]}
		}
		findings = append(findings, c.scanner.ScanAttachments(parts)...)
	}
	return findings, !complete
}

// tagged reports whether subject carries the organization's tag.
func (c *compiled) tagged(subject string) bool {
	return c.tag != "" && tagIndex(subject, c.tag) >= 0
}

// tagIndex finds tag in subject, case-insensitively (Unicode simple
// folding, same byte length), or -1.
func tagIndex(subject, tag string) int {
	for i := 0; i+len(tag) <= len(subject); i++ {
		if utf8.RuneStart(subject[i]) && strings.EqualFold(subject[i:i+len(tag)], tag) {
			return i
		}
	}
	return -1
}

// StripTag returns subject without the first occurrence of tag (matched
// case-insensitively) and with the white space around it tidied:
// "[secure] Lab results" → "Lab results".
func StripTag(subject, tag string) string {
	i := -1
	if tag != "" {
		i = tagIndex(subject, tag)
	}
	if i < 0 {
		return subject
	}
	return strings.Join(strings.Fields(subject[:i]+" "+subject[i+len(tag):]), " ")
}

// tagFields are the header fields that carry the subject text: Subject,
// and Thread-Topic, which Microsoft Exchange and Outlook write with the
// subject as the sender typed it (tag included) on every message relayed
// from Microsoft 365 or Exchange through the gateway.
var tagFields = []string{"Subject", "Thread-Topic"}

// stripSubjectTag rewrites raw's Subject field (and a Thread-Topic that
// carries the tag) without the tag, through package message's header edit:
// everything else byte for byte. Any signature already covering those
// fields no longer verifies — a DKIM signature of the relaying tenant is
// then treated as absent (RFC 6376 section 6.1) — which is why the tag is
// removed before carepost signs.
func stripSubjectTag(raw []byte, subject, tag string) ([]byte, error) {
	fields, err := message.HeaderFields(raw)
	if err != nil {
		return nil, err
	}
	out := raw
	for _, name := range tagFields {
		value, ok := "", false
		for _, f := range fields {
			if strings.EqualFold(f.Name, name) {
				value, ok = f.Value, true
				break
			}
		}
		if !ok {
			continue
		}
		if name == "Subject" {
			value = subject // as parsed: encoded words decoded
		} else if dec, err := message.DecodeHeaderText(value); err == nil {
			value = dec
		}
		stripped := StripTag(value, tag)
		if stripped == value {
			continue
		}
		if out, err = message.SetHeader(out, name, message.EncodeHeaderText(stripped)); err != nil {
			return nil, err
		}
	}
	return out, nil
}
