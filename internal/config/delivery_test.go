package config

import (
	"errors"
	"strings"
	"testing"
	"time"
)

func TestValidateDelivery(t *testing.T) {
	t.Parallel()
	c := Defaults()
	if err := c.Validate(); err != nil {
		t.Fatalf("defaults: %v", err)
	}
	d := &c.Delivery
	d.DNSServers = []string{"127.0.0.1:53", "resolver.example"}
	d.MXPort, d.MTASTSPort = 0, 70000
	d.Lifetime = Duration(time.Second)
	d.Retry = []Duration{Duration(time.Minute), 0}
	d.Batch, d.ConnectionsPerDomain, d.RatePerDomain = 0, 1001, -1
	d.Lease, d.SweepInterval = Duration(time.Millisecond), Duration(time.Millisecond)
	d.ConnectTimeout, d.CommandTimeout, d.DataTimeout = 0, 0, 0
	want := []string{"delivery.dns_servers", "delivery.mx_port", "delivery.mtasts_port", "delivery.lifetime",
		"delivery.retry", "delivery.batch", "delivery.connections_per_domain", "delivery.rate_per_domain",
		"delivery.lease", "delivery.sweep_interval", "delivery.connect_timeout", "delivery.command_timeout",
		"delivery.data_timeout"}
	var ve *ValidationError
	if err := c.Validate(); !errors.As(err, &ve) {
		t.Fatalf("Validate = %v", err)
	}
	var got []string
	for _, p := range ve.Problems {
		got = append(got, p.Key)
	}
	if strings.Join(got, " ") != strings.Join(want, " ") {
		t.Fatalf("problems %v\nwant %v", got, want)
	}
}

func TestDeliveryListsFromFlags(t *testing.T) {
	t.Parallel()
	c := Defaults()
	if err := c.Set("delivery.retry", "30s, 2m"); err != nil {
		t.Fatal(err)
	}
	if err := c.Set("delivery.dns_servers", "127.0.0.1:5353"); err != nil {
		t.Fatal(err)
	}
	if len(c.Delivery.Retry) != 2 || c.Delivery.Retry[1] != Duration(2*time.Minute) || c.Delivery.DNSServers[0] != "127.0.0.1:5353" {
		t.Fatalf("delivery %+v", c.Delivery)
	}
}
