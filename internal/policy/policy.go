package policy

import "strings"

// Level is a transport protection level.
type Level string

// The levels in increasing strength.
const (
	Opportunistic Level = "opportunistic"
	VerifiedTLS   Level = "verified-tls"
	E2E           Level = "e2e"
	Portal        Level = "portal"
)

var rank = map[Level]int{Opportunistic: 0, VerifiedTLS: 1, E2E: 2, Portal: 3}

// AtLeast reports whether l is as strong as min.
func (l Level) AtLeast(min Level) bool { return rank[l] >= rank[min] }

// Valid reports whether l is one of the four levels.
func (l Level) Valid() bool {
	_, ok := rank[l]
	return ok
}

// Max returns the stronger level.
func Max(a, b Level) Level {
	if rank[b] > rank[a] {
		return b
	}
	return a
}

// Input describes one recipient of one message.
type Input struct {
	// Security is what the submitter asked for: auto, tls, e2e or portal.
	Security string
	// NonPHI is true only when the source guarantees the content has no PHI.
	NonPHI bool
	// RequireTLS is RFC 8689 REQUIRETLS from the submitter.
	RequireTLS bool
	// TLSOnly is the "TLS only, else drop" mode of marketing sources:
	// verified TLS or nothing, never the portal.
	TLSOnly bool
}

// Reason is one rule that applied to a decision: its id ("content:phi",
// "override:cardiology"), the level it requires, and what it saw. Details
// name detectors, counts, policy entries and levels, never message content
// or recipient addresses: they are shown in receipts and the explain
// endpoint and stored in the clear.
type Reason struct {
	Rule   string `json:"rule"`
	Level  Level  `json:"level,omitempty"`
	Detail string `json:"detail"`
}

// Decision is the level required for one recipient and why.
type Decision struct {
	// Level is the minimum protection: the strongest any rule required.
	Level Level `json:"level"`
	// Methods are the acceptable ways to deliver, in the order delivery
	// tries them: e.g. [verified-tls e2e portal] for PHI to a recipient
	// with a known key. Every method is at least as strong as Level, except
	// that a recipient that needs verified TLS may also get e2e or portal.
	// Empty means no method is acceptable (see Drop).
	Methods []Level `json:"methods"`
	// Drop means no method may be added when Methods run out: the recipient
	// fails with a reason instead of going to the portal (the "TLS only,
	// else drop" mode of marketing sources).
	Drop bool `json:"drop"`
	// PHI is whether the message is treated as carrying PHI.
	PHI bool `json:"phi"`
	// Rule describes the rule that set the level (shown in the security
	// receipt and the explain endpoint).
	Rule string `json:"rule"`
	// Reasons are every rule that applied, in the order they were weighed.
	Reasons []Reason `json:"reasons"`
	// SubjectFlagged is set when a detector matched the subject: a portal
	// notification must then not carry the subject.
	SubjectFlagged bool `json:"subject_flagged"`
}

// Rule ids of the floor.
const (
	RuleDefault    = "default"
	RuleNonPHI     = "source.non-phi"
	RuleRequireTLS = "requiretls"
	RuleSecurity   = "security"
	RuleTLSOnly    = "tls-only"
)

// Decide returns the floor for a recipient: PHI assumed (verified TLS)
// unless the source guarantees none, REQUIRETLS, the submitter's security
// field and the TLS-only mode. Rules only ever raise the level. Engine.Decide builds on
// it; outbox uses Decide alone when no engine is configured.
func Decide(in Input) Decision {
	var d Decision
	if in.NonPHI {
		d.set(Opportunistic, RuleNonPHI, "source declares no PHI")
	} else {
		d.PHI = true
		d.set(VerifiedTLS, RuleDefault, "default: treated as PHI")
	}
	if in.RequireTLS {
		d.raise(VerifiedTLS, RuleRequireTLS, "REQUIRETLS requested (RFC 8689)")
	}
	switch in.Security {
	case "tls":
		d.raise(VerifiedTLS, RuleSecurity, "security: tls requested")
	case "e2e":
		d.raise(E2E, RuleSecurity, "security: e2e requested")
	case "portal":
		d.raise(Portal, RuleSecurity, "security: portal requested")
	}
	if in.TLSOnly {
		d.raise(VerifiedTLS, RuleTLSOnly, "TLS-only source: verified TLS or drop, never the portal")
	}
	d.Methods, d.Drop = methodsFor(d.Level, in.TLSOnly, false), in.TLSOnly
	return d
}

func (d *Decision) set(l Level, rule, detail string) {
	d.Level, d.Rule = l, detail
	d.Reasons = append(d.Reasons, Reason{Rule: rule, Level: l, Detail: detail})
}

// raise records a rule that requires l and, when l is stronger than the
// level so far, makes it the deciding rule.
func (d *Decision) raise(l Level, rule, detail string) {
	d.Reasons = append(d.Reasons, Reason{Rule: rule, Level: l, Detail: detail})
	if rank[l] > rank[d.Level] {
		d.Level, d.Rule = l, detail
	}
}

// note records a rule that applied without requiring a level.
func (d *Decision) note(rule, detail string) {
	d.Reasons = append(d.Reasons, Reason{Rule: rule, Detail: detail})
}

// methodsFor is the fallback chain for a level (see the package
// documentation): required verified TLS and unavailable → e2e when the
// recipient has a usable key → portal. A TLS-only source gets verified TLS
// or nothing.
func methodsFor(l Level, tlsOnly, key bool) []Level {
	switch {
	case tlsOnly && l.AtLeast(E2E):
		return []Level{}
	case tlsOnly:
		return []Level{VerifiedTLS}
	case l == Opportunistic:
		return []Level{Opportunistic}
	case l == Portal:
		return []Level{Portal}
	}
	var out []Level
	if l == VerifiedTLS {
		out = append(out, VerifiedTLS)
	}
	if key {
		out = append(out, E2E)
	}
	return append(out, Portal)
}

// MethodList renders methods as stored: "verified-tls,e2e,portal".
func MethodList(m []Level) string {
	s := make([]string, len(m))
	for i, l := range m {
		s[i] = string(l)
	}
	return strings.Join(s, ",")
}

// ParseMethods reads methods as MethodList stored them. Unknown names are
// dropped: delivery never tries a method it does not know.
func ParseMethods(s string) []Level {
	if s == "" {
		return nil
	}
	var out []Level
	for _, f := range strings.Split(s, ",") {
		if l := Level(strings.TrimSpace(f)); l.Valid() {
			out = append(out, l)
		}
	}
	return out
}
