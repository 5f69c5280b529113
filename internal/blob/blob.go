// Package blob stores sealed objects: message bodies, attachments, private
// keys. Content is sealed by the keyring before it is written and opened after
// it is read, so the database (its file, WAL, backups, replicas) only ever
// holds ciphertext; the kind, size and creation time stay in clear so the
// store can be operated without opening anything.
//
// Each blob belongs to a keyring scope (an organization id, or
// keyring.SystemScope) and is bound to (scope, "blobs", "content", id) as
// additional data: content copied to another id or organization does not
// open. A blob of another scope is store.ErrNotFound, exactly like a missing
// one. Blobs are immutable: Put refuses an id that exists (store.ErrConflict);
// replace by Delete and Put in one transaction. The blobs table is registered
// with the keyring, so key rotation re-encrypts blobs with everything else.
//
// # Object storage seam
//
// Today content lives in the blobs row. When large objects move to
// S3-compatible storage, the row stays (scope, id, kind, size, dek_version)
// and gains an object locator; the keyring seals before upload and opens after
// download with the same AAD and format, so the object store sees ciphertext
// only. Store is the one type that changes: Put and Get keep their
// signatures, and the store.SealedTable registration is replaced by a
// re-encryption pass over objects. Content is sealed whole in memory; objects
// larger than a few tens of megabytes will need a chunked (STREAM-style)
// format version at that point.
package blob

import (
	"context"
	"fmt"
	"regexp"
	"time"

	"github.com/carepost/carepost/internal/keyring"
	"github.com/carepost/carepost/internal/store"
)

// AAD names of the blobs table and its sealed column.
const (
	table  = "blobs"
	column = "content"
)

// Blob is one stored object with its content opened.
type Blob struct {
	Scope     string
	ID        string
	Kind      string // what the object is, e.g. "message_body", "attachment"
	Size      int64  // content length in bytes
	CreatedAt time.Time
	Content   []byte
}

// Store reads and writes sealed blobs.
type Store struct {
	db *store.DB
	kr *keyring.Keyring
}

// New returns a blob store sealing with kr, and registers the blobs table
// with kr for rotation and status.
func New(db *store.DB, kr *keyring.Keyring) *Store {
	kr.Register(store.BlobsTable())
	return &Store{db: db, kr: kr}
}

// kindPattern keeps kind a short label: it is stored in clear, so it must
// never be a place for PHI such as a file name.
var kindPattern = regexp.MustCompile(`^[a-z][a-z0-9_.-]{0,63}$`)

func validID(id string) error {
	if id == "" || len(id) > 255 {
		return fmt.Errorf("blob id must be 1 to 255 bytes, got %d", len(id))
	}
	return nil
}

// Put seals content and stores it as blob id of scope, inside tx. It fails
// with store.ErrConflict if the scope already has a blob with that id.
func (s *Store) Put(ctx context.Context, tx *store.Tx, scope, id, kind string, content []byte) error {
	if err := validID(id); err != nil {
		return fmt.Errorf("put blob: %w", err)
	}
	if !kindPattern.MatchString(kind) {
		// The kind is not echoed: a caller that got it wrong may have
		// passed something like a file name.
		return fmt.Errorf("put blob %s/%s: kind must be a short label matching %s", scope, id, kindPattern)
	}
	ct, v, err := s.kr.Seal(ctx, tx, keyring.AAD{Scope: scope, Table: table, Column: column, RowID: id}, content)
	if err != nil {
		return fmt.Errorf("put blob %s/%s: %w", scope, id, err)
	}
	err = store.InsertBlob(ctx, tx, store.BlobRow{
		Scope:      scope,
		ID:         id,
		Kind:       kind,
		DEKVersion: v,
		Content:    ct,
		Size:       int64(len(content)),
		CreatedAt:  time.Now(),
	})
	if err != nil {
		return fmt.Errorf("put blob: %w", err)
	}
	return nil
}

// Get reads and opens blob id of scope; q may be a transaction or
// db.Reader(). A blob that is missing or belongs to another scope is
// store.ErrNotFound; content that does not open is keyring.ErrDecrypt.
func (s *Store) Get(ctx context.Context, q store.Querier, scope, id string) (Blob, error) {
	row, err := store.GetBlob(ctx, q, scope, id)
	if err != nil {
		return Blob{}, fmt.Errorf("get blob: %w", err)
	}
	content, err := s.kr.Open(ctx, q, keyring.AAD{Scope: scope, Table: table, Column: column, RowID: id}, row.Content)
	if err != nil {
		return Blob{}, fmt.Errorf("get blob %s/%s: %w", scope, id, err)
	}
	return Blob{
		Scope:     scope,
		ID:        id,
		Kind:      row.Kind,
		Size:      int64(len(content)),
		CreatedAt: row.CreatedAt,
		Content:   content,
	}, nil
}

// Delete removes blob id of scope inside tx; store.ErrNotFound if there is
// none. The ciphertext may survive in free pages, WAL and backups until they
// are overwritten; it is ciphertext.
func (s *Store) Delete(ctx context.Context, tx *store.Tx, scope, id string) error {
	if err := store.DeleteBlob(ctx, tx, scope, id); err != nil {
		return fmt.Errorf("delete blob: %w", err)
	}
	return nil
}
