package phi

import (
	"slices"
	"strings"
	"testing"
	"unicode/utf8"
)

// Fuzz targets for every detector. Each checks what must hold for any
// input: no panic, a count no larger than the text allows, a confidence
// that is None exactly when nothing was found, and the same answer twice.
// Corpora: testdata/fuzz/<target>.

func fuzzDetector(f *testing.F, d detector, minLen int, seeds ...string) {
	for _, s := range seeds {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		tx := NewText(s)
		if len(tx.s) != len(tx.lower) {
			t.Fatalf("prepared text and its lower-case copy differ in length: %d, %d", len(tx.s), len(tx.lower))
		}
		n, c := d.scan(tx)
		if n < 0 || n > len(s)/minLen+1 || (n == 0) != (c == None) || c < None || c > High {
			t.Fatalf("%s: count %d confidence %v for %d bytes", d.name(), n, c, len(s))
		}
		if n2, c2 := d.scan(tx); n2 != n || c2 != c {
			t.Fatalf("%s: not deterministic", d.name())
		}
	})
}

func FuzzSSN(f *testing.F) {
	fuzzDetector(f, newSSN(), 9, "SSN: 536-22-8411", "536 22 8411", "536228411", "1-536-22-8411-1", "555-123-4567")
}

func FuzzNPI(f *testing.F) {
	fuzzDetector(f, newNPI(), 10, "NPI: 1234567893", "2125551236", "1234567893-1")
}

func FuzzDOB(f *testing.F) {
	fuzzDetector(f, newDOB(), 3, "DOB: 04/12/1961", "born Sept 3rd, 1961", "1961-04-12 (date of birth)", "born 12 April 1961")
}

func FuzzICD10(f *testing.F) {
	fuzzDetector(f, newICD10(), 3, "Diagnosis: E11.9", "E11.9, I10", "vitamin B12", "#E11D48", "C4A.9")
}

func FuzzMRN(f *testing.F) {
	d, err := newMRN(DefaultMRNPattern, DefaultMRNKeywords())
	if err != nil {
		f.Fatal(err)
	}
	fuzzDetector(f, d, 3, "MRN: 12345678", "mr#A-1234567", "medical record number (MRN) 12345678")
}

func FuzzKeywords(f *testing.F) {
	fuzzDetector(f, &keywordDetector{words: newKeywords([]string{"oncology", "tumor board", "#hiv", "mr#"})}, 3,
		"ONCOLOGY tumor  board", "#hiv mr#1", "oncologyx")
}

// FuzzPattern compiles arbitrary expressions: compile never panics, what
// compiles never matches empty text, and the first-byte search finds
// exactly what Go's own search finds (for expressions without \b, whose
// meaning at the match start differs by design).
func FuzzPattern(f *testing.F) {
	for _, s := range [][2]string{{`MBR[0-9]{8}`, "MBR12345678 mbr12345678"}, {`(?i)mbr[0-9]{8}`, "x MBR12345678"},
		{`a|b+c`, "abbc bc"}, {`[α-ω]+x`, "αβx"}, {`(x{100}){100}`, "x"}, {`(?i)k+`, "\u212a k"}} {
		f.Add(s[0], s[1])
	}
	f.Fuzz(func(t *testing.T, expr, text string) {
		w, err := compileRegex(expr)
		if err != nil {
			return
		}
		if w.re.MatchString("") {
			t.Fatal("compiled an expression that matches empty text")
		}
		if strings.Contains(expr, `\b`) || !utf8.ValidString(text) {
			return
		}
		want := w.re.FindAllStringIndex(text, MaxMatches)
		var got [][]int
		w.each(text, func(s, e int) { got = append(got, []int{s, e}) })
		if len(got) != len(want) {
			t.Fatalf("%q on %q: %v, Go finds %v", expr, text, got, want)
		}
		for i := range got {
			if got[i][0] != want[i][0] || got[i][1] != want[i][1] {
				t.Fatalf("%q on %q: %v, Go finds %v", expr, text, got, want)
			}
		}
	})
}

// FuzzHTMLText: valid UTF-8 stays valid, and the text never grows beyond
// a space per markup byte.
func FuzzHTMLText(f *testing.F) {
	for _, s := range []string{"<p>DOB <b>04/12/1961</b></p>", `<a href="x?mrn=1">`, "<!-- c -->", "a < b", "&amp;&#45;&nbsp;", "<b"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		out := HTMLText(s)
		if utf8.ValidString(s) && !utf8.ValidString(out) {
			t.Fatalf("HTMLText(%q) = %q: invalid UTF-8", s, out)
		}
		if len(out) > 2*len(s)+2 {
			t.Fatalf("HTMLText grew %d bytes to %d", len(s), len(out))
		}
	})
}

func FuzzAttachmentType(f *testing.F) {
	for _, s := range []string{"application/pdf", "image/*", ".csv", "dicom", "x/", "/", ".", "a/b/c"} {
		f.Add(s, "application/pdf", "file.csv")
	}
	f.Fuzz(func(t *testing.T, typ, ct, name string) {
		a, err := parseAttachmentType(typ)
		if err != nil {
			return
		}
		a.matches(AttachmentPart{ContentType: ct, Filename: name}, strings.ToLower(name))
	})
}

// FuzzNextDigit holds the word-at-a-time nextDigit to a byte loop.
func FuzzNextDigit(f *testing.F) {
	for _, s := range []string{"", "7", "abcdefgh", "abcdefgh1", "abcdefghijklmnop9", "/:/:/:/:0", "\xff\xb0\xb9\x3a\x2f 5", "12345678"} {
		f.Add(s, 0)
	}
	f.Fuzz(func(t *testing.T, s string, from int) {
		if from < 0 || from > len(s) {
			from = 0
		}
		want := from
		for want < len(s) && !isDigit(s[want]) {
			want++
		}
		if got := nextDigit(s, from); got != want {
			t.Fatalf("nextDigit(%q, %d) = %d, want %d", s, from, got, want)
		}
	})
}

// matchEvery is keywords.match by its definition: every position of
// lower[from:to] where a keyword starts as a word of its own.
func matchEvery(k *keywords, lower string, from, to int) [][2]int {
	var out [][2]int
	for i := max(from, 0); i < min(to, len(lower)); i++ {
		for _, w := range k.list {
			if strings.HasPrefix(lower[i:], w) && bounded(lower, i, w) {
				out = append(out, [2]int{i, i + len(w)})
			}
		}
	}
	return out
}

// FuzzKeywordMatch holds both matchers — the byte walk (keywords with
// many first bytes) and the jump between first bytes (at most
// maxJumpFirsts) — to matchEvery, over any text and any window of it (the
// MRN and DOB detectors ask for windows that start inside words), and
// holds a match stopped by its callback to the prefix of that list.
func FuzzKeywordMatch(f *testing.F) {
	f.Add("mrn: 1234 chart#55 (dob) x-mrn amrn mrn", 0, 100)
	f.Add("patient id#12 medical record number", 3, 20)
	f.Add("#hiv.#hiv mr#mr# 9mrn", 1, 7)
	f.Add("", 3, 47) // a window past the end
	walk := newKeywords(append(DefaultMRNKeywords(), "#hiv", "mr#", "date of birth", "dob", "9"))
	jump := newKeywords([]string{"mrn", "mr#", "mr #", "medical record", "#hiv", "9", "date of birth", "dob"})
	if walk.firsts != nil || len(jump.firsts) != maxJumpFirsts {
		f.Fatalf("first bytes: walk %q, jump %q", walk.firsts, jump.firsts)
	}
	f.Fuzz(func(t *testing.T, s string, from, to int) {
		lower := NewText(s).lower
		for _, k := range []*keywords{walk, jump} {
			want := matchEvery(k, lower, from, to)
			var got [][2]int
			k.match(lower, from, to, func(start, end int) bool { got = append(got, [2]int{start, end}); return true })
			if !slices.Equal(got, want) {
				t.Fatalf("match(%q, %d, %d) = %v, by definition %v", lower, from, to, got, want)
			}
			stopAt := len(want) / 2
			got = got[:0]
			stopped := k.match(lower, from, to, func(start, end int) bool {
				got = append(got, [2]int{start, end})
				return len(got) <= stopAt
			})
			if len(want) > 0 && (!stopped || !slices.Equal(got, want[:stopAt+1])) {
				t.Fatalf("match(%q, %d, %d) stopped after %d: %v (stopped %v), want %v", lower, from, to, stopAt+1, got, stopped, want[:stopAt+1])
			}
		}
	})
}

// newTextByByte is NewText a byte at a time: the definition its word
// path is held to.
func newTextByByte(s string) (norm, lower string) {
	var nb, lb []byte
	space := true
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case c == 0xc2 && i+1 < len(s) && s[i+1] == 0xa0:
			i++
		case class[c] != white:
			nb, lb = append(nb, c), append(lb, c+byte(boolInt(isUpper(c)))*('a'-'A'))
			space = false
			continue
		}
		if !space {
			nb, lb = append(nb, ' '), append(lb, ' ')
			space = true
		}
	}
	return string(nb), string(lb)
}

func boolInt(b bool) int {
	if b {
		return 1
	}
	return 0
}

// FuzzNewText holds NewText to newTextByByte.
func FuzzNewText(f *testing.F) {
	for _, s := range []string{"", "Hello World, this is a Test.", "two  spaces\there\r\nnew line", "  leading",
		"trailing   ", "nbsp\u00a0here\u00a0\u00a0x", "\xc2", "ABCDEFGH abcdefgh IJKLMNOP", "12345678 90@[`{~\x7f",
		"exactly8 exactly8", "a b c d e f g h i j k l m n o p", "\x00\x01 NUL"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		tx := NewText(s)
		norm, lower := newTextByByte(s)
		if tx.s != norm || tx.lower != lower {
			t.Fatalf("NewText(%q) = %q / %q, byte by byte %q / %q", s, tx.s, tx.lower, norm, lower)
		}
	})
}

// FuzzScanHTML holds ScanHTML, which works in buffers kept from scan to
// scan, to scanning the joined parts through HTMLText with fresh ones —
// right after a scan of another text, so a buffer holding the previous
// text's bytes is what it reuses.
func FuzzScanHTML(f *testing.F) {
	seeds := [][3]string{
		{"<p>DOB <b>04/12/1961</b></p>", "SSN 123-45-6789", "<html><body>diabetes</body></html>"},
		{"Patient MRN: 00123456", "<a href=\"x?mrn=1\">link</a>", "plain"},
		{"a < b", "&amp;&#45;&nbsp;04/12/1961", "<!-- 123-45-6789 -->"},
		{"", "<b", "ICD-10 E11.9 diagnosis"},
	}
	for _, s := range seeds {
		f.Add(s[0], s[1], s[2])
	}
	sc, err := New(Config{})
	if err != nil {
		f.Fatal(err)
	}
	f.Fuzz(func(t *testing.T, before, a, b string) {
		var parts []string
		for _, p := range []string{a, b} {
			if p != "" {
				parts = append(parts, p)
			}
		}
		sc.ScanHTML(InBody, []string{before, before})
		got := sc.ScanHTML(InBody, parts)
		want := sc.ScanText(InBody, NewText(HTMLText(strings.Join(parts, "\n"))))
		if !slices.Equal(got, want) {
			t.Fatalf("ScanHTML(%q) = %v, want %v", parts, got, want)
		}
		if got := sc.Scan(InSubject, a); !slices.Equal(got, sc.ScanText(InSubject, NewText(a))) {
			t.Fatalf("Scan(%q) = %v after a pooled scan", a, got)
		}
	})
}
