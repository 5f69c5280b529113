package delivery_test

import (
	"bytes"
	"context"
	"crypto/tls"
	"encoding/json"
	"io"
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	msgauth "github.com/emersion/go-msgauth/dkim"

	"github.com/carepost/carepost/internal/access"
	"github.com/carepost/carepost/internal/message"
	"github.com/carepost/carepost/internal/smtptest"
)

// apiClient calls the node's REST API with an API key of the
// organization's owner holding every permission.
type apiClient struct {
	t     testing.TB
	base  string
	token string
	c     *http.Client
}

// api signs the owner in through the real flow and makes the key.
func (n *node) api() *apiClient {
	n.t.Helper()
	ctx := context.Background()
	sess := n.signIn(n.owners[0])
	p, _, err := n.app.Auth.Authenticate(ctx, sess)
	if err != nil {
		n.t.Fatal(err)
	}
	var all []string
	for _, perm := range access.All {
		all = append(all, string(perm))
	}
	_, token, err := n.app.Auth.CreateAPIKey(ctx, p, "encryption e2e", all, time.Time{})
	if err != nil {
		n.t.Fatal(err)
	}
	return &apiClient{t: n.t, base: "https://" + n.run.Addr().String() + "/api/v1", token: token, c: insecureClient(nil)}
}

// insecureClient trusts the node's self-signed development certificate
// and follows no redirects.
func insecureClient(jar http.CookieJar) *http.Client {
	return &http.Client{Jar: jar, Timeout: 30 * time.Second,
		Transport:     &http.Transport{TLSClientConfig: &tls.Config{InsecureSkipVerify: true}},
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
}

// do sends body as JSON and decodes the answer into out (when not nil),
// failing unless the status is want.
func (a *apiClient) do(method, path string, body any, want int, out any) []byte {
	a.t.Helper()
	var rd io.Reader
	if body != nil {
		b, err := json.Marshal(body)
		if err != nil {
			a.t.Fatal(err)
		}
		rd = bytes.NewReader(b)
	}
	req, err := http.NewRequest(method, a.base+path, rd)
	if err != nil {
		a.t.Fatal(err)
	}
	req.Header.Set("Authorization", "Bearer "+a.token)
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	resp, err := a.c.Do(req)
	if err != nil {
		a.t.Fatal(err)
	}
	defer resp.Body.Close()
	raw, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != want {
		a.t.Fatalf("%s %s: %d, want %d: %s", method, path, resp.StatusCode, want, raw)
	}
	if out != nil {
		if err := json.Unmarshal(raw, out); err != nil {
			a.t.Fatalf("%s %s: decode %s: %v", method, path, raw, err)
		}
	}
	return raw
}

// browser is a recipient's browser on the portal: cookies, no redirects,
// and the Origin a browser sends with a form.
type browser struct {
	t    testing.TB
	base string
	c    *http.Client
}

func (n *node) browser() *browser {
	jar, _ := cookiejar.New(nil)
	return &browser{t: n.t, base: "https://" + n.run.Addr().String(), c: insecureClient(jar)}
}

type page struct {
	status int
	header http.Header
	body   string
}

func (b *browser) do(method, path string, form url.Values) page {
	b.t.Helper()
	var rd io.Reader
	if form != nil {
		rd = strings.NewReader(form.Encode())
	}
	req, err := http.NewRequest(method, b.base+path, rd)
	if err != nil {
		b.t.Fatal(err)
	}
	if form != nil {
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		req.Header.Set("Origin", b.base)
		req.Header.Set("Sec-Fetch-Site", "same-origin")
	}
	resp, err := b.c.Do(req)
	if err != nil {
		b.t.Fatal(err)
	}
	defer resp.Body.Close()
	raw, _ := io.ReadAll(resp.Body)
	return page{status: resp.StatusCode, header: resp.Header, body: string(raw)}
}

var csrfField = regexp.MustCompile(`name="csrf" value="([^"]+)"`)

func (p page) csrf(t testing.TB) string {
	t.Helper()
	m := csrfField.FindStringSubmatch(p.body)
	if m == nil {
		t.Fatalf("no CSRF token in the page (%d): %.300s", p.status, p.body)
	}
	return m[1]
}

// waitMail waits until the sink holds a message to rcpt, among those it
// received after the first after, for which match is true, and returns
// the newest such.
func waitMail(t testing.TB, sink *smtptest.Sink, rcpt string, after int, match func(smtptest.Message) bool) smtptest.Message {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for {
		msgs := sink.Messages()
		for i := len(msgs) - 1; i >= after; i-- {
			if slices.ContainsFunc(msgs[i].Rcpts, func(r string) bool { return strings.EqualFold(r, rcpt) }) && match(msgs[i]) {
				return msgs[i]
			}
		}
		if time.Now().After(deadline) {
			t.Fatalf("no matching message for %s at the sink", rcpt)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// anyMail matches every message.
func anyMail(smtptest.Message) bool { return true }

// textOf is a message's decoded text.
func textOf(t testing.TB, raw []byte) string {
	t.Helper()
	p, err := message.Inspect(raw, message.Limits{})
	if err != nil {
		t.Fatalf("inspect: %v", err)
	}
	text, _ := p.TextContent()
	return p.Subject + "\n" + text
}

// dkimVerified fails unless raw carries a DKIM signature of domain that
// verifies against the keys published on the world's DNS server, as the
// recipient's server would check it.
func (n *node) dkimVerified(raw []byte, domain string) {
	n.t.Helper()
	lookup := func(name string) ([]string, error) {
		txts, _, err := n.app.DNS.LookupTXT(context.Background(), name)
		return txts, err
	}
	vs, err := msgauth.VerifyWithOptions(bytes.NewReader(raw), &msgauth.VerifyOptions{LookupTXT: lookup})
	if err != nil {
		n.t.Fatal(err)
	}
	for _, v := range vs {
		if v.Domain == domain && v.Err == nil {
			return
		}
	}
	n.t.Fatalf("no valid DKIM signature of %s among %d", domain, len(vs))
}

// openssl runs the real OpenSSL in dir and returns its standard output.
func openssl(t testing.TB, dir string, args ...string) []byte {
	t.Helper()
	if _, err := exec.LookPath("openssl"); err != nil {
		t.Skip("openssl is not installed (.ci/run installs it)")
	}
	cmd := exec.Command("openssl", args...)
	cmd.Dir = dir
	var out, errOut bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errOut
	if err := cmd.Run(); err != nil {
		t.Fatalf("openssl %s: %v\n%s", strings.Join(args, " "), err, errOut.String())
	}
	return out.Bytes()
}

func writeFile(t testing.TB, dir, name string, data []byte) {
	t.Helper()
	if err := os.WriteFile(filepath.Join(dir, name), data, 0o600); err != nil {
		t.Fatal(err)
	}
}
