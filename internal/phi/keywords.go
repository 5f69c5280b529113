package phi

import "strings"

// keywords are lower-case words or phrases found in one pass over a Text's
// lower-case copy, whatever their number: the matcher looks only at word
// starts (a keyword that begins with a letter or digit cannot begin inside
// a word) and compares only the keywords that begin with the byte there.
type keywords struct {
	list    []string
	byFirst [256][]int32 // indexes into list, by the keyword's first byte
}

func newKeywords(words []string) *keywords {
	k := &keywords{}
	for _, w := range words {
		w = strings.ToLower(strings.Join(strings.Fields(w), " "))
		if w == "" {
			continue
		}
		k.byFirst[w[0]] = append(k.byFirst[w[0]], int32(len(k.list)))
		k.list = append(k.list, w)
	}
	return k
}

// bounded reports whether keyword w at lower[start:] is a word of its own:
// an edge of w that is a letter or digit must not touch another ("dob" is
// not in "adobe"), while an edge that is punctuation may ("mr#1234567").
func bounded(lower string, start int, w string) bool {
	end := start + len(w)
	if isAlnum(w[0]) && start > 0 && isAlnum(lower[start-1]) {
		return false
	}
	return !isAlnum(w[len(w)-1]) || end >= len(lower) || !isAlnum(lower[end])
}

// match calls fn for every keyword occurrence starting in lower[from:to]
// (clamped), in text order; fn returns false to stop. It reports whether
// it was stopped.
func (k *keywords) match(lower string, from, to int, fn func(start, end int) bool) bool {
	from, to = max(from, 0), min(to, len(lower))
	for i := from; i < to; i++ {
		c := lower[i]
		cands := k.byFirst[c]
		if len(cands) == 0 || (isAlnum(c) && i > 0 && isAlnum(lower[i-1])) {
			continue
		}
		for _, ix := range cands {
			w := k.list[ix]
			if strings.HasPrefix(lower[i:], w) && bounded(lower, i, w) && !fn(i, i+len(w)) {
				return true
			}
		}
	}
	return false
}

// near reports whether a keyword starts within lower[from:to].
func (k *keywords) near(lower string, from, to int) bool {
	return k.match(lower, from, to, func(int, int) bool { return false })
}

// each calls fn with the offsets of every keyword occurrence in lower.
func (k *keywords) each(lower string, fn func(start, end int)) {
	k.match(lower, 0, len(lower), func(s, e int) bool { fn(s, e); return true })
}

// keywordDetector counts the organization's words and phrases, matched
// case-insensitively at word boundaries (High: the organization chose them).
type keywordDetector struct{ words *keywords }

func (*keywordDetector) name() string { return Keyword }

func (d *keywordDetector) scan(t *Text) (int, Confidence) {
	var res tally
	d.words.each(t.lower, func(int, int) { res.add(High) })
	return res.result()
}
