package app_test

import (
	"context"
	"crypto/tls"
	"io"
	"log/slog"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/carepost/carepost/internal/app"
	"github.com/carepost/carepost/internal/audit"
	"github.com/carepost/carepost/internal/config"
	"github.com/carepost/carepost/internal/keyring"
	"github.com/carepost/carepost/internal/store"
	"github.com/carepost/carepost/internal/store/storetest"
)

// testConfig is the embedded default in a temporary data folder, on driver
// d, listening on a free loopback port.
func testConfig(t *testing.T, d store.Driver) *config.Config {
	t.Helper()
	cfg := config.Defaults()
	cfg.Data.Dir = t.TempDir()
	cfg.HTTP.Listen = "127.0.0.1:0"
	// Free ports for the SMTP listeners: parallel tests must not share them.
	cfg.Submission.Listen, cfg.Submission.TLSListen, cfg.Gateway.Listen = "127.0.0.1:0", "127.0.0.1:0", "127.0.0.1:0"
	if d == store.Postgres {
		cfg.Database.URL = storetest.URL(t, d)
	}
	cfg.Audit.CheckpointInterval = config.Duration(time.Second)
	cfg.Jobs.FetchPollInterval = config.Duration(50 * time.Millisecond)
	cfg.Resolve()
	if err := cfg.Validate(); err != nil {
		t.Fatal(err)
	}
	return cfg
}

func open(t *testing.T, cfg *config.Config, opts app.Options) *app.App {
	t.Helper()
	a, err := app.Open(context.Background(), cfg, slog.New(slog.DiscardHandler), opts)
	if err != nil {
		t.Fatalf("open app: %v", err)
	}
	t.Cleanup(func() { a.Close() })
	return a
}

func TestFreshStartCreatesDataFolderAndServes(t *testing.T) {
	t.Parallel()
	cfg := testConfig(t, store.SQLite)
	a := open(t, cfg, app.Options{})
	for _, f := range []string{"carepost.db", "kek.key"} {
		if _, err := os.Stat(filepath.Join(cfg.Data.Dir, f)); err != nil {
			t.Errorf("data folder lacks %s: %v", f, err)
		}
	}
	st, err := os.Stat(cfg.Keys.KEKFile)
	if err != nil || st.Mode().Perm() != 0o600 {
		t.Fatalf("kek file mode = %v (%v), want 0600", st.Mode().Perm(), err)
	}
	node, err := a.NewNode()
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- node.Run(ctx) }()
	client := &http.Client{Transport: &http.Transport{TLSClientConfig: &tls.Config{InsecureSkipVerify: true}}} // self-signed by design
	base := "https://" + node.Addr().String()
	for path, want := range map[string]string{"/healthz": `"ok"`, "/readyz": `"ready"`, "/metrics": "go_goroutines"} {
		resp, err := client.Get(base + path)
		if err != nil {
			t.Fatal(err)
		}
		body, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode != 200 || !strings.Contains(string(body), want) {
			t.Errorf("%s = %d, body lacks %q", path, resp.StatusCode, want)
		}
	}
	cancel()
	if err := <-done; err != nil {
		t.Fatalf("graceful stop: %v", err)
	}
	if _, err := os.Stat(filepath.Join(cfg.Data.Dir, "tls", "cert.pem")); err != nil {
		t.Errorf("no self-signed certificate: %v", err)
	}
}

func TestPeriodicCheckpointJobSignsTheAuditLog(t *testing.T) {
	t.Parallel()
	storetest.Each(t, func(t *testing.T, d store.Driver) {
		ctx := context.Background()
		a := open(t, testConfig(t, d), app.Options{})
		if _, err := a.Audit.Record(ctx, audit.Entry{Chain: audit.SystemChain, Actor: audit.Actor{Type: audit.ActorSystem, ID: "test"}, Action: "test.event", Outcome: audit.Success}); err != nil {
			t.Fatal(err)
		}
		node, err := a.NewNode()
		if err != nil {
			t.Fatal(err)
		}
		runCtx, cancel := context.WithCancel(ctx)
		done := make(chan error, 1)
		go func() { done <- node.Run(runCtx) }()
		defer func() { cancel(); <-done }()
		deadline := time.Now().Add(20 * time.Second)
		for {
			rep, err := a.Audit.Verify(ctx, audit.VerifyOptions{})
			if err != nil {
				t.Fatal(err)
			}
			if !rep.OK() {
				t.Fatalf("verify: %v", rep.Problems())
			}
			if len(rep.Chains) > 0 && rep.Chains[0].Checkpoints > 0 {
				return
			}
			if time.Now().After(deadline) {
				t.Fatal("the periodic job wrote no checkpoint within 20s")
			}
			time.Sleep(50 * time.Millisecond)
		}
	})
}

func TestSigningKeyIsSealedAndStableAcrossRestarts(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	cfg := testConfig(t, store.SQLite)
	a := open(t, cfg, app.Options{})
	if _, err := a.Audit.Record(ctx, audit.Entry{Chain: audit.SystemChain, Actor: audit.Actor{Type: audit.ActorSystem}, Action: "test.event", Outcome: audit.Success}); err != nil {
		t.Fatal(err)
	}
	if _, err := a.Audit.Checkpoint(ctx); err != nil {
		t.Fatal(err)
	}
	a.Close()
	b := open(t, cfg, app.Options{})
	if _, err := b.Audit.Record(ctx, audit.Entry{Chain: audit.SystemChain, Actor: audit.Actor{Type: audit.ActorSystem}, Action: "test.event", Outcome: audit.Success}); err != nil {
		t.Fatal(err)
	}
	cps, err := b.Audit.Checkpoint(ctx)
	if err != nil || len(cps) != 1 {
		t.Fatalf("checkpoint after restart: %v %v", cps, err)
	}
	var keys int
	if err := store.Scan(b.DB.Reader().QueryRow(ctx, `SELECT count(*) FROM audit_signing_keys`), &keys); err != nil {
		t.Fatal(err)
	}
	if keys != 1 {
		t.Fatalf("%d signing keys after a restart, want the same 1", keys)
	}
	rep, err := b.Audit.Verify(ctx, audit.VerifyOptions{})
	if err != nil || !rep.OK() || rep.KeysFromDatabase {
		t.Fatalf("verify: ok=%v keysFromDB=%v err=%v %v", rep.OK(), rep.KeysFromDatabase, err, rep.Problems())
	}
}

func TestMissingKeyFileForAnExistingDatabaseStops(t *testing.T) {
	t.Parallel()
	cfg := testConfig(t, store.SQLite)
	a := open(t, cfg, app.Options{})
	a.Close()
	if err := os.Rename(cfg.Keys.KEKFile, cfg.Keys.KEKFile+".away"); err != nil {
		t.Fatal(err)
	}
	_, err := app.Open(context.Background(), cfg, nil, app.Options{})
	if err == nil || !strings.Contains(err.Error(), "holds data keys") {
		t.Fatalf("open without the key file: %v; want a refusal naming the data keys", err)
	}
	if _, err := os.Stat(cfg.Keys.KEKFile); err == nil {
		t.Fatal("a new key file was generated for a database sealed under another")
	}
}

func TestWrongKeyFileStops(t *testing.T) {
	t.Parallel()
	cfg := testConfig(t, store.SQLite)
	open(t, cfg, app.Options{}).Close()
	os.Remove(cfg.Keys.KEKFile)
	if _, err := keyring.GenerateKeysetFile(cfg.Keys.KEKFile); err != nil {
		t.Fatal(err)
	}
	_, err := app.Open(context.Background(), cfg, nil, app.Options{})
	if err == nil || !strings.Contains(err.Error(), "lacks key") {
		t.Fatalf("open with another key file: %v; want a refusal", err)
	}
}

func TestKEKFromEnvironment(t *testing.T) {
	ks, err := keyring.GenerateKeyset()
	if err != nil {
		t.Fatal(err)
	}
	t.Setenv("CAREPOST_TEST_KEK", string(ks.EncodeSecret()))
	cfg := testConfig(t, store.SQLite)
	cfg.Keys.KEKFile, cfg.Keys.KEKEnv = "", "CAREPOST_TEST_KEK"
	a := open(t, cfg, app.Options{})
	if a.KEK.Source != "env" || a.KEK.Keyset.PrimaryID() != ks.PrimaryID() {
		t.Fatalf("KEK from %s %s", a.KEK.Source, a.KEK.Keyset.PrimaryID())
	}
	if _, err := os.Stat(filepath.Join(cfg.Data.Dir, "kek.key")); err == nil {
		t.Fatal("a key file was written although the KEK comes from the environment")
	}
}

func TestRotateScopeReencryptsInTheBackground(t *testing.T) {
	t.Parallel()
	storetest.Each(t, func(t *testing.T, d store.Driver) {
		ctx := context.Background()
		a := open(t, testConfig(t, d), app.Options{})
		node, err := a.NewNode()
		if err != nil {
			t.Fatal(err)
		}
		runCtx, cancel := context.WithCancel(ctx)
		done := make(chan error, 1)
		go func() { done <- node.Run(runCtx) }()
		defer func() { cancel(); <-done }()
		v, err := a.RotateScope(ctx, keyring.SystemScope, audit.Actor{Type: audit.ActorSystem, ID: "test"})
		if err != nil || v != 2 {
			t.Fatalf("rotate: v=%d err=%v", v, err)
		}
		deadline := time.Now().Add(20 * time.Second)
		for {
			st, err := a.Keys.Status(ctx)
			if err != nil {
				t.Fatal(err)
			}
			var old int64 = -1
			for _, s := range st {
				if s.Scope == keyring.SystemScope {
					for _, ver := range s.Versions {
						if ver.Version == 1 && ver.State == store.DataKeyRetired {
							old = ver.Rows
						}
					}
				}
			}
			if old == 0 {
				break
			}
			if time.Now().After(deadline) {
				t.Fatalf("version 1 not retired by the background job: %+v", st)
			}
			time.Sleep(50 * time.Millisecond)
		}
		if _, err := a.Blobs.Get(ctx, a.DB.Reader(), keyring.SystemScope, "audit-signing-key"); err != nil {
			t.Fatalf("signing key unreadable after re-encryption: %v", err)
		}
	})
}
