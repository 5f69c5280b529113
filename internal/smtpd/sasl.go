package smtpd

import (
	"bytes"
	"unicode/utf8"

	"github.com/emersion/go-sasl"
)

// SASL mechanisms offered after TLS.
const (
	mechPlain = "PLAIN"
	mechLogin = "LOGIN"
)

// maxSASLField bounds each decoded field; an API key is about 45
// characters, RFC 4616 allows up to 255 octets per field.
const maxSASLField = 255

// checkFunc verifies the password (an API key) and returns the reply to
// send on failure, nil on success.
type checkFunc func(password string) error

// saslServer is PLAIN (RFC 4616) or LOGIN (draft-murchison-sasl-login, the
// mechanism Outlook and many devices still use). go-smtp does the base64
// and the "*" cancellation; this does the exchange and the decoding.
type saslServer struct {
	mech  string
	state saslState
	check checkFunc
}

type saslState int

const (
	saslStart saslState = iota
	saslWantResponse
	saslWantUser
	saslWantPassword
	saslDone
)

var _ sasl.Server = (*saslServer)(nil)

func newSASL(mech string, check checkFunc) (*saslServer, bool) {
	switch mech {
	case mechPlain, mechLogin:
		return &saslServer{mech: mech, check: check}, true
	}
	return nil, false
}

// Next takes the client's decoded response (nil when AUTH came without an
// initial response) and returns the next challenge, or done with the
// outcome: nil, or the reply to send.
func (s *saslServer) Next(resp []byte) ([]byte, bool, error) {
	if s.mech == mechPlain {
		return s.plain(resp)
	}
	return s.login(resp)
}

func (s *saslServer) plain(resp []byte) ([]byte, bool, error) {
	switch {
	case s.state == saslStart && resp == nil:
		s.state = saslWantResponse
		return []byte{}, false, nil // "334 " and wait for the response
	case s.state == saslStart, s.state == saslWantResponse:
		s.state = saslDone
		_, _, password, ok := decodePlain(resp)
		if !ok {
			return nil, true, errAuthMalformed
		}
		return nil, true, s.check(password)
	}
	return nil, true, errAuthMalformed
}

// login asks for the user name (unless it came as the initial response),
// then the password. The user name is checked for syntax only: the API key
// identifies its owner.
func (s *saslServer) login(resp []byte) ([]byte, bool, error) {
	switch {
	case s.state == saslStart && resp == nil:
		s.state = saslWantUser
		return []byte("Username:"), false, nil
	case s.state == saslStart, s.state == saslWantUser:
		if !validField(resp, false) {
			s.state = saslDone
			return nil, true, errAuthMalformed
		}
		s.state = saslWantPassword
		return []byte("Password:"), false, nil
	case s.state == saslWantPassword:
		s.state = saslDone
		if !validField(resp, true) {
			return nil, true, errAuthMalformed
		}
		return nil, true, s.check(string(resp))
	}
	return nil, true, errAuthMalformed
}

// decodePlain splits "authzid NUL authcid NUL passwd" (RFC 4616 section
// 2). An authorization identity other than the authentication identity
// (acting as someone else) is not supported and refused.
func decodePlain(b []byte) (authzid, authcid, passwd string, ok bool) {
	parts := bytes.Split(b, []byte{0})
	if len(parts) != 3 {
		return "", "", "", false
	}
	// QUIRK: RFC 4616 requires an authcid; it is allowed empty here, since
	// the user name is not used and some clients leave it out.
	if !validField(parts[0], false) || !validField(parts[1], false) || !validField(parts[2], true) {
		return "", "", "", false
	}
	if len(parts[0]) > 0 && !bytes.Equal(parts[0], parts[1]) {
		return "", "", "", false
	}
	return string(parts[0]), string(parts[1]), string(parts[2]), true
}

// validField is UTF-8 of at most maxSASLField octets without NUL or line
// breaks, non-empty when required.
func validField(b []byte, required bool) bool {
	if (required && len(b) == 0) || len(b) > maxSASLField || !utf8.Valid(b) {
		return false
	}
	return !bytes.ContainsAny(b, "\x00\r\n")
}
