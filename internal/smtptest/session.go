package smtptest

import (
	"errors"
	"io"
	"slices"
	"strings"

	"github.com/emersion/go-smtp"
)

var (
	_ smtp.Backend = (*backend)(nil)
	_ smtp.Session = (*session)(nil)
)

type backend struct{ sink *Sink }

// NewSession is called at each EHLO/HELO, including the one after STARTTLS.
func (b *backend) NewSession(c *smtp.Conn) (smtp.Session, error) {
	wc := wireOf(c.Conn())
	if wc == nil {
		return nil, errors.New("smtptest: connection not from the sink's listener")
	}
	if _, ok := c.TLSConnectionState(); ok {
		b.sink.mu.Lock()
		b.sink.conns[wc.id].TLS = true
		b.sink.mu.Unlock()
	}
	return &session{sink: b.sink, conn: c, wire: wc}, nil
}

type session struct {
	sink *Sink
	conn *smtp.Conn
	wire *wireConn
	msg  Message // the transaction in progress
}

func (s *session) Reset() { s.msg = Message{} }

func (s *session) Logout() error { return nil }

func (s *session) Mail(from string, opts *smtp.MailOptions) error {
	s.msg = Message{Conn: s.wire.id, From: from}
	if opts != nil {
		s.msg.RequireTLS = opts.RequireTLS
		s.msg.SMTPUTF8 = opts.UTF8
		s.msg.Body = string(opts.Body)
		s.msg.Size = opts.Size
		s.msg.EnvID = opts.EnvelopeID
	}
	s.sink.mu.Lock()
	s.sink.conns[s.wire.id].Mails++
	s.sink.mu.Unlock()
	return nil
}

func (s *session) Rcpt(to string, _ *smtp.RcptOptions) error {
	if slices.ContainsFunc(s.sink.opts.Script.RejectRcpt, func(a string) bool { return strings.EqualFold(a, to) }) {
		return &smtp.SMTPError{Code: 550, EnhancedCode: smtp.EnhancedCode{5, 1, 1}, Message: "mailbox unavailable"}
	}
	s.msg.Rcpts = append(s.msg.Rcpts, to)
	return nil
}

func (s *session) Data(r io.Reader) error {
	sc := s.sink.opts.Script
	s.sink.mu.Lock()
	s.sink.dataSeen++
	n := s.sink.dataSeen
	s.sink.mu.Unlock()

	if n <= sc.DropData {
		after := sc.DropAfterBytes
		if after <= 0 {
			after = 64
		}
		_, _ = io.CopyN(io.Discard, r, int64(after))
		_ = s.wire.Conn.Close() // abruptly, under any TLS layer
		return errors.New("smtptest: connection dropped by script")
	}
	if sc.RejectData {
		return &smtp.SMTPError{Code: 554, EnhancedCode: smtp.EnhancedCode{5, 6, 0}, Message: "message refused"}
	}
	if n <= sc.DropData+sc.TempFailData {
		return &smtp.SMTPError{Code: 451, EnhancedCode: smtp.EnhancedCode{4, 3, 0}, Message: "try again later"}
	}

	data, err := io.ReadAll(r)
	if err != nil {
		return err
	}
	m := s.msg
	m.Rcpts = slices.Clone(m.Rcpts)
	if !s.sink.opts.DiscardData {
		m.Data = data
	}
	if cs, ok := s.conn.TLSConnectionState(); ok {
		m.TLS, m.TLSVersion, m.SNI = true, cs.Version, cs.ServerName
	}
	s.sink.record(m)
	return nil
}
