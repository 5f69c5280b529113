package keyring

import (
	"bytes"
	"encoding/base64"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"runtime"
	"strings"
)

// Keyset text format: one key per line,
//
//	carepost-kek-v1 <id> <standard base64 of 32 bytes>
//
// primary first. Lines whose first non-blank character is "#" are comments;
// blank lines are ignored. Keys may also be separated by commas, so a keyset
// fits in one environment variable.
// The id is checked against the key, which catches a truncated or mistyped
// key before it seals anything.
const keyLinePrefix = "carepost-kek-v1"

const fileHeader = `# carepost key-encryption keys (KEK). The first key is the primary.
#
# KEEP THIS FILE APART FROM THE DATABASE AND ITS BACKUPS. Anyone holding both
# can read every sealed record; without this file nothing sealed can be read,
# so back it up too, separately. Never commit it or mail it.
#
# Format: carepost-kek-v1 <id> <base64 key>, one per line.
`

// ParseKeyset reads the text format (a key file's contents or an
// environment variable's value). Errors name line numbers and ids, never
// key material.
func ParseKeyset(text string) (*Keyset, error) {
	ks := &Keyset{}
	seen := map[string]bool{}
	for n, line := range strings.Split(text, "\n") {
		if strings.HasPrefix(strings.TrimSpace(line), "#") {
			continue // a comment line, commas and all
		}
		for _, entry := range strings.Split(line, ",") {
			entry = strings.TrimSpace(entry)
			if entry == "" {
				continue
			}
			k, err := parseKeyLine(entry)
			if err != nil {
				return nil, fmt.Errorf("keyset line %d: %w", n+1, err)
			}
			if seen[k.id] {
				return nil, fmt.Errorf("keyset line %d: key %s appears twice", n+1, k.id)
			}
			seen[k.id] = true
			ks.keys = append(ks.keys, k)
		}
	}
	if len(ks.keys) == 0 {
		return nil, errors.New("keyset holds no keys")
	}
	return ks, nil
}

func parseKeyLine(entry string) (kek, error) {
	f := strings.Fields(entry)
	if len(f) != 3 || f[0] != keyLinePrefix {
		return kek{}, fmt.Errorf("want %q <id> <base64 key>", keyLinePrefix)
	}
	// Echo the id only if it looks like one: a key pasted in the id's
	// place must not end up in an error message.
	id := f[1]
	if !idPattern.MatchString(id) {
		return kek{}, errors.New("malformed key id: want k1- and 12 hex digits")
	}
	raw, err := base64.StdEncoding.Strict().DecodeString(f[2])
	if err != nil {
		return kek{}, fmt.Errorf("key %s: not valid base64", id)
	}
	k, err := newKEK(raw)
	if err != nil {
		return kek{}, fmt.Errorf("key %s: %w", id, err)
	}
	if k.id != id {
		return kek{}, fmt.Errorf("key %s: its fingerprint is %s: the key was altered or truncated", id, k.id)
	}
	return k, nil
}

var idPattern = regexp.MustCompile(`^k1-[0-9a-f]{12}$`)

// EncodeSecret renders the keyset in the text format with a warning header.
// The result is secret: write it only to a 0600 file or a secret store.
func (ks *Keyset) EncodeSecret() []byte {
	var b bytes.Buffer
	b.WriteString(fileHeader)
	for _, k := range ks.keys {
		fmt.Fprintf(&b, "%s %s %s\n", keyLinePrefix, k.id, base64.StdEncoding.EncodeToString(k.raw))
	}
	return b.Bytes()
}

// LoadKeysetFile reads a key file, refusing one that group or others can
// read or write: the keys protect every sealed record.
func LoadKeysetFile(path string) (*Keyset, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("open keyset: %w", err)
	}
	defer f.Close()
	st, err := f.Stat()
	if err != nil {
		return nil, fmt.Errorf("open keyset: %w", err)
	}
	// QUIRK: Windows has no Unix mode bits; access there rests on ACLs.
	if perm := st.Mode().Perm(); perm&0o077 != 0 && runtime.GOOS != "windows" {
		return nil, fmt.Errorf("keyset file %s has mode %04o, readable by group or others: run chmod 600 %s", path, perm, path)
	}
	var b bytes.Buffer
	if _, err := b.ReadFrom(f); err != nil {
		return nil, fmt.Errorf("read keyset %s: %w", path, err)
	}
	ks, err := ParseKeyset(b.String())
	if err != nil {
		return nil, fmt.Errorf("keyset %s: %w", path, err)
	}
	return ks, nil
}

// GenerateKeysetFile creates a key file holding one new key, mode 0600. It
// never overwrites: an existing file is an error.
func GenerateKeysetFile(path string) (*Keyset, error) {
	ks, err := GenerateKeyset()
	if err != nil {
		return nil, err
	}
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
	if err != nil {
		return nil, fmt.Errorf("create keyset file: %w", err)
	}
	if err := writeSync(f, ks.EncodeSecret()); err != nil {
		os.Remove(path)
		return nil, fmt.Errorf("write keyset file %s: %w", path, err)
	}
	if err := syncDir(filepath.Dir(path)); err != nil {
		return nil, fmt.Errorf("write keyset file %s: %w", path, err)
	}
	return ks, nil
}

// WriteKeysetFile replaces path with ks atomically: a 0600 temporary file in
// the same folder, fsync, rename, fsync of the folder. A crash leaves either
// the old file or the new one, never a mix.
func WriteKeysetFile(path string, ks *Keyset) error {
	dir := filepath.Dir(path)
	f, err := os.CreateTemp(dir, "."+filepath.Base(path)+".tmp-*")
	if err != nil {
		return fmt.Errorf("write keyset file: %w", err)
	}
	tmp := f.Name()
	fail := func(err error) error {
		os.Remove(tmp)
		return fmt.Errorf("write keyset file %s: %w", path, err)
	}
	if err := f.Chmod(0o600); err != nil { // CreateTemp uses 0600; make sure
		f.Close()
		return fail(err)
	}
	if err := writeSync(f, ks.EncodeSecret()); err != nil {
		return fail(err)
	}
	if err := os.Rename(tmp, path); err != nil {
		return fail(err)
	}
	if err := syncDir(dir); err != nil {
		return fmt.Errorf("write keyset file %s: %w", path, err)
	}
	return nil
}

// writeSync writes b, fsyncs and closes f.
func writeSync(f *os.File, b []byte) error {
	if _, err := f.Write(b); err != nil {
		f.Close()
		return err
	}
	if err := f.Sync(); err != nil {
		f.Close()
		return err
	}
	return f.Close()
}

// syncDir makes a new directory entry durable.
func syncDir(dir string) error {
	if runtime.GOOS == "windows" {
		return nil // QUIRK: directories cannot be fsynced on Windows
	}
	d, err := os.Open(dir)
	if err != nil {
		return err
	}
	defer d.Close()
	return d.Sync()
}
