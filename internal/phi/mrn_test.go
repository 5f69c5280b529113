package phi

import "testing"

func TestMRNDefault(t *testing.T) {
	t.Parallel()
	d, err := newMRN(DefaultMRNPattern, DefaultMRNKeywords())
	if err != nil {
		t.Fatal(err)
	}
	runCases(t, d, []detCase{
		{"MRN: 12345678", 1, High},
		{"Medical record number A-1234567", 1, High},
		{"mr#00123456", 1, High},
		{"Chart # MRX7654321", 1, High},
		{"medical record number (MRN) 12345678", 1, High},
		{"MRN 12345678, 87654321", 2, High},
		// No keyword, too short, too far, too long.
		{"Order 12345678 shipped", 0, None},
		{"MRN: 123", 0, None},
		{"MRN is printed on the back of the card you received; 12345678", 0, None},
		{"MRN 1234567890123", 0, None},
		{"mrnx 12345678", 0, None},
	})
}

func TestMRNOrganizationPattern(t *testing.T) {
	t.Parallel()
	d, err := newMRN(`CP[0-9]{6}`, []string{"chart", "record"})
	if err != nil {
		t.Fatal(err)
	}
	runCases(t, d, []detCase{
		{"Chart CP123456", 1, High},
		{"record: CP654321 updated", 1, High},
		{"Chart 12345678", 0, None},
		{"CP123456", 0, None},
		{"chart CP1234567", 0, None},
	})
}
