package policy

import (
	"context"
	"errors"
	"fmt"
	"strings"

	"github.com/carepost/carepost/internal/phi"
)

// Rule ids of the engine, as Reason.Rule shows them (content rules and
// overrides add their names: "content:phi", "override:cardiology").
const (
	RuleContentPHI   = "content.phi"
	RuleUnscanned    = "content.unscanned"
	RuleContent      = "content:"
	RuleSubjectTag   = "subject.tag"
	RuleSubjectPHI   = "subject.phi"
	RulePortalDomain = "domain.always-portal"
	RulePin          = "domain.pin"
	RuleOverride     = "override:"
	RuleFallback     = "fallback"
)

// Evaluation is one message weighed against its organization's policy: the
// content half of every recipient's decision, computed once.
type Evaluation struct {
	// Version is the policy version applied (0: the built-in default).
	Version int
	// Findings are what the detectors found, without content.
	Findings []phi.Finding
	// PHI: assumed, or found in a source that declared none, or not
	// fully scanned.
	PHI bool
	// SubjectFlagged: a finding at or above the threshold in the subject.
	SubjectFlagged bool
	// Tagged: the subject carries the organization's tag.
	Tagged bool
	// Unscanned: some content could not be scanned.
	Unscanned bool

	engine *Engine
	c      *compiled
	msg    Message
	found  bool
	groups []string
}

// Decide decides one recipient (an address normalized by package message).
// It reads nothing but the key directory, so explain and submit, given the
// same message, recipients and policy version, decide the same.
func (ev *Evaluation) Decide(ctx context.Context, email string) (Decision, error) {
	m, c := ev.msg, ev.c
	d := Decide(Input{Security: m.Security, NonPHI: m.NonPHI, RequireTLS: m.RequireTLS, TLSOnly: m.TLSOnly})
	d.PHI, d.SubjectFlagged = ev.PHI, ev.SubjectFlagged
	ev.content(&d)
	if ev.Tagged {
		d.raise(E2E, RuleSubjectTag, "subject tag "+c.doc.SubjectTag+" (removed before delivery)")
	}
	if ev.SubjectFlagged {
		d.note(RuleSubjectPHI, "PHI detected in the subject: notifications omit it")
	}
	domain := email[strings.LastIndexByte(email, '@')+1:]
	if c.pins[domain] {
		d.raise(VerifiedTLS, RulePin, "partner domain "+domain+" is pinned to verified TLS")
	}
	if e, ok := domainIn(domain, c.doc.AlwaysPortalDomains); ok {
		if d.PHI {
			d.raise(Portal, RulePortalDomain, "PHI to "+e+", an always-portal domain")
		} else {
			d.note(RulePortalDomain, e+" is an always-portal domain; not applied: no PHI")
		}
	}
	ev.overrides(&d, email, domain)
	if err := ev.fallback(ctx, &d, email); err != nil {
		return Decision{}, err
	}
	return d, nil
}

// content applies the content half: findings in a "no PHI" source, the
// content rules, and content that could not be scanned.
func (ev *Evaluation) content(d *Decision) {
	c := ev.c
	if ev.msg.NonPHI && ev.found {
		d.raise(VerifiedTLS, RuleContentPHI, "PHI found in a source declared free of PHI: "+ev.summary())
	}
	for _, r := range c.rules {
		if detail, ok := r.trigger(ev.Findings); ok {
			d.raise(r.level, RuleContent+r.name, detail)
		}
	}
	if ev.Unscanned {
		d.raise(c.strictly, RuleUnscanned, "content could not be fully scanned: the strongest content rule applies")
	}
}

// summary lists the findings at or above the threshold.
func (ev *Evaluation) summary() string {
	var parts []string
	for _, f := range ev.Findings {
		if f.Confidence >= ev.c.minConf {
			parts = append(parts, f.String())
		}
	}
	return strings.Join(parts, ", ")
}

// overrides applies the most specific matching override; the others are
// noted as shadowed, so the explanation shows why they did not decide.
func (ev *Evaluation) overrides(d *Decision, email, domain string) {
	list := ev.c.matchOverrides(email, domain, ev.msg.From, ev.groups)
	for i, o := range list {
		if i == 0 {
			d.raise(o.Level, RuleOverride+o.Name, o.kind()+" override "+o.Name+" requires "+string(o.Level))
			continue
		}
		d.note(RuleOverride+o.Name, o.kind()+" override "+o.Name+" not applied: "+list[0].Name+" is more specific")
	}
}

// fallback sets the methods delivery walks, asking the key directory only
// when an e2e key could matter.
func (ev *Evaluation) fallback(ctx context.Context, d *Decision, email string) error {
	tlsOnly := ev.msg.TLSOnly
	ask := !tlsOnly && (d.Level == E2E || (d.Level == VerifiedTLS && ev.c.doc.E2EFallback))
	key := false
	dir := ev.engine.deps.Directory
	if ev.msg.Keys != nil {
		dir = ev.msg.Keys
	}
	if ask && dir != nil {
		kind, ok, err := dir.HasValidKey(ctx, ev.msg.OrgID, email)
		switch {
		case ctx.Err() != nil:
			return ctx.Err()
		case err != nil:
			// Fail closed without failing the message: no e2e, so the
			// chain ends at the portal as it would without a key.
			d.note(RuleFallback, "the key directory could not be read; e2e not offered")
		case ok:
			key = true
			d.note(RuleFallback, "a usable "+kind+" key is known: e2e before the portal")
		}
	}
	d.Methods, d.Drop = methodsFor(d.Level, tlsOnly, key), tlsOnly
	switch {
	case tlsOnly && len(d.Methods) == 0:
		d.note(RuleTLSOnly, "policy requires "+string(d.Level)+", which a TLS-only source never uses: dropped")
	case !tlsOnly && d.Level == E2E && !key:
		d.note(RuleFallback, "no usable e2e key: the portal")
	}
	return nil
}

// StripSubjectTag returns raw with the organization's tag removed from the
// Subject field when the message was tagged, and raw unchanged otherwise.
func (ev *Evaluation) StripSubjectTag(raw []byte) ([]byte, error) {
	if !ev.Tagged || ev.msg.Parsed == nil {
		return raw, nil
	}
	out, err := stripSubjectTag(raw, ev.msg.Parsed.Subject, ev.c.doc.SubjectTag)
	if err != nil {
		return nil, fmt.Errorf("strip subject tag: %w", err)
	}
	return out, nil
}

// ErrStale means a save named a version that is no longer current.
var ErrStale = errors.New("the policy changed since that version; read it again and reapply your change")
