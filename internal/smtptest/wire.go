package smtptest

import (
	"crypto/tls"
	"net"
	"time"
)

// ConnStats are one connection's counters.
type ConnStats struct {
	// Mails counts MAIL commands accepted; Transactions counts messages
	// accepted (a 250 after DATA).
	Mails, Transactions int
	// RoundTrips counts the times the sink read from the client after having
	// written to it: one per exchange the client waited for. A pipelined
	// MAIL, RCPTs and DATA is one round trip; unpipelined, each is one.
	RoundTrips int
	// TLS is whether STARTTLS completed on this connection.
	TLS bool
}

// listener counts connections and wraps each one.
type listener struct {
	net.Listener
	sink *Sink
}

func (l *listener) Accept() (net.Conn, error) {
	c, err := l.Listener.Accept()
	if err != nil {
		return nil, err
	}
	s := l.sink
	s.mu.Lock()
	id := len(s.conns)
	s.conns = append(s.conns, &ConnStats{})
	s.mu.Unlock()
	return &wireConn{Conn: c, sink: s, id: id, delay: s.opts.Script.GreetingDelay}, nil
}

// wireConn records what the client sends and counts round trips. Only the
// server goroutine of the connection reads and writes it.
type wireConn struct {
	net.Conn
	sink   *Sink
	id     int
	delay  time.Duration // before the first write (the greeting)
	wrote  bool          // the last operation was a write
	greets bool          // the first write has happened
}

func (c *wireConn) Read(p []byte) (int, error) {
	n, err := c.Conn.Read(p)
	if n > 0 {
		s := c.sink
		s.mu.Lock()
		if c.wrote {
			s.conns[c.id].RoundTrips++
		}
		if !s.opts.DiscardData && s.wire.Len()+n <= maxWire {
			s.wire.Write(p[:n])
		}
		s.mu.Unlock()
		c.wrote = false
	}
	return n, err
}

func (c *wireConn) Write(p []byte) (int, error) {
	if !c.greets {
		c.greets = true
		if c.delay > 0 {
			t := time.NewTimer(c.delay)
			select {
			case <-t.C:
			case <-c.sink.done:
				t.Stop()
			}
		}
	}
	c.wrote = true
	return c.Conn.Write(p)
}

// wireOf finds the wireConn under a connection go-smtp may have wrapped in
// TLS.
func wireOf(c net.Conn) *wireConn {
	if tc, ok := c.(*tls.Conn); ok {
		c = tc.NetConn()
	}
	wc, _ := c.(*wireConn)
	return wc
}
