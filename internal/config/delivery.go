package config

import (
	"net/netip"
	"time"
)

// Delivery is the [delivery] section: the outbound queue that delivers
// mail to recipients' MX hosts (package delivery). The test knobs
// (dns_servers, trust_dnssec, mx_port, mtasts_port, extra_roots) let tests
// point delivery at servers on 127.0.0.1; production leaves them at their
// defaults.
type Delivery struct {
	// DNSServers are the recursive resolvers for MX, address, TXT and TLSA
	// lookups, as "ip:port"; empty means the nameservers of
	// /etc/resolv.conf. Default: [].
	DNSServers []string `toml:"dns_servers" doc:"recursive resolvers for MX, address, TXT and TLSA lookups, as \"ip:port\"; empty means the nameservers of /etc/resolv.conf"`
	// TrustDNSSEC is whether to believe the resolver's DNSSEC verdict (the
	// AD bit), which DANE rests on; only for a validating resolver on a
	// path nobody can tamper with, in practice one on 127.0.0.1. Without
	// it DANE never applies. Default: false.
	TrustDNSSEC bool `toml:"trust_dnssec" doc:"whether to believe the resolver's DNSSEC verdict (the AD bit), which DANE rests on; only for a validating resolver on a path nobody can tamper with"`
	// MXPort is the TCP port of remote MX hosts; only tests change it.
	// Default: 25.
	MXPort int `toml:"mx_port" doc:"TCP port of remote MX hosts; only tests change it"`
	// MTASTSPort is the HTTPS port MTA-STS policies are fetched from; only
	// tests change it. Default: 443.
	MTASTSPort int `toml:"mtasts_port" doc:"HTTPS port MTA-STS policies are fetched from; only tests change it"`
	// ExtraRoots is a PEM file of CA certificates trusted for remote MX and
	// MTA-STS certificates in addition to the system roots; empty means
	// none. Tests and private partner CAs use it. Default: "".
	ExtraRoots string `toml:"extra_roots" doc:"PEM file of CA certificates trusted for remote MX and MTA-STS certificates in addition to the system roots; empty means none"`
	// LocalName is the host name carepost gives in EHLO and in delivery
	// status notifications; empty means the host of http.public_url, or
	// "localhost" when that is an address. Default: "".
	LocalName string `toml:"local_name" doc:"host name carepost gives in EHLO and in delivery status notifications; empty means the host of http.public_url"`
	// Lifetime is how long a message is retried before its undelivered
	// recipients fail (at least 1m). Default: "5d".
	Lifetime Duration `toml:"lifetime" doc:"how long a message is retried before its undelivered recipients fail (at least 1m)"`
	// Retry is the wait after each failed attempt; the last one repeats
	// until the lifetime ends. Default: ["1m", "5m", "15m", "30m", "1h", "2h", "4h", "8h"].
	Retry []Duration `toml:"retry" doc:"wait after each failed attempt; the last one repeats until the lifetime ends"`
	// Batch is how many recipients of one destination domain one delivery
	// job claims (1 to 10000). Default: 200.
	Batch int `toml:"batch" doc:"how many recipients of one destination domain one delivery job claims (1 to 10000)"`
	// ConnectionsPerDomain is how many batches, each on its own SMTP
	// connection, may deliver to one destination domain at once, across all
	// nodes (1 to 1000). Default: 4.
	ConnectionsPerDomain int `toml:"connections_per_domain" doc:"how many batches, each on its own SMTP connection, may deliver to one destination domain at once, across all nodes (1 to 1000)"`
	// RatePerDomain is how many recipients per minute may be sent to one
	// destination domain, across all nodes; 0 means no limit. Default: 0.
	RatePerDomain int `toml:"rate_per_domain" doc:"how many recipients per minute may be sent to one destination domain, across all nodes; 0 means no limit"`
	// Lease is how long a batch holds the recipients it claimed; a node
	// that dies mid-batch leaves them to others after it (at least 1s).
	// Default: "10m".
	Lease Duration `toml:"lease" doc:"how long a batch holds the recipients it claimed; a node that dies mid-batch leaves them to others after it (at least 1s)"`
	// SweepInterval is how often retries that came due and expired leases
	// are picked up (at least 10ms). Default: "30s".
	SweepInterval Duration `toml:"sweep_interval" doc:"how often retries that came due and expired leases are picked up (at least 10ms)"`
	// ConnectTimeout bounds the TCP connection to an MX host.
	// Default: "30s".
	ConnectTimeout Duration `toml:"connect_timeout" doc:"bounds the TCP connection to an MX host"`
	// CommandTimeout bounds the greeting, each SMTP command's reply and the
	// TLS handshake (RFC 5321 section 4.5.3.2 suggests 5 minutes).
	// Default: "5m".
	CommandTimeout Duration `toml:"command_timeout" doc:"bounds the greeting, each SMTP command's reply and the TLS handshake"`
	// DataTimeout bounds sending a message and its final reply (RFC 5321
	// section 4.5.3.2 suggests 10 minutes). Default: "10m".
	DataTimeout Duration `toml:"data_timeout" doc:"bounds sending a message and its final reply"`
	// Chunking is whether to send a message by BDAT pipelined with its
	// envelope when the MX host offers CHUNKING (one round trip a message);
	// false keeps DATA, whose content is sent only after a recipient is
	// accepted. With BDAT (RFC 3030, with PIPELINING) the content reaches
	// the host before it has accepted a recipient, over the same, already
	// checked session; a host refusing every recipient discards it.
	// Default: true.
	Chunking bool `toml:"chunking" doc:"whether to send a message by BDAT pipelined with its envelope when the MX host offers CHUNKING (one round trip a message); false keeps DATA, whose content is sent only after a recipient is accepted"`
}

func defaultDelivery() Delivery {
	return Delivery{
		MXPort:     25,
		MTASTSPort: 443,
		Lifetime:   Duration(5 * 24 * time.Hour),
		Retry: []Duration{Duration(time.Minute), Duration(5 * time.Minute), Duration(15 * time.Minute),
			Duration(30 * time.Minute), Duration(time.Hour), Duration(2 * time.Hour), Duration(4 * time.Hour),
			Duration(8 * time.Hour)},
		Batch:                200,
		ConnectionsPerDomain: 4,
		Lease:                Duration(10 * time.Minute),
		SweepInterval:        Duration(30 * time.Second),
		ConnectTimeout:       Duration(30 * time.Second),
		CommandTimeout:       Duration(5 * time.Minute),
		DataTimeout:          Duration(10 * time.Minute),
		Chunking:             true,
	}
}

func (c *Config) validateDelivery(ch *check) {
	d := c.Delivery
	for _, s := range d.DNSServers {
		if _, err := netip.ParseAddrPort(s); err != nil {
			ch.add("delivery.dns_servers", "%q is not ip:port", s)
		}
	}
	if d.MXPort < 1 || d.MXPort > 65535 {
		ch.add("delivery.mx_port", "%d is not a port from 1 to 65535", d.MXPort)
	}
	if d.MTASTSPort < 1 || d.MTASTSPort > 65535 {
		ch.add("delivery.mtasts_port", "%d is not a port from 1 to 65535", d.MTASTSPort)
	}
	ch.atLeast("delivery.lifetime", d.Lifetime, Duration(time.Minute))
	if len(d.Retry) == 0 {
		ch.add("delivery.retry", "give at least one delay")
	}
	for _, r := range d.Retry {
		if r <= 0 {
			ch.add("delivery.retry", "%s must be positive", r)
		}
	}
	if d.Batch < 1 || d.Batch > 10000 {
		ch.add("delivery.batch", "%d is not between 1 and 10000", d.Batch)
	}
	if d.ConnectionsPerDomain < 1 || d.ConnectionsPerDomain > 1000 {
		ch.add("delivery.connections_per_domain", "%d is not between 1 and 1000", d.ConnectionsPerDomain)
	}
	if d.RatePerDomain < 0 {
		ch.add("delivery.rate_per_domain", "%d is negative (0 means no limit)", d.RatePerDomain)
	}
	ch.atLeast("delivery.lease", d.Lease, Duration(time.Second))
	ch.atLeast("delivery.sweep_interval", d.SweepInterval, Duration(10*time.Millisecond))
	ch.positive("delivery.connect_timeout", d.ConnectTimeout)
	ch.positive("delivery.command_timeout", d.CommandTimeout)
	ch.positive("delivery.data_timeout", d.DataTimeout)
}
