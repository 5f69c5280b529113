package smtptest

import (
	"bufio"
	"bytes"
	"crypto/tls"
	"net"
	"strconv"
	"sync"
	"sync/atomic"
	"testing"
)

// LeanSink is an SMTP server for throughput benchmarks: it offers STARTTLS
// (RFC 3207), PIPELINING (RFC 2920) and CHUNKING (RFC 3030), accepts every
// command a sender issues (and refuses any other, which is how a chunk
// misread shows), and keeps nothing but counts. Message data after DATA is
// read a line at a time out of a 64 KiB buffer until the lone "." (RFC
// 5321 section 4.5.2); a BDAT chunk is skipped by its size, not inspected.
// Replies are batched: they are written when no pipelined command waits in
// the read buffer, so a client's MAIL, RCPT and BDAT group is answered in
// one write. It checks no command sequence and is no model of a receiver:
// Sink is, for every test of behaviour.
//
// Why it exists: a benchmark's sink runs on the same cores as the sender
// it measures, and the receiving side of a real delivery runs elsewhere.
// Sink is built on go-smtp's server, which reads message data a byte at a
// time through three readers; in the campaign benchmark that was 7% of
// the two cores (121 µs of CPU per 12 KB message), charged to carepost's
// figures. LeanSink costs a few microseconds per message.
type LeanSink struct {
	ln   net.Listener
	tls  *tls.Config
	wg   sync.WaitGroup
	once sync.Once

	conns, delivered, chunked atomic.Int64
}

// NewLeanSink starts a lean sink offering STARTTLS with cert; t.Cleanup
// closes it.
func NewLeanSink(t testing.TB, cert tls.Certificate) *LeanSink {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatalf("smtptest: listen: %v", err)
	}
	s := &LeanSink{ln: ln, tls: &tls.Config{Certificates: []tls.Certificate{cert}, MinVersion: tls.VersionTLS12}}
	s.wg.Add(1)
	go s.accept()
	t.Cleanup(s.Close)
	return s
}

// Addr is the sink's "127.0.0.1:port".
func (s *LeanSink) Addr() string { return s.ln.Addr().String() }

// Delivered counts the messages the sink accepted (250 after DATA's
// final "." or after BDAT LAST).
func (s *LeanSink) Delivered() int64 { return s.delivered.Load() }

// Chunked counts the messages of Delivered that came by BDAT.
func (s *LeanSink) Chunked() int64 { return s.chunked.Load() }

// Connections counts the connections the sink accepted.
func (s *LeanSink) Connections() int64 { return s.conns.Load() }

// Close stops accepting and waits for open sessions to end.
func (s *LeanSink) Close() {
	s.once.Do(func() { _ = s.ln.Close() })
	s.wg.Wait()
}

func (s *LeanSink) accept() {
	defer s.wg.Done()
	for {
		c, err := s.ln.Accept()
		if err != nil {
			return
		}
		s.conns.Add(1)
		s.wg.Add(1)
		go func() {
			defer s.wg.Done()
			defer c.Close()
			s.session(c)
		}()
	}
}

// session serves one connection. Replies are buffered and written when no
// further pipelined command is waiting in the read buffer.
func (s *LeanSink) session(c net.Conn) {
	r, w := bufio.NewReaderSize(c, 64<<10), bufio.NewWriterSize(c, 4<<10)
	reply := func(lines ...string) {
		for _, l := range lines {
			w.WriteString(l)
			w.WriteString("\r\n")
		}
	}
	reply("220 " + MXHost + " ESMTP lean sink")
	if w.Flush() != nil {
		return
	}
	secure := false
	for {
		line, err := r.ReadSlice('\n')
		if err != nil {
			return
		}
		verb := ""
		if f := bytes.Fields(line); len(f) > 0 {
			verb = string(bytes.ToUpper(f[0]))
		}
		switch verb {
		case "EHLO", "HELO":
			reply("250-"+MXHost, "250-PIPELINING", "250-CHUNKING", "250-8BITMIME", "250-SMTPUTF8", "250-ENHANCEDSTATUSCODES")
			if !secure {
				reply("250-STARTTLS")
			}
			reply("250 SIZE 52428800")
		case "STARTTLS":
			reply("220 2.0.0 ready to start TLS")
			if w.Flush() != nil {
				return
			}
			tc := tls.Server(c, s.tls)
			if tc.Handshake() != nil {
				return
			}
			// Anything pipelined after STARTTLS was sent in the clear and
			// is dropped with the old buffer (RFC 3207 section 4.2).
			c, secure = tc, true
			r.Reset(tc)
			w.Reset(tc)
			continue
		case "DATA":
			reply("354 2.0.0 end data with <CR><LF>.<CR><LF>")
			if w.Flush() != nil || !skipData(r) {
				return
			}
			s.delivered.Add(1)
			reply("250 2.0.0 accepted")
		case "BDAT":
			size, last, ok := parseBDAT(line)
			if !ok {
				// The chunk's size is unknown, so the session cannot
				// continue in step.
				reply("501 5.5.4 syntax: BDAT size [LAST]")
				_ = w.Flush()
				return
			}
			// RFC 3030 section 2: exactly size octets follow the command.
			if _, err := r.Discard(int(size)); err != nil {
				return
			}
			if last {
				s.delivered.Add(1)
				s.chunked.Add(1)
				reply("250 2.0.0 accepted")
			} else {
				reply("250 2.0.0 chunk received")
			}
		case "QUIT":
			reply("221 2.0.0 bye")
			_ = w.Flush()
			return
		case "MAIL", "RCPT", "RSET", "NOOP":
			reply("250 2.0.0 ok")
		default:
			// Not a command a sender issues: most likely the rest of a
			// chunk read short, or the start of the next command eaten by
			// one read long. Refused, so the client notices.
			reply("500 5.5.2 command not recognized")
		}
		if r.Buffered() == 0 && w.Flush() != nil {
			return
		}
	}
}

// parseBDAT parses "BDAT <size> [LAST]" (RFC 3030 section 2).
func parseBDAT(line []byte) (size int64, last bool, ok bool) {
	f := bytes.Fields(line)
	if len(f) < 2 || len(f) > 3 {
		return 0, false, false
	}
	size, err := strconv.ParseInt(string(f[1]), 10, 32)
	if err != nil || size < 0 {
		return 0, false, false
	}
	if len(f) == 3 {
		if !bytes.EqualFold(f[2], []byte("LAST")) {
			return 0, false, false
		}
		last = true
	}
	return size, last, true
}

// skipData reads message data up to and including the line that is a lone
// ".". A line longer than the buffer is read in pieces; only a piece that
// starts a line can end the data.
func skipData(r *bufio.Reader) bool {
	lineStart := true
	for {
		piece, err := r.ReadSlice('\n')
		switch {
		case err == bufio.ErrBufferFull:
			lineStart = false
			continue
		case err != nil:
			return false
		case lineStart && (string(piece) == ".\r\n" || string(piece) == ".\n"):
			return true
		}
		lineStart = true
	}
}
