package smtpclient_test

import (
	"bufio"
	"bytes"
	"fmt"
	"io"
	"net"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/carepost/carepost/internal/smtpclient"
	"github.com/carepost/carepost/internal/smtptest"
)

// scripted is a hand-written SMTP server on 127.0.0.1 for what the sinks
// cannot show: an EHLO without CHUNKING (go-smtp always offers it), a
// message body as it crossed the wire (a BDAT chunk as sent, DATA still
// dot-stuffed), and a reply chosen for each command.
//
// With PIPELINING advertised it holds its replies to MAIL and RCPT until
// the group ends with DATA, or with BDAT and the whole of its chunk (RFC
// 2920 section 3.2 lets a server batch replies). So a client that waited
// for a reply before sending the chunk would get none and fail on its
// own timeout: passing proves the envelope, the BDAT command and the
// content left before any reply was read.
type scripted struct {
	ln   net.Listener
	sc   script
	wg   sync.WaitGroup
	once sync.Once

	mu         sync.Mutex
	cmds       []string // command lines received, without CRLF
	bodies     []body   // message bodies received
	mails, eom int      // MAIL commands and accepted-recipient ends of data seen
	errs       []error  // protocol errors the server saw
}

// script shapes a scripted server; the zero value offers no extension
// and accepts everything.
type script struct {
	ext   []string          // EHLO keywords, e.g. "PIPELINING", "CHUNKING", "SIZE 1000000"
	mail  []string          // replies to the first MAIL commands; "250 2.0.0 ok" after
	rcpt  map[string]string // replies by recipient address; "250 2.0.0 ok" for others
	final []string          // replies to the first ends of data with a recipient; "250 2.0.0 ok" after
	drop  bool              // close the connection, unanswered, once a body is read
}

// body is one message body as the server read it.
type body struct {
	verb     string // "BDAT" or "DATA"
	arg      string // BDAT's arguments
	raw      []byte // the chunk, or DATA's lines before the final "."
	accepted bool   // the server answered 250
}

const ok250 = "250 2.0.0 ok"

// chunking is the EHLO of a server offering BDAT the way Send uses it.
var chunking = []string{"PIPELINING", "CHUNKING", "8BITMIME", "SIZE 10000000"}

// dialScripted starts a scripted server and connects to it in plaintext;
// edit, when set, adjusts the dial options.
func dialScripted(t *testing.T, sc script, edit func(*smtpclient.DialOptions)) (*scripted, *smtpclient.Conn) {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	s := &scripted{ln: ln, sc: sc}
	s.wg.Go(s.serve)
	t.Cleanup(func() {
		s.once.Do(func() { _ = ln.Close() })
		s.wg.Wait()
		for _, err := range s.errs {
			t.Errorf("scripted server: %v", err)
		}
	})
	opts := options(ln.Addr().String(), smtpclient.InsecureNoTLS, nil)
	if edit != nil {
		edit(&opts)
	}
	c, err := smtpclient.Dial(t.Context(), opts)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = c.Close() })
	return s, c
}

func (s *scripted) serve() {
	for {
		conn, err := s.ln.Accept()
		if err != nil {
			return
		}
		s.wg.Go(func() {
			defer conn.Close()
			if err := s.session(conn); err != nil {
				s.mu.Lock()
				s.errs = append(s.errs, err)
				s.mu.Unlock()
			}
		})
	}
}

// session serves one connection. A read error is the client leaving and
// ends it quietly; only protocol errors are returned.
func (s *scripted) session(conn net.Conn) error {
	r, w := bufio.NewReader(conn), bufio.NewWriter(conn)
	say := func(line string) { w.WriteString(line + "\r\n") }
	pipelining := slices.Contains(s.sc.ext, "PIPELINING")
	say("220 " + smtptest.MXHost + " ESMTP scripted")
	if w.Flush() != nil {
		return nil
	}
	sender, rcpts := false, 0
	for {
		hold := false // a reply inside a pipelined group waits for its end
		_ = conn.SetDeadline(time.Now().Add(10 * time.Second))
		line, err := r.ReadString('\n')
		if err != nil {
			return nil
		}
		cmd := strings.TrimRight(line, "\r\n")
		s.mu.Lock()
		s.cmds = append(s.cmds, cmd)
		s.mu.Unlock()
		verb, arg, _ := strings.Cut(cmd, " ")
		switch strings.ToUpper(verb) {
		case "EHLO":
			say("250-" + smtptest.MXHost)
			for _, kw := range s.sc.ext {
				say("250-" + kw)
			}
			say("250 ENHANCEDSTATUSCODES")
		case "MAIL":
			rep := s.nth(&s.mails, s.sc.mail)
			sender, rcpts = strings.HasPrefix(rep, "250"), 0
			say(rep)
			hold = pipelining
		case "RCPT":
			rep := "503 5.5.1 no sender"
			if sender {
				rep = s.rcptReply(arg)
			}
			if strings.HasPrefix(rep, "250") {
				rcpts++
			}
			say(rep)
			hold = pipelining
		case "BDAT":
			f := strings.Fields(arg)
			if len(f) != 2 || f[1] != "LAST" {
				return fmt.Errorf("BDAT %q: want one chunk, BDAT <size> LAST", arg)
			}
			size, err := strconv.Atoi(f[0])
			if err != nil || size < 0 {
				return fmt.Errorf("BDAT %q: bad size", arg)
			}
			chunk := make([]byte, size)
			if _, err := io.ReadFull(r, chunk); err != nil {
				return fmt.Errorf("BDAT chunk of %d octets: %w", size, err)
			}
			if s.sc.drop {
				return nil
			}
			say(s.end("BDAT", arg, chunk, sender, rcpts))
			sender = false
		case "DATA":
			if !sender || rcpts == 0 {
				say("554 5.5.1 no valid recipients")
				break
			}
			say("354 go ahead")
			if w.Flush() != nil {
				return nil
			}
			raw, err := readDotData(r)
			if err != nil {
				return nil
			}
			if s.sc.drop {
				return nil
			}
			say(s.end("DATA", "", raw, sender, rcpts))
			sender = false
		case "RSET":
			sender, rcpts = false, 0
			say(ok250)
		case "QUIT":
			say("221 2.0.0 bye")
			_ = w.Flush()
			return nil
		default:
			// The client under test sends only the commands above: any
			// other is a client bug, reported as the test's failure.
			say("500 5.5.2 command not recognized")
			_ = w.Flush()
			return fmt.Errorf("unexpected command %q", cmd)
		}
		if !hold && w.Flush() != nil {
			return nil
		}
	}
}

// end records a message body and returns the reply to it: RFC 3030
// section 2, a BDAT without a transaction is refused with its chunk read.
func (s *scripted) end(verb, arg string, raw []byte, sender bool, rcpts int) string {
	rep := "503 5.5.1 no sender"
	switch {
	case sender && rcpts == 0:
		rep = "554 5.5.1 no valid recipients"
	case sender:
		rep = s.nth(&s.eom, s.sc.final)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	s.bodies = append(s.bodies, body{verb: verb, arg: arg, raw: raw, accepted: strings.HasPrefix(rep, "250")})
	return rep
}

// nth returns the reply for the next occurrence counted by n.
func (s *scripted) nth(n *int, replies []string) string {
	s.mu.Lock()
	defer s.mu.Unlock()
	*n++
	if *n <= len(replies) {
		return replies[*n-1]
	}
	return ok250
}

func (s *scripted) rcptReply(arg string) string {
	_, addr, _ := strings.Cut(arg, "<")
	addr, _, _ = strings.Cut(addr, ">")
	if rep, ok := s.sc.rcpt[addr]; ok {
		return rep
	}
	return ok250
}

// readDotData reads DATA's lines up to the lone "." and returns them as
// sent, still dot-stuffed.
func readDotData(r *bufio.Reader) ([]byte, error) {
	var raw []byte
	for {
		line, err := r.ReadBytes('\n')
		if err != nil {
			return nil, err
		}
		if string(line) == ".\r\n" {
			return raw, nil
		}
		raw = append(raw, line...)
	}
}

// commands returns the command lines received so far.
func (s *scripted) commands() []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return slices.Clone(s.cmds)
}

// received returns the message bodies received so far.
func (s *scripted) received() []body {
	s.mu.Lock()
	defer s.mu.Unlock()
	return slices.Clone(s.bodies)
}

// stuffed is msg as DATA sends it when msg already has CRLF line endings
// and does not start with ".": each line starting with "." doubled.
func stuffed(msg []byte) []byte {
	return bytes.ReplaceAll(msg, []byte("\r\n."), []byte("\r\n.."))
}
