package config

import (
	"net"
	"net/url"
	"strconv"
	"time"
)

// ListenOff is the listen value that disables an SMTP listener; an empty
// string does too (in a file; an empty environment variable counts as
// unset).
const ListenOff = "0"

// MaxSMTPMessageSize is the largest max_size Validate accepts: the outbox
// refuses messages above 25 MiB, and a listener must not accept what the
// outbox will refuse after DATA.
const MaxSMTPMessageSize = 25 * MiB

// Submission is the [submission] section: SMTP submission for mail clients
// and applications that authenticate with an API key (RFC 6409, RFC 8314).
type Submission struct {
	// Listen is the host:port of the submission listener, where STARTTLS is
	// required before AUTH (port 587 in production); "0" disables it. The
	// default is loopback and needs no root. Default: "127.0.0.1:5870".
	Listen string `toml:"listen" doc:"host:port of the submission listener, where STARTTLS is required before AUTH (port 587 in production); \"0\" disables it"`
	// TLSListen is the host:port of the implicit-TLS submission listener
	// (port 465 in production, RFC 8314); "0" disables it.
	// Default: "127.0.0.1:4650".
	TLSListen string `toml:"tls_listen" doc:"host:port of the implicit-TLS submission listener (port 465 in production, RFC 8314); \"0\" disables it"`
	// Hostname is the name the listeners greet with; empty means the host
	// of http.public_url. Default: "".
	Hostname string `toml:"hostname" doc:"name the listeners greet with; empty means the host of http.public_url"`
	// CertFile is the PEM certificate chain the listeners present; empty
	// means the HTTPS server's certificate. Set it with key_file. When
	// http.tls is off and this is empty, the listeners use the self-signed
	// development certificate in data.dir and carepost warns. Default: "".
	CertFile string `toml:"cert_file" doc:"PEM certificate chain the listeners present; empty means the HTTPS server's certificate"`
	// KeyFile is the PEM private key of cert_file. Default: "".
	KeyFile string `toml:"key_file" doc:"PEM private key of cert_file"`
	// MaxSize is the largest message accepted, advertised with SIZE (RFC
	// 1870); at most 25MiB. Default: "25MB".
	MaxSize Size `toml:"max_size" doc:"largest message accepted, advertised with SIZE (RFC 1870); at most 25MiB"`
	// MaxRecipients is the most RCPT TO commands accepted per message (1
	// to 1000). Default: 1000.
	MaxRecipients int `toml:"max_recipients" doc:"most RCPT TO commands accepted per message (1 to 1000)"`
	// RatePerMinute is how many messages one API key may submit per minute
	// on this node; 0 means no limit. It is a token bucket per key held in
	// memory, so each node counts on its own. Default: 600.
	RatePerMinute int `toml:"rate_per_minute" doc:"how many messages one API key may submit per minute on this node; 0 means no limit"`
	// ReadTimeout is how long a client may stay silent before the
	// connection is closed (RFC 5321 section 4.5.3.2 suggests 5 minutes).
	// Default: "5m".
	ReadTimeout Duration `toml:"read_timeout" doc:"how long a client may stay silent before the connection is closed"`
	// WriteTimeout is how long a reply may take to reach the client.
	// Default: "1m".
	WriteTimeout Duration `toml:"write_timeout" doc:"how long a reply may take to reach the client"`
}

// Gateway is the [gateway] section: the relay that Microsoft 365, Google
// Workspace and on-premises servers route outbound mail through, accepting
// mail without AUTH from the connectors organizations configure.
type Gateway struct {
	// Listen is the host:port of the gateway relay listener (port 25 in
	// production); "0" disables it. Default: "127.0.0.1:2525".
	Listen string `toml:"listen" doc:"host:port of the gateway relay listener (port 25 in production); \"0\" disables it"`
	// Hostname is the name the listener greets with; empty means the host
	// of http.public_url. Default: "".
	Hostname string `toml:"hostname" doc:"name the listener greets with; empty means the host of http.public_url"`
	// CertFile is the PEM certificate chain offered with STARTTLS; empty
	// means the HTTPS server's certificate (as for submission.cert_file).
	// Set it with key_file. Default: "".
	CertFile string `toml:"cert_file" doc:"PEM certificate chain offered with STARTTLS; empty means the HTTPS server's certificate"`
	// KeyFile is the PEM private key of cert_file. Default: "".
	KeyFile string `toml:"key_file" doc:"PEM private key of cert_file"`
	// MaxSize is the largest message accepted, advertised with SIZE; at
	// most 25MiB. Default: "25MB".
	MaxSize Size `toml:"max_size" doc:"largest message accepted, advertised with SIZE; at most 25MiB"`
	// MaxRecipients is the most RCPT TO commands accepted per message (1
	// to 1000). Default: 1000.
	MaxRecipients int `toml:"max_recipients" doc:"most RCPT TO commands accepted per message (1 to 1000)"`
	// ReadTimeout is how long a peer may stay silent before the connection
	// is closed. Default: "5m".
	ReadTimeout Duration `toml:"read_timeout" doc:"how long a peer may stay silent before the connection is closed"`
	// WriteTimeout is how long a reply may take to reach the peer.
	// Default: "1m".
	WriteTimeout Duration `toml:"write_timeout" doc:"how long a reply may take to reach the peer"`
}

// ListenEnabled reports whether an SMTP listen value names a listener
// rather than disabling it.
func ListenEnabled(listen string) bool { return listen != "" && listen != ListenOff }

func defaultSubmission() Submission {
	return Submission{
		Listen:        "127.0.0.1:5870",
		TLSListen:     "127.0.0.1:4650",
		MaxSize:       25 * MB,
		MaxRecipients: 1000,
		RatePerMinute: 600,
		ReadTimeout:   Duration(5 * time.Minute),
		WriteTimeout:  Duration(time.Minute),
	}
}

func defaultGateway() Gateway {
	return Gateway{
		Listen:        "127.0.0.1:2525",
		MaxSize:       25 * MB,
		MaxRecipients: 1000,
		ReadTimeout:   Duration(5 * time.Minute),
		WriteTimeout:  Duration(time.Minute),
	}
}

// smtpListener is what the two sections have in common, for Validate.
type smtpListener struct {
	section           string
	listens           map[string]string // key → value
	certFile, keyFile string
	maxSize           Size
	maxRecipients     int
	read, write       Duration
}

func (c *Config) validateSMTP(ch *check) {
	s, g := c.Submission, c.Gateway
	for _, l := range []smtpListener{
		{"submission", map[string]string{"listen": s.Listen, "tls_listen": s.TLSListen}, s.CertFile, s.KeyFile,
			s.MaxSize, s.MaxRecipients, s.ReadTimeout, s.WriteTimeout},
		{"gateway", map[string]string{"listen": g.Listen}, g.CertFile, g.KeyFile,
			g.MaxSize, g.MaxRecipients, g.ReadTimeout, g.WriteTimeout},
	} {
		c.validateSMTPListener(ch, l)
	}
	if s.RatePerMinute < 0 {
		ch.add("submission.rate_per_minute", "%d is negative (0 means no limit)", s.RatePerMinute)
	}
}

func (c *Config) validateSMTPListener(ch *check, l smtpListener) {
	for _, key := range []string{"listen", "tls_listen"} {
		v, ok := l.listens[key]
		if !ok || !ListenEnabled(v) {
			continue
		}
		if _, port, err := net.SplitHostPort(v); err != nil {
			ch.add(l.section+"."+key, "%q is not host:port (or \"0\" to disable)", v)
		} else if _, err := strconv.ParseUint(port, 10, 16); err != nil {
			ch.add(l.section+"."+key, "%q: port %q is not a number from 0 to 65535", v, port)
		}
	}
	if (l.certFile == "") != (l.keyFile == "") {
		ch.add(l.section+".key_file", "set both %s.cert_file and %s.key_file, or neither", l.section, l.section)
	}
	if l.maxSize <= 0 || l.maxSize > MaxSMTPMessageSize {
		ch.add(l.section+".max_size", "%s is not between 1B and %s", l.maxSize, MaxSMTPMessageSize)
	}
	if l.maxRecipients < 1 || l.maxRecipients > 1000 {
		ch.add(l.section+".max_recipients", "%d is not between 1 and 1000", l.maxRecipients)
	}
	ch.positive(l.section+".read_timeout", l.read)
	ch.positive(l.section+".write_timeout", l.write)
}

// SMTPHostname is the name an SMTP listener greets with: configured, or
// the host of http.public_url, or "localhost".
func (c *Config) SMTPHostname(configured string) string {
	if configured != "" {
		return configured
	}
	if u, err := url.Parse(c.HTTP.PublicURL); err == nil && u.Hostname() != "" {
		return u.Hostname()
	}
	return "localhost"
}
