package phi

// icd10Detector finds ICD-10-CM diagnosis codes: a letter, two digits (a
// category that exists in that letter's chapter), then optionally a dot and
// up to four letters or digits ("E11.9", "S72.001A", "F32A" undotted).
//
// Letter-and-two-digits is also the shape of vitamins (B12), aircraft
// (B52), paper sizes, rooms and part numbers, so a code alone is weak:
//
//	High    a context word within a few words: ICD, diagnosis, dx…
//	Medium  two or more different codes, one of them dotted ("E11.9, I10")
//	Low     anything else
//
// and a code right after "vitamin", "model", "room", "part", "flight"… or
// after '#' (a colour such as #E11D48) is not a code. Only upper-case codes
// count: QUIRK: "e11.9" is accepted by coders' tools, but lower-case letter-
// digit runs are so common in CSS, URLs and identifiers that accepting them
// would make every HTML message Low-positive for nothing.
type icd10Detector struct{ context, notCode *keywords }

// icdRange is the lowest and highest two-digit category of each chapter
// letter in ICD-10-CM (CMS, FY2025 code tables): D90-D99, E90-E99, H96-H99,
// K96-K99, P97-P99 and T89-T99 do not exist, F starts at F01, T at T07,
// and U holds only the special-purpose U07 and U09.
var icdRange = [26][2]int8{
	{0, 99}, {0, 99}, {0, 96}, {0, 89}, {0, 89}, {1, 99}, {0, 99}, {0, 95}, {0, 99}, // A-I
	{0, 99}, {0, 95}, {0, 99}, {0, 99}, {0, 99}, {0, 99}, {0, 96}, {0, 99}, {0, 99}, // J-R
	{0, 99}, {7, 88}, {7, 9}, {0, 99}, {0, 99}, {0, 99}, {0, 99}, {0, 99}, // S-Z
}

// icdLetterCategories are the categories whose third character is a letter.
var icdLetterCategories = [...]string{"C4A", "C7A", "C7B", "D3A", "M1A", "O9A", "Z3A"}

func newICD10() *icd10Detector {
	return &icd10Detector{
		context: newKeywords([]string{"icd", "icd-10", "icd10", "icd-10-cm", "diagnosis", "diagnoses", "diagnosed", "dx", "diag"}),
		notCode: newKeywords([]string{"vitamin", "model", "sku", "part", "item", "room", "suite", "flight", "gate", "seat",
			"size", "form", "route", "highway", "exit", "version", "level", "unit", "apt", "building", "bldg", "row", "section"}),
	}
}

func (*icd10Detector) name() string { return ICD10 }

func (d *icd10Detector) scan(t *Text) (int, Confidence) {
	s := t.s
	var count int
	var best Confidence
	var distinct []string
	dotted := false
	for i := 0; i+3 <= len(s); i++ {
		if !isUpper(s[i]) || (i > 0 && (isAlnum(s[i-1]) || s[i-1] == '#' || continues(s, i-1, -1))) {
			continue
		}
		end, dot, ok := icdAt(s, i)
		if !ok || d.afterNotCode(t.lower, i) {
			continue
		}
		count++
		dotted = dotted || dot
		if !containsString(distinct, s[i:end]) {
			distinct = append(distinct, s[i:end])
		}
		if d.context.near(t.lower, i-48, end+24) {
			best = High
		}
		i = end
	}
	switch {
	case count == 0:
		return 0, None
	case best == High:
	case len(distinct) >= 2 && dotted:
		best = Medium
	default:
		best = Low
	}
	return count, best
}

// icdAt parses a code at s[i] (an upper-case letter) and returns its end
// and whether it has a dotted extension.
func icdAt(s string, i int) (end int, dot, ok bool) {
	l, c1, c2 := s[i], s[i+1], s[i+2]
	if !isDigit(c1) {
		return 0, false, false
	}
	switch {
	case isDigit(c2):
		r := icdRange[l-'A']
		if cat := int8(num(s, i+1, 2)); cat < r[0] || cat > r[1] {
			return 0, false, false
		}
	case !containsString(icdLetterCategories[:], s[i:i+3]):
		return 0, false, false
	}
	j := i + 3
	if j+1 < len(s) && s[j] == '.' && codeChar(s[j+1]) {
		dot = true
		j++
	}
	k := j
	for k < len(s) && k-j < 4 && codeChar(s[k]) {
		k++
	}
	if k < len(s) && (isAlnum(s[k]) || ((s[k] == '.' || s[k] == '-') && k+1 < len(s) && isAlnum(s[k+1]))) {
		return 0, false, false // longer than a code, or a version / part number
	}
	return k, dot, true
}

func codeChar(c byte) bool { return isDigit(c) || isUpper(c) }

// afterNotCode reports whether the word just before lower[i] (past spaces
// and ':' '#' '-') is one that makes a code-like token something else.
func (d *icd10Detector) afterNotCode(lower string, i int) bool {
	k := i
	for k > 0 && i-k < 3 && (lower[k-1] == ' ' || lower[k-1] == ':' || lower[k-1] == '#' || lower[k-1] == '-') {
		k--
	}
	w := k
	for w > 0 && k-w < 12 && isAlpha(lower[w-1]) {
		w--
	}
	if w == k || (w > 0 && isAlpha(lower[w-1])) {
		return false
	}
	word := lower[w:k]
	for _, n := range d.notCode.list {
		if word == n {
			return true
		}
	}
	return false
}

func containsString(list []string, v string) bool {
	for _, x := range list {
		if x == v {
			return true
		}
	}
	return false
}
