package config_test

import (
	"fmt"
	"os"
	"path/filepath"

	"github.com/carepost/carepost/internal/config"
)

// The command line loads the file and environment, applies its flags,
// resolves derived paths and validates.
func ExampleLoad() {
	dir, _ := os.MkdirTemp("", "carepost-example")
	defer os.RemoveAll(dir)
	path := filepath.Join(dir, "carepost.toml")
	os.WriteFile(path, []byte("[data]\ndir = \"/var/lib/carepost\"\n\n[http]\nlisten = \"127.0.0.1:9443\"\n"), 0o600)
	environ := []string{"CAREPOST_HTTP_LISTEN=0.0.0.0:8443", "CAREPOST_HTTP_LISTN=oops"}

	cfg, err := config.Load(path, environ)
	if err != nil {
		fmt.Println(err)
		return
	}
	for _, w := range cfg.Warnings() {
		fmt.Println("warning:", w)
	}
	if err := cfg.Set("log.level", "debug"); err != nil { // from --log.level=debug
		fmt.Println(err)
		return
	}
	cfg.Resolve()
	if err := cfg.Validate(); err != nil {
		fmt.Println(err)
		return
	}
	fmt.Println(cfg.HTTP.Listen, config.IsLoopback(cfg.HTTP.Listen), cfg.Log.Level)
	fmt.Println(cfg.Database.URL)
	fmt.Println(cfg.HTTP.PublicURL)
	// Output:
	// warning: environment variable CAREPOST_HTTP_LISTN matches no configuration key; ignored
	// 0.0.0.0:8443 false debug
	// /var/lib/carepost/carepost.db
	// https://localhost:8443
}

func ExampleConfig_Validate() {
	cfg := config.Defaults()
	cfg.HTTP.Listen = "foo"
	cfg.Audit.Retention = config.Duration(0)
	fmt.Println(cfg.Validate())
	// Output:
	// invalid configuration (2 problems): http.listen: "foo" is not host:port; audit.retention: 0s is below the minimum 2192d
}
