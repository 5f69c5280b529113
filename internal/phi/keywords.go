package phi

import "strings"

// keywords are lower-case words or phrases found in one pass over a Text's
// lower-case copy, whatever their number: the matcher looks only at word
// starts (a keyword that begins with a letter or digit cannot begin inside
// a word) and compares only the keywords that begin with the byte there.
//
// When the keywords begin with few distinct bytes (the built-in context
// words: "dob", "born", "birth date" begin with two), the matcher jumps from
// one occurrence of those bytes to the next with strings.IndexByte, which
// looks at many bytes an instruction, instead of visiting every byte.
type keywords struct {
	list    []string
	byFirst [256][]int32 // indexes into list, by the keyword's first byte
	// firsts are the distinct first bytes, when there are at most
	// maxJumpFirsts of them; nil otherwise (every byte is visited).
	firsts []byte
}

// maxJumpFirsts bounds the first bytes the jumping matcher follows at once:
// past a few, a visit per byte costs less than a search per first byte.
const maxJumpFirsts = 4

func newKeywords(words []string) *keywords {
	k := &keywords{}
	var firsts []byte
	for _, w := range words {
		w = strings.ToLower(strings.Join(strings.Fields(w), " "))
		if w == "" {
			continue
		}
		if len(k.byFirst[w[0]]) == 0 {
			firsts = append(firsts, w[0])
		}
		k.byFirst[w[0]] = append(k.byFirst[w[0]], int32(len(k.list)))
		k.list = append(k.list, w)
	}
	if len(firsts) <= maxJumpFirsts {
		k.firsts = firsts
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
	if k.firsts != nil {
		return k.jump(lower, from, to, fn)
	}
	for i := from; i < to; i++ {
		if len(k.byFirst[lower[i]]) == 0 || midWord(lower, i) {
			continue
		}
		if k.candidates(lower, i, fn) {
			return true
		}
	}
	return false
}

// jump is match visiting only the places where a keyword's first byte
// occurs: next holds, for each first byte, its next occurrence in
// lower[:to] (to when there is none), and the smallest is taken each time,
// so keywords are reported in text order as match's byte walk does.
func (k *keywords) jump(lower string, from, to int, fn func(start, end int) bool) bool {
	var next [maxJumpFirsts]int
	for j, c := range k.firsts {
		next[j] = indexFrom(lower, from, to, c)
	}
	for {
		j := 0
		for x := 1; x < len(k.firsts); x++ {
			if next[x] < next[j] {
				j = x
			}
		}
		i := next[j]
		if i >= to {
			return false
		}
		if !midWord(lower, i) && k.candidates(lower, i, fn) {
			return true
		}
		next[j] = indexFrom(lower, i+1, to, k.firsts[j])
	}
}

// midWord reports whether lower[i] is a letter or digit inside a word,
// where no keyword that begins with it can start.
func midWord(lower string, i int) bool {
	return isAlnum(lower[i]) && i > 0 && isAlnum(lower[i-1])
}

// indexFrom is the index of the first c in lower[from:to], or to.
func indexFrom(lower string, from, to int, c byte) int {
	if from >= to {
		return to
	}
	if n := strings.IndexByte(lower[from:to], c); n >= 0 {
		return from + n
	}
	return to
}

// candidates calls fn for each keyword at lower[i], a word start, that
// stands as a word of its own, and reports whether fn stopped the match.
func (k *keywords) candidates(lower string, i int, fn func(start, end int) bool) bool {
	for _, ix := range k.byFirst[lower[i]] {
		w := k.list[ix]
		if strings.HasPrefix(lower[i:], w) && bounded(lower, i, w) && !fn(i, i+len(w)) {
			return true
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
