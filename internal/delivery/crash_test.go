package delivery_test

import (
	"bytes"
	"context"
	"crypto/tls"
	"encoding/json"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/carepost/carepost/internal/access"
	"github.com/carepost/carepost/internal/app"
	"github.com/carepost/carepost/internal/config"
	"github.com/carepost/carepost/internal/smtptest"
	"github.com/carepost/carepost/internal/store"
)

// TestCrashLosesNoAcceptedMessage builds the real binary, submits messages
// through POST /api/v1/messages while killing the server with SIGKILL at
// random moments, restarts it each time, and checks that every message the
// API accepted (202) reaches the recipient's server: duplicates are
// allowed, loss is not.
func TestCrashLosesNoAcceptedMessage(t *testing.T) {
	t.Parallel()
	if testing.Short() {
		t.Skip("builds the binary and kills it")
	}
	const messages, kills = 150, 4
	seed := uint64(time.Now().UnixNano())
	rng := rand.New(rand.NewPCG(seed, 0))
	t.Logf("seed %d", seed)

	w := newWorld(t)
	mx := w.verifiedDomain("dest.test")
	sink := smtptest.NewSink(t, smtptest.Options{Cert: w.leaf(mx)})
	dir := t.TempDir()
	bin := filepath.Join(dir, "carepost")
	if out, err := exec.Command("go", "build", "-o", bin, "github.com/carepost/carepost/cmd/carepost").CombinedOutput(); err != nil {
		t.Fatalf("build: %v\n%s", err, out)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close()
	env := append(os.Environ(), "CAREPOST_DATA_DIR="+filepath.Join(dir, "data"), "CAREPOST_HTTP_LISTEN="+addr,
		"CAREPOST_SUBMISSION_LISTEN=0", "CAREPOST_SUBMISSION_TLS_LISTEN=0", "CAREPOST_GATEWAY_LISTEN=0",
		"CAREPOST_JOBS_FETCH_POLL_INTERVAL=50ms", "CAREPOST_LOG_LEVEL=warn",
		"CAREPOST_DELIVERY_DNS_SERVERS="+w.dns.Addr(), "CAREPOST_DELIVERY_MX_PORT="+fmt.Sprint(port(t, sink.Addr())),
		"CAREPOST_DELIVERY_MTASTS_PORT="+fmt.Sprint(w.sts.port), "CAREPOST_DELIVERY_EXTRA_ROOTS="+w.caFile,
		"CAREPOST_DELIVERY_LEASE=2s", "CAREPOST_DELIVERY_SWEEP_INTERVAL=200ms", "CAREPOST_DELIVERY_BATCH=10")
	token, dbPath := crashSetup(t, w, filepath.Join(dir, "data"))

	var logs bytes.Buffer
	var logMu sync.Mutex
	start := func() *exec.Cmd {
		cmd := exec.Command(bin, "serve")
		cmd.Env, cmd.Dir = env, dir
		cmd.Stderr = writerFunc(func(p []byte) (int, error) { logMu.Lock(); defer logMu.Unlock(); return logs.Write(p) })
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		return cmd
	}
	var cmdMu sync.Mutex
	cmd := start()
	t.Cleanup(func() { cmdMu.Lock(); _ = cmd.Process.Kill(); _, _ = cmd.Process.Wait(); cmdMu.Unlock() })

	// The killer: SIGKILL at random moments, then start again.
	killed := make(chan struct{})
	go func() {
		defer close(killed)
		for range kills {
			time.Sleep(time.Duration(300+rng.IntN(1500)) * time.Millisecond)
			cmdMu.Lock()
			_ = cmd.Process.Signal(syscall.SIGKILL)
			_, _ = cmd.Process.Wait()
			cmd = start()
			cmdMu.Unlock()
		}
	}()

	// Submitters: each message is retried with its Idempotency-Key until
	// the API answers 202; the id it answers is "accepted".
	client := &http.Client{Timeout: 5 * time.Second, Transport: &http.Transport{TLSClientConfig: &tls.Config{InsecureSkipVerify: true}}} // the server's generated self-signed certificate
	accepted := make([]string, messages)
	var wg sync.WaitGroup
	for worker := range 4 {
		wg.Go(func() {
			for i := worker; i < messages; i += 4 {
				accepted[i] = submitHTTP(t, client, "https://"+addr, token, i)
				time.Sleep(time.Duration(rand.IntN(20)) * time.Millisecond)
			}
		})
	}
	wg.Wait()
	<-killed

	// Every accepted message arrives; count what arrived by Message-ID.
	idRE := regexp.MustCompile(`(?m)^Message-ID: <(msg_[a-z0-9]+)@`)
	deadline := time.Now().Add(90 * time.Second)
	for {
		got := map[string]int{}
		for _, m := range sink.Messages() {
			if id := idRE.FindSubmatch(m.Data); id != nil {
				got[string(id[1])]++
			}
		}
		missing, dups := 0, 0
		for _, id := range accepted {
			if got[id] == 0 {
				missing++
			}
			if got[id] > 1 {
				dups++
			}
		}
		if missing == 0 {
			t.Logf("%d accepted, all delivered; %d delivered more than once; %d kills", messages, dups, kills)
			break
		}
		if time.Now().After(deadline) {
			logMu.Lock()
			t.Fatalf("%d of %d accepted messages never arrived\nserver log:\n%s", missing, messages, logs.String())
		}
		time.Sleep(200 * time.Millisecond)
	}
	crashCheckStates(t, dbPath, accepted)
}

// crashSetup creates the organization, its verified sender domain and an
// API key in the data folder the binary will use, and returns the key.
func crashSetup(t *testing.T, w *world, dataDir string) (token, dbPath string) {
	t.Helper()
	ctx := context.Background()
	cfg := config.Defaults()
	cfg.Data.Dir = dataDir
	cfg.Resolve()
	a, err := app.Open(ctx, cfg, slog.New(slog.DiscardHandler), app.Options{DNSServers: []string{w.dns.Addr()}})
	if err != nil {
		t.Fatal(err)
	}
	defer a.Close()
	org, _, _, err := a.Auth.Bootstrap(ctx, "Riverside Clinic", "owner@riverside.example", "Owner")
	if err != nil {
		t.Fatal(err)
	}
	n := &node{t: t, w: w, app: a}
	n.verifySender(org, senderDomain)
	_, token, err = a.Auth.AdminCreateAPIKey(ctx, org.ID, "owner@riverside.example", "crash test", []string{string(access.MessagesSend)}, time.Time{})
	if err != nil {
		t.Fatal(err)
	}
	return token, a.DB.Path()
}

// submitHTTP posts message i until it is accepted and returns its id.
func submitHTTP(t *testing.T, c *http.Client, base, token string, i int) string {
	body, _ := json.Marshal(map[string]any{"from": "results@" + senderDomain, "to": []string{fmt.Sprintf("p%d@dest.test", i)},
		"subject": "Your lab results", "text": fmt.Sprintf("Results %d: %s", i, canary())})
	for {
		req, _ := http.NewRequest("POST", base+"/api/v1/messages", bytes.NewReader(body))
		req.Header.Set("Authorization", "Bearer "+token)
		req.Header.Set("Content-Type", "application/json")
		req.Header.Set("Idempotency-Key", fmt.Sprintf("crash-%d", i))
		resp, err := c.Do(req)
		if err == nil {
			var res struct {
				ID string `json:"id"`
			}
			err = json.NewDecoder(resp.Body).Decode(&res)
			resp.Body.Close()
			if resp.StatusCode == http.StatusAccepted && err == nil && res.ID != "" {
				return res.ID
			}
			if resp.StatusCode/100 == 4 {
				t.Errorf("message %d refused: %d", i, resp.StatusCode)
				return ""
			}
		}
		time.Sleep(100 * time.Millisecond) // the server is down or starting
	}
}

// crashCheckStates reads the queue: accepted = delivered + bounced +
// queued, and here every recipient ends delivered.
func crashCheckStates(t *testing.T, dbPath string, accepted []string) {
	t.Helper()
	ctx := context.Background()
	db, err := store.Open(ctx, store.Options{URL: dbPath})
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	deadline := time.Now().Add(30 * time.Second)
	for {
		states := map[string]int{}
		for _, id := range accepted {
			var state string
			if err := store.Scan(db.Reader().QueryRow(ctx, `SELECT state FROM recipients WHERE message_id = ?`, id), &state); err != nil {
				t.Fatalf("accepted message %s has no recipient row: %v", id, err)
			}
			states[state]++
		}
		active := states["queued"] + states["deferred"] + states["sending"]
		if states["delivered"]+states["bounced"]+active != len(accepted) {
			t.Fatalf("states %v do not add up to %d accepted", states, len(accepted))
		}
		if states["delivered"] == len(accepted) {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("states %v; want every accepted message delivered", states)
		}
		time.Sleep(200 * time.Millisecond)
	}
}

type writerFunc func([]byte) (int, error)

func (f writerFunc) Write(p []byte) (int, error) { return f(p) }
