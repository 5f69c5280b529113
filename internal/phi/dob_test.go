package phi

import "testing"

func TestDOB(t *testing.T) {
	t.Parallel()
	runCases(t, newDOB(), []detCase{
		{"DOB: 04/12/1961", 1, High},
		{"D.O.B. 4-12-61", 1, High},
		{"Date of birth 1961-04-12", 1, High},
		{"date of birth: 12.04.1961", 1, High},
		{"birthdate: 31/12/1961", 1, High},
		{"Birth date April 12, 1961", 1, High},
		{"born on Apr. 12 1961 in Ohio", 1, High},
		{"born 12 April 1961", 1, High},
		{"born Sept 3rd, 1961", 1, High},
		{"1961-04-12 (date of birth)", 1, High},
		{"<td>DOB</td><td>04/12/1961</td>", 1, High},
		{"DOB 04/12/1961, verified against date of birth on file 04/12/1961", 2, High},
		{"date of\u00a0birth 04/12/1961", 1, High},
		// Dates without context are not reported.
		{"Your appointment is on 04/12/2025 at 10:00", 0, None},
		{"Results from 2024-06-01 are ready", 0, None},
		{"March 3, 2025", 0, None},
		// Context without a full date.
		{"born in 1961", 0, None},
		{"Date of birth: March 1961", 0, None},
		{"DOB: 13/13/1961", 0, None},
		{"DOB: 04/12/1761", 0, None},
		{"DOB: 04/12/196", 0, None},
		{"DOB: 1961-13-45", 0, None},
		{"DOB: 04/12-1961", 0, None},
		{"DOB: 04/12/1961abc", 0, None},
		// The keyword inside another word.
		{"Adobe 04/12/1961", 0, None},
		{"stubborn 04/12/1961", 0, None},
		// A date too far from the keyword.
		{"DOB is on file with the front desk of the clinic, and the visit is 04/12/2025", 0, None},
	})
}
