package main

import (
	"bytes"
	"context"
	"crypto/tls"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/carepost/carepost/internal/store"
	"github.com/carepost/carepost/internal/store/storetest"
)

// carepost runs the CLI in-process with a data folder of its own.
func carepost(t *testing.T, dir string, environ []string, args ...string) (code int, stdout, stderr string) {
	t.Helper()
	var out, errb bytes.Buffer
	e := &env{stdout: &out, stderr: &errb, environ: append([]string{"CAREPOST_DATA_DIR=" + dir}, environ...)}
	code = run(context.Background(), e, args)
	return code, out.String(), errb.String()
}

func TestUsageAndHelp(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	if code, _, errs := carepost(t, dir, nil, "bogus"); code != exitUsage || !strings.Contains(errs, `unknown command "bogus"`) {
		t.Fatalf("unknown command: code %d, %q", code, errs)
	}
	for _, cmd := range []string{"serve", "migrate", "config", "keys", "audit", "version"} {
		code, _, errs := carepost(t, dir, nil, cmd, "--help")
		if code != exitOK || !strings.Contains(errs, "Usage: carepost "+cmd) {
			t.Errorf("%s --help: code %d, output %q", cmd, code, errs)
		}
	}
	if _, err := os.Stat(filepath.Join(dir, "carepost.db")); err == nil {
		t.Fatal("--help touched the data folder")
	}
}

func TestConfigShowRedactsAndCheckReportsEveryProblem(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	code, out, _ := carepost(t, dir, []string{"CAREPOST_DATABASE_URL=postgres://u:s3cret-pw@db.example:5432/cp"}, "config")
	if code != exitOK || strings.Contains(out, "s3cret-pw") || !strings.Contains(out, "db.example") {
		t.Fatalf("config show: code %d, password hidden=%v", code, !strings.Contains(out, "s3cret-pw"))
	}
	code, _, errs := carepost(t, dir, []string{"CAREPOST_HTTP_LISTEN=nonsense", "CAREPOST_LOG_LEVEL=loud"}, "config", "check")
	if code != exitUsage || !strings.Contains(errs, "http.listen") || !strings.Contains(errs, "log.level") {
		t.Fatalf("config check: code %d, %q", code, errs)
	}
	code, out, _ = carepost(t, dir, nil, "config", "keys")
	if code != exitOK || !strings.Contains(out, "CAREPOST_HTTP_LISTEN") || !strings.Contains(out, "127.0.0.1:8443") {
		t.Fatalf("config keys: code %d", code)
	}
}

func TestMigrateKeysAndAuditCommands(t *testing.T) {
	t.Parallel()
	storetest.Each(t, func(t *testing.T, d store.Driver) {
		dir := t.TempDir()
		var environ []string
		if d == store.Postgres {
			environ = append(environ, "CAREPOST_DATABASE_URL="+storetest.URL(t, d))
		}
		code, out, errs := carepost(t, dir, environ, "migrate", "status")
		if code != exitOK || !strings.Contains(out, "pending") {
			t.Fatalf("migrate status on a fresh database: %d %q %q", code, out, errs)
		}
		if code, out, errs = carepost(t, dir, environ, "migrate", "up"); code != exitOK {
			t.Fatalf("migrate up: %d %q %q", code, out, errs)
		}
		if code, out, errs = carepost(t, dir, environ, "keys", "rotate", "--wait"); code != exitOK || !strings.Contains(out, "system: new data key version 2") {
			t.Fatalf("keys rotate: %d %q %q", code, out, errs)
		}
		if code, out, _ = carepost(t, dir, environ, "keys", "status"); code != exitOK || !strings.Contains(out, "retired") || !strings.Contains(out, "active (current)") {
			t.Fatalf("keys status: %d %q", code, out)
		}
		if code, out, errs = carepost(t, dir, environ, "keys", "rotate-kek"); code != exitOK || !strings.Contains(out, "re-wrapped") {
			t.Fatalf("keys rotate-kek: %d %q %q", code, out, errs)
		}
		if code, out, errs = carepost(t, dir, environ, "audit", "checkpoint"); code != exitOK {
			t.Fatalf("audit checkpoint: %d %q %q", code, out, errs)
		}
		code, out, _ = carepost(t, dir, environ, "audit", "verify")
		if code != exitOK || !strings.Contains(out, "verified: OK") {
			t.Fatalf("audit verify: %d %q", code, out)
		}
		code, out, _ = carepost(t, dir, environ, "audit", "export", "--since", "1h")
		if code != exitOK || strings.Count(out, "\n") < 3 || !strings.Contains(out, `"action":"keys.rotate"`) {
			t.Fatalf("audit export: %d %q", code, out)
		}

		// Tamper as an attacker with database access would, and verify
		// must fail with exit code 3.
		url := filepath.Join(dir, "carepost.db")
		if d == store.Postgres {
			url = environ[0][len("CAREPOST_DATABASE_URL="):]
		}
		tamper(t, url, d)
		code, out, _ = carepost(t, dir, environ, "audit", "verify")
		if code != exitProblems || !strings.Contains(out, "hash-mismatch") {
			t.Fatalf("audit verify after tampering: %d %q", code, out)
		}
	})
}

func tamper(t *testing.T, url string, d store.Driver) {
	t.Helper()
	ctx := context.Background()
	db, err := store.Open(ctx, store.Options{URL: url})
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	drop := `DROP TRIGGER audit_entries_no_update`
	if d == store.Postgres {
		drop += ` ON audit_entries`
	}
	if err := db.Tx(ctx, func(tx *store.Tx) error {
		if _, err := tx.Exec(ctx, drop); err != nil {
			return err
		}
		_, err := tx.Exec(ctx, `UPDATE audit_entries SET action = 'keys.nothing' WHERE seq = 1`)
		return err
	}); err != nil {
		t.Fatal(err)
	}
}

// TestServeBinaryAnswersAndStopsOnSIGTERM builds the real binary and runs
// the README's first command in a fresh folder.
func TestServeBinaryAnswersAndStopsOnSIGTERM(t *testing.T) {
	t.Parallel()
	if testing.Short() {
		t.Skip("builds the binary")
	}
	dir := t.TempDir()
	bin := filepath.Join(dir, "carepost")
	if out, err := exec.Command("go", "build", "-o", bin, ".").CombinedOutput(); err != nil {
		t.Fatalf("build: %v\n%s", err, out)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close()
	cmd := exec.Command(bin, "serve", "--listen", addr)
	cmd.Dir = dir
	var logs syncBuffer
	cmd.Stderr = &logs
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	defer cmd.Process.Kill()
	client := &http.Client{Timeout: 2 * time.Second, Transport: &http.Transport{TLSClientConfig: &tls.Config{InsecureSkipVerify: true}}} // the generated self-signed certificate
	var body string
	deadline := time.Now().Add(30 * time.Second)
	for {
		resp, err := client.Get("https://" + addr + "/healthz")
		if err == nil {
			b, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			if resp.StatusCode == 200 {
				body = string(b)
				break
			}
		}
		if time.Now().After(deadline) {
			t.Fatalf("server did not answer /healthz within 30s: %v\n%s", err, logs.String())
		}
		time.Sleep(100 * time.Millisecond)
	}
	if !strings.Contains(body, "ok") {
		t.Fatalf("/healthz body %q", body)
	}
	resp, err := client.Get("https://" + addr + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	metrics, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if !strings.Contains(string(metrics), "# TYPE carepost_http_requests_total counter") {
		t.Fatalf("/metrics is not Prometheus text with carepost metrics")
	}
	for _, f := range []string{"carepost-data/carepost.db", "carepost-data/kek.key", "carepost-data/tls/cert.pem"} {
		if _, err := os.Stat(filepath.Join(dir, f)); err != nil {
			t.Errorf("missing %s: %v", f, err)
		}
	}
	if !strings.Contains(logs.String(), "production should use a KMS") {
		t.Error("no start-up warning about the key file beside the data")
	}
	if err := cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- cmd.Wait() }()
	select {
	case err := <-done:
		if err != nil {
			t.Fatalf("exit after SIGTERM: %v\n%s", err, logs.String())
		}
	case <-time.After(30 * time.Second):
		t.Fatal("no graceful exit within 30s of SIGTERM")
	}
}

// syncBuffer is a bytes.Buffer safe to write from the process's output
// copier while the test reads it.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

func TestAPIKeyCommandMintsAWorkingKey(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	code, out, errs := carepost(t, dir, nil, "init", "--org", "Riverside Clinic", "--owner", "owner@riverside.example")
	if code != exitOK {
		t.Fatalf("init: %d %s %s", code, out, errs)
	}
	m := regexp.MustCompile(`org_[0-9a-z]{26}`).FindString(out)
	if m == "" {
		t.Fatalf("init printed no organization id:\n%s", out)
	}
	if code, _, errs := carepost(t, dir, nil, "apikey", "create", "--org", m, "--email", "owner@riverside.example", "--name", "ehr", "--scope", "root:all"); code != exitFailure || !strings.Contains(errs, "root:all") {
		t.Fatalf("unknown scope: %d %s", code, errs)
	}
	code, out, errs = carepost(t, dir, nil, "apikey", "create", "--org", m, "--email", "owner@riverside.example", "--name", "ehr", "--scope", "messages:send")
	if code != exitOK || !regexp.MustCompile(`token \(shown only now\): cpk_[0-9a-z]{8}_\S{32}`).MatchString(out) {
		t.Fatalf("apikey create: %d %s %s", code, out, errs)
	}
	if code, _, _ := carepost(t, dir, nil, "apikey", "create", "--org", "org_00000000000000000000000000", "--email", "owner@riverside.example", "--name", "x", "--scope", "messages:send"); code != exitFailure {
		t.Fatalf("another organization's user: %d", code)
	}
	code, out, _ = carepost(t, dir, nil, "audit", "export")
	if code != exitOK || !strings.Contains(out, `"action":"apikey.create"`) || !strings.Contains(out, `"actor_id":"cli"`) {
		t.Fatalf("the key creation is not audited as the CLI: %s", out)
	}
}
