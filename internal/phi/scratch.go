package phi

import (
	"bytes"
	"sync"
	"unsafe"
)

// scratch holds one scan's working buffers: the joined texts of a
// message's parts, their text with markup removed, and the prepared text
// (twice the length of what it prepares). Nothing a scan returns points
// into them — a Finding names a detector, a count and a place, never
// content — so they go back to scratchPool for the next scan. A campaign
// scans every message it renders, and allocating these afresh for each
// was a fifth of the bytes the campaign path allocated.
type scratch struct {
	joined, html, text []byte
}

// maxScratch is the largest buffer kept for reuse; the buffers of a rare
// large message are left to the collector rather than held.
const maxScratch = 1 << 20

var scratchPool = sync.Pool{New: func() any { return new(scratch) }}

func getScratch() *scratch { return scratchPool.Get().(*scratch) }

func putScratch(sc *scratch) {
	for _, b := range []*[]byte{&sc.joined, &sc.html, &sc.text} {
		if cap(*b) > maxScratch {
			*b = nil
		}
		*b = (*b)[:0]
	}
	scratchPool.Put(sc)
}

// prepare is prepareText in the scratch's text buffer.
func (sc *scratch) prepare(s string) Text {
	if cap(sc.text) < 2*len(s) {
		sc.text = make([]byte, 2*len(s))
	}
	return prepareText(s, sc.text[:2*len(s)])
}

// htmlText is HTMLText(strings.Join(parts, "\n")) built in the scratch's
// buffers. The result views them unless decoding character references
// made a new string.
func (sc *scratch) htmlText(parts []string) string {
	joined := sc.joined[:0]
	for i, p := range parts {
		if i > 0 {
			joined = append(joined, '\n')
		}
		joined = append(joined, p...)
	}
	sc.joined = joined
	s := bytesView(joined)
	if bytes.IndexByte(joined, '<') < 0 {
		return unescape(s)
	}
	sc.html = appendHTMLText(sc.html[:0], s)
	return unescape(bytesView(sc.html))
}

func bytesView(b []byte) string {
	if len(b) == 0 {
		return ""
	}
	return unsafe.String(&b[0], len(b))
}
