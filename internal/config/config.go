package config

import (
	"log/slog"
	"net/netip"
	"time"
)

// Config is the whole configuration of a carepost node. Each field is a
// section: a TOML table and the <SECTION> in CAREPOST_<SECTION>_<KEY>.
type Config struct {
	// Data says where carepost keeps its files.
	Data Data `toml:"data"`
	// Database says which database holds carepost's state.
	Database Database `toml:"database"`
	// Keys configures the keyring: the key-encryption key and data keys.
	Keys Keyring `toml:"keys"`
	// HTTP configures the HTTPS server: console, portal and REST API.
	HTTP HTTP `toml:"http"`
	// Audit configures the tamper-evident audit log.
	Audit Audit `toml:"audit"`
	// Jobs configures the background job engine.
	Jobs Jobs `toml:"jobs"`
	// Log configures the process log.
	Log Log `toml:"log"`
	// Demo configures demo mode for trying carepost out.
	Demo Demo `toml:"demo"`
	// Webhooks configures outbound webhook delivery.
	Webhooks Webhooks `toml:"webhooks"`
	// Submission configures SMTP submission with API keys (ports 587, 465).
	Submission Submission `toml:"submission"`
	// Gateway configures the relay for Microsoft 365, Google Workspace and
	// on-premises connectors.
	Gateway Gateway `toml:"gateway"`
	// Delivery configures the outbound queue and delivery to MX hosts.
	Delivery Delivery `toml:"delivery"`
	// Keydir configures the recipient key directory and end-to-end
	// encryption (OpenPGP, S/MIME).
	Keydir Keydir `toml:"keydir"`
	// Auth configures sign-in: passkeys.
	Auth Auth `toml:"auth"`
	// Portal configures the secure portal recipients open messages in.
	Portal Portal `toml:"portal"`
	// Marketing configures segments and what marketing counts may show.
	Marketing Marketing `toml:"marketing"`

	warnings []string // from Load; see Warnings
}

// Data is the [data] section.
type Data struct {
	// Dir is the folder for the SQLite database, the generated key file and
	// the self-signed certificate, unless those are configured elsewhere. A
	// relative path is relative to the working directory.
	// Default: "./carepost-data".
	Dir string `toml:"dir" doc:"folder for the SQLite database, the generated key file and the self-signed certificate"`
}

// Database is the [database] section.
type Database struct {
	// URL is the database to use: empty for a SQLite file in data.dir,
	// postgres:// for PostgreSQL, or a SQLite path or sqlite:// URL. Resolve
	// fills the empty URL with <data.dir>/carepost.db. A password here is
	// hidden by Redacted, but prefer url_file so it stays out of the config
	// file and the environment. Default: "".
	URL string `toml:"url" doc:"database to use: empty for a SQLite file in data.dir, postgres:// for PostgreSQL, or a SQLite path or sqlite:// URL"`
	// URLFile is a file holding the database URL, so a PostgreSQL password
	// stays out of the config file and the environment; set url or url_file,
	// not both. Read it with Config.DatabaseURL. Default: "".
	URLFile string `toml:"url_file" doc:"file holding the database URL, so a PostgreSQL password stays out of the config file and the environment; set url or url_file, not both"`
	// MaxConns is the maximum number of open connections: the PostgreSQL pool
	// size and the SQLite read pool (1 to 1000). Default: 10.
	MaxConns int `toml:"max_conns" doc:"maximum number of open connections: the PostgreSQL pool size and the SQLite read pool (1 to 1000)"`
}

// Keyring is the [keys] section.
type Keyring struct {
	// KEKFile is the file holding the key-encryption key (KEK) keyset; empty
	// means <data.dir>/kek.key, generated on first start if absent. It is not
	// used when kek_env is set. Default: "".
	KEKFile string `toml:"kek_file" doc:"file holding the key-encryption key (KEK) keyset; empty means <data.dir>/kek.key, generated on first start if absent"`
	// KEKEnv is the name of the environment variable holding the KEK keyset,
	// e.g. CAREPOST_KEK; when set, no key file is used. It names the
	// variable: the key itself never appears in the configuration.
	// Default: "".
	KEKEnv string `toml:"kek_env" doc:"name of the environment variable holding the KEK keyset, e.g. CAREPOST_KEK; when set, no key file is used"`
	// RotationInterval is how often a new data key is made current; 0
	// disables automatic data-key rotation. Old keys stay available to open
	// what they sealed. Default: "90d".
	RotationInterval Duration `toml:"rotation_interval" doc:"how often a new data key is made current; 0 disables automatic data-key rotation"`
	// CurrentTTL is how long a node caches which data key is current before
	// reading it again, which bounds how long other nodes keep sealing with
	// the previous key after a rotation. Default: "30s".
	CurrentTTL Duration `toml:"current_ttl" doc:"how long a node caches which data key is current before reading it again"`
}

// TLS modes for HTTP.TLS.
const (
	TLSSelfSigned = "self-signed" // generate a certificate in data.dir
	TLSFiles      = "files"       // use http.cert_file and http.key_file
	TLSOff        = "off"         // plain HTTP behind a TLS-terminating proxy
)

// HTTP is the [http] section.
type HTTP struct {
	// Listen is the host:port the HTTPS server listens on. The default is
	// loopback so a fresh install is not reachable from the network until an
	// administrator decides so; the server warns at start-up when IsLoopback
	// is false. Default: "127.0.0.1:8443".
	Listen string `toml:"listen" doc:"host:port the HTTPS server listens on"`
	// TLS is how the server gets its certificate: self-signed (generated in
	// data.dir), files (cert_file and key_file) or off (plain HTTP, only
	// behind a TLS-terminating proxy). Default: "self-signed".
	TLS string `toml:"tls" doc:"how the server gets its certificate: self-signed (generated in data.dir), files (cert_file and key_file) or off (plain HTTP, only behind a TLS-terminating proxy)"`
	// CertFile is the PEM certificate chain; required when tls is files. With
	// self-signed, empty means <data.dir>/tls/cert.pem, where the generated
	// certificate is kept. Default: "".
	CertFile string `toml:"cert_file" doc:"PEM certificate chain; required when tls is files"`
	// KeyFile is the PEM private key of the certificate; required when tls is
	// files. With self-signed, empty means <data.dir>/tls/key.pem.
	// Default: "".
	KeyFile string `toml:"key_file" doc:"PEM private key of the certificate; required when tls is files"`
	// PublicURL is the URL people reach carepost at, used in links in
	// notifications; it must be https:// unless tls is off. Empty means
	// https://<listen> (http:// when tls is off); set it when listening on
	// all interfaces or behind a proxy. Default: "".
	PublicURL string `toml:"public_url" doc:"URL people reach carepost at, used in links in notifications; it must be https:// unless tls is off"`
	// ReadHeaderTimeout is the time allowed to read a request's headers.
	// Default: "10s".
	ReadHeaderTimeout Duration `toml:"read_header_timeout" doc:"time allowed to read a request's headers"`
	// ReadTimeout is the time allowed to read a whole request, body
	// included. Default: "60s".
	ReadTimeout Duration `toml:"read_timeout" doc:"time allowed to read a whole request, body included"`
	// WriteTimeout is the time allowed to write a response. Default: "60s".
	WriteTimeout Duration `toml:"write_timeout" doc:"time allowed to write a response"`
	// IdleTimeout is how long an idle keep-alive connection stays open.
	// Default: "120s".
	IdleTimeout Duration `toml:"idle_timeout" doc:"how long an idle keep-alive connection stays open"`
	// ShutdownTimeout is how long a graceful shutdown waits for requests in
	// flight before closing their connections. Default: "20s".
	ShutdownTimeout Duration `toml:"shutdown_timeout" doc:"how long a graceful shutdown waits for requests in flight"`
	// MaxBody is the largest request body accepted, attachments included.
	// Default: "50MB".
	MaxBody Size `toml:"max_body" doc:"largest request body accepted, attachments included"`
	// TrustedProxies are the CIDRs of reverse proxies whose X-Forwarded-For
	// header is believed; empty trusts none, so the client address is the
	// peer's. Default: [].
	TrustedProxies []netip.Prefix `toml:"trusted_proxies" doc:"CIDRs of reverse proxies whose X-Forwarded-For header is believed; empty trusts none"`
}

// MinRetention is the shortest audit retention Validate accepts: six years
// (2192 days, leap days included). HIPAA 164.316(b)(2)(i) requires
// documentation of security activity to be kept six years.
const MinRetention = Duration(2192 * 24 * time.Hour)

// Audit is the [audit] section.
type Audit struct {
	// Retention is how long audit records are kept; at least 2192d, six
	// years (HIPAA 164.316(b)(2)). Default: "2192d".
	Retention Duration `toml:"retention" doc:"how long audit records are kept; at least 2192d, six years (HIPAA 164.316(b)(2))"`
	// CheckpointInterval is how often a signed checkpoint of the audit hash
	// chain is written (at least 1s). The minimum is low so tests can make
	// it short. Default: "15m".
	CheckpointInterval Duration `toml:"checkpoint_interval" doc:"how often a signed checkpoint of the audit hash chain is written (at least 1s)"`
}

// Jobs is the [jobs] section.
type Jobs struct {
	// Workers is how many background jobs run at once on this node.
	// Default: 20.
	Workers int `toml:"workers" doc:"how many background jobs run at once on this node"`
	// CampaignWorkers is how many campaign batches render at once on this
	// node (0: twice the processors), on a job queue of their own beside
	// Workers. A batch keeps a processor busy while it renders and holds
	// its chunk of finished messages until they commit, so more batches
	// than a few per processor add memory, not speed: the 20,000-contact
	// campaign's process peaked at 398–411 MiB with every job worker
	// free to take a batch, at 168–172 MiB with 4 (docs/BENCHMARKS.md,
	// "Campaign batches on a queue of their own"). Default: 0.
	CampaignWorkers int `toml:"campaign_workers" doc:"how many campaign batches render at once on this node (0: twice the processors)"`
	// FetchPollInterval is how often the job engine polls for new jobs when
	// it has not been notified of one (at least 50ms). On PostgreSQL a
	// committed job notifies the nodes at once; on SQLite River has no
	// notifications, and a job inserted inside a transaction — every
	// delivery wake-up, every campaign batch — waits for the next poll. At
	// 1s the end-to-end load run delivered 574–649 messages/s, at 50ms
	// 1,059–1,073 (docs/BENCHMARKS.md, "The job engine's poll"), for
	// about 1.7% of one core more on an idle node. Default: "50ms".
	FetchPollInterval Duration `toml:"fetch_poll_interval" doc:"how often the job engine polls for new jobs when it has not been notified of one (at least 50ms)"`
}

// Log is the [log] section.
type Log struct {
	// Level is the least severe level logged: debug, info, warn or error.
	// Default: "info".
	Level string `toml:"level" doc:"least severe level logged: debug, info, warn or error"`
	// Format is the log line format: text or json. Default: "text".
	Format string `toml:"format" doc:"log line format: text or json"`
}

// SlogLevel is Level as a slog.Level; an unknown level is Info (Validate
// refuses it).
func (l Log) SlogLevel() slog.Level {
	var lv slog.Level
	if err := lv.UnmarshalText([]byte(l.Level)); err != nil {
		return slog.LevelInfo
	}
	return lv
}

// Demo is the [demo] section.
type Demo struct {
	// Enabled is whether to capture outbound mail locally instead of
	// delivering it, for trying carepost out on a fresh machine.
	// Default: false.
	Enabled bool `toml:"enabled" doc:"whether to capture outbound mail locally instead of delivering it, for trying carepost out"`
}

// Webhooks is the [webhooks] section.
type Webhooks struct {
	// Allow lists address ranges webhook receivers may use although the
	// SSRF guard refuses them by default (loopback, private, link-local,
	// metadata), for receivers on an internal network. Default: [].
	Allow []netip.Prefix `toml:"allow" doc:"address ranges webhook receivers may use although the SSRF guard refuses them by default (loopback, private, link-local, metadata)"`
	// AllowHTTP is whether to permit http:// webhook URLs, for development
	// and tests only: production receivers use https. Default: false.
	AllowHTTP bool `toml:"allow_http" doc:"whether to permit http:// webhook URLs, for development and tests only"`
}

// Defaults returns the configuration carepost runs with when nothing is
// configured: SQLite and a generated key in ./carepost-data, HTTPS with a
// self-signed certificate on loopback.
func Defaults() *Config {
	return &Config{
		Data:     Data{Dir: "./carepost-data"},
		Database: Database{MaxConns: 10},
		Keys: Keyring{
			RotationInterval: Duration(90 * 24 * time.Hour),
			CurrentTTL:       Duration(30 * time.Second),
		},
		HTTP: HTTP{
			Listen:            "127.0.0.1:8443",
			TLS:               TLSSelfSigned,
			ReadHeaderTimeout: Duration(10 * time.Second),
			ReadTimeout:       Duration(60 * time.Second),
			WriteTimeout:      Duration(60 * time.Second),
			IdleTimeout:       Duration(120 * time.Second),
			ShutdownTimeout:   Duration(20 * time.Second),
			MaxBody:           50 * MB,
		},
		Audit: Audit{
			Retention:          MinRetention,
			CheckpointInterval: Duration(15 * time.Minute),
		},
		Jobs: Jobs{
			Workers:           20,
			FetchPollInterval: Duration(50 * time.Millisecond),
		},
		Log:        Log{Level: "info", Format: "text"},
		Submission: defaultSubmission(),
		Gateway:    defaultGateway(),
		Keydir:     defaultKeydir(),
		Delivery:   defaultDelivery(),
		Portal:     defaultPortal(),
		Marketing:  defaultMarketing(),
	}
}

// Warnings are the problems Load noticed but did not refuse, such as a
// CAREPOST_ variable that matches no key, ready for the caller to log.
func (c *Config) Warnings() []string { return c.warnings }
