package smtpclient

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"net"
	"sync"
	"time"
)

// Conn is an SMTP session with one server, past EHLO and the TLS policy.
// It is not safe for concurrent use.
type Conn struct {
	opts DialOptions
	ext  map[string]string
	tls  TLSReport

	mu       sync.Mutex // guards conn and canceled against the context watcher
	conn     net.Conn   // the TCP connection, or the TLS connection over it
	canceled error      // set when the current operation's context ends

	r *bufio.Reader
	w *bufio.Writer

	broken bool // a network or protocol error, or 421: only Close is possible
	dirty  bool // a transaction stopped midway: RSET before the next one
	closed bool
}

// Dial connects to opts.Addr, reads the greeting, says EHLO and applies the
// TLS policy. Under RequireVerified it returns an *Error of KindTLS, with
// the connection closed, unless the session is verified TLS 1.2+.
func Dial(ctx context.Context, opts DialOptions) (*Conn, error) {
	opts = opts.WithDefaults()
	if err := opts.Validate(); err != nil {
		return nil, err
	}
	c, err := dial(ctx, opts, true)
	if err == nil || opts.TLS != Opportunistic {
		return c, err
	}
	var hs *handshakeError
	if !errors.As(err, &hs) {
		return nil, err
	}
	// Opportunistic: the handshake failed and left the connection unusable;
	// reconnect and stay in plaintext (see the package documentation).
	c, err = dial(ctx, opts, false)
	if err != nil {
		return nil, err
	}
	c.tls.Offered = true
	c.tls.HandshakeError = hs.err.Error()
	return c, nil
}

func dial(ctx context.Context, opts DialOptions, tryTLS bool) (*Conn, error) {
	dctx, cancel := context.WithTimeout(ctx, opts.Timeouts.Connect)
	nc, err := opts.Dialer.DialContext(dctx, "tcp", opts.Addr)
	cancel()
	if err != nil {
		return nil, &Error{Stage: StageConnect, Kind: KindTemporary, Err: err}
	}
	c := &Conn{opts: opts}
	c.setConn(nc)
	stop := c.watch(ctx)
	defer stop()
	if err := c.hello(ctx, tryTLS); err != nil {
		c.abort()
		return nil, err
	}
	return c, nil
}

// hello reads the greeting, says EHLO and applies the TLS policy.
func (c *Conn) hello(ctx context.Context, tryTLS bool) error {
	// RFC 5321 section 3.1: 220 greeting; 554 means no service here.
	rep, err := c.read(StageGreeting, c.opts.Timeouts.Greeting)
	if err != nil {
		return err
	}
	if rep.Code != 220 {
		return replyError(StageGreeting, rep)
	}
	if err := c.ehlo(); err != nil {
		return err
	}
	if c.opts.TLS == InsecureNoTLS || !tryTLS {
		return nil
	}
	return c.startTLS(ctx)
}

// ehlo sends EHLO and records the extensions. Outside RequireVerified, a
// server that does not know EHLO gets HELO (RFC 5321 section 3.2).
func (c *Conn) ehlo() error {
	rep, err := c.cmd(StageEHLO, c.opts.Timeouts.Command, "EHLO "+c.opts.LocalName)
	if err != nil {
		return err
	}
	if rep.Code == 250 {
		c.ext = parseEHLO(rep)
		return nil
	}
	if rep.Code < 500 || c.opts.TLS == RequireVerified {
		return replyError(StageEHLO, rep)
	}
	rep, err = c.cmd(StageEHLO, c.opts.Timeouts.Command, "HELO "+c.opts.LocalName)
	if err != nil {
		return err
	}
	if rep.Code != 250 {
		return replyError(StageEHLO, rep)
	}
	c.ext = map[string]string{}
	return nil
}

// Supports reports whether the server advertised the EHLO keyword (upper
// case, e.g. "PIPELINING") in the current (post-TLS) session.
func (c *Conn) Supports(keyword string) bool {
	_, ok := c.ext[keyword]
	return ok
}

// TLS returns what the session's transport security was.
func (c *Conn) TLS() TLSReport { return c.tls }

// Host returns the MX host name the connection was made for.
func (c *Conn) Host() string { return c.opts.Host }

// setConn installs nc (TCP, or TLS over it) with fresh buffers: whatever
// was buffered from the previous layer is discarded.
func (c *Conn) setConn(nc net.Conn) {
	c.mu.Lock()
	c.conn = nc
	c.mu.Unlock()
	c.r = bufio.NewReader(nc)
	c.w = bufio.NewWriterSize(nc, writeBuffer)
}

// writeBuffer is the size of a session's write buffer: each flush is a
// TLS record (or two) and a write of its own, and at bufio's default of
// 4 KiB a 16 KB campaign message went out as four of each. Two full TLS
// records (RFC 8446 section 5.1: at most 2^14 bytes of plaintext each).
const writeBuffer = 32 << 10

// watch makes ctx's end abort any I/O in progress, until stop is called.
func (c *Conn) watch(ctx context.Context) (stop func()) {
	unwatch := context.AfterFunc(ctx, func() {
		c.mu.Lock()
		defer c.mu.Unlock()
		c.canceled = ctx.Err()
		_ = c.conn.SetDeadline(time.Unix(1, 0))
	})
	return func() { unwatch() }
}

// deadline sets the I/O deadline d from now, unless the context has ended.
func (c *Conn) deadline(d time.Duration) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.canceled != nil {
		return c.canceled
	}
	return c.conn.SetDeadline(time.Now().Add(d))
}

// ioError marks the connection broken and classifies err as temporary,
// reporting the context's error when it caused the failure.
func (c *Conn) ioError(stage Stage, err error) *Error {
	c.broken = true
	c.mu.Lock()
	if c.canceled != nil {
		err = fmt.Errorf("%w (%w)", c.canceled, err)
	}
	c.mu.Unlock()
	return &Error{Stage: stage, Kind: KindTemporary, Err: err}
}

// writeLine buffers one command line.
func (c *Conn) writeLine(line string) {
	c.w.WriteString(line)
	c.w.WriteString("\r\n")
}

func (c *Conn) flush(stage Stage, timeout time.Duration) error {
	if err := c.deadline(timeout); err != nil {
		return c.ioError(stage, err)
	}
	if err := c.w.Flush(); err != nil {
		return c.ioError(stage, err)
	}
	return nil
}

// read reads one reply. A 421 means the server is closing the session
// (RFC 5321 section 3.8): the connection is then unusable.
func (c *Conn) read(stage Stage, timeout time.Duration) (reply, error) {
	if err := c.deadline(timeout); err != nil {
		return reply{}, c.ioError(stage, err)
	}
	rep, err := readReply(c.r)
	if err != nil {
		return reply{}, c.ioError(stage, err)
	}
	if rep.Code == 421 {
		c.broken = true
	}
	return rep, nil
}

// cmd sends one command and reads its reply.
func (c *Conn) cmd(stage Stage, timeout time.Duration, line string) (reply, error) {
	c.writeLine(line)
	if err := c.flush(stage, timeout); err != nil {
		return reply{}, err
	}
	return c.read(stage, timeout)
}

func (c *Conn) usable(stage Stage) error {
	if c.closed || c.broken {
		return &Error{Stage: stage, Kind: KindTemporary, Err: ErrClosed}
	}
	return nil
}

// Reset sends RSET, abandoning any transaction in progress (RFC 5321
// section 4.1.1.5).
func (c *Conn) Reset(ctx context.Context) error {
	if err := c.usable(StageReset); err != nil {
		return err
	}
	stop := c.watch(ctx)
	defer stop()
	rep, err := c.cmd(StageReset, c.opts.Timeouts.Command, "RSET")
	if err != nil {
		return err
	}
	if rep.Code != 250 {
		c.broken = true // a server that cannot reset cannot be trusted with the next message
		return replyError(StageReset, rep)
	}
	c.dirty = false
	return nil
}

// quitTimeout bounds the wait for QUIT's reply, so that closing never takes
// the full command timeout.
const quitTimeout = 10 * time.Second

// Close sends QUIT (unless the connection is already unusable) and closes
// the connection. It is safe to call more than once.
func (c *Conn) Close() error {
	if c.closed {
		return nil
	}
	var err error
	if !c.broken {
		_, err = c.cmd(StageQuit, min(quitTimeout, c.opts.Timeouts.Command), "QUIT")
	}
	c.abort()
	return err
}

// abort closes the connection without QUIT.
func (c *Conn) abort() {
	c.closed = true
	c.mu.Lock()
	defer c.mu.Unlock()
	_ = c.conn.Close()
}
