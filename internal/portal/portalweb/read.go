package portalweb

import (
	"encoding/base64"
	"errors"
	"html/template"
	"mime"
	"net/http"
	"strconv"

	"github.com/carepost/carepost/internal/portal"
)

// The pages of a portal session: the message, its attachments, the reply,
// portal accounts and signing out.

// session resolves the portal session cookie and, for a POST, checks
// CSRF, then runs h. Without a live session it says the session ended.
func (s *Server) session(h func(http.ResponseWriter, *http.Request, portal.Session)) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		c, err := r.Cookie(SessionCookie)
		if err != nil || c.Value == "" {
			s.ended(w, r)
			return
		}
		sess, err := s.portal.Authenticate(r.Context(), c.Value)
		if errors.Is(err, portal.ErrNoSession) {
			s.setCookie(w, SessionCookie, "", -1)
			s.ended(w, r)
			return
		}
		if err != nil {
			s.internal(w, r, err)
			return
		}
		if r.Method != http.MethodGet && (s.cross.Check(r) != nil || !sess.CheckCSRF(r.PostFormValue("csrf"))) {
			s.message(w, r, http.StatusForbidden, "This form has expired", "Go back to the message, reload it and try again.")
			return
		}
		h(w, r, sess)
	}
}

func (s *Server) ended(w http.ResponseWriter, r *http.Request) {
	s.message(w, r, http.StatusUnauthorized, "Your session has ended",
		"For your privacy, sessions end after a few minutes without activity. Open the link from your email again to continue.")
}

var notices = map[string]string{
	"replied": "Your reply was sent securely.",
	"account": "Your portal account is ready. Next time, sign in with your password and authenticator app.",
}

func (s *Server) read(w http.ResponseWriter, r *http.Request, sess portal.Session) {
	s.showRead(w, r, sess, http.StatusOK, view{Notice: notices[r.URL.Query().Get("notice")]})
}

// showRead renders the message page, with v's notice or error.
func (s *Server) showRead(w http.ResponseWriter, r *http.Request, sess portal.Session, status int, v view) {
	c, err := s.portal.Read(r.Context(), sess)
	if err != nil {
		s.sessionFail(w, r, err)
		return
	}
	acct, canCreate, err := s.portal.AccountState(r.Context(), sess)
	if err != nil {
		s.sessionFail(w, r, err)
		return
	}
	v.Title, v.Content, v.CSRF, v.SignedIn, v.Account, v.CanCreate = "Secure message from "+c.Org, c, sess.CSRF, true, acct, canCreate
	v.HTML = template.HTML(c.HTML) // sanitized by portal.Sanitizer
	s.render(w, r, status, "read", v)
}

func (s *Server) sessionFail(w http.ResponseWriter, r *http.Request, err error) {
	var in *portal.InputError
	switch {
	case errors.Is(err, portal.ErrGone):
		s.setCookie(w, SessionCookie, "", -1)
		s.gone(w, r)
	case errors.Is(err, portal.ErrNotFound):
		s.message(w, r, http.StatusNotFound, "Not found", "There is nothing here. Go back to the message.")
	case errors.As(err, &in), errors.Is(err, portal.ErrUnavailable), errors.Is(err, portal.ErrProof):
		s.message(w, r, http.StatusBadRequest, "That did not work", "Go back to the message and try again.")
	default:
		s.internal(w, r, err)
	}
}

func (s *Server) download(w http.ResponseWriter, r *http.Request, sess portal.Session) {
	n, err := strconv.Atoi(r.PathValue("n"))
	if err != nil {
		s.sessionFail(w, r, portal.ErrNotFound)
		return
	}
	a, err := s.portal.Download(r.Context(), sess, n)
	if err != nil {
		s.sessionFail(w, r, err)
		return
	}
	headers(w)
	h := w.Header()
	h.Set("Content-Security-Policy", "default-src 'none'; sandbox")
	h.Set("Content-Type", a.Type)
	disp := mime.FormatMediaType("attachment", map[string]string{"filename": a.Name}) // RFC 6266, RFC 2231 for non-ASCII
	if disp == "" {
		disp = "attachment"
	}
	h.Set("Content-Disposition", disp)
	h.Set("Content-Length", strconv.Itoa(len(a.Content)))
	_, _ = w.Write(a.Content)
}

func (s *Server) reply(w http.ResponseWriter, r *http.Request, sess portal.Session) {
	_, err := s.portal.Reply(r.Context(), sess, r.PostFormValue("text"))
	var in *portal.InputError
	if errors.As(err, &in) {
		s.showRead(w, r, sess, http.StatusBadRequest, view{Error: in.Msg, Field: "reply", Text: r.PostFormValue("text")})
		return
	}
	if err != nil {
		s.sessionFail(w, r, err)
		return
	}
	http.Redirect(w, r, "/portal/read?notice=replied", http.StatusSeeOther)
}

func (s *Server) createAccount(w http.ResponseWriter, r *http.Request, sess portal.Session) {
	pw := r.PostFormValue("password")
	if pw != r.PostFormValue("password2") {
		s.showRead(w, r, sess, http.StatusBadRequest, view{Error: "The two passwords are not the same.", Field: "password"})
		return
	}
	en, err := s.portal.CreateAccount(r.Context(), sess, pw)
	var in *portal.InputError
	if errors.As(err, &in) {
		s.showRead(w, r, sess, http.StatusBadRequest, view{Error: in.Msg, Field: "password"})
		return
	}
	if err != nil {
		s.sessionFail(w, r, err)
		return
	}
	s.render(w, r, http.StatusOK, "account", view{Title: "Set up your authenticator app", CSRF: sess.CSRF, SignedIn: true,
		Enrollment: &enrollmentView{Secret: en.Secret, QR: template.URL("data:image/png;base64," + base64.StdEncoding.EncodeToString(en.QRPNG))}})
}

func (s *Server) confirmAccount(w http.ResponseWriter, r *http.Request, sess portal.Session) {
	err := s.portal.ConfirmAccount(r.Context(), sess, r.PostFormValue("code"))
	if errors.Is(err, portal.ErrProof) {
		s.render(w, r, http.StatusBadRequest, "account", view{Title: "Set up your authenticator app", CSRF: sess.CSRF, SignedIn: true,
			Error: "That code is not right. Enter the code your app shows now.", Field: "code"})
		return
	}
	if err != nil {
		s.sessionFail(w, r, err)
		return
	}
	http.Redirect(w, r, "/portal/read?notice=account", http.StatusSeeOther)
}

func (s *Server) signOut(w http.ResponseWriter, r *http.Request, sess portal.Session) {
	if err := s.portal.EndSession(r.Context(), sess); err != nil {
		s.internal(w, r, err)
		return
	}
	s.setCookie(w, SessionCookie, "", -1)
	s.message(w, r, http.StatusOK, "You are signed out", "To read the message again, open the link from your email.")
}
