package smtptest

import (
	"bufio"
	"net"
	"strings"
	"sync"
	"testing"
)

// ProxyOptions shapes a StripTLSProxy.
type ProxyOptions struct {
	// Refuse keeps STARTTLS in EHLO replies and answers the command with
	// 454; by default STARTTLS is removed from EHLO replies (and answered with
	// 454 should a client send it anyway).
	Refuse bool
	// Strip lists further EHLO keywords to remove, e.g. "PIPELINING".
	Strip []string
}

// StripTLSProxy is a TCP proxy in front of an SMTP server that prevents
// STARTTLS: the downgrade attacker. It speaks plaintext only; no TLS
// session can form through it.
type StripTLSProxy struct {
	opts   ProxyOptions
	target string
	ln     net.Listener
	wg     sync.WaitGroup

	mu     sync.Mutex
	closed bool
	conns  map[net.Conn]struct{}
}

// NewStripTLSProxy listens on 127.0.0.1 and forwards to target;
// t.Cleanup closes it.
func NewStripTLSProxy(t testing.TB, target string, opts ProxyOptions) *StripTLSProxy {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatalf("smtptest: proxy listen: %v", err)
	}
	p := &StripTLSProxy{opts: opts, target: target, ln: ln, conns: map[net.Conn]struct{}{}}
	p.wg.Go(p.serve)
	t.Cleanup(p.Close)
	return p
}

// Addr is the proxy's "127.0.0.1:port".
func (p *StripTLSProxy) Addr() string { return p.ln.Addr().String() }

// Close stops the proxy and drops its connections.
func (p *StripTLSProxy) Close() {
	_ = p.ln.Close()
	p.mu.Lock()
	p.closed = true
	for c := range p.conns {
		_ = c.Close()
	}
	p.mu.Unlock()
	p.wg.Wait()
}

func (p *StripTLSProxy) serve() {
	for {
		client, err := p.ln.Accept()
		if err != nil {
			return
		}
		server, err := net.Dial("tcp", p.target)
		if err != nil {
			_ = client.Close()
			continue
		}
		if !p.track(client, server) {
			_ = client.Close()
			_ = server.Close()
			return
		}
		p.wg.Go(func() { p.relay(client, server) })
	}
}

// track registers the pair for Close; false when the proxy is closing.
func (p *StripTLSProxy) track(cs ...net.Conn) bool {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.closed {
		return false
	}
	for _, c := range cs {
		p.conns[c] = struct{}{}
	}
	return true
}

func (p *StripTLSProxy) untrack(cs ...net.Conn) {
	p.mu.Lock()
	defer p.mu.Unlock()
	for _, c := range cs {
		_ = c.Close()
		delete(p.conns, c)
	}
}

// relay runs both directions. Writes are flushed when the reader has nothing
// more buffered, so a pipelined group stays one write.
func (p *StripTLSProxy) relay(client, server net.Conn) {
	defer p.untrack(client, server)
	toClient := &lockedWriter{w: bufio.NewWriter(client)}
	var wg sync.WaitGroup
	wg.Go(func() {
		defer client.Close()
		p.down(bufio.NewReader(server), toClient)
	})
	p.up(bufio.NewReader(client), bufio.NewWriter(server), toClient)
	_ = server.Close()
	wg.Wait()
}

// up forwards client lines to the server, answering STARTTLS itself.
func (p *StripTLSProxy) up(r *bufio.Reader, server *bufio.Writer, client *lockedWriter) {
	inData := false
	for {
		line, err := r.ReadString('\n')
		if err != nil {
			return
		}
		cmd := strings.ToUpper(strings.TrimRight(line, "\r\n"))
		switch {
		case inData:
			inData = cmd != "."
		case cmd == "STARTTLS":
			// RFC 3207 section 4: 454 TLS not available due to temporary reason.
			if client.writeFlush("454 4.7.0 TLS not available\r\n") != nil {
				return
			}
			continue
		case cmd == "DATA":
			inData = true
		}
		if _, err := server.WriteString(line); err != nil {
			return
		}
		if r.Buffered() == 0 && server.Flush() != nil {
			return
		}
	}
}

// down forwards server replies, with keywords removed from EHLO replies.
func (p *StripTLSProxy) down(r *bufio.Reader, client *lockedWriter) {
	strip := map[string]bool{}
	if !p.opts.Refuse {
		strip["STARTTLS"] = true
	}
	for _, k := range p.opts.Strip {
		strip[strings.ToUpper(k)] = true
	}
	var lines []string
	for {
		line, err := r.ReadString('\n')
		if err != nil {
			return
		}
		line = strings.TrimRight(line, "\r\n")
		lines = append(lines, line)
		if len(line) >= 4 && line[3] == '-' {
			continue // more lines of this reply follow
		}
		out := filterReply(lines, strip)
		lines = lines[:0]
		if client.write(out) != nil {
			return
		}
		if r.Buffered() == 0 && client.flush() != nil {
			return
		}
	}
}

// filterReply removes extension lines (not the first) whose keyword is in
// strip from a multiline 250 reply, and re-joins the rest.
func filterReply(lines []string, strip map[string]bool) string {
	kept := lines[:1:1]
	for _, l := range lines[1:] {
		kw, _, _ := strings.Cut(strings.ToUpper(strings.TrimSpace(safeText(l))), " ")
		if strings.HasPrefix(l, "250") && strip[kw] {
			continue
		}
		kept = append(kept, l)
	}
	var b strings.Builder
	for i, l := range kept {
		sep := "-"
		if i == len(kept)-1 {
			sep = " "
		}
		if len(l) >= 4 {
			l = l[:3] + sep + l[4:]
		} else if len(l) == 3 && sep == "-" {
			l += sep
		}
		b.WriteString(l + "\r\n")
	}
	return b.String()
}

func safeText(l string) string {
	if len(l) < 4 {
		return ""
	}
	return l[4:]
}

// lockedWriter serializes the two directions' writes to the client.
type lockedWriter struct {
	mu sync.Mutex
	w  *bufio.Writer
}

func (l *lockedWriter) write(s string) error {
	l.mu.Lock()
	defer l.mu.Unlock()
	_, err := l.w.WriteString(s)
	return err
}

func (l *lockedWriter) flush() error {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.w.Flush()
}

func (l *lockedWriter) writeFlush(s string) error {
	l.mu.Lock()
	defer l.mu.Unlock()
	if _, err := l.w.WriteString(s); err != nil {
		return err
	}
	return l.w.Flush()
}
