package delivery_test

import (
	"context"
	"crypto/tls"
	"io"
	"net/http"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/carepost/carepost/internal/config"
	"github.com/carepost/carepost/internal/store"
	"github.com/carepost/carepost/internal/store/storetest"
	"github.com/carepost/carepost/internal/webauth"
)

// TestDemoModeCaptures: in demo mode nothing is sent; every recipient is
// captured, and the inbox page shows the capture to a signed-in user of
// the sending organization only.
func TestDemoModeCaptures(t *testing.T) {
	t.Parallel()
	w := newWorld(t)
	n := w.startNode(nodeOptions{driver: storetest.Default(), mxPort: 25,
		edit: func(c *config.Config) { c.Demo.Enabled = true }})
	phi := canary()
	res := n.submit("Your results: "+phi, []string{rcpt("pat", "anywhere.test")}, nil)
	rows := n.waitState(res.MessageID, "delivered", 20*time.Second)
	if rc := receipt(t, rows[0]); rc.AuthorizedBy != "demo" || rc.MX != "" {
		t.Fatalf("receipt %+v", rc)
	}
	if q := w.dns.Queries("anywhere.test", "MX"); q != 0 {
		t.Fatalf("demo mode looked up MX records (%d queries)", q)
	}

	base := "https://" + n.run.Addr().String()
	get := func(session, path string) (int, string) {
		t.Helper()
		req, _ := http.NewRequest("GET", base+path, nil)
		if session != "" {
			req.AddCookie(&http.Cookie{Name: webauth.SessionCookie, Value: session})
		}
		c := &http.Client{Transport: &http.Transport{TLSClientConfig: &tls.Config{InsecureSkipVerify: true}}, // the node's self-signed certificate
			CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
		resp, err := c.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		body, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, string(body)
	}
	if code, _ := get("", "/demo/inbox"); code != http.StatusSeeOther {
		t.Fatalf("without a session: %d, want a redirect to sign in", code)
	}
	session := n.signIn(n.owners[0])
	code, list := get(session, "/demo/inbox")
	if code != 200 || !strings.Contains(list, "Your lab results") || !strings.Contains(list, rcpt("pat", "anywhere.test")) ||
		!strings.Contains(list, "results@"+senderDomain) || strings.Contains(list, phi) {
		t.Fatalf("inbox %d:\n%s", code, list)
	}
	link := regexp.MustCompile(`/demo/inbox/(dmo_[a-z0-9]+)`).FindStringSubmatch(list)
	if link == nil {
		t.Fatalf("no link to the capture:\n%s", list)
	}
	if code, page := get(session, link[0]); code != 200 || !strings.Contains(page, phi) {
		t.Fatalf("capture page %d:\n%s", code, page)
	}

	other := n.newOrg("Lakeside Hospital", "owner@lakeside.example")
	otherSession := n.signIn(n.owners[1])
	if code, list := get(otherSession, "/demo/inbox"); code != 200 || strings.Contains(list, "Your lab results") {
		t.Fatalf("another organization's inbox %d shows the capture:\n%s", code, list)
	}
	if code, _ := get(otherSession, link[0]); code != http.StatusNotFound {
		t.Fatalf("another organization opening the capture: %d, want 404", code)
	}
	var reads int
	if err := store.Scan(n.app.DB.Reader().QueryRow(context.Background(),
		`SELECT count(*) FROM audit_entries WHERE chain = ? AND action = 'demo.message.read'`, n.org.ID), &reads); err != nil {
		t.Fatal(err)
	}
	if reads != 1 || other.ID == n.org.ID {
		t.Fatalf("%d audited reads of the capture, want 1", reads)
	}
}
