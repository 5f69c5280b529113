package smtpclient_test

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/carepost/carepost/internal/smtpclient"
)

// TestBDATPipelinedWithEnvelope: a server offering CHUNKING and PIPELINING
// gets MAIL, the RCPTs, one BDAT LAST and the message's exact bytes (a
// line starting with "." not doubled) before it sends a single reply (see
// scripted), with SIZE the chunk's size; the next message on the session
// follows with no RSET between.
func TestBDATPipelinedWithEnvelope(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		msg  []byte
		// reader wraps msg as the caller hands it to Send.
		reader func([]byte) io.Reader
	}{
		{"bytes.Reader", message(".leading dot\r\n.\r\n..two\r\n"), func(b []byte) io.Reader { return bytes.NewReader(b) }},
		{"bytes.Buffer", message(".leading dot\r\n"), func(b []byte) io.Reader { return bytes.NewBuffer(b) }},
		{"larger than the write buffer", message(strings.Repeat(".dotted line of a long message\r\n", 2000)),
			func(b []byte) io.Reader { return bytes.NewReader(b) }},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			srv, c := dialScripted(t, script{ext: chunking}, nil)
			rcpts := []string{"a@r.test", "b@r.test"}
			for i := range 2 {
				res, err := c.Send(t.Context(), sender, rcpts, tt.reader(tt.msg), smtpclient.SendOptions{})
				if err != nil {
					t.Fatalf("message %d: %v", i, err)
				}
				if len(res.Rcpts) != 2 || !res.Rcpts[0].Accepted || !res.Rcpts[1].Accepted || res.Data.Code != 250 {
					t.Fatalf("message %d: result %+v", i, res)
				}
			}
			size := strconv.Itoa(len(tt.msg))
			txn := []string{"MAIL FROM:<" + sender + "> SIZE=" + size, "RCPT TO:<a@r.test>", "RCPT TO:<b@r.test>", "BDAT " + size + " LAST"}
			if got, want := srv.commands()[1:], slices.Concat(txn, txn); !slices.Equal(got, want) {
				t.Errorf("commands after EHLO:\n%q\nwant\n%q", got, want)
			}
			for i, b := range srv.received() {
				if b.verb != "BDAT" || !b.accepted || !bytes.Equal(b.raw, tt.msg) {
					t.Errorf("body %d: %s of %d octets (accepted %v), want the message's %d octets as they are",
						i, b.verb, len(b.raw), b.accepted, len(tt.msg))
				}
			}
		})
	}
}

// TestBDATFallsBackToDATA: without CHUNKING and PIPELINING both, with a
// message that BDAT cannot carry unchanged, with a reader Send cannot take
// bytes from, or with NoChunking, the message goes by DATA, dot-stuffed
// and with its line endings made CRLF.
func TestBDATFallsBackToDATA(t *testing.T) {
	t.Parallel()
	canonical := message(".leading dot\r\n")
	long := message(strings.Repeat("x", 999) + "\r\n")
	tests := []struct {
		name   string
		ext    []string
		noBDAT bool
		in     io.Reader
		want   []byte // as DATA carries it, before the final "."
	}{
		{"server without CHUNKING", []string{"PIPELINING", "SIZE 10000000"}, false, bytes.NewReader(canonical), stuffed(canonical)},
		{"server without PIPELINING", []string{"CHUNKING"}, false, bytes.NewReader(canonical), stuffed(canonical)},
		{"NoChunking", chunking, true, bytes.NewReader(canonical), stuffed(canonical)},
		{"not a byte reader", chunking, false, strings.NewReader(string(canonical)), stuffed(canonical)},
		{"bare LF", chunking, false, bytes.NewReader([]byte("Subject: lf\n\n.leading\nend\n")), []byte("Subject: lf\r\n\r\n..leading\r\nend\r\n")},
		{"bare CR", chunking, false, bytes.NewReader([]byte("Subject: cr\r\n\r\na\rb\r\n")), []byte("Subject: cr\r\n\r\na\r\nb\r\n")},
		{"last line not ended", chunking, false, bytes.NewReader([]byte("Subject: end\r\n\r\n.end")), []byte("Subject: end\r\n\r\n..end\r\n")},
		{"NUL", chunking, false, bytes.NewReader([]byte("Subject: nul\r\n\r\na\x00b\r\n")), []byte("Subject: nul\r\n\r\na\x00b\r\n")},
		{"line over 998 octets", chunking, false, bytes.NewReader(long), long},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			srv, c := dialScripted(t, script{ext: tt.ext}, func(o *smtpclient.DialOptions) { o.NoChunking = tt.noBDAT })
			if _, err := c.Send(t.Context(), sender, []string{recipient}, tt.in, smtpclient.SendOptions{}); err != nil {
				t.Fatal(err)
			}
			got := srv.received()
			if len(got) != 1 || got[0].verb != "DATA" || !got[0].accepted {
				t.Fatalf("bodies %+v, want one by DATA", got)
			}
			if !bytes.Equal(got[0].raw, tt.want) {
				t.Fatalf("DATA carried %q, want %q", got[0].raw, tt.want)
			}
			if slices.ContainsFunc(srv.commands(), func(cmd string) bool { return strings.HasPrefix(cmd, "BDAT") }) {
				t.Fatal("BDAT sent as well")
			}
		})
	}
}

// TestBDATRefusals: every refusal in the pipelined group is reported as
// on the DATA path (the MAIL error, the recipients' results, a data-stage
// error with the server's codes), and the session still delivers the next
// message. The content reaches a server that refuses the transaction,
// which discards it; with NoChunking it never leaves.
func TestBDATRefusals(t *testing.T) {
	t.Parallel()
	const gone = "gone@r.test"
	refuseGone := map[string]string{gone: "550 5.1.1 no such user"}
	tests := []struct {
		name     string
		sc       script
		noBDAT   bool
		rcpts    []string
		stage    smtpclient.Stage // zero: Send succeeds
		kind     smtpclient.Kind
		code     int
		enhanced string
		accepted []bool // per recipient; nil when MAIL failed
		body     string // what the server received: "none", "refused" or "accepted"
	}{
		{name: "MAIL refused", sc: script{mail: []string{"550 5.7.1 sender refused"}}, rcpts: []string{recipient},
			stage: smtpclient.StageMail, kind: smtpclient.KindPermanent, code: 550, enhanced: "5.7.1", body: "refused"},
		{name: "MAIL deferred", sc: script{mail: []string{"451 4.7.1 try later"}}, rcpts: []string{recipient},
			stage: smtpclient.StageMail, kind: smtpclient.KindTemporary, code: 451, enhanced: "4.7.1", body: "refused"},
		{name: "every RCPT refused", sc: script{rcpt: refuseGone}, rcpts: []string{gone},
			stage: smtpclient.StageRcpt, kind: smtpclient.KindPermanent, code: 550, enhanced: "5.1.1", accepted: []bool{false}, body: "refused"},
		{name: "every RCPT refused, NoChunking", sc: script{rcpt: refuseGone}, noBDAT: true, rcpts: []string{gone},
			stage: smtpclient.StageRcpt, kind: smtpclient.KindPermanent, code: 550, enhanced: "5.1.1", accepted: []bool{false}, body: "none"},
		{name: "one of two RCPT refused", sc: script{rcpt: refuseGone}, rcpts: []string{recipient, gone},
			accepted: []bool{true, false}, body: "accepted"},
		{name: "BDAT deferred", sc: script{final: []string{"451 4.3.0 try again later"}}, rcpts: []string{recipient},
			stage: smtpclient.StageData, kind: smtpclient.KindTemporary, code: 451, enhanced: "4.3.0", accepted: []bool{true}, body: "refused"},
		{name: "BDAT refused", sc: script{final: []string{"554 5.6.0 message refused"}}, rcpts: []string{recipient},
			stage: smtpclient.StageData, kind: smtpclient.KindPermanent, code: 554, enhanced: "5.6.0", accepted: []bool{true}, body: "refused"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			tt.sc.ext = chunking
			srv, c := dialScripted(t, tt.sc, func(o *smtpclient.DialOptions) { o.NoChunking = tt.noBDAT })
			msg := message("")
			res, err := c.Send(t.Context(), sender, tt.rcpts, bytes.NewReader(msg), smtpclient.SendOptions{})
			if tt.stage == "" {
				if err != nil {
					t.Fatal(err)
				}
				if res.Data.Code != 250 {
					t.Errorf("data status %+v", res.Data)
				}
			} else {
				e := asError(t, err)
				if e.Stage != tt.stage || e.Kind != tt.kind || e.Code != tt.code || e.Enhanced != tt.enhanced {
					t.Fatalf("got %v, want %v %d %s at %s", err, tt.kind, tt.code, tt.enhanced, tt.stage)
				}
				assertNoPHIInError(t, err)
			}
			var accepted []bool
			for _, r := range res.Rcpts {
				accepted = append(accepted, r.Accepted)
			}
			if !slices.Equal(accepted, tt.accepted) {
				t.Errorf("recipients accepted %v, want %v (%+v)", accepted, tt.accepted, res.Rcpts)
			}
			if got := bodyOutcome(srv.received()); got != tt.body {
				t.Errorf("server received %s, want %s", got, tt.body)
			}

			// The session stays usable: the next message is delivered.
			next := message("next message\r\n")
			if _, err := c.Send(t.Context(), sender, []string{recipient}, bytes.NewReader(next), smtpclient.SendOptions{}); err != nil {
				t.Fatalf("next message: %v", err)
			}
			bodies := srv.received()
			if last := bodies[len(bodies)-1]; !last.accepted || !bytes.Equal(last.raw, next) {
				t.Fatalf("next message: server received %s of %d octets (accepted %v)", last.verb, len(last.raw), last.accepted)
			}
		})
	}
}

// bodyOutcome summarizes what a server received of a message body.
func bodyOutcome(bodies []body) string {
	switch {
	case len(bodies) == 0:
		return "none"
	case len(bodies) > 1:
		return fmt.Sprintf("%d bodies", len(bodies))
	case bodies[0].accepted:
		return "accepted"
	}
	return "refused"
}

// TestBDATConnectionLost: a server that closes the connection after the
// chunk, unanswered, is a temporary network failure at the data stage
// (the message may have arrived), and the session is unusable.
func TestBDATConnectionLost(t *testing.T) {
	t.Parallel()
	_, c := dialScripted(t, script{ext: chunking, drop: true}, nil)
	_, err := c.Send(t.Context(), sender, []string{recipient}, bytes.NewReader(message("")), smtpclient.SendOptions{})
	if e := asError(t, err); !e.Temporary() || e.Stage != smtpclient.StageData || e.Code != 0 {
		t.Fatalf("got %v, want a temporary network error at data", err)
	}
	_, err = c.Send(t.Context(), sender, []string{recipient}, bytes.NewReader(message("")), smtpclient.SendOptions{})
	if !errors.Is(err, smtpclient.ErrClosed) {
		t.Fatalf("next Send: %v, want ErrClosed", err)
	}
}
