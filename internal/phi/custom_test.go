package phi

import (
	"errors"
	"strings"
	"testing"
)

func TestOrganizationKeywordsAndPatterns(t *testing.T) {
	t.Parallel()
	s, err := New(Config{Keywords: []string{"Oncology", "  tumor   board "}, Patterns: []Pattern{{Name: "member-id", Regex: `\bMBR[0-9]{8}\b`}}})
	if err != nil {
		t.Fatal(err)
	}
	got := s.Scan(InBody, "The TUMOR board met (oncology). Member MBR12345678 and MBR87654321; not MBR123.")
	want := map[string]int{Keyword: 2, RegexPrefix + "member-id": 2}
	if len(got) != len(want) {
		t.Fatalf("findings %v, want %v", got, want)
	}
	for _, f := range got {
		if want[f.Detector] != f.Count || f.Confidence != High || f.Location != InBody {
			t.Errorf("finding %v, want count %d high in body", f, want[f.Detector])
		}
	}
	if got := s.Scan(InBody, "oncologyst tumorboard"); len(got) != 0 {
		t.Errorf("keywords matched inside words: %v", got)
	}
}

func TestConfigErrorsNameTheField(t *testing.T) {
	t.Parallel()
	_, err := New(Config{
		Disabled:        []string{"ssn", "phone"},
		MRNPattern:      `(unclosed`,
		Keywords:        []string{"ok", "x"},
		Patterns:        []Pattern{{Name: "a", Regex: `.*`}, {Name: "a", Regex: strings.Repeat("a", 600)}, {Name: "Bad Name", Regex: `(x{100}){100}`}},
		AttachmentTypes: []string{"application/pdf", "pdf", ".c$v"},
	})
	var errs ConfigErrors
	if !errors.As(err, &errs) {
		t.Fatalf("err = %v", err)
	}
	fields := map[string]bool{}
	for _, e := range errs {
		fields[e.Field] = true
		if strings.Contains(e.Msg, "unclosed") || strings.Contains(e.Msg, "aaaa") {
			t.Errorf("%s: message echoes the value: %s", e.Field, e.Msg)
		}
	}
	for _, f := range []string{"disabled[1]", "mrn_pattern", "keywords[1]", "patterns[0].regex", "patterns[1].name",
		"patterns[1].regex", "patterns[2].name", "patterns[2].regex", "attachment_types[1]", "attachment_types[2]"} {
		if !fields[f] {
			t.Errorf("no error for %s (got %v)", f, errs)
		}
	}
	if fields["disabled[0]"] || fields["attachment_types[0]"] || fields["keywords[0]"] {
		t.Errorf("valid entries reported: %v", errs)
	}
}

func TestDisabledDetectorsDoNotRun(t *testing.T) {
	t.Parallel()
	s, err := New(Config{Disabled: []string{SSN, NPI}})
	if err != nil {
		t.Fatal(err)
	}
	for _, f := range s.Scan(InSubject, "SSN 536-22-8411 NPI 1234567893 DOB 04/12/1961") {
		if f.Detector != DOB {
			t.Errorf("disabled detector ran: %v", f)
		}
	}
}
