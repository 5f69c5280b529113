package app

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"

	"github.com/carepost/carepost/internal/keyring"
	"github.com/carepost/carepost/internal/store"
)

// KEK is the loaded key-encryption keyset and where it came from.
type KEK struct {
	Keyset *keyring.Keyset
	// Source is "file" or "env".
	Source string
	// Path is the key file (Source "file") or the variable name (Source "env").
	Path string
	// Generated is true when this start created the key file.
	Generated bool
}

// loadKEK reads the key-encryption keyset from the variable named by
// keys.kek_env, or from keys.kek_file. A missing file is generated only for
// a database that holds no data keys yet: generating a fresh key for a
// database sealed under another would make every sealed record unreadable
// to this node, so that case stops with an explanation instead.
func (a *App) loadKEK(ctx context.Context, allowGenerate bool) (*KEK, error) {
	cfg := a.Config.Keys
	var k *KEK
	if cfg.KEKEnv != "" {
		val := os.Getenv(cfg.KEKEnv)
		if val == "" {
			return nil, fmt.Errorf("keys.kek_env names %s, but that variable is empty: set it to the keyset (carepost keys generate-kek prints one)", cfg.KEKEnv)
		}
		ks, err := keyring.ParseKeyset(val)
		if err != nil {
			return nil, fmt.Errorf("key-encryption key in %s: %w", cfg.KEKEnv, err)
		}
		k = &KEK{Keyset: ks, Source: "env", Path: cfg.KEKEnv}
	} else {
		path := cfg.KEKFile
		ks, err := keyring.LoadKeysetFile(path)
		switch {
		case err == nil:
			k = &KEK{Keyset: ks, Source: "file", Path: path}
		case errors.Is(err, fs.ErrNotExist):
			scopes, serr := store.DataKeyScopes(ctx, a.DB.Reader())
			if serr == nil && len(scopes) > 0 {
				return nil, fmt.Errorf("no key file at %s, but the database holds data keys sealed under a key-encryption key: restore that key file, or point keys.kek_file or keys.kek_env at it", path)
			}
			if !allowGenerate {
				return nil, fmt.Errorf("no key file at %s: start carepost serve once to generate it, or configure keys.kek_file", path)
			}
			if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
				return nil, fmt.Errorf("create key folder: %w", err)
			}
			ks, err := keyring.GenerateKeysetFile(path)
			if err != nil {
				return nil, err
			}
			k = &KEK{Keyset: ks, Source: "file", Path: path, Generated: true}
			a.Log.Warn("generated a new key-encryption key file", "path", path)
		default:
			return nil, err
		}
	}
	if err := a.checkKEKCoversDataKeys(ctx, k.Keyset); err != nil {
		return nil, err
	}
	return k, nil
}

// checkKEKCoversDataKeys fails fast, at start-up, when data keys are wrapped
// under a KEK this keyset lacks, rather than on the first read of a record.
func (a *App) checkKEKCoversDataKeys(ctx context.Context, ks *keyring.Keyset) error {
	keys, err := store.ListDataKeys(ctx, a.DB.Reader())
	if err != nil {
		return fmt.Errorf("read data keys: %w", err)
	}
	have := map[string]bool{}
	for _, id := range ks.IDs() {
		have[id] = true
	}
	missing := map[string]bool{}
	for _, dk := range keys {
		if !have[dk.KEKID] {
			missing[dk.KEKID] = true
		}
	}
	if len(missing) > 0 {
		var ids []string
		for id := range missing {
			ids = append(ids, id)
		}
		return fmt.Errorf("the key-encryption keyset (%s) lacks key(s) %s that wrap data keys in this database: wrong key file, or a KEK rotation was not finished (run carepost keys rewrap with both keys present)", strings.Join(ks.IDs(), ", "), strings.Join(ids, ", "))
	}
	return nil
}

// warnAboutKEKPlacement tells the operator, at server start, when the key
// file sits beside the data it protects.
func (a *App) warnAboutKEKPlacement(k *KEK) {
	if k.Source != "file" {
		return
	}
	dataDir, err1 := filepath.Abs(a.Config.Data.Dir)
	keyPath, err2 := filepath.Abs(k.Path)
	if err1 != nil || err2 != nil {
		return
	}
	if rel, err := filepath.Rel(dataDir, keyPath); err == nil && !strings.HasPrefix(rel, "..") {
		a.Log.Warn("the key-encryption key is stored in the data folder, beside the data it protects: fine for development, but production should use a KMS or a key kept apart from the data (keys.kek_file on another volume, or keys.kek_env)", "key_file", k.Path)
	}
}
