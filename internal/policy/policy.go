// Package policy decides, for every recipient of every message, the lowest
// transport a message may travel by. Encryption is never optional: the
// default assumes PHI and requires verified TLS; only a source that
// guarantees the content is free of PHI may use opportunistic TLS, and a
// submitter can raise the level but never lower it.
//
// Levels, weakest to strongest:
//
//	opportunistic  TLS if the receiving server offers it (never for PHI)
//	verified-tls   TLS 1.2+, certificate valid for an MX host authorized by
//	               MTA-STS (enforce), DANE, or a partner pin
//	e2e            OpenPGP or S/MIME to the recipient's own key
//	portal         the content stays in carepost's secure portal
//
// When the required level cannot be met for a recipient, delivery fails
// closed: the content is not sent (the recipient is held, or handed to the
// portal once it exists). Content rules, recipient-domain overrides and the
// key directory extend this engine (the encryption issue); this file is the
// floor every one of them builds on.
package policy

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
}

// Decision is the level required for one recipient and why.
type Decision struct {
	Level Level
	// PHI is whether the message is treated as carrying PHI.
	PHI bool
	// Rule names the rule that set the level (shown in the security
	// receipt and the explain endpoint).
	Rule string
}

// Decide returns the required level for a recipient. Rules only ever raise
// the level.
func Decide(in Input) Decision {
	d := Decision{Level: VerifiedTLS, PHI: true, Rule: "default: treated as PHI"}
	if in.NonPHI {
		d = Decision{Level: Opportunistic, PHI: false, Rule: "source declares no PHI"}
	}
	if in.RequireTLS {
		d = raise(d, VerifiedTLS, "REQUIRETLS requested (RFC 8689)")
	}
	switch in.Security {
	case "tls":
		d = raise(d, VerifiedTLS, "security: tls requested")
	case "e2e":
		d = raise(d, E2E, "security: e2e requested")
	case "portal":
		d = raise(d, Portal, "security: portal requested")
	}
	return d
}

func raise(d Decision, l Level, rule string) Decision {
	if rank[l] > rank[d.Level] {
		d.Level, d.Rule = l, rule
	}
	return d
}
