package phi

import "testing"

func TestSSN(t *testing.T) {
	t.Parallel()
	runCases(t, newSSN(), []detCase{
		// True positives, graded by shape and context.
		{"SSN: 536-22-8411", 1, High},
		{"Her number is 536-22-8411.", 1, Medium},
		{"536-22-8411 (social security)", 1, High},
		{"Social Security number 536 22 8411", 1, High},
		{"ssn 536228411", 1, High},
		{"ref 536228411", 1, Low},
		{"536 22 8411", 1, Low},
		{"536-22-8411 and 219-45-1234", 2, Medium},
		{"SSN 536-22-8411 and 219-45-1234", 2, High},
		{"<td>SSN</td> 536-22-8411", 1, High},
		// Phone numbers have a 3-3-4 shape, never 3-2-4.
		{"Call 555-123-4567 today", 0, None},
		{"(555) 123-4567", 0, None},
		{"1-800-555-0199", 0, None},
		{"555 123 4567", 0, None},
		// Never issued by the SSA.
		{"SSN 000-12-3456", 0, None},
		{"SSN 666-12-3456", 0, None},
		{"SSN 900-12-3456", 0, None},
		{"SSN 987-65-4321", 0, None},
		{"SSN 123-00-4567", 0, None},
		{"SSN 123-45-0000", 0, None},
		{"SSN 078-05-1120", 0, None},
		{"SSN 219-09-9999", 0, None},
		// Part of a longer number, or of a word.
		{"536-22-84111", 0, None},
		{"1-536-22-8411", 0, None},
		{"536-22-8411-7", 0, None},
		{"AB536-22-8411", 0, None},
		{"536-22-8411x", 0, None},
		{"5362284111", 0, None},
		{"12 536 22 8411", 0, None},
		{"536 22 8411 7", 0, None},
		// Other shapes with nine digits or dashes.
		{"zip 12345-6789", 0, None},
		{"card 4111 1111 1111 1111", 0, None},
		{"on 2024-01-15", 0, None},
		{"536-22 8411", 0, None},
		{"536-228411", 0, None},
		{"", 0, None},
	})
}

func TestValidSSNRanges(t *testing.T) {
	t.Parallel()
	cases := []struct {
		area, group, serial int
		ok                  bool
	}{
		{1, 1, 1, true}, {899, 99, 9999, true}, {665, 1, 1, true}, {667, 1, 1, true},
		{0, 1, 1, false}, {666, 1, 1, false}, {900, 1, 1, false}, {999, 1, 1, false},
		{1, 0, 1, false}, {1, 1, 0, false},
	}
	for _, c := range cases {
		if got := validSSN(c.area, c.group, c.serial); got != c.ok {
			t.Errorf("validSSN(%03d-%02d-%04d) = %v", c.area, c.group, c.serial, got)
		}
	}
}
