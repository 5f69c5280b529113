package smtpd

import (
	"errors"
	"io"

	"github.com/emersion/go-sasl"
	"github.com/emersion/go-smtp"

	"github.com/carepost/carepost/internal/access"
	"github.com/carepost/carepost/internal/audit"
	"github.com/carepost/carepost/internal/auth"
	"github.com/carepost/carepost/internal/outbox"
)

// submission is a session on the submission listeners: AUTH with an API
// key, then mail for the key's organization.
type submission struct {
	session
	principal *auth.Principal
}

var _ smtp.AuthSession = (*submission)(nil)

// AuthMechanisms is advertised by go-smtp only once the connection is
// encrypted; before that AUTH is refused (523 5.7.10).
func (s *submission) AuthMechanisms() []string { return []string{mechPlain, mechLogin} }

func (s *submission) Auth(mech string) (sasl.Server, error) {
	srv, ok := newSASL(mech, s.authenticate)
	if !ok {
		return nil, smtp.ErrAuthUnknownMechanism
	}
	return srv, nil
}

// authenticate checks the password as an API key with messages:send.
func (s *submission) authenticate(key string) error {
	ctx := audit.WithRequest(s.l.srv.ctx, audit.Request{ClientIP: s.tc.ip.String(), UserAgent: "smtp " + s.l.name, RequestID: s.tc.id})
	p, err := s.l.srv.deps.Auth.AuthenticateAPIKey(ctx, key, auth.Client{IP: s.tc.ip.String(), UserAgent: "smtp " + s.l.name})
	var thr *auth.ThrottledError
	switch {
	case errors.As(err, &thr):
		return s.authFailure(errAuthTemporary)
	case errors.Is(err, auth.ErrInvalidCredentials):
		return s.authFailure(errAuthFailed)
	case err != nil:
		s.l.srv.deps.Log.Error("smtp authentication failed", "listener", s.l.name, "conn", s.tc.id, "err", err)
		return errAuthTemporary
	}
	if !p.Perms.Has(access.MessagesSend) {
		// A valid key that may not send: package auth saw a success, so
		// the refusal is recorded here.
		if _, err := s.l.srv.deps.Audit.Record(ctx, audit.Entry{Chain: p.OrgID, Actor: p.Actor(), Action: "smtp.auth",
			TargetType: "apikey", TargetID: p.APIKeyID, Outcome: audit.Denied,
			Details: map[string]string{"reason": "missing messages:send", "listener": s.l.name}}); err != nil {
			s.l.srv.deps.Log.Error("audit smtp authentication", "conn", s.tc.id, "err", err)
			return errAuthTemporary
		}
		return s.authFailure(errAuthFailed)
	}
	s.principal = &p
	return nil
}

// authFailure counts a failure; the third on one connection ends it.
func (s *submission) authFailure(rep *smtp.SMTPError) error {
	if s.tc.authFailed() {
		s.tc.end()
		return errAuthTooMany
	}
	return rep
}

func (s *submission) Mail(from string, opts *smtp.MailOptions) error {
	if s.principal == nil {
		return errAuthRequired
	}
	if err := s.mail(from, opts); err != nil {
		return err
	}
	if !s.l.srv.limiter.allow(s.principal.APIKeyID) {
		s.Reset()
		s.tc.note(messageDeferred)
		return errRateLimited
	}
	return nil
}

func (s *submission) Rcpt(to string, _ *smtp.RcptOptions) error { return s.rcpt(to) }

func (s *submission) Data(r io.Reader) error {
	raw, err := s.readData(r)
	if err != nil {
		return err
	}
	p := s.principal
	return s.submit(outbox.Submission{
		OrgID: p.OrgID, Actor: p.Actor(), SenderUserID: p.UserID, Source: outbox.SourceSMTP,
		Raw: s.trace(raw, "ESMTPSA"), MailFrom: s.env.from, Rcpts: s.env.rcpts,
		RequireTLS: s.env.requireTLS, DSN: true,
	})
}
