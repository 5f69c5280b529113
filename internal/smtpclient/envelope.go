package smtpclient

import (
	"io"
)

// envelope sends MAIL, the RCPTs and DATA. ok reports whether the server now
// waits for the message (354) with at least one recipient accepted.
func (c *Conn) envelope(mail string, rcpts []string) (res SendResult, ok bool, err error) {
	timeout := c.opts.Timeouts.Command
	pipelined := c.Supports("PIPELINING")
	if pipelined {
		// RFC 2920 section 3.1: MAIL, the RCPTs and DATA go as one group, DATA
		// last; the replies come back in order. The message itself waits for
		// the 354.
		c.writeLine(mail)
		for _, r := range rcpts {
			c.writeLine("RCPT TO:<" + r + ">")
		}
		c.writeLine("DATA")
		if err := c.flush(StageMail, timeout); err != nil {
			return SendResult{}, false, err
		}
	} else {
		c.writeLine(mail)
		if err := c.flush(StageMail, timeout); err != nil {
			return SendResult{}, false, err
		}
	}

	rep, err := c.read(StageMail, timeout)
	if err != nil {
		return SendResult{}, false, err
	}
	var mailErr error
	if rep.Code != 250 {
		mailErr = replyError(StageMail, rep)
		if !pipelined {
			return SendResult{}, false, mailErr
		}
	}

	accepted := 0
	for _, r := range rcpts {
		if !pipelined {
			c.writeLine("RCPT TO:<" + r + ">")
			if err := c.flush(StageRcpt, timeout); err != nil {
				return res, false, err
			}
		}
		rep, err := c.read(StageRcpt, timeout)
		if err != nil {
			return res, false, err
		}
		rr := rcptResult(r, rep)
		if rr.Accepted {
			accepted++
		}
		res.Rcpts = append(res.Rcpts, rr)
	}

	if mailErr != nil || accepted == 0 {
		if pipelined {
			if err := c.abandonData(); err != nil {
				return res, false, err
			}
		}
		if mailErr != nil {
			return SendResult{}, false, mailErr
		}
		return res, false, rcptsError(res.Rcpts)
	}

	if !pipelined {
		c.writeLine("DATA")
		if err := c.flush(StageData, timeout); err != nil {
			return res, false, err
		}
	}
	rep, err = c.read(StageData, timeout)
	if err != nil {
		return res, false, err
	}
	if rep.Code != 354 {
		return res, false, replyError(StageData, rep)
	}
	return res, true, nil
}

// rcptResult is the server's answer rep to RCPT for rcpt.
func rcptResult(rcpt string, rep reply) RcptResult {
	// 251: user not local, will forward (RFC 5321 section 3.4).
	return RcptResult{Rcpt: rcpt, Status: statusOf(rep), Accepted: rep.Code == 250 || rep.Code == 251}
}

// abandonData reads the reply to a pipelined DATA whose transaction has no
// sender or no recipient. A server should refuse it (RFC 2920 section 3.1);
// one that answers 354 anyway gets an empty message terminated at once,
// never the content.
func (c *Conn) abandonData() error {
	rep, err := c.read(StageData, c.opts.Timeouts.Command)
	if err != nil {
		return err
	}
	if rep.Code != 354 {
		return nil
	}
	c.writeLine(".")
	if err := c.flush(StageData, c.opts.Timeouts.Command); err != nil {
		return err
	}
	_, err = c.read(StageData, c.opts.Timeouts.Command)
	return err
}

// rcptsError summarizes a transaction in which every recipient was refused:
// temporary if any refusal was, else permanent; codes of the first refusal.
func rcptsError(rs []RcptResult) *Error {
	first := rs[0]
	kind := KindPermanent
	for _, r := range rs {
		if r.Code < 500 {
			kind = KindTemporary
		}
	}
	return &Error{Stage: StageRcpt, Kind: kind, Code: first.Code, Enhanced: first.Enhanced, Msg: first.Msg}
}

// data sends the message and reads the final reply.
func (c *Conn) data(msg io.Reader) (Status, error) {
	timeout := c.opts.Timeouts.Data
	if err := c.deadline(timeout); err != nil {
		return Status{}, c.ioError(StageData, err)
	}
	if _, err := copyData(c.w, msg); err != nil {
		// The message cannot be ended without delivering it truncated, and
		// SMTP has no way to abort DATA: drop the connection.
		e := c.ioError(StageData, err)
		c.abort()
		return Status{}, e
	}
	if err := c.flush(StageData, timeout); err != nil {
		return Status{}, err
	}
	rep, err := c.read(StageData, timeout)
	if err != nil {
		return Status{}, err
	}
	if rep.Code != 250 {
		return statusOf(rep), replyError(StageData, rep)
	}
	return statusOf(rep), nil
}
