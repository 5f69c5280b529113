package phi

import (
	"fmt"
	"strings"
)

// Names of the built-in detectors, as findings and policy rules name them.
const (
	SSN        = "ssn"
	MRN        = "mrn"
	DOB        = "dob"
	ICD10      = "icd10"
	NPI        = "npi"
	Keyword    = "keyword"
	Attachment = "attachment"
	// RegexPrefix starts the name of each organization pattern's
	// detector: "regex:member-id".
	RegexPrefix = "regex:"
)

// Builtin lists the built-in text detectors.
func Builtin() []string { return []string{SSN, MRN, DOB, ICD10, NPI} }

// Locations of a finding in a message.
const (
	InSubject    = "subject"
	InBody       = "body"
	InAttachment = "attachment"
)

// Confidence grades how sure a detector is that a match is PHI.
type Confidence int

// Confidences, weakest first. The zero value means nothing was found.
const (
	None Confidence = iota
	Low
	Medium
	High
)

var confidenceNames = [...]string{"none", "low", "medium", "high"}

func (c Confidence) String() string {
	if c < None || c > High {
		return "invalid"
	}
	return confidenceNames[c]
}

// MarshalText writes the name ("medium").
func (c Confidence) MarshalText() ([]byte, error) { return []byte(c.String()), nil }

// UnmarshalText reads a name written by MarshalText.
func (c *Confidence) UnmarshalText(b []byte) error {
	v, err := ParseConfidence(string(b))
	if err != nil {
		return err
	}
	*c = v
	return nil
}

// ParseConfidence reads "low", "medium" or "high".
func ParseConfidence(s string) (Confidence, error) {
	for i, n := range confidenceNames {
		if i > 0 && strings.EqualFold(s, n) {
			return Confidence(i), nil
		}
	}
	return None, fmt.Errorf("must be low, medium or high")
}

// Finding is what one detector found in one part of a message. It never
// holds the matched text: only how many matches, how sure the detector is
// of the strongest one, and where (a redacted position).
type Finding struct {
	Detector   string     `json:"detector"`
	Count      int        `json:"count"`
	Confidence Confidence `json:"confidence"`
	Location   string     `json:"location"`
}

// String describes the finding without content: "ssn ×2 (high) in body".
func (f Finding) String() string {
	return fmt.Sprintf("%s ×%d (%s) in %s", f.Detector, f.Count, f.Confidence, f.Location)
}

// detector finds one kind of PHI in a prepared text. It returns how many
// matches it found and the confidence of the strongest.
type detector interface {
	name() string
	scan(t *Text) (count int, conf Confidence)
}

// tally accumulates matches for a detector's result.
type tally struct {
	count int
	conf  Confidence
}

func (t *tally) add(c Confidence) {
	t.count++
	t.conf = max(t.conf, c)
}

func (t tally) result() (int, Confidence) { return t.count, t.conf }
