package phi

// ssnDetector finds US Social Security numbers, HIPAA 164.514(b)(2)(i)(G).
//
// Shapes: AAA-GG-SSSS (Medium, High with a keyword nearby), AAA GG SSSS and
// AAAGGSSSS (Low: nine digits are also order, tracking and routing numbers;
// High with a keyword). A number is refused when the SSA never issues it
// (https://www.ssa.gov/employer/randomization.html): area 000, 666 or
// 900-999 (the 9xx areas are ITINs), group 00, serial 0000, and the two
// numbers the SSA voided after they were printed in advertising. A phone
// number (3-3-4 digits) never has an SSN's shape, and a digit group that
// continues on either side ("1-123-45-6789", "123-45-6789-0") is part of a
// longer number.
type ssnDetector struct{ context *keywords }

func newSSN() *ssnDetector {
	return &ssnDetector{context: newKeywords([]string{"ssn", "ss#", "ss #", "social security", "soc sec", "socsec"})}
}

func (*ssnDetector) name() string { return SSN }

func (d *ssnDetector) scan(t *Text) (int, Confidence) {
	var res tally
	s := t.s
	for i := 0; i < len(s); {
		if !isDigit(s[i]) {
			i = nextDigit(s, i)
			continue
		}
		end, sep, ok := ssnAt(s, i)
		if !ok {
			i = digitRun(s, i)
			continue
		}
		conf := Low
		if sep == '-' {
			conf = Medium
		}
		if d.context.near(t.lower, i-40, end+24) {
			conf = High
		}
		res.add(conf)
		i = end
	}
	return res.result()
}

// ssnAt parses an SSN starting at s[i] (a digit) and returns its end and
// separator (0 for none).
func ssnAt(s string, i int) (end int, sep byte, ok bool) {
	if i > 0 && (isAlpha(s[i-1]) || continues(s, i-1, -1)) {
		return 0, 0, false
	}
	if len(s)-i < 9 || !digits(s, i, 3) {
		return 0, 0, false
	}
	j := i + 3
	switch s[j] {
	case '-', ' ':
		sep = s[j]
		if len(s)-j < 8 || !digits(s, j+1, 2) || s[j+3] != sep || !digits(s, j+4, 4) {
			return 0, 0, false
		}
		end = j + 8
	default:
		if !digits(s, j, 6) {
			return 0, 0, false
		}
		end = j + 6
	}
	if end < len(s) && (isAlnum(s[end]) || continues(s, end, 1)) {
		return 0, 0, false
	}
	if sep != '-' && ((i >= 2 && s[i-1] == ' ' && isDigit(s[i-2])) || (end+1 < len(s) && s[end] == ' ' && isDigit(s[end+1]))) {
		return 0, 0, false // "12 123 45 6789": part of a longer spaced number
	}
	area, group, serial := num(s, i, 3), num(s, i+3, 2), num(s, i+5, 4)
	if sep != 0 {
		group, serial = num(s, i+4, 2), num(s, i+7, 4)
	}
	return end, sep, validSSN(area, group, serial)
}

// validSSN applies the SSA's never-issued rules.
func validSSN(area, group, serial int) bool {
	switch {
	case area == 0 || area == 666 || area >= 900 || group == 0 || serial == 0:
		return false
	case area == 78 && group == 5 && serial == 1120, area == 219 && group == 9 && serial == 9999:
		// QUIRK: voided by the SSA after appearing on a wallet insert
		// (078-05-1120) and in an advertisement (219-09-9999).
		return false
	}
	return true
}

// continues reports whether the separator at s[k] joins a digit on its far
// side (dir -1: before, +1: after), i.e. the number goes on.
func continues(s string, k, dir int) bool {
	c := s[k]
	if c != '-' && c != '.' && c != '/' {
		return false
	}
	k += dir
	return k >= 0 && k < len(s) && isDigit(s[k])
}

// digits reports whether s[i:i+n] is all digits.
func digits(s string, i, n int) bool {
	if i < 0 || i+n > len(s) {
		return false
	}
	for k := i; k < i+n; k++ {
		if !isDigit(s[k]) {
			return false
		}
	}
	return true
}

// num reads the n digits at s[i:] as a number (the caller checked them).
func num(s string, i, n int) int {
	v := 0
	for k := i; k < i+n; k++ {
		v = v*10 + int(s[k]-'0')
	}
	return v
}
