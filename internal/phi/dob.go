package phi

// dobDetector finds dates of birth, HIPAA 164.514(b)(2)(i)(C): a date
// within a few words of "DOB", "D.O.B.", "date of birth", "birth date",
// "birthdate" or "born". Dates alone are everywhere in mail (appointments,
// deadlines, the Date header quoted in a reply), so a date without one of
// those words is not reported at all; with one it is High. The date may
// follow the keyword ("DOB: 04/12/1961", "born on 12 April 1961") or come
// just before it ("1961-04-12 (date of birth)").
type dobDetector struct{ context *keywords }

// Windows around a keyword where a date counts, in bytes of prepared text.
const (
	dobAfter  = 48
	dobBefore = 32
)

func newDOB() *dobDetector {
	return &dobDetector{context: newKeywords([]string{"dob", "d.o.b", "date of birth", "birth date", "birthdate", "born"})}
}

func (*dobDetector) name() string { return DOB }

func (d *dobDetector) scan(t *Text) (int, Confidence) {
	var res tally
	var seen []int // starts of dates already counted
	d.context.each(t.lower, func(start, end int) {
		for _, at := range datesIn(t.lower, start-dobBefore, start, end, end+dobAfter) {
			if !contains(seen, at) {
				seen = append(seen, at)
				res.add(High)
			}
		}
	})
	return res.result()
}

func contains(list []int, v int) bool {
	for _, x := range list {
		if x == v {
			return true
		}
	}
	return false
}

// datesIn returns the starts of the dates that begin in lower[from:kwStart]
// or lower[kwEnd:to] (clamped; a window never cuts into a number).
func datesIn(lower string, from, kwStart, kwEnd, to int) []int {
	var out []int
	scan := func(a, b int) {
		a, b = max(a, 0), min(b, len(lower))
		for a > 0 && isAlnum(lower[a-1]) {
			a--
		}
		for i := a; i < b; i++ {
			if (i > 0 && isAlnum(lower[i-1])) || !isAlnum(lower[i]) {
				continue
			}
			if end, ok := dateAt(lower, i); ok {
				out = append(out, i)
				i = end
			}
		}
	}
	scan(from, kwStart)
	scan(kwEnd, to)
	return out
}

// dateAt parses a date at lower[i], a word start, in one of the forms
// people write birth dates in: 04/12/1961, 4-12-61, 12.04.1961 (month and
// day in either order), 1961-04-12, April 12, 1961, Apr. 12 1961 and
// 12 April 1961. QUIRK: "the 12th of April" is not recognized; it is rare in
// mail and needs a year to be a full date anyway.
func dateAt(s string, i int) (int, bool) {
	if isDigit(s[i]) {
		if end, ok := numericDate(s, i); ok {
			return end, true
		}
		return dayMonthYear(s, i)
	}
	return monthDayYear(s, i)
}

// numericDate: D{1,2} sep D{1,2} sep (YY|YYYY), or YYYY sep MM sep DD, with
// one separator of / - . used twice.
func numericDate(s string, i int) (int, bool) {
	a := digitRun(s, i)
	n1 := a - i
	if a >= len(s) || (s[a] != '/' && s[a] != '-' && s[a] != '.') || (n1 != 4 && n1 > 2) {
		return 0, false
	}
	sep := s[a]
	b := digitRun(s, a+1)
	if b-a-1 < 1 || b-a-1 > 2 || b >= len(s) || s[b] != sep {
		return 0, false
	}
	c := digitRun(s, b+1)
	n3 := c - b - 1
	if c < len(s) && isAlpha(s[c]) {
		return 0, false
	}
	x, y := num(s, i, n1), num(s, a+1, b-a-1)
	if n1 == 4 {
		return c, (n3 == 1 || n3 == 2) && year(x) && validDay(y, num(s, b+1, n3))
	}
	if (n3 != 2 && n3 != 4) || (n3 == 4 && !year(num(s, b+1, 4))) {
		return 0, false
	}
	return c, validDay(x, y) || validDay(y, x)
}

// monthDayYear: Month[.] D{1,2}[st|nd|rd|th][,] YYYY.
func monthDayYear(s string, i int) (int, bool) {
	k, ok := monthAt(s, i)
	if !ok || k >= len(s) || s[k] != ' ' {
		return 0, false
	}
	d := digitRun(s, k+1)
	if d-k-1 < 1 || d-k-1 > 2 {
		return 0, false
	}
	day := num(s, k+1, d-k-1)
	d = skipOrdinal(s, d)
	if d < len(s) && s[d] == ',' {
		d++
	}
	if d >= len(s) || s[d] != ' ' || !digits(s, d+1, 4) || !year(num(s, d+1, 4)) || day < 1 || day > 31 {
		return 0, false
	}
	return d + 5, d+5 >= len(s) || !isAlnum(s[d+5])
}

// dayMonthYear: D{1,2}[st|nd|rd|th] Month[.][,] YYYY.
func dayMonthYear(s string, i int) (int, bool) {
	d := digitRun(s, i)
	if d-i < 1 || d-i > 2 {
		return 0, false
	}
	day := num(s, i, d-i)
	d = skipOrdinal(s, d)
	if d >= len(s) || s[d] != ' ' || day < 1 || day > 31 {
		return 0, false
	}
	k, ok := monthAt(s, d+1)
	if !ok {
		return 0, false
	}
	if k < len(s) && s[k] == ',' {
		k++
	}
	if k >= len(s) || s[k] != ' ' || !digits(s, k+1, 4) || !year(num(s, k+1, 4)) {
		return 0, false
	}
	return k + 5, k+5 >= len(s) || !isAlnum(s[k+5])
}

var months = [...]string{"january", "february", "march", "april", "may", "june", "july", "august", "september", "october", "november", "december"}

// monthAt matches a month name or its abbreviation (at least three
// letters, "sept" too) at lower[i], with an optional '.', and returns the
// end.
func monthAt(s string, i int) (int, bool) {
	e := i
	for e < len(s) && 'a' <= s[e] && s[e] <= 'z' {
		e++
	}
	w := s[i:e]
	if len(w) < 3 {
		return 0, false
	}
	for _, m := range months {
		if len(w) <= len(m) && m[:len(w)] == w {
			if e < len(s) && s[e] == '.' {
				e++
			}
			return e, true
		}
	}
	return 0, false
}

func skipOrdinal(s string, d int) int {
	if d+2 <= len(s) {
		switch s[d : d+2] {
		case "st", "nd", "rd", "th":
			if d+2 == len(s) || !isAlnum(s[d+2]) {
				return d + 2
			}
		}
	}
	return d
}

// year accepts the four-digit years a living person's birth date has.
func year(y int) bool { return y >= 1880 && y <= 2100 }

func validDay(month, day int) bool { return month >= 1 && month <= 12 && day >= 1 && day <= 31 }
