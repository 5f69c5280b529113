package smtpclient

import (
	"bytes"
	"io"
	"strconv"

	"github.com/carepost/carepost/internal/message"
)

// chunkable returns msg's content when Send may send it as one BDAT chunk
// (RFC 3030 CHUNKING) pipelined with the envelope, and ok false when Send
// must use DATA: the server does not offer both CHUNKING and PIPELINING
// (RFC 2920), the site set NoChunking, msg is neither a *bytes.Reader
// (whose bytes are copied) nor has a Bytes method (bytes.Buffer, whose
// bytes are used as they are), or the content is not canonical. Other
// readers would have to be read whole first, and a chunk's size must be
// known before its first byte is sent.
func (c *Conn) chunkable(msg io.Reader) (content []byte, ok bool) {
	if c.opts.NoChunking || !c.Supports("CHUNKING") || !c.Supports("PIPELINING") {
		return nil, false
	}
	switch r := msg.(type) {
	case interface{ Bytes() []byte }:
		content = r.Bytes()
	case *bytes.Reader:
		// ReadAt leaves the reader where it is, so the DATA path can
		// still read it should the content not be canonical.
		content = make([]byte, r.Len())
		if _, err := r.ReadAt(content, r.Size()-int64(r.Len())); err != nil {
			return nil, false
		}
	default:
		return nil, false
	}
	if !canonical(content) {
		return nil, false
	}
	return content, true
}

// canonical reports whether content can go as a BDAT chunk unchanged and
// arrive as exactly what DATA would have delivered. A chunk is sent as is
// (RFC 3030 section 2: no dot-stuffing, no line ending conversion), so it
// must already be what dataWriter would make of it: every line ending
// CRLF, the last line ended too, no bare CR or LF (the SMTP smuggling
// ambiguity must not reach the wire on either path). Without BINARYMIME
// (RFC 3030 section 3), which carepost never asks for, the body is still
// 7bit or 8bit data (RFC 2045 section 2.8: no NUL, lines of at most 998
// octets) whichever command carries it; DATA carries a message that is not
// as it always has, and the server judges it.
func canonical(content []byte) bool { return message.Canonical(content) }

// chunked runs the transaction with content as one "BDAT <size> LAST"
// chunk: MAIL, the RCPTs, the BDAT command and the content leave in one
// flush, and the replies are read after it, in order (RFC 2920 section
// 3.1). One round trip per message.
//
// RFC 3030 section 2 says the message is sent in BDAT chunks after the
// MAIL and RCPT responses are collected; its PIPELINING example (section
// 4.2) shows what that means with pipelining: the chunks follow the RCPT
// commands at once and the RCPT replies arrive after them. Large senders
// do the same with one BDAT LAST (Exim's smtp_in.c notes Google's MAIL,
// RCPT and BDAT in one packet), and only a server that advertises
// PIPELINING is sent it that way.
//
// Because the content leaves before the RCPT replies are known, a
// transaction whose sender or every recipient is refused has still sent
// it, to the server the envelope went to, over the same session: that
// server refuses the BDAT and discards the chunk (RFC 3030 section 2: a
// receiver that fails a BDAT still consumes its chunk before replying).
// Network failures here are reported at StageData whatever reply was
// awaited: the content has left, so the message may have been received.
func (c *Conn) chunked(mail string, rcpts []string, content []byte) (SendResult, error) {
	c.writeLine(mail)
	for _, r := range rcpts {
		c.writeLine("RCPT TO:<" + r + ">")
	}
	// RFC 3030 section 2: the size is the exact octet count of the chunk,
	// which follows the command's CRLF at once. A message larger than the
	// write buffer streams through it before the flush.
	c.writeLine("BDAT " + strconv.Itoa(len(content)) + " LAST")
	if err := c.deadline(c.opts.Timeouts.Data); err != nil {
		return SendResult{}, c.ioError(StageData, err)
	}
	c.w.Write(content) // bufio.Writer keeps its first error for Flush
	if err := c.w.Flush(); err != nil {
		// A chunk cut short can be neither completed nor withdrawn: the
		// server would read the next commands as message data.
		e := c.ioError(StageData, err)
		c.abort()
		return SendResult{}, e
	}

	// RFC 2920 section 3.1: every reply of the group is read, whatever the
	// earlier ones said, so the session stays in step.
	rep, err := c.read(StageData, c.opts.Timeouts.Command)
	if err != nil {
		return SendResult{}, err
	}
	var mailErr error
	if rep.Code != 250 {
		mailErr = replyError(StageMail, rep)
	}
	var res SendResult
	accepted := 0
	for _, r := range rcpts {
		rep, err := c.read(StageData, c.opts.Timeouts.Command)
		if err != nil {
			return res, err
		}
		rr := rcptResult(r, rep)
		if rr.Accepted {
			accepted++
		}
		res.Rcpts = append(res.Rcpts, rr)
	}
	rep, err = c.read(StageData, c.opts.Timeouts.Data)
	if err != nil {
		return res, err
	}
	// With no sender or no recipient the BDAT reply is an error (503 or
	// 554); a server that says 250 anyway has delivered to nobody.
	if mailErr != nil {
		return SendResult{}, mailErr
	}
	if accepted == 0 {
		return res, rcptsError(res.Rcpts)
	}
	res.Data = statusOf(rep)
	if rep.Code != 250 {
		// The transaction failed; RFC 3030 leaves the server's state after
		// a refused chunk to the server, so the next Send resets first
		// (c.dirty stays set).
		return res, replyError(StageData, rep)
	}
	c.dirty = false
	return res, nil
}
