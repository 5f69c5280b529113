package outbox

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"slices"

	"github.com/klauspost/compress/s2"

	"github.com/carepost/carepost/internal/bufpool"
	"github.com/carepost/carepost/internal/keyring"
	"github.com/carepost/carepost/internal/store"
)

// A message's content is stored compressed, then sealed: the MIME text of
// an HTML message — quoted-printable, repetitive markup — shrinks to a
// fifth with S2 (Snappy's format, extended; a few µs a message on this
// project's machine, less back): the standard workload's campaign
// messages, 15.9 KB each, are stored in 3.0 KB. Every byte stored is a
// byte the database writes to its log, copies at checkpoint, reads back
// for delivery and keeps for the retention period: such a message needed
// two 8 KiB pages and now shares one with a second. Compression comes before encryption, so what is stored is
// still one AEAD ciphertext bound to the row (keyring.AAD); the lengths
// of stored messages say a little more about their content than before,
// to someone who can read the database's ciphertexts and already knows
// the template — not a channel an attacker can probe, as nothing echoes a
// stored length back to a sender.
//
// Sealed content opens to one of two forms, told apart by the first byte:
// contentCompressed and an S2 block, or the message itself (rows written
// before compression, and messages that S2 would not make smaller — big
// base64 attachments). A message never starts with a NUL byte: it starts
// with a header field name (RFC 5322 section 2.2).
const contentCompressed = "\x00s2"

// maxContent bounds what OpenContent decompresses: well past any message
// the outbox accepts (Options.MaxSize), so only a corrupted row hits it.
const maxContent = 1 << 30

// PackContent is a message's content in its stored form before sealing:
// compressed, or the message itself when S2 would not make it smaller. It
// needs no transaction, so writers call it before theirs (prepare): a
// campaign's messages are compressed on the batches' goroutines, beside
// the one writer, not inside its commits.
//
// S2 needs room for its worst case, several times what a campaign message
// compresses to; that room is a pooled buffer, and the result is copied
// out at its size, so a prepared message waiting for its commit holds its
// few KiB and not the worst case's.
func PackContent(raw []byte) []byte {
	n := s2.MaxEncodedLen(len(raw))
	if n <= 0 {
		return raw
	}
	slot := packPool.Get()
	defer packPool.Put(slot)
	*slot = slices.Grow(*slot, n)
	packed := s2.Encode((*slot)[:n], raw)
	if len(contentCompressed)+len(packed) >= len(raw) {
		return raw
	}
	return append(append(make([]byte, 0, len(contentCompressed)+len(packed)), contentCompressed...), packed...)
}

// packPool holds PackContent's S2 buffers.
var packPool = bufpool.New(1 << 20)

// SealContent seals a message's packed content (PackContent) for its row.
func SealContent(ctx context.Context, keys *keyring.Keyring, tx *store.Tx, orgID, messageID string, packed []byte) ([]byte, int, error) {
	return keys.Seal(ctx, tx, ContentAAD(orgID, messageID), packed)
}

// OpenContent opens a message row's sealed content to the message.
func OpenContent(ctx context.Context, keys *keyring.Keyring, q store.Querier, orgID, messageID string, sealed []byte) ([]byte, error) {
	plain, err := keys.Open(ctx, q, ContentAAD(orgID, messageID), sealed)
	if err != nil {
		return nil, err
	}
	packed, ok := bytes.CutPrefix(plain, []byte(contentCompressed))
	if !ok {
		return plain, nil
	}
	n, err := s2.DecodedLen(packed)
	if err != nil {
		return nil, fmt.Errorf("message %s content: %w", messageID, err)
	}
	if n > maxContent {
		return nil, fmt.Errorf("message %s content: %w", messageID, errContentTooLarge)
	}
	raw, err := s2.Decode(make([]byte, n), packed)
	if err != nil {
		return nil, fmt.Errorf("message %s content: %w", messageID, err)
	}
	return raw, nil
}

var errContentTooLarge = errors.New("decompresses past the content bound")
