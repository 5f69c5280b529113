package api_test

import (
	"bytes"
	"context"
	"encoding/base64"
	"net/http"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/carepost/carepost/internal/api/apitest"
	"github.com/carepost/carepost/internal/store"
	"github.com/carepost/carepost/internal/store/storetest"
)

type submitted struct {
	ID         string `json:"id"`
	Duplicate  bool   `json:"duplicate"`
	Recipients []struct {
		ID, Email, State, Level string
	} `json:"recipients"`
}

func sendBody(from string, to ...string) map[string]any {
	return map[string]any{"from": from, "to": to, "subject": "Your results are ready", "text": "Please sign in to read them.",
		"tags": []string{"results"}, "metadata": map[string]string{"ref": "lab-7"}}
}

// send submits a message in tn and returns its id.
func send(t *testing.T, e *apitest.Env, tn *apitest.Tenant) string {
	t.Helper()
	r := e.Do(t, tn.Key, "POST", v1+"/messages", sendBody(e.Sender(t, tn), "patient@example.org"))
	if r.Status != http.StatusAccepted {
		t.Fatalf("send: %d %s", r.Status, r.Body)
	}
	var out submitted
	r.JSON(t, &out)
	return out.ID
}

func countRows(t *testing.T, e *apitest.Env, table string) int {
	t.Helper()
	var n int
	if err := store.Scan(e.App.DB.Reader().QueryRow(context.Background(), `SELECT count(*) FROM `+table), &n); err != nil {
		t.Fatal(err)
	}
	return n
}

func TestSendAcceptsDurablyAndReportsEachRecipient(t *testing.T) {
	t.Parallel()
	storetest.Each(t, func(t *testing.T, d store.Driver) {
		e := apitest.New(t, d)
		body := sendBody(e.Sender(t, e.A), "Pat Doe <pat@example.org>", "lee@clinic.example")
		body["bcc"] = []any{map[string]string{"name": "Records", "email": "records@example.net"}}
		r := e.Do(t, e.A.Key, "POST", v1+"/messages", body)
		if r.Status != http.StatusAccepted {
			t.Fatalf("send: %d %s", r.Status, r.Body)
		}
		var out submitted
		r.JSON(t, &out)
		if !strings.HasPrefix(out.ID, "msg_") || len(out.Recipients) != 3 {
			t.Fatalf("answer %s", r.Body)
		}
		for _, rc := range out.Recipients {
			if rc.State != "queued" || rc.Level != "verified-tls" {
				t.Errorf("recipient %+v: want queued at verified-tls (PHI assumed)", rc)
			}
		}
		// Accepted means committed: the rows are there as soon as 202 is.
		if n := countRows(t, e, "recipients"); n != 3 {
			t.Fatalf("%d recipient rows after 202", n)
		}
		g := e.Do(t, e.A.Key, "GET", v1+"/messages/"+out.ID, nil)
		if g.Status != 200 || !strings.Contains(string(g.Body), `"pat@example.org"`) || !strings.Contains(string(g.Body), `"kind":"bcc"`) {
			t.Fatalf("get: %d %s", g.Status, g.Body)
		}
		// The feed pages by cursor, in commit order. Delivery runs
		// meanwhile and the node's clock stands still, so its events may
		// sort among the queued ones; on PostgreSQL the feed also holds
		// events back while older transactions are in progress. Poll with
		// the cursor, pages of two, until the three queued events have
		// come, each exactly once.
		var evs struct {
			Events []struct{ ID, Type string } `json:"events"`
			Next   string                      `json:"next_cursor"`
			More   bool                        `json:"has_more"`
		}
		seen, queued, pages, cursor := map[string]bool{}, 0, 0, ""
		for deadline := time.Now().Add(15 * time.Second); queued < 3 && time.Now().Before(deadline); {
			e.Do(t, e.A.Key, "GET", v1+"/events?limit=2&since="+cursor, nil).JSON(t, &evs)
			if len(evs.Events) > 2 {
				t.Fatalf("a page of %d events with limit=2", len(evs.Events))
			}
			for _, ev := range evs.Events {
				if seen[ev.ID] {
					t.Fatalf("event %s on two pages", ev.ID)
				}
				seen[ev.ID] = true
				if ev.Type == "message.queued" {
					queued++
				}
			}
			if len(evs.Events) > 0 {
				pages++
			}
			cursor = evs.Next
			if !evs.More {
				time.Sleep(20 * time.Millisecond)
			}
		}
		if queued != 3 || pages < 2 {
			t.Fatalf("%d message.queued events over %d pages, want one per recipient over at least two", queued, pages)
		}
	})
}

func TestIdempotencyKeyReplaysAndRefusesADifferentRequest(t *testing.T) {
	t.Parallel()
	e := apitest.New(t, storetest.Default())
	body := sendBody(e.Sender(t, e.A), "pat@example.org")
	withKey := func(key string, b any) apitest.Response {
		return e.DoWith(t, "POST", v1+"/messages", b, func(req *http.Request) {
			req.Header.Set("Authorization", "Bearer "+e.A.Key)
			req.Header.Set("Idempotency-Key", key)
		})
	}
	first, again := withKey("order-1234", body), withKey("order-1234", body)
	var a, b submitted
	first.JSON(t, &a)
	again.JSON(t, &b)
	if first.Status != 202 || again.Status != 202 || a.ID != b.ID || !b.Duplicate || again.Header.Get("Idempotent-Replayed") != "true" {
		t.Fatalf("replay: %d %s / %d %s", first.Status, first.Body, again.Status, again.Body)
	}
	if n := countRows(t, e, "messages"); n != 1 {
		t.Fatalf("%d messages stored for one idempotency key", n)
	}
	body["subject"] = "Something else"
	if r := withKey("order-1234", body); r.Status != 422 || r.ErrorCode() != "idempotency_mismatch" {
		t.Fatalf("reused key: %d %s", r.Status, r.Body)
	}
}

func TestBadMessagesNameTheFieldAndStoreNothing(t *testing.T) {
	t.Parallel()
	e := apitest.New(t, storetest.Default())
	from := e.Sender(t, e.A)
	cases := []struct {
		name  string
		edit  func(map[string]any)
		field string
	}{
		{"CRLF in the subject", func(b map[string]any) { b["subject"] = "Hi\r\nBcc: all@example.org" }, "subject"},
		{"CRLF in an address", func(b map[string]any) { b["to"] = []string{"pat@example.org\r\nRCPT TO:<x@y.z>"} }, "to[0]"},
		{"header injection", func(b map[string]any) { b["headers"] = map[string]string{"X-Ref": "a\r\nBcc: x@y.z"} }, "headers.X-Ref"},
		{"no recipient", func(b map[string]any) { b["to"] = []string{} }, "to"},
		{"bad base64", func(b map[string]any) {
			b["attachments"] = []any{map[string]string{"filename": "a.pdf", "content_type": "application/pdf", "content": "%%%"}}
		}, "attachments[0].content"},
		{"unknown security", func(b map[string]any) { b["security"] = "none" }, "security"},
	}
	for _, c := range cases {
		body := sendBody(from, "pat@example.org")
		c.edit(body)
		r := e.Do(t, e.A.Key, "POST", v1+"/messages", body)
		var got struct {
			Error struct{ Field, Message string } `json:"error"`
		}
		r.JSON(t, &got)
		if r.Status != 400 || !strings.HasPrefix(got.Error.Field, c.field) {
			t.Errorf("%s: %d %s (field %q, want %q)", c.name, r.Status, r.Body, got.Error.Field, c.field)
		}
		if strings.Contains(string(r.Body), "example.org") {
			t.Errorf("%s: the error echoes the input: %s", c.name, r.Body)
		}
	}
	raw := "From: " + from + "\nTo: pat@example.org\nSubject: bare LF\n\nsmuggled\n.\n"
	r := e.Do(t, e.A.Key, "POST", v1+"/messages/raw", map[string]any{"message": base64.StdEncoding.EncodeToString([]byte(raw)), "rcpts": []string{"pat@example.org"}})
	if r.Status != 400 || !strings.Contains(string(r.Body), `"field":"message"`) {
		t.Fatalf("bare LF raw message: %d %s", r.Status, r.Body)
	}
	if n := countRows(t, e, "messages"); n != 0 {
		t.Fatalf("refused requests stored %d messages", n)
	}
}

func TestRawMessageIsAccepted(t *testing.T) {
	t.Parallel()
	e := apitest.New(t, storetest.Default())
	raw := "From: Clinic <" + e.Sender(t, e.A) + ">\r\nTo: pat@example.org\r\nSubject: Hello\r\n\r\nSee you Tuesday.\r\n"
	r := e.Do(t, e.A.Key, "POST", v1+"/messages/raw", map[string]any{"message": base64.StdEncoding.EncodeToString([]byte(raw)), "rcpts": []string{"pat@example.org", "second@example.org"}})
	var out submitted
	r.JSON(t, &out)
	if r.Status != 202 || len(out.Recipients) != 2 {
		t.Fatalf("raw: %d %s", r.Status, r.Body)
	}
}

// TestMessageContentIsSealedAndOnlyItsSenderReadsIt sends a PHI canary and
// checks it is nowhere in the raw database, that reading it is audited, and
// that people without the right do not get it.
func TestMessageContentIsSealedAndOnlyItsSenderReadsIt(t *testing.T) {
	t.Parallel()
	e := apitest.New(t, store.SQLite)
	canary := "SSN 078-05-1120 MRN-CANARY-" + randomSuffix(t)
	body := sendBody(e.Sender(t, e.A), "canary."+strings.ToLower(randomSuffix(t))+"@patients.example")
	body["subject"], body["text"] = "Results "+canary, "Dear patient, "+canary
	r := e.Do(t, e.A.Key, "POST", v1+"/messages", body)
	var out submitted
	r.JSON(t, &out)
	if r.Status != 202 {
		t.Fatalf("send: %d %s", r.Status, r.Body)
	}
	for _, f := range []string{e.App.DB.Path(), e.App.DB.Path() + "-wal"} {
		b, err := os.ReadFile(f)
		if err != nil {
			continue
		}
		for _, needle := range []string{canary, out.Recipients[0].Email} {
			if bytes.Contains(b, []byte(needle)) {
				t.Fatalf("%q found in the raw database file %s", needle, f)
			}
		}
	}
	c := e.Do(t, e.A.Key, "GET", v1+"/messages/"+out.ID+"/content", nil)
	if c.Status != 200 || !strings.Contains(string(c.Body), canary) {
		t.Fatalf("sender reads content: %d %s", c.Status, c.Body)
	}
	var audited int
	if err := store.Scan(e.App.DB.Reader().QueryRow(context.Background(), `SELECT count(*) FROM audit_entries WHERE action = 'message.read' AND target_id = ?`, out.ID), &audited); err != nil {
		t.Fatal(err)
	}
	if audited != 1 {
		t.Fatalf("%d audit entries for one content read", audited)
	}
	// An analyst sees the delivery record with masked addresses and no
	// content; organization B sees nothing.
	analyst := e.KeyWith(t, e.A, "reports:read")
	g := e.Do(t, analyst, "GET", v1+"/messages/"+out.ID, nil)
	if g.Status != 200 || strings.Contains(string(g.Body), out.Recipients[0].Email) || !strings.Contains(string(g.Body), "•••@patients.example") {
		t.Fatalf("analyst record: %d %s", g.Status, g.Body)
	}
	if c := e.Do(t, analyst, "GET", v1+"/messages/"+out.ID+"/content", nil); c.Status != 403 {
		t.Fatalf("analyst content: %d", c.Status)
	}
	if c := e.Do(t, e.B.Key, "GET", v1+"/messages/"+out.ID+"/content", nil); c.Status != 404 {
		t.Fatalf("other organization content: %d", c.Status)
	}
}
