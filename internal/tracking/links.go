package tracking

import "sync"

// MaxURL is the longest link rewritten for tracking; longer ones stay as
// they are (and are not counted).
const MaxURL = 2048

// LinkTable is one campaign's (or message's) tracked links: index →
// destination. Tokens name a link by index, so the URL never travels in a
// tracking link, and the redirect goes only where this table says: never
// to a destination taken from the request.
//
// Links are added as rendering meets them (Rewrite), deduplicated by URL:
// a static link gets one index for the whole campaign, a link personalized
// with non-PHI fields one per distinct value. New entries are persisted
// with Service.SaveLinks in the transaction that enqueues the messages
// carrying them, so no message leaves before its links resolve. One
// campaign's table has one writer at a time (the campaign engine prepares
// a campaign on one node); SaveLinks refuses an index already taken by a
// different URL, so a second writer fails instead of misdirecting.
type LinkTable struct {
	campaignID string
	mu         sync.Mutex
	urls       []string
	index      map[string]int
	saved      int // urls[:saved] are persisted
	// tags are the link start tags read so far (parseLinkTag; nil for one
	// that is not a start tag with attributes), at most maxLinkTags: a
	// campaign's template gives every message the same few, and reading
	// each afresh was most of rewriting a message. A template whose tags
	// differ per contact fills the table and reads the rest each time.
	tags map[string]*linkTag
}

// maxLinkTags bounds the tags a LinkTable keeps.
const maxLinkTags = 256

// tag returns s read as a link start tag, from the table's when read
// before.
func (t *LinkTable) tag(s string) *linkTag {
	t.mu.Lock()
	lt, ok := t.tags[s]
	t.mu.Unlock()
	if ok {
		return lt
	}
	lt = parseLinkTag(s)
	t.mu.Lock()
	if len(t.tags) < maxLinkTags {
		if t.tags == nil {
			t.tags = map[string]*linkTag{}
		}
		t.tags[s] = lt
	}
	t.mu.Unlock()
	return lt
}

// Link is one entry.
type Link struct {
	Index int
	URL   string
}

// NewLinkTable returns a table for campaignID holding urls (index i is
// urls[i]), all taken as already saved.
func NewLinkTable(campaignID string, urls ...string) *LinkTable {
	t := &LinkTable{campaignID: campaignID, index: make(map[string]int, len(urls))}
	for _, u := range urls {
		t.index[u] = len(t.urls)
		t.urls = append(t.urls, u)
	}
	t.saved = len(t.urls)
	return t
}

// CampaignID names the campaign the table belongs to.
func (t *LinkTable) CampaignID() string { return t.campaignID }

// Add returns url's index, adding it if new.
func (t *LinkTable) Add(url string) int {
	t.mu.Lock()
	defer t.mu.Unlock()
	if i, ok := t.index[url]; ok {
		return i
	}
	i := len(t.urls)
	t.index[url] = i
	t.urls = append(t.urls, url)
	return i
}

// URL returns the destination of index i.
func (t *LinkTable) URL(i int) (string, bool) {
	t.mu.Lock()
	defer t.mu.Unlock()
	if i < 0 || i >= len(t.urls) {
		return "", false
	}
	return t.urls[i], true
}

// Len is the number of links.
func (t *LinkTable) Len() int {
	t.mu.Lock()
	defer t.mu.Unlock()
	return len(t.urls)
}

// Unsaved returns the links added since the last save.
func (t *LinkTable) Unsaved() []Link {
	t.mu.Lock()
	defer t.mu.Unlock()
	out := make([]Link, 0, len(t.urls)-t.saved)
	for i := t.saved; i < len(t.urls); i++ {
		out = append(out, Link{Index: i, URL: t.urls[i]})
	}
	return out
}

// markSaved records that links up to index n-1 are persisted.
func (t *LinkTable) markSaved(n int) {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.saved = max(t.saved, n)
}
