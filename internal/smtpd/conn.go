package smtpd

import (
	"crypto/tls"
	"net"
	"net/netip"
	"sync"
	"sync/atomic"
	"time"

	"github.com/emersion/go-smtp"

	"github.com/carepost/carepost/internal/id"
)

// trackedConn is the TCP connection under go-smtp (and under TLS, when
// there is TLS). It outlives the go-smtp sessions, which restart at
// STARTTLS, so it holds what belongs to the connection: its id, the peer
// address, the outcome counted once at close, the AUTH failures, and the
// closing flag of a graceful shutdown.
type trackedConn struct {
	net.Conn
	srv *listener
	id  string
	ip  netip.Addr

	closing atomic.Bool
	once    sync.Once

	mu                  sync.Mutex
	accepted, refused   int
	authFailures        int
	denied, authRefused bool
}

// SetReadDeadline lets a shutdown win over go-smtp, which sets a fresh
// deadline before every command: once closing, every read deadline is in
// the past, so an idle connection ends at its next read ("421 4.4.2") and
// one in the middle of a commit ends right after its reply.
func (c *trackedConn) SetReadDeadline(t time.Time) error {
	if c.closing.Load() {
		t = time.Unix(1, 0)
	}
	return c.Conn.SetReadDeadline(t)
}

// end asks the connection to close at its next read.
func (c *trackedConn) end() {
	c.closing.Store(true)
	_ = c.Conn.SetReadDeadline(time.Unix(1, 0))
}

func (c *trackedConn) Close() error {
	c.once.Do(func() {
		c.srv.metrics.sessions.WithLabelValues(c.srv.name, c.result()).Inc()
		c.srv.forget(c)
	})
	return c.Conn.Close()
}

func (c *trackedConn) result() string {
	c.mu.Lock()
	defer c.mu.Unlock()
	switch {
	case c.accepted > 0:
		return sessionAccepted
	case c.authRefused:
		return sessionAuthFailed
	case c.denied:
		return sessionDenied
	case c.refused > 0:
		return sessionRejected
	}
	return sessionEmpty
}

// note records a message outcome on the connection and in the metrics.
func (c *trackedConn) note(result string) {
	c.mu.Lock()
	if result == messageAccepted {
		c.accepted++
	} else {
		c.refused++
	}
	c.mu.Unlock()
	c.srv.metrics.messages.WithLabelValues(c.srv.name, result).Inc()
}

// authFailed records a failed AUTH and reports whether the connection has
// had enough.
func (c *trackedConn) authFailed() bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.authRefused = true
	c.authFailures++
	return c.authFailures >= maxAuthFailures
}

func (c *trackedConn) deny() {
	c.mu.Lock()
	c.denied = true
	c.mu.Unlock()
}

// maxAuthFailures ends a connection after this many failed AUTH commands;
// package auth's per-address throttle covers clients that reconnect.
const maxAuthFailures = 3

// trackingListener wraps each accepted connection in a trackedConn.
type trackingListener struct {
	net.Listener
	srv *listener
}

func (l trackingListener) Accept() (net.Conn, error) {
	c, err := l.Listener.Accept()
	if err != nil {
		return nil, err
	}
	tc := &trackedConn{Conn: c, srv: l.srv, id: id.New("smtp")}
	if ap, err := netip.ParseAddrPort(c.RemoteAddr().String()); err == nil {
		tc.ip = ap.Addr().Unmap()
	}
	l.srv.remember(tc)
	return tc, nil
}

// connOf finds the trackedConn under a go-smtp connection, through TLS.
func connOf(c *smtp.Conn) *trackedConn {
	nc := c.Conn()
	if tc, ok := nc.(*tls.Conn); ok {
		nc = tc.NetConn()
	}
	tc, _ := nc.(*trackedConn)
	return tc
}
