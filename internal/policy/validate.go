package policy

import (
	"errors"
	"fmt"
	"regexp"
	"slices"
	"strings"

	"github.com/carepost/carepost/internal/message"
	"github.com/carepost/carepost/internal/phi"
)

// Limits on a policy document.
const (
	MaxContentRules = 50
	MaxDomains      = 500
	MaxOverrides    = 1000
	maxTag          = 40
	maxName         = 80
)

const detectorAny = "any"

var ruleName = regexp.MustCompile(`^[a-z0-9][a-z0-9-]{0,39}$`)

// problems collects FieldErrors; their messages never carry a value.
type problems struct{ l message.FieldErrors }

func (p *problems) add(field, msg string) {
	p.l = append(p.l, &message.FieldError{Field: field, Msg: msg})
}

// Validate checks d and normalizes it in place (domains and addresses to
// lower-case A-labels, defaults for zero counts), reporting every problem
// as a message.FieldError naming the field ("content_rules[2].level").
func (d *Document) Validate() error {
	_, err := d.validate()
	return err
}

// validate is Validate, also returning the document's detectors.
func (d *Document) validate() (*phi.Scanner, error) {
	var p problems
	if _, err := phi.ParseConfidence(d.MinConfidence); err != nil {
		p.add("min_confidence", err.Error())
	}
	var patterns []string
	for _, pt := range d.Detectors.Patterns {
		patterns = append(patterns, pt.Name)
	}
	sc, err := phi.New(d.Detectors)
	if err != nil {
		var ce phi.ConfigErrors
		if !errors.As(err, &ce) {
			return nil, err
		}
		for _, e := range ce {
			p.add("detectors."+e.Field, e.Msg)
		}
	}
	d.validateRules(&p, patterns)
	d.SubjectTag = strings.TrimSpace(d.SubjectTag)
	if t := d.SubjectTag; t != "" && (len(t) < 2 || len(t) > maxTag || !printable(t)) {
		p.add("subject_tag", fmt.Sprintf("must be empty (no tag) or 2 to %d printable characters", maxTag))
	}
	if len(d.AlwaysPortalDomains) > MaxDomains {
		p.add("always_portal_domains", fmt.Sprintf("at most %d domains", MaxDomains))
	}
	for i := range d.AlwaysPortalDomains {
		n, err := normDomain(d.AlwaysPortalDomains[i])
		if err != nil {
			p.add(fmt.Sprintf("always_portal_domains[%d]", i), "must be a domain name such as example.org")
		}
		d.AlwaysPortalDomains[i] = n
	}
	d.validateOverrides(&p)
	if len(p.l) > 0 {
		return nil, p.l
	}
	return sc, nil
}

func (d *Document) validateRules(p *problems, patterns []string) {
	if len(d.ContentRules) > MaxContentRules {
		p.add("content_rules", fmt.Sprintf("at most %d rules", MaxContentRules))
	}
	var names []string
	for i := range d.ContentRules {
		r := &d.ContentRules[i]
		f := fmt.Sprintf("content_rules[%d]", i)
		if !ruleName.MatchString(r.Name) {
			p.add(f+".name", "must be 1 to 40 lower-case letters, digits and '-'")
		} else if slices.Contains(names, r.Name) {
			p.add(f+".name", "is used by another rule")
		}
		names = append(names, r.Name)
		if len(r.Detectors) == 0 {
			p.add(f+".detectors", "name at least one detector, or \"any\"")
		}
		for j, det := range r.Detectors {
			if !knownDetector(det, patterns) {
				p.add(fmt.Sprintf("%s.detectors[%d]", f, j), "must be any, ssn, mrn, dob, icd10, npi, keyword, attachment, regex or regex:<a pattern's name>")
			}
		}
		if r.MinCount == 0 {
			r.MinCount = 1
		}
		if r.MinCount < 1 || r.MinCount > 1000 {
			p.add(f+".min_count", "must be 1 to 1000")
		}
		if _, err := phi.ParseConfidence(r.MinConfidence); r.MinConfidence != "" && err != nil {
			p.add(f+".min_confidence", "must be empty (the document's), low, medium or high")
		}
		if r.In != "" && r.In != phi.InSubject && r.In != phi.InBody && r.In != phi.InAttachment {
			p.add(f+".in", "must be empty (anywhere), subject, body or attachment")
		}
		checkRaise(p, f+".level", r.Level)
	}
}

// checkRaise refuses levels a rule cannot use: rules only raise, and
// nothing is raised to opportunistic.
func checkRaise(p *problems, field string, l Level) {
	if l != VerifiedTLS && l != E2E && l != Portal {
		p.add(field, "must be verified-tls, e2e or portal (rules only raise the level)")
	}
}

func knownDetector(d string, patterns []string) bool {
	switch {
	case d == detectorAny, d == phi.Keyword, d == phi.Attachment, d == "regex", slices.Contains(phi.Builtin(), d):
		return true
	case strings.HasPrefix(d, phi.RegexPrefix):
		return slices.Contains(patterns, strings.TrimPrefix(d, phi.RegexPrefix))
	}
	return false
}

func (d *Document) validateOverrides(p *problems) {
	if len(d.Overrides) > MaxOverrides {
		p.add("overrides", fmt.Sprintf("at most %d overrides", MaxOverrides))
	}
	seen := map[string]bool{}
	for i := range d.Overrides {
		o := &d.Overrides[i]
		f := fmt.Sprintf("overrides[%d]", i)
		o.Name = strings.TrimSpace(o.Name)
		if o.Name == "" || len(o.Name) > maxName || !printable(o.Name) {
			p.add(f+".name", fmt.Sprintf("must be 1 to %d printable characters", maxName))
		}
		kind, field, err := o.normalize()
		switch {
		case kind == "":
			p.add(f, "set exactly one of recipient, recipient_domain, sender and sender_group")
		case err != nil:
			p.add(f+"."+field, err.Error())
		case seen[kind+"\x00"+o.target()]:
			p.add(f+"."+field, "another override already names this "+strings.ReplaceAll(field, "_", " "))
		}
		seen[kind+"\x00"+o.target()] = true
		checkRaise(p, f+".level", o.Level)
	}
}

// normalize lower-cases the override's target and returns its kind and
// field name ("" when not exactly one is set).
func (o *Override) normalize() (kind, field string, err error) {
	set := 0
	for _, v := range []string{o.Recipient, o.RecipientDomain, o.Sender, o.SenderGroup} {
		if v != "" {
			set++
		}
	}
	if set != 1 {
		return "", "", nil
	}
	switch {
	case o.Recipient != "":
		o.Recipient, err = normAddress(o.Recipient)
		return overRecipient, "recipient", err
	case o.RecipientDomain != "":
		o.RecipientDomain, err = normDomain(o.RecipientDomain)
		return overDomain, "recipient_domain", err
	case o.Sender != "":
		o.Sender, err = normAddress(o.Sender)
		return overSender, "sender", err
	}
	o.SenderGroup = strings.TrimSpace(o.SenderGroup)
	if len(o.SenderGroup) > 100 || !printable(o.SenderGroup) {
		err = errors.New("must be a role id or built-in role name")
	}
	return overGroup, "sender_group", err
}

func (o Override) target() string {
	return o.Recipient + o.RecipientDomain + o.Sender + o.SenderGroup
}

// normDomain normalizes a domain the way recipient domains are (lower-case
// A-labels, fully qualified).
func normDomain(s string) (string, error) {
	a, err := message.NormalizeAddress(message.Address{Email: "x@" + strings.TrimSpace(s)})
	if err != nil {
		return s, errors.New("must be a domain name such as example.org")
	}
	return a.Domain(), nil
}

func normAddress(s string) (string, error) {
	a, err := message.NormalizeAddress(message.Address{Email: strings.TrimSpace(s)})
	if err != nil {
		return s, errors.New("must be an e-mail address")
	}
	return strings.ToLower(a.Email), nil
}

func printable(s string) bool {
	for _, r := range s {
		if r < 0x20 || r == 0x7f || (r >= 0x80 && r < 0xa0) {
			return false
		}
	}
	return true
}
