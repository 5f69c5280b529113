package app

import (
	"fmt"

	"github.com/carepost/carepost/internal/dns"
	"github.com/carepost/carepost/internal/senderdomain"
)

// openDomains builds the sender-domain service and the resolver its checks
// read DNS through. A machine without a usable resolver configuration still
// opens: only the checks fail, with senderdomain.ErrNoResolver.
func (a *App) openDomains(opts Options) error {
	deps := senderdomain.Deps{DB: a.DB, Keys: a.Keys, Audit: a.Audit}
	// The checks read DNS the way delivery does: through delivery.dns_servers
	// when configured (a validating resolver, or a test's loopback server).
	servers := opts.DNSServers
	if len(servers) == 0 {
		servers = a.Config.Delivery.DNSServers
	}
	r, err := dns.New(dns.Options{Servers: servers})
	if err != nil {
		a.Log.Warn("no DNS resolver: sender-domain checks cannot run", "err", err)
	} else {
		a.DNS, deps.Resolver = r, r
	}
	// The SPF, DMARC and TLS-RPT parts of the published records have no
	// configuration keys yet, so SPF is left out and DMARC is quarantine.
	a.Domains, err = senderdomain.New(deps, senderdomain.Options{Demo: a.Config.Demo.Enabled, Clock: a.Clock})
	if err != nil {
		return fmt.Errorf("sender domains: %w", err)
	}
	return nil
}
