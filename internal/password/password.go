// Package password is carepost's password policy and hashing, following
// NIST SP 800-63B section 5.1.1 and OWASP's password storage guidance.
//
// Policy (800-63B 5.1.1.2): at least 12 characters, up to 256 accepted
// (the guideline asks for at least 64), any printable character and spaces
// allowed, no composition rules, no periodic rotation. A candidate is refused
// when it is a commonly used or breached password, or is easily guessed from
// dictionary words, keyboard patterns, repeats, sequences or the account's
// own context (e-mail address, name, organization). The check uses zxcvbn
// (github.com/trustelem/zxcvbn, a port of Dropbox's estimator), which ships
// frequency lists of leaked passwords, English words, names and film/TV
// vocabulary inside the binary; nothing is looked up over the network.
//
// Hashing: argon2id (RFC 9106) with parameters stored in the PHC string
// format beside the salt and hash, so parameters can be raised later and old
// hashes still verify (NeedsRehash tells the caller to re-hash on the next
// successful sign-in). The defaults are OWASP's first recommendation: 19 MiB
// of memory, two passes, one lane. Concurrent hashes are bounded so a flood
// of sign-in attempts cannot exhaust memory.
package password

import (
	"context"
	"crypto/rand"
	"crypto/subtle"
	"encoding/base64"
	"errors"
	"fmt"
	"runtime"
	"strings"
	"sync"
	"unicode"
	"unicode/utf8"

	"github.com/trustelem/zxcvbn"
	"golang.org/x/crypto/argon2"
)

// Length limits in characters (Unicode code points), per 800-63B 5.1.1.2.
const (
	MinLength = 12
	MaxLength = 256
)

// minScore is the lowest zxcvbn score accepted: 3 means an estimated 10^8 to
// 10^10 guesses, "safely unguessable" under an online attack and moderately
// resistant offline behind argon2id.
const minScore = 3

// analysisLimit bounds the estimator's work on very long passphrases.
const analysisLimit = 100

// PolicyError says why a candidate password was refused, in words a person
// can act on. It never contains the password.
type PolicyError struct{ Reason string }

func (e *PolicyError) Error() string { return e.Reason }

// Check applies the policy to a candidate. context holds words an attacker
// would try for this account: the e-mail address, the person's name, the
// organization's name.
func Check(candidate string, context ...string) error {
	if !utf8.ValidString(candidate) {
		return &PolicyError{"the password contains invalid characters"}
	}
	n := utf8.RuneCountInString(candidate)
	if n < MinLength {
		return &PolicyError{fmt.Sprintf("use at least %d characters (a few unrelated words make a good password)", MinLength)}
	}
	if n > MaxLength {
		return &PolicyError{fmt.Sprintf("use at most %d characters", MaxLength)}
	}
	for _, r := range candidate {
		if unicode.IsControl(r) {
			return &PolicyError{"the password contains a control character"}
		}
	}
	probe := candidate
	if len(probe) > analysisLimit {
		probe = probe[:analysisLimit]
	}
	inputs := []string{"carepost"}
	for _, c := range context {
		inputs = append(inputs, contextWords(c)...)
	}
	res := zxcvbn.PasswordStrength(probe, inputs)
	if common(probe, res) {
		return &PolicyError{"this password appears in lists of common or breached passwords; choose another"}
	}
	if res.Score < minScore {
		return &PolicyError{"this password is too easy to guess (dictionary words, names, keyboard patterns or repeats); add more unrelated words"}
	}
	return nil
}

// common reports whether the estimator matched the whole candidate as one
// entry of the leaked-password list.
func common(candidate string, res zxcvbn.Result) bool {
	for _, m := range res.Sequence {
		if m.Pattern == "dictionary" && m.DictionaryName == "passwords" && m.I == 0 && m.J == len(candidate)-1 {
			return true
		}
	}
	return false
}

// contextWords splits an e-mail address or name into the words an attacker
// would try.
func contextWords(s string) []string {
	s = strings.ToLower(s)
	out := []string{s}
	for _, w := range strings.FieldsFunc(s, func(r rune) bool { return !unicode.IsLetter(r) && !unicode.IsDigit(r) }) {
		if len(w) >= 3 {
			out = append(out, w)
		}
	}
	return out
}

// Params are argon2id cost parameters.
type Params struct {
	Memory  uint32 // KiB
	Time    uint32 // passes
	Threads uint8  // lanes
	SaltLen uint32
	KeyLen  uint32
}

// DefaultParams is OWASP's first recommended argon2id configuration.
var DefaultParams = Params{Memory: 19 * 1024, Time: 2, Threads: 1, SaltLen: 16, KeyLen: 32}

// Hasher hashes and verifies passwords with bounded concurrency.
type Hasher struct {
	params Params
	slots  chan struct{}

	dummyOnce sync.Once
	dummy     string
}

// NewHasher returns a Hasher using p; at most 2 × GOMAXPROCS hashes run at
// once and the rest wait (or give up when their context ends).
func NewHasher(p Params) *Hasher {
	return &Hasher{params: p, slots: make(chan struct{}, 2*runtime.GOMAXPROCS(0))}
}

func (h *Hasher) acquire(ctx context.Context) error {
	select {
	case h.slots <- struct{}{}:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

func (h *Hasher) release() { <-h.slots }

// Hash returns the PHC-format argon2id hash of pw.
func (h *Hasher) Hash(ctx context.Context, pw string) (string, error) {
	salt := make([]byte, h.params.SaltLen)
	if _, err := rand.Read(salt); err != nil {
		return "", fmt.Errorf("password salt: %w", err)
	}
	if err := h.acquire(ctx); err != nil {
		return "", err
	}
	defer h.release()
	p := h.params
	key := argon2.IDKey([]byte(pw), salt, p.Time, p.Memory, p.Threads, p.KeyLen)
	enc := base64.RawStdEncoding
	return fmt.Sprintf("$argon2id$v=%d$m=%d,t=%d,p=%d$%s$%s", argon2.Version, p.Memory, p.Time, p.Threads, enc.EncodeToString(salt), enc.EncodeToString(key)), nil
}

// ErrMismatch means the password does not match the hash.
var ErrMismatch = errors.New("password does not match")

// Verify checks pw against a PHC hash in constant time. It returns
// ErrMismatch for a wrong password and another error for a malformed hash.
func (h *Hasher) Verify(ctx context.Context, encoded, pw string) error {
	p, salt, want, err := decode(encoded)
	if err != nil {
		return err
	}
	if err := h.acquire(ctx); err != nil {
		return err
	}
	defer h.release()
	got := argon2.IDKey([]byte(pw), salt, p.Time, p.Memory, p.Threads, uint32(len(want)))
	if subtle.ConstantTimeCompare(got, want) != 1 {
		return ErrMismatch
	}
	return nil
}

// Dummy burns the time of one verification, so that a sign-in for an
// unknown account takes as long as one for a known account.
func (h *Hasher) Dummy(ctx context.Context, pw string) {
	h.dummyOnce.Do(func() {
		var b [16]byte
		_, _ = rand.Read(b[:])
		h.dummy, _ = h.Hash(ctx, base64.RawStdEncoding.EncodeToString(b[:]))
	})
	if h.dummy != "" {
		_ = h.Verify(ctx, h.dummy, pw)
	}
}

// NeedsRehash reports whether encoded was made with parameters other than
// the Hasher's, so the caller should store a fresh hash.
func (h *Hasher) NeedsRehash(encoded string) bool {
	p, _, key, err := decode(encoded)
	if err != nil {
		return true
	}
	return p.Memory != h.params.Memory || p.Time != h.params.Time || p.Threads != h.params.Threads || uint32(len(key)) != h.params.KeyLen
}

// decode parses "$argon2id$v=19$m=…,t=…,p=…$salt$hash".
func decode(encoded string) (Params, []byte, []byte, error) {
	bad := errors.New("malformed password hash")
	parts := strings.Split(encoded, "$")
	if len(parts) != 6 || parts[1] != "argon2id" {
		return Params{}, nil, nil, bad
	}
	var v int
	if _, err := fmt.Sscanf(parts[2], "v=%d", &v); err != nil || v != argon2.Version {
		return Params{}, nil, nil, bad
	}
	var p Params
	if _, err := fmt.Sscanf(parts[3], "m=%d,t=%d,p=%d", &p.Memory, &p.Time, &p.Threads); err != nil {
		return Params{}, nil, nil, bad
	}
	// Refuse parameters that would let a stored hash exhaust memory or
	// time (a tampered row must not become a denial of service).
	if p.Memory < 8 || p.Memory > 1<<20 || p.Time < 1 || p.Time > 16 || p.Threads < 1 {
		return Params{}, nil, nil, bad
	}
	enc := base64.RawStdEncoding
	salt, err := enc.DecodeString(parts[4])
	if err != nil || len(salt) < 8 {
		return Params{}, nil, nil, bad
	}
	key, err := enc.DecodeString(parts[5])
	if err != nil || len(key) < 16 || len(key) > 64 {
		return Params{}, nil, nil, bad
	}
	return p, salt, key, nil
}
