package keydir

import (
	"context"
	"crypto/sha1"
	"crypto/sha256"
	"crypto/tls"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/ProtonMail/go-crypto/openpgp"

	"github.com/carepost/carepost/internal/dns"
	"github.com/carepost/carepost/internal/pgp"
)

// zbase32 is the z-base-32 alphabet (draft-koch-openpgp-webkey-service
// section 3.1, after Zooko's "human-oriented base-32 encoding").
const zbase32 = "ybndrfg8ejkmcpqxot1uwisza345h769"

// WKDHash is the hashed local part of a Web Key Directory URL: the local
// part with ASCII upper case mapped to lower case (other characters are
// left alone), SHA-1, z-base-32 encoded: 32 characters
// (draft-koch-openpgp-webkey-service section 3.1).
func WKDHash(local string) string {
	lower := strings.Map(func(r rune) rune {
		if 'A' <= r && r <= 'Z' {
			return r + 'a' - 'A'
		}
		return r
	}, local)
	sum := sha1.Sum([]byte(lower))
	var b strings.Builder
	var acc, bits uint
	for _, c := range sum {
		acc = acc<<8 | uint(c)
		bits += 8
		for bits >= 5 {
			b.WriteByte(zbase32[(acc>>(bits-5))&31])
			bits -= 5
		}
	}
	return b.String() // 160 bits: no remainder
}

// WKDURLs are the two places a key for addr is looked for (section 3.1):
// the advanced method at openpgpkey.<domain>, and the direct method at the
// domain itself.
func WKDURLs(addr string, port int) (advanced, direct string, err error) {
	at := strings.LastIndexByte(addr, '@')
	if at <= 0 || at == len(addr)-1 {
		return "", "", errors.New("not an address")
	}
	local, domain := addr[:at], strings.ToLower(addr[at+1:])
	if strings.ContainsAny(domain, "/?#:[]@ ") {
		return "", "", errors.New("not a domain")
	}
	h, q := WKDHash(local), "?l="+url.QueryEscape(local)
	hostport := func(host string) string {
		if port == 443 {
			return host
		}
		return net.JoinHostPort(host, strconv.Itoa(port))
	}
	advanced = "https://" + hostport("openpgpkey."+domain) + "/.well-known/openpgpkey/" + domain + "/hu/" + h + q
	direct = "https://" + hostport(domain) + "/.well-known/openpgpkey/hu/" + h + q
	return advanced, direct, nil
}

// wkdClient looks keys up and remembers the answers for a while, on this
// node only (never in the database: a lookup may run inside a caller's
// transaction, and SQLite has one writer).
type wkdClient struct {
	resolver IPResolver
	client   *http.Client
	opts     Options

	mu    sync.Mutex
	cache map[[32]byte]wkdAnswer
}

type wkdAnswer struct {
	key *openpgp.Entity // nil: none found
	at  time.Time
}

// wkdCacheMax bounds the cache; when full an arbitrary answer is dropped.
const wkdCacheMax = 10_000

func newWKDClient(r IPResolver, opts Options) *wkdClient {
	g := guard{allow: opts.WKDAllow}
	w := &wkdClient{resolver: r, opts: opts, cache: map[[32]byte]wkdAnswer{}}
	transport := &http.Transport{
		Proxy:                 nil, // a proxy would dial out of the guard's sight
		DialContext:           g.dialer(r),
		TLSClientConfig:       &tls.Config{MinVersion: tls.VersionTLS12, RootCAs: opts.WKDRootCAs},
		TLSHandshakeTimeout:   opts.WKDTimeout,
		ResponseHeaderTimeout: opts.WKDTimeout,
		MaxIdleConnsPerHost:   2,
		IdleConnTimeout:       30 * time.Second,
	}
	w.client = &http.Client{Transport: transport, Timeout: opts.WKDTimeout,
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	return w
}

// lookup returns a key for addr that passes pgp.Check at now, or nil.
func (w *wkdClient) lookup(ctx context.Context, addr string, now time.Time) (*openpgp.Entity, error) {
	ck := sha256.Sum256([]byte(addr))
	w.mu.Lock()
	a, ok := w.cache[ck]
	w.mu.Unlock()
	if !ok || now.Sub(a.at) > w.opts.WKDCacheTTL {
		key, err := w.fetch(ctx, addr, now)
		if err != nil {
			return nil, err // not remembered: a failure may be temporary
		}
		a = wkdAnswer{key: key, at: now}
		w.mu.Lock()
		if len(w.cache) >= wkdCacheMax {
			for k := range w.cache {
				delete(w.cache, k)
				break
			}
		}
		w.cache[ck] = a
		w.mu.Unlock()
	}
	if a.key == nil || pgp.Check(a.key, addr, now) != nil {
		return nil, nil
	}
	return a.key, nil
}

// fetch asks the advanced method, or the direct one when the advanced
// host does not exist (section 3.1), and picks the first key that carries
// addr in a valid user ID and passes pgp.Check (section 3.1: the client
// must filter). nil, nil means the directory answered without a usable
// key.
func (w *wkdClient) fetch(ctx context.Context, addr string, now time.Time) (*openpgp.Entity, error) {
	ctx, cancel := context.WithTimeout(ctx, w.opts.WKDTimeout)
	defer cancel()
	advanced, direct, err := WKDURLs(addr, w.opts.WKDPort)
	if err != nil {
		return nil, nil
	}
	target := advanced
	domain := addr[strings.LastIndexByte(addr, '@')+1:]
	if _, _, err := w.resolver.LookupIP(ctx, "openpgpkey."+domain); err != nil {
		if !errors.Is(err, dns.ErrNotFound) {
			return nil, fmt.Errorf("wkd: resolve the advanced host: %w", err)
		}
		target = direct
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, target, nil)
	if err != nil {
		return nil, nil
	}
	resp, err := w.client.Do(req)
	if err != nil {
		return nil, fmt.Errorf("wkd: %w", errors.Unwrap(err))
	}
	defer resp.Body.Close()
	switch {
	case resp.StatusCode == http.StatusNotFound:
		return nil, nil
	case resp.StatusCode != http.StatusOK:
		return nil, fmt.Errorf("wkd: HTTP status %d", resp.StatusCode)
	}
	body, err := io.ReadAll(io.LimitReader(resp.Body, pgp.MaxKeySize+1))
	if err != nil {
		return nil, fmt.Errorf("wkd: read: %w", err)
	}
	keys, err := pgp.ParseKeys(body)
	if err != nil {
		return nil, nil
	}
	for _, k := range keys {
		if pgp.Check(k, addr, now) == nil {
			return k, nil
		}
	}
	return nil, nil
}
