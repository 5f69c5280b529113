package phi

import "testing"

func TestNPI(t *testing.T) {
	t.Parallel()
	runCases(t, newNPI(), []detCase{
		{"NPI: 1234567893", 1, High},
		{"Referring provider 1245319599 (NPI)", 1, High},
		{"prescriber 1679576722", 1, High},
		{"ref 1003000126", 1, Low},
		{"NPIs 1234567893, 1245319599", 2, High},
		// Ten digits failing the Luhn check with the 80840 prefix.
		{"NPI: 1234567890", 0, None},
		{"NPI: 1245319590", 0, None},
		// A phone number that happens to pass the check: Low, not High.
		{"call 2125551236", 1, Low},
		{"call 2125551234", 0, None},
		// NPIs start with 1 or 2.
		{"NPI 3234567893", 0, None},
		// Not exactly ten digits, or part of something longer.
		{"NPI 12345678931", 0, None},
		{"NPI 123456789", 0, None},
		{"NPI 1234567893-1", 0, None},
		{"NPI 9-1234567893", 0, None},
		{"NPI X1234567893", 0, None},
		{"NPI 1234567893abc", 0, None},
		{"phone 212-555-1236", 0, None},
	})
}

func TestValidNPI(t *testing.T) {
	t.Parallel()
	for n, ok := range map[string]bool{"1234567893": true, "1245319599": true, "1234567890": false, "123456789": false, "12345678a3": false} {
		if ValidNPI(n) != ok {
			t.Errorf("ValidNPI(%q) = %v", n, !ok)
		}
	}
}
