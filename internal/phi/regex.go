package phi

import (
	"errors"
	"regexp"
	"regexp/syntax"
)

// Limits on organization-defined detectors. Go's regexp (RE2) runs in time
// linear in the text whatever the pattern; these bound the constant: the
// compiled program's size is what each byte of text costs.
const (
	MaxKeywords     = 200
	MaxKeywordBytes = 100
	MaxPatterns     = 50
	MaxPatternBytes = 512
	MaxProgramInsts = 4000
	MaxMatches      = 1000 // per pattern and text; counting further adds nothing
)

// Pattern is an organization's own detector, reported as "regex:<Name>".
// Regex is RE2 syntax (https://github.com/google/re2/wiki/Syntax) and runs
// over prepared text, where white space is one ' '. Like keywords, a
// pattern matches whole words: a match touched by a letter or digit on
// either side does not count.
type Pattern struct {
	Name  string `json:"name"`
	Regex string `json:"regex"`
}

// wordRegex is an organization expression with what makes it fast.
//
// Go's regexp finds a match quickly only when the expression starts with a
// literal; "\bMBR[0-9]{8}" or "(?i)mbr[0-9]{8}" run its NFA from every
// byte, about a millisecond for an 8 KB message. So compile also works out
// the bytes a match can start with and tries the expression, anchored, only
// where the text has one of them: the same leftmost-first search, except
// that a leading \b cannot see the byte before the match, which the
// whole-word check does instead. Expressions that can start anywhere (.)
// or with an anchor (^, \A, \B) use the plain search.
type wordRegex struct {
	re       *regexp.Regexp // as written, unanchored
	anchored *regexp.Regexp // ^(?:expr), when first is usable
	first    *[256]bool
}

// compileRegex compiles an organization's expression within the limits.
// Errors name the rule broken, never the expression (it is configuration,
// but error text travels to logs and clients).
func compileRegex(src string) (*wordRegex, error) {
	if src == "" {
		return nil, errors.New("must not be empty")
	}
	if len(src) > MaxPatternBytes {
		return nil, errors.New("must be at most 512 bytes")
	}
	tree, err := syntax.Parse(src, syntax.Perl)
	if err != nil {
		var se *syntax.Error
		if errors.As(err, &se) {
			return nil, errors.New("is not valid RE2 syntax: " + se.Code.String())
		}
		return nil, errors.New("is not valid RE2 syntax")
	}
	prog, err := syntax.Compile(tree.Simplify())
	if err != nil || len(prog.Inst) > MaxProgramInsts {
		return nil, errors.New("is too large once compiled; simplify it or split it")
	}
	re, err := regexp.Compile(src)
	if err != nil {
		return nil, errors.New("is not valid RE2 syntax")
	}
	if re.MatchString("") {
		return nil, errors.New("must not match empty text")
	}
	w := &wordRegex{re: re}
	var set [256]bool
	if nullable, ok := firstBytes(tree, &set); ok && !nullable {
		// Anchor the parsed tree, not the text: "^(?:" + src + ")" breaks
		// on \Q…, which quotes to the end of the expression.
		anchored := &syntax.Regexp{Op: syntax.OpConcat, Sub: []*syntax.Regexp{{Op: syntax.OpBeginText}, tree}}
		if a, err := regexp.Compile(anchored.String()); err == nil {
			w.anchored, w.first = a, &set
		}
	}
	return w, nil
}

// firstBytes adds to set every byte a match of r can start with and
// reports whether r can match empty; ok is false when the answer is not
// worth having (any byte, or anchors whose meaning anchoring would change).
func firstBytes(r *syntax.Regexp, set *[256]bool) (nullable, ok bool) {
	switch r.Op {
	case syntax.OpEmptyMatch, syntax.OpWordBoundary:
		return true, true
	case syntax.OpLiteral:
		addRune(set, r.Rune[0], r.Flags&syntax.FoldCase != 0)
		return false, true
	case syntax.OpCharClass:
		for i := 0; i+1 < len(r.Rune); i += 2 {
			if r.Rune[i+1]-r.Rune[i] > 200 {
				return false, false
			}
			for c := r.Rune[i]; c <= r.Rune[i+1]; c++ {
				addRune(set, c, false)
			}
		}
		return false, true
	case syntax.OpCapture, syntax.OpPlus:
		return firstBytes(r.Sub[0], set)
	case syntax.OpStar, syntax.OpQuest:
		_, ok := firstBytes(r.Sub[0], set)
		return true, ok
	case syntax.OpRepeat:
		n, ok := firstBytes(r.Sub[0], set)
		return n || r.Min == 0, ok
	case syntax.OpConcat:
		for _, sub := range r.Sub {
			n, ok := firstBytes(sub, set)
			if !ok || !n {
				return false, ok
			}
		}
		return true, true
	case syntax.OpAlternate:
		nullable := false
		for _, sub := range r.Sub {
			n, ok := firstBytes(sub, set)
			if !ok {
				return false, false
			}
			nullable = nullable || n
		}
		return nullable, true
	}
	return false, false // any char, ^, $, \A, \z, \B: scan the plain way
}

// addRune marks the first byte of c's UTF-8 encoding. A non-ASCII rune,
// or any letter under (?i) (Unicode folds k to U+212A KELVIN SIGN and s to
// U+017F), marks every lead byte too: a safe superset, and such bytes are
// rare in the mail this scans.
func addRune(set *[256]bool, c rune, fold bool) {
	if c >= 0x80 || fold {
		for b := 0xc0; b < 0x100; b++ {
			set[b] = true
		}
	}
	switch {
	case c >= 0x80:
	case fold && isAlpha(byte(c)):
		set[byte(c)|0x20], set[byte(c)&^0x20] = true, true
	default:
		set[byte(c)] = true
	}
}

// each calls fn for every non-overlapping leftmost match in s, at most
// MaxMatches.
func (w *wordRegex) each(s string, fn func(start, end int)) {
	n := 0
	if w.first == nil {
		for _, m := range w.re.FindAllStringIndex(s, MaxMatches) {
			fn(m[0], m[1])
		}
		return
	}
	for i := 0; i < len(s) && n < MaxMatches; i++ {
		if !w.first[s[i]] {
			continue
		}
		if m := w.anchored.FindStringIndex(s[i:]); m != nil && m[1] > 0 {
			fn(i, i+m[1])
			n++
			i += m[1] - 1
		}
	}
}

// regexDetector counts one organization pattern's whole-word matches (High).
type regexDetector struct {
	label string
	re    *wordRegex
}

func (d *regexDetector) name() string { return d.label }

func (d *regexDetector) scan(t *Text) (int, Confidence) {
	var res tally
	d.re.each(t.s, func(start, end int) {
		if wordAt(t.s, start, end) {
			res.add(High)
		}
	})
	return res.result()
}

// mrnDetector finds medical record numbers, HIPAA 164.514(b)(2)(i)(H).
// Every organization numbers its records its own way, so the number's shape
// is the organization's pattern (default: up to three letters, an optional
// '-', then six to ten digits); a number counts only when it starts within
// 32 bytes after a keyword ("MRN", "medical record", "chart #"…) and no
// letter or digit touches it. Found that way it is High.
type mrnDetector struct {
	context *keywords
	re      *wordRegex
}

// DefaultMRNPattern is the MRN shape when the organization sets none.
const DefaultMRNPattern = `[A-Za-z]{0,3}-?[0-9]{6,10}`

// DefaultMRNKeywords are the MRN context words when the organization sets
// none.
func DefaultMRNKeywords() []string {
	return []string{"mrn", "mr#", "mr #", "medical record", "med rec", "chart #", "chart no", "chart number", "patient id", "patient #"}
}

const mrnWindow = 32

func newMRN(pattern string, words []string) (*mrnDetector, error) {
	re, err := compileRegex(pattern)
	if err != nil {
		return nil, err
	}
	return &mrnDetector{context: newKeywords(words), re: re}, nil
}

func (*mrnDetector) name() string { return MRN }

func (d *mrnDetector) scan(t *Text) (int, Confidence) {
	var res tally
	var seen []int
	s := t.s
	d.context.each(t.lower, func(_, end int) {
		win := s[end:min(len(s), end+mrnWindow+MaxPatternBytes)]
		d.re.each(win, func(ms, me int) {
			at := end + ms
			if ms <= mrnWindow && wordAt(s, at, end+me) && !contains(seen, at) {
				seen = append(seen, at)
				res.add(High)
			}
		})
	})
	return res.result()
}
