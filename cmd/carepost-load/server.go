package main

import (
	"bytes"
	"context"
	"crypto/tls"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"time"
)

// server is a carepost serve process started for the run, in its own data
// folder, as an operator would run it.
type server struct {
	bin, dir, config string
	base             string // https://127.0.0.1:port
	smtpAddr         string // submission (STARTTLS) host:port
	cmd              *exec.Cmd
	client           *http.Client
	key              string
	org              string
}

func freePort() (int, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, err
	}
	defer ln.Close()
	return ln.Addr().(*net.TCPAddr).Port, nil
}

func buildBinary(dir string) (string, error) {
	bin := filepath.Join(dir, "carepost")
	cmd := exec.Command("go", "build", "-o", bin, "./cmd/carepost")
	cmd.Stdout, cmd.Stderr = os.Stderr, os.Stderr
	if err := cmd.Run(); err != nil {
		return "", fmt.Errorf("build carepost (run from the repository root): %w", err)
	}
	return bin, nil
}

type serverConfig struct {
	dbURL              string
	dnsAddr, caFile    string
	mxPort, stsPort    int
	connections, batch int
	acceptOnly         bool // one recipient per minute per domain: delivery stays out of the way
}

func (s *server) writeConfig(c serverConfig) error {
	httpPort, err := freePort()
	if err != nil {
		return err
	}
	smtpPort, err := freePort()
	if err != nil {
		return err
	}
	s.base = fmt.Sprintf("https://127.0.0.1:%d", httpPort)
	s.smtpAddr = fmt.Sprintf("127.0.0.1:%d", smtpPort)
	var b strings.Builder
	fmt.Fprintf(&b, "[data]\ndir = %q\n\n", filepath.Join(s.dir, "data"))
	if c.dbURL != "" {
		fmt.Fprintf(&b, "[database]\nurl = %q\nmax_conns = 40\n\n", c.dbURL)
	}
	fmt.Fprintf(&b, "[http]\nlisten = \"127.0.0.1:%d\"\n\n", httpPort)
	fmt.Fprintf(&b, "[submission]\nlisten = \"127.0.0.1:%d\"\ntls_listen = \"0\"\nrate_per_minute = 0\n\n[gateway]\nlisten = \"0\"\n\n", smtpPort)
	fmt.Fprintf(&b, "[log]\nlevel = \"warn\"\n\n[jobs]\nworkers = 40\n\n")
	fmt.Fprintf(&b, "[delivery]\ndns_servers = [%q]\nmx_port = %d\nmtasts_port = %d\nextra_roots = %q\nlocal_name = \"load.carepost.test\"\nconnections_per_domain = %d\nbatch = %d\n",
		c.dnsAddr, c.mxPort, c.stsPort, c.caFile, c.connections, c.batch)
	if c.acceptOnly {
		b.WriteString("rate_per_domain = 1\n")
	}
	s.config = filepath.Join(s.dir, "carepost.toml")
	return os.WriteFile(s.config, []byte(b.String()), 0o600)
}

func (s *server) run(args ...string) (string, error) {
	cmd := exec.Command(s.bin, append(args, "--config", s.config)...)
	var out, errb bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errb
	if err := cmd.Run(); err != nil {
		return "", fmt.Errorf("carepost %s: %v\n%s%s", args[0], err, out.String(), errb.String())
	}
	return out.String(), nil
}

// bootstrap makes the organization and an API key with the CLI, as an
// administrator would.
func (s *server) bootstrap() error {
	out, err := s.run("init", "--org", "Load Test Clinic", "--owner", "owner@sender.test")
	if err != nil {
		return err
	}
	s.org = regexp.MustCompile(`org_[0-9a-z]{26}`).FindString(out)
	if s.org == "" {
		return fmt.Errorf("carepost init printed no organization id:\n%s", out)
	}
	out, err = s.run("apikey", "create", "--org", s.org, "--email", "owner@sender.test", "--name", "load",
		"--scope", "messages:send", "--scope", "domains:write")
	if err != nil {
		return err
	}
	m := regexp.MustCompile(`token \(shown only now\): (cpk_\S+)`).FindStringSubmatch(out)
	if m == nil {
		return fmt.Errorf("carepost apikey printed no token:\n%s", out)
	}
	s.key = m[1]
	return nil
}

func (s *server) start() error {
	s.cmd = exec.Command(s.bin, "serve", "--config", s.config)
	s.cmd.Stdout, s.cmd.Stderr = os.Stderr, os.Stderr
	if err := s.cmd.Start(); err != nil {
		return err
	}
	s.client = &http.Client{Timeout: 30 * time.Second, Transport: &http.Transport{
		TLSClientConfig:     &tls.Config{InsecureSkipVerify: true}, // the server's self-signed development certificate
		MaxIdleConnsPerHost: 256,
	}}
	deadline := time.Now().Add(60 * time.Second)
	for time.Now().Before(deadline) {
		resp, err := s.client.Get(s.base + "/readyz")
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == 200 {
				return nil
			}
		}
		time.Sleep(100 * time.Millisecond)
	}
	return fmt.Errorf("carepost serve did not become ready within 60s")
}

func (s *server) stop() {
	if s.cmd != nil && s.cmd.Process != nil {
		_ = s.cmd.Process.Signal(os.Interrupt)
		done := make(chan struct{})
		go func() { _ = s.cmd.Wait(); close(done) }()
		select {
		case <-done:
		case <-time.After(30 * time.Second):
			_ = s.cmd.Process.Kill()
		}
	}
}

func (s *server) api(ctx context.Context, method, path string, body any, out any) (int, error) {
	var rd io.Reader
	if body != nil {
		b, _ := json.Marshal(body)
		rd = bytes.NewReader(b)
	}
	req, err := http.NewRequestWithContext(ctx, method, s.base+"/api/v1"+path, rd)
	if err != nil {
		return 0, err
	}
	req.Header.Set("Authorization", "Bearer "+s.key)
	req.Header.Set("Content-Type", "application/json")
	resp, err := s.client.Do(req)
	if err != nil {
		return 0, err
	}
	defer resp.Body.Close()
	data, _ := io.ReadAll(resp.Body)
	if out != nil {
		_ = json.Unmarshal(data, out)
	}
	if resp.StatusCode >= 300 {
		return resp.StatusCode, fmt.Errorf("%s %s: %d %s", method, path, resp.StatusCode, data)
	}
	return resp.StatusCode, nil
}

// verifyDomain adds the sender domain, publishes its records in the run's
// DNS server, and has carepost verify them.
func (s *server) verifyDomain(ctx context.Context, z *zone, domain string) error {
	var added struct {
		Domain  struct{ ID string } `json:"domain"`
		Records []struct {
			Name, Type, Value string
		} `json:"records"`
	}
	if _, err := s.api(ctx, "POST", "/domains", map[string]string{"domain": domain}, &added); err != nil {
		return err
	}
	for _, r := range added.Records {
		if r.Type == "TXT" {
			z.addTXT(r.Name, r.Value)
		}
	}
	var checked struct{ Verified bool }
	if _, err := s.api(ctx, "POST", "/domains/"+added.Domain.ID+"/verify", nil, &checked); err != nil {
		return err
	}
	if !checked.Verified {
		return fmt.Errorf("sender domain %s did not verify", domain)
	}
	return nil
}

// procStats reads a process's CPU time and peak resident memory (Linux).
func procStats(pid int) (cpu time.Duration, peakRSS int64, err error) {
	stat, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return 0, 0, err
	}
	fields := strings.Fields(string(stat[bytes.LastIndexByte(stat, ')')+2:]))
	utime, _ := strconv.ParseInt(fields[11], 10, 64)
	stime, _ := strconv.ParseInt(fields[12], 10, 64)
	cpu = time.Duration(utime+stime) * time.Second / 100 // USER_HZ
	status, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		return cpu, 0, err
	}
	for _, line := range strings.Split(string(status), "\n") {
		if v, ok := strings.CutPrefix(line, "VmHWM:"); ok {
			kb, _ := strconv.ParseInt(strings.Fields(v)[0], 10, 64)
			peakRSS = kb << 10
		}
	}
	return cpu, peakRSS, nil
}
