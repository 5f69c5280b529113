package phi

import "testing"

func TestICD10(t *testing.T) {
	t.Parallel()
	runCases(t, newICD10(), []detCase{
		{"Diagnosis: E11.9", 1, High},
		{"ICD-10 code S72.001A", 1, High},
		{"dx F32A", 1, High},
		{"diagnosed with C4A.9", 1, High},
		{"U07.1 diagnosis", 1, High},
		{"Codes E11.9 and I10 were billed", 2, Medium},
		{"E11.9, E11.9", 2, Low},
		{"I10", 1, Low},
		{"See Z3A.20.", 1, Low},
		// Product codes, places and colours.
		{"vitamin B12 and B6", 0, None},
		{"Model A12.5 lens", 0, None},
		{"Room C12, then gate B22", 0, None},
		{"color: #E11D48", 0, None},
		{"SKU AB12.3", 0, None},
		{"release A12.3.4", 0, None},
		{"part A12-B", 0, None},
		// Categories outside their chapter's range.
		{"diagnosis D95.1", 0, None},
		{"diagnosis E99", 0, None},
		{"diagnosis T99.9", 0, None},
		{"diagnosis U50", 0, None},
		{"diagnosis F00.0", 0, None},
		{"diagnosis C4B", 0, None},
		// Lower case, too long, or not letter-digit-digit.
		{"dx e11.9", 0, None},
		{"dx E11.12345", 0, None},
		{"dx E1", 0, None},
		{"dx EE1.1", 0, None},
	})
}
