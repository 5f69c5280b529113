package dns

import (
	"os"
	"path/filepath"
	"slices"
	"testing"
	"time"
)

// The resolv.conf path is checked without sending a query: its servers are
// not ours to reach from a test.
func TestNewReadsResolvConf(t *testing.T) {
	t.Parallel()
	path := filepath.Join(t.TempDir(), "resolv.conf")
	conf := "nameserver 127.0.0.1\nnameserver ::1\noptions timeout:3 attempts:4\n"
	if err := os.WriteFile(path, []byte(conf), 0o600); err != nil {
		t.Fatal(err)
	}
	r, err := New(Options{ResolvConf: path})
	if err != nil {
		t.Fatal(err)
	}
	if want := []string{"127.0.0.1:53", "[::1]:53"}; !slices.Equal(r.servers, want) {
		t.Fatalf("servers %v, want %v", r.servers, want)
	}
	if r.timeout != 3*time.Second || r.attempts != 4 {
		t.Fatalf("timeout %v attempts %d, want 3s and 4 from resolv.conf", r.timeout, r.attempts)
	}
	r, err = New(Options{ResolvConf: path, Timeout: time.Second, Attempts: 1})
	if err != nil || r.timeout != time.Second || r.attempts != 1 {
		t.Fatalf("options do not override resolv.conf: %v", err)
	}
}

func TestNewRefusesBadServers(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		opts Options
	}{
		{"host name as server", Options{Servers: []string{"resolver.example.test:53"}}},
		{"no port", Options{Servers: []string{"127.0.0.1"}}},
		{"missing resolv.conf", Options{ResolvConf: filepath.Join(t.TempDir(), "missing")}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			if _, err := New(tt.opts); err == nil {
				t.Fatal("New succeeded")
			}
		})
	}
}
