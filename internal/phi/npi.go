package phi

// npiDetector finds National Provider Identifiers: ten digits, the first 1
// or 2, the last a Luhn check digit computed over the nine others prefixed
// with 80840 (CMS, "Requirements for NPI check digit", the ISO 7812 issuer
// prefix for US health applications). An NPI names a provider, not a
// patient; beside a patient's details it is part of their PHI.
//
// One random ten-digit number in ten passes the check, and US phone
// numbers written without separators are ten digits too, so a valid number
// is Low unless a keyword ("NPI", "national provider", "prescriber") is
// near, which makes it High.
type npiDetector struct{ context *keywords }

func newNPI() *npiDetector {
	return &npiDetector{context: newKeywords([]string{"npi", "npis", "national provider", "provider id", "provider number", "prescriber"})}
}

func (*npiDetector) name() string { return NPI }

func (d *npiDetector) scan(t *Text) (int, Confidence) {
	var res tally
	s := t.s
	for i := 0; i < len(s); {
		if !isDigit(s[i]) {
			i = nextDigit(s, i)
			continue
		}
		end := digitRun(s, i)
		if end-i == 10 && (s[i] == '1' || s[i] == '2') && standsAlone(s, i, end) && ValidNPI(s[i:end]) {
			conf := Low
			if d.context.near(t.lower, i-40, end+24) {
				conf = High
			}
			res.add(conf)
		}
		i = end
	}
	return res.result()
}

// standsAlone reports whether the digit run s[i:end] is a number of its
// own: no letter touches it and no separator joins it to more digits.
func standsAlone(s string, i, end int) bool {
	if i > 0 && (isAlpha(s[i-1]) || continues(s, i-1, -1)) {
		return false
	}
	return end >= len(s) || !(isAlpha(s[end]) || continues(s, end, 1))
}

// ValidNPI reports whether n is ten digits with a correct NPI check digit.
func ValidNPI(n string) bool {
	if len(n) != 10 || !digits(n, 0, 10) {
		return false
	}
	// Luhn over "80840" + the first nine digits, doubling every other
	// digit from the right of the nine. The prefix's digits land on
	// 8, 0, 8, 4→8, 0 (the 4 doubled), a constant 24, as CMS notes.
	sum := 24
	for k := 8; k >= 0; k-- {
		v := int(n[k] - '0')
		if (8-k)%2 == 0 {
			v *= 2
			if v > 9 {
				v -= 9
			}
		}
		sum += v
	}
	return (10-sum%10)%10 == int(n[9]-'0')
}
