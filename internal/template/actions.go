package template

import (
	"errors"
	"strconv"
	"strings"
)

// span is one action of a template source: src[start:end] is the whole
// "{{ … }}", delimiters and trim markers included. keyword is its first
// word when it is one of text/template's (if, else, end, range, with,
// define, block, template, break, continue), "/*" for a comment, or "".
type span struct {
	start, end int
	keyword    string
}

var errUnclosedAction = errors.New("unclosed action: a {{ without its }}")

// scanActions finds the actions of src the way text/template's lexer
// does: an action runs from "{{" to the first "}}" outside a quoted
// string, raw string or character constant; a comment ("{{/* … */}}")
// runs to its "*/". The sanitizer swaps actions for markers with it, so
// it errs on the side of refusing: anything it cannot close is an error,
// and the result is always checked by parsing the reassembled source.
func scanActions(src string) ([]span, error) {
	var out []span
	for i := 0; ; {
		j := strings.Index(src[i:], "{{")
		if j < 0 {
			return out, nil
		}
		start := i + j
		end, kw, err := actionEnd(src, start+2)
		if err != nil {
			return nil, err
		}
		out = append(out, span{start: start, end: end, keyword: kw})
		i = end
	}
}

// actionEnd returns the index just past the "}}" closing the action whose
// body starts at p, and the action's keyword.
func actionEnd(src string, p int) (int, string, error) {
	if strings.HasPrefix(src[p:], "- ") || strings.HasPrefix(src[p:], "-\t") || strings.HasPrefix(src[p:], "-\n") {
		p += 2
	}
	body := strings.TrimLeft(src[p:], " \t\r\n")
	p = len(src) - len(body)
	if strings.HasPrefix(body, "/*") {
		k := strings.Index(src[p+2:], "*/")
		if k < 0 {
			return 0, "", errUnclosedAction
		}
		q := p + 2 + k + 2
		rest := strings.TrimPrefix(src[q:], " -")
		if !strings.HasPrefix(rest, "}}") {
			return 0, "", errors.New("a comment must end the action: {{/* … */}}")
		}
		return len(src) - len(rest) + 2, "/*", nil
	}
	kw := keywordOf(body)
	for i := p; i < len(src); i++ {
		switch c := src[i]; c {
		case '}':
			if strings.HasPrefix(src[i:], "}}") {
				return i + 2, kw, nil
			}
		case '"', '\'':
			k, err := quoteEnd(src, i, c)
			if err != nil {
				return 0, "", err
			}
			i = k
		case '`':
			k := strings.IndexByte(src[i+1:], '`')
			if k < 0 {
				return 0, "", errUnclosedAction
			}
			i += 1 + k
		}
	}
	return 0, "", errUnclosedAction
}

// quoteEnd returns the index of the quote closing the string or character
// constant opened at src[i]; backslash escapes the next byte, and a line
// end inside is an error (as in text/template).
func quoteEnd(src string, i int, q byte) (int, error) {
	for k := i + 1; k < len(src); k++ {
		switch src[k] {
		case '\\':
			k++
		case '\n':
			return 0, errors.New("unterminated quoted string in an action")
		case q:
			return k, nil
		}
	}
	return 0, errUnclosedAction
}

var keywords = []string{"if", "else", "end", "range", "with", "define", "block", "template", "break", "continue"}

func keywordOf(body string) string {
	for _, k := range keywords {
		if strings.HasPrefix(body, k) {
			rest := body[len(k):]
			if rest == "" || strings.IndexByte(" \t\r\n}-", rest[0]) >= 0 {
				return k
			}
		}
	}
	return ""
}

// markers replace actions with words that survive HTML sanitizing in
// text, attribute values and URLs: prefix + index + "z". The prefix is
// chosen so that it does not occur in the source.
type markers struct {
	prefix  string
	actions []string
	kinds   []string // each action's keyword
}

// hideActions returns src with every action replaced by a marker.
func hideActions(src string) (string, *markers, error) {
	spans, err := scanActions(src)
	if err != nil {
		return "", nil, err
	}
	m := &markers{prefix: "cptplmark"}
	for strings.Contains(src, m.prefix) {
		m.prefix += "q"
	}
	var b strings.Builder
	last := 0
	for i, s := range spans {
		b.WriteString(src[last:s.start])
		b.WriteString(m.word(i))
		m.actions = append(m.actions, src[s.start:s.end])
		m.kinds = append(m.kinds, s.keyword)
		last = s.end
	}
	b.WriteString(src[last:])
	return b.String(), m, nil
}

func (m *markers) word(i int) string { return m.prefix + strconv.Itoa(i) + "z" }

// restore puts the actions back. A value action the sanitizer removed
// with its surroundings (in a tag or attribute name, a style value, a
// dropped element) goes with them, as the HTML around it did; restore
// returns the indexes of structural actions (if, else, end, range …) it
// did not find exactly once, because losing one changes what the template
// means.
func (m *markers) restore(s string) (string, []int) {
	var b strings.Builder
	seen := make([]int, len(m.actions))
	for {
		i := strings.Index(s, m.prefix)
		if i < 0 {
			b.WriteString(s)
			break
		}
		j := i + len(m.prefix)
		k := j
		for k < len(s) && s[k] >= '0' && s[k] <= '9' {
			k++
		}
		n, err := strconv.Atoi(s[j:k])
		if err != nil || k >= len(s) || s[k] != 'z' || n >= len(m.actions) {
			b.WriteString(s[:j])
			s = s[j:]
			continue
		}
		b.WriteString(s[:i])
		b.WriteString(m.actions[n])
		seen[n]++
		s = s[k+1:]
	}
	var missing []int
	for i, n := range seen {
		if n > 1 || n == 0 && m.kinds[i] != "" && m.kinds[i] != "/*" {
			missing = append(missing, i)
		}
	}
	return b.String(), missing
}
