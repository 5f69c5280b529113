// Package pgptest runs the real GnuPG for tests: a throwaway home
// directory per test, key generation, import, decryption and signature
// verification, so carepost's OpenPGP output is checked by the tool
// recipients use rather than by the library that wrote it.
package pgptest

import (
	"bytes"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// GPG is a GnuPG home directory that exists for one test.
type GPG struct {
	Home string
}

// New makes a home directory (short, under the system temporary folder:
// gpg-agent's socket path must fit in a sockaddr_un) and stops its agent
// when the test ends. It skips the test when gpg is not installed.
func New(t testing.TB) *GPG {
	t.Helper()
	if _, err := exec.LookPath("gpg"); err != nil {
		t.Skip("gpg is not installed (.ci/run installs it)")
	}
	home, err := os.MkdirTemp("", "cpg")
	if err != nil {
		t.Fatal(err)
	}
	if err := os.Chmod(home, 0o700); err != nil {
		t.Fatal(err)
	}
	g := &GPG{Home: home}
	t.Cleanup(func() {
		// gpgconf ends only the agent of this home directory.
		_ = g.command("gpgconf", nil, "--kill", "gpg-agent").Run()
		_ = os.RemoveAll(home)
	})
	return g
}

func (g *GPG) command(tool string, stdin []byte, args ...string) *exec.Cmd {
	cmd := exec.Command(tool, args...)
	cmd.Env = append(os.Environ(), "GNUPGHOME="+g.Home, "LC_ALL=C")
	if stdin != nil {
		cmd.Stdin = bytes.NewReader(stdin)
	}
	return cmd
}

// Run runs gpg in batch mode with args and stdin and returns its standard
// output; standard error goes to the test log on failure.
func (g *GPG) Run(t testing.TB, stdin []byte, args ...string) []byte {
	t.Helper()
	out, errOut, err := g.Try(stdin, args...)
	if err != nil {
		t.Fatalf("gpg %s: %v\n%s", strings.Join(args, " "), err, errOut)
	}
	return out
}

// Try is Run that returns the error and standard error instead of failing.
func (g *GPG) Try(stdin []byte, args ...string) (stdout, stderr []byte, err error) {
	cmd := g.command("gpg", stdin, append([]string{"--batch", "--yes", "--no-tty", "--pinentry-mode", "loopback", "--passphrase", ""}, args...)...)
	var o, e bytes.Buffer
	cmd.Stdout, cmd.Stderr = &o, &e
	err = cmd.Run()
	return o.Bytes(), e.Bytes(), err
}

// GenerateKey makes a key for userID ("Name <address>") with GnuPG's
// default algorithms and no expiry, and returns its armored public key.
func (g *GPG) GenerateKey(t testing.TB, userID string) []byte {
	t.Helper()
	g.Run(t, nil, "--quick-gen-key", userID, "default", "default", "never")
	return g.Run(t, nil, "--armor", "--export", userID)
}

// Import imports an armored or binary key.
func (g *GPG) Import(t testing.TB, key []byte) {
	t.Helper()
	g.Run(t, key, "--import")
}

// Decrypted is what gpg --decrypt produced.
type Decrypted struct {
	Plaintext []byte
	// Status is the --status-fd output: "[GNUPG:] GOODSIG …",
	// "[GNUPG:] DECRYPTION_OKAY" and the rest (doc/DETAILS in GnuPG).
	Status string
}

// Decrypt runs gpg --decrypt on an OpenPGP message (armored or binary).
func (g *GPG) Decrypt(t testing.TB, msg []byte) Decrypted {
	t.Helper()
	status := filepath.Join(g.Home, "status")
	out := g.Run(t, msg, "--status-file", status, "--decrypt")
	st, err := os.ReadFile(status)
	if err != nil {
		t.Fatal(err)
	}
	return Decrypted{Plaintext: out, Status: string(st)}
}
