package policy

import (
	"time"

	"github.com/carepost/carepost/internal/phi"
)

// Document is an organization's policy, as stored (sealed, one row per
// version) and as GET/PUT /api/v1/policy show it. Fields a PUT leaves out
// keep their defaults; an explicit empty list or string clears them.
type Document struct {
	// Version is assigned on save (1, 2, …; 0 for the built-in default).
	// A PUT that names a version replaces only that version (optimistic
	// concurrency); 0 replaces whatever is current.
	Version int `json:"version"`
	// UpdatedAt is when this version was saved (ignored on input).
	UpdatedAt time.Time `json:"updated_at"`
	// MinConfidence is the weakest finding that counts as PHI, for the
	// subject check, the non-PHI-source check and rules that set none.
	// Default "medium".
	MinConfidence string `json:"min_confidence"`
	// ContentRules raise the level by what the detectors found. Default:
	// one rule, "phi": any finding → verified-tls.
	ContentRules []ContentRule `json:"content_rules"`
	// Detectors configures package phi: disabled built-ins, the MRN
	// pattern and keywords, the organization's keywords and patterns, and
	// attachment types (default ["dicom"]).
	Detectors phi.Config `json:"detectors"`
	// SubjectTag, when the subject contains it (case-insensitive), raises
	// the message to e2e-or-portal and is removed from the subject.
	// Default "[secure]"; "" turns the tag off.
	SubjectTag string `json:"subject_tag"`
	// AlwaysPortalDomains get the portal for PHI whatever their TLS.
	// A domain covers its subdomains. Default: DefaultPortalDomains().
	AlwaysPortalDomains []string `json:"always_portal_domains"`
	// Overrides raise the level per recipient or sender; see the package
	// documentation for precedence.
	Overrides []Override `json:"overrides"`
	// E2EFallback lets a recipient who needs verified TLS get e2e before
	// the portal when carepost holds a usable key for them. Default true.
	E2EFallback bool `json:"e2e_fallback"`
}

// ContentRule raises the level when the detectors find enough.
type ContentRule struct {
	// Name identifies the rule in reasons: "content:<name>".
	Name string `json:"name"`
	// Detectors the rule counts: "any", a built-in (ssn, mrn, dob, icd10,
	// npi), "keyword", "attachment", "regex" (every organization
	// pattern) or "regex:<pattern name>".
	Detectors []string `json:"detectors"`
	// MinCount is how many matches, together, trigger the rule. Default 1.
	MinCount int `json:"min_count"`
	// MinConfidence overrides the document's threshold for this rule.
	MinConfidence string `json:"min_confidence"`
	// In limits the rule to one part: "subject", "body", "attachment";
	// empty means anywhere.
	In string `json:"in"`
	// Level is what the rule requires: verified-tls, e2e or portal.
	Level Level `json:"level"`
}

// Override raises the level for one recipient address, recipient domain,
// sender address or sender group (a role id or built-in role name).
// Exactly one of the four is set.
type Override struct {
	// Name identifies the override in reasons: "override:<name>". It is
	// shown in receipts, so it should say why, not whom ("Cardiology
	// partner", not a patient's name).
	Name            string `json:"name"`
	Recipient       string `json:"recipient,omitempty"`
	RecipientDomain string `json:"recipient_domain,omitempty"`
	Sender          string `json:"sender,omitempty"`
	SenderGroup     string `json:"sender_group,omitempty"`
	Level           Level  `json:"level"`
}

// The rule every default document starts with.
const defaultRule = "phi"

// DefaultSubjectTag is the subject tag of the default document.
const DefaultSubjectTag = "[secure]"

// DefaultPortalDomains are the consumer mailbox providers the default
// document sends PHI to by portal.
//
// This is a product decision, not a protocol one: most of these providers
// do offer verified TLS (several publish MTA-STS), but a consumer mailbox
// is outside any covered entity's control once delivered — shared, synced
// to phones, forwarded — so the default keeps PHI in the portal for them.
// Organizations change the list in their policy (docs/POLICY.md).
func DefaultPortalDomains() []string {
	return []string{
		"gmail.com", "googlemail.com", "yahoo.com", "ymail.com", "rocketmail.com",
		"outlook.com", "hotmail.com", "live.com", "msn.com", "aol.com",
		"icloud.com", "me.com", "mac.com", "proton.me", "protonmail.com",
		"gmx.com", "gmx.net", "mail.com", "zoho.com", "yandex.com",
		"comcast.net", "att.net", "sbcglobal.net", "verizon.net",
	}
}

// Default returns the policy an organization has until it saves one.
func Default() Document {
	return Document{
		MinConfidence:       phi.Medium.String(),
		ContentRules:        []ContentRule{{Name: defaultRule, Detectors: []string{detectorAny}, MinCount: 1, Level: VerifiedTLS}},
		Detectors:           phi.Config{AttachmentTypes: []string{"dicom"}},
		SubjectTag:          DefaultSubjectTag,
		AlwaysPortalDomains: DefaultPortalDomains(),
		Overrides:           []Override{},
		E2EFallback:         true,
	}
}
