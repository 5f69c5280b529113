package phi

import (
	"fmt"
	"regexp"
	"slices"
	"strings"
)

// Config is an organization's detector settings. Package policy keeps them
// in the policy document; ConfigError fields use the document's names.
type Config struct {
	// Disabled turns built-in detectors off (names from Builtin).
	Disabled []string `json:"disabled"`
	// MRNPattern is the shape of the organization's medical record
	// numbers (RE2). Default DefaultMRNPattern.
	MRNPattern string `json:"mrn_pattern"`
	// MRNKeywords are the words an MRN follows. Default
	// DefaultMRNKeywords().
	MRNKeywords []string `json:"mrn_keywords"`
	// Keywords are the organization's own words and phrases.
	Keywords []string `json:"keywords"`
	// Patterns are the organization's own expressions.
	Patterns []Pattern `json:"patterns"`
	// AttachmentTypes are the attachment types that count as PHI.
	AttachmentTypes []string `json:"attachment_types"`
}

// ConfigError names one invalid setting ("patterns[2].regex") and the rule
// it breaks, never its value.
type ConfigError struct {
	Field string
	Msg   string
}

func (e *ConfigError) Error() string { return e.Field + ": " + e.Msg }

// ConfigErrors is every problem New found.
type ConfigErrors []*ConfigError

func (l ConfigErrors) Error() string {
	msgs := make([]string, len(l))
	for i, e := range l {
		msgs[i] = e.Error()
	}
	return "invalid detector settings: " + strings.Join(msgs, "; ")
}

// Scanner runs an organization's detectors. It is immutable once built and
// safe for concurrent use.
type Scanner struct {
	text   []detector
	attach attachmentDetector
}

var patternName = regexp.MustCompile(`^[a-z0-9][a-z0-9-]{0,39}$`)

// New compiles cfg, reporting every problem at once.
func New(cfg Config) (*Scanner, error) {
	var errs ConfigErrors
	bad := func(field, msg string) { errs = append(errs, &ConfigError{Field: field, Msg: msg}) }
	for i, n := range cfg.Disabled {
		if !slices.Contains(Builtin(), n) {
			bad(fmt.Sprintf("disabled[%d]", i), "must be one of "+strings.Join(Builtin(), ", "))
		}
	}
	s := &Scanner{}
	on := func(n string) bool { return !slices.Contains(cfg.Disabled, n) }
	if on(SSN) {
		s.text = append(s.text, newSSN())
	}
	if on(MRN) {
		pattern, words := cfg.MRNPattern, cfg.MRNKeywords
		if pattern == "" {
			pattern = DefaultMRNPattern
		}
		if len(words) == 0 {
			words = DefaultMRNKeywords()
		}
		checkWords(words, "mrn_keywords", bad)
		if d, err := newMRN(pattern, words); err != nil {
			bad("mrn_pattern", err.Error())
		} else {
			s.text = append(s.text, d)
		}
	}
	if on(DOB) {
		s.text = append(s.text, newDOB())
	}
	if on(ICD10) {
		s.text = append(s.text, newICD10())
	}
	if on(NPI) {
		s.text = append(s.text, newNPI())
	}
	if checkWords(cfg.Keywords, "keywords", bad) && len(cfg.Keywords) > 0 {
		s.text = append(s.text, &keywordDetector{words: newKeywords(cfg.Keywords)})
	}
	s.text = append(s.text, compilePatterns(cfg.Patterns, bad)...)
	if len(cfg.AttachmentTypes) > MaxAttachmentTypes {
		bad("attachment_types", fmt.Sprintf("at most %d types", MaxAttachmentTypes))
	}
	for i, a := range cfg.AttachmentTypes {
		t, err := parseAttachmentType(a)
		if err != nil {
			bad(fmt.Sprintf("attachment_types[%d]", i), err.Error())
			continue
		}
		s.attach.types = append(s.attach.types, t)
	}
	if len(errs) > 0 {
		return nil, errs
	}
	return s, nil
}

func checkWords(words []string, field string, bad func(field, msg string)) bool {
	ok := true
	if len(words) > MaxKeywords {
		bad(field, fmt.Sprintf("at most %d entries", MaxKeywords))
		ok = false
	}
	for i, w := range words {
		if n := len(strings.TrimSpace(w)); n < 2 || n > MaxKeywordBytes {
			bad(fmt.Sprintf("%s[%d]", field, i), fmt.Sprintf("must be 2 to %d bytes", MaxKeywordBytes))
			ok = false
		}
	}
	return ok
}

func compilePatterns(list []Pattern, bad func(field, msg string)) []detector {
	if len(list) > MaxPatterns {
		bad("patterns", fmt.Sprintf("at most %d patterns", MaxPatterns))
		return nil
	}
	var out []detector
	var names []string
	for i, p := range list {
		field := fmt.Sprintf("patterns[%d]", i)
		switch {
		case !patternName.MatchString(p.Name):
			bad(field+".name", "must be 1 to 40 lower-case letters, digits and '-', starting with a letter or digit")
		case slices.Contains(names, p.Name):
			bad(field+".name", "is used by another pattern")
		}
		names = append(names, p.Name)
		re, err := compileRegex(p.Regex)
		if err != nil {
			bad(field+".regex", err.Error())
			continue
		}
		out = append(out, &regexDetector{label: RegexPrefix + p.Name, re: re})
	}
	return out
}

// Scan prepares text (plain text, or HTML already through HTMLText) and
// runs every text detector over it. It returns one Finding per detector
// that found something, in detector order.
func (s *Scanner) Scan(location, text string) []Finding {
	sc := getScratch()
	defer putScratch(sc)
	t := sc.prepare(text)
	return s.ScanText(location, &t)
}

// ScanHTML scans the texts of a message's parts (plain text or HTML) as
// one: it finds what Scan(location, HTMLText(strings.Join(parts, "\n")))
// finds, in buffers reused from scan to scan.
func (s *Scanner) ScanHTML(location string, parts []string) []Finding {
	sc := getScratch()
	defer putScratch(sc)
	t := sc.prepare(sc.htmlText(parts))
	return s.ScanText(location, &t)
}

// ScanText runs every text detector over a prepared text.
func (s *Scanner) ScanText(location string, t *Text) []Finding {
	var out []Finding
	for _, d := range s.text {
		if n, c := d.scan(t); n > 0 {
			out = append(out, Finding{Detector: d.name(), Count: n, Confidence: c, Location: location})
		}
	}
	return out
}

// ScanAttachments counts the attachments of the organization's listed
// types; nil when none matched.
func (s *Scanner) ScanAttachments(parts []AttachmentPart) []Finding {
	if f := s.attach.scan(parts); f.Count > 0 {
		return []Finding{f}
	}
	return nil
}
