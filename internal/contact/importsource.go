package contact

import (
	"context"
	"encoding/csv"
	"errors"
	"fmt"
	"io"

	"github.com/carepost/carepost/internal/store"
)

// chunkSource reads an import's staged file from a plaintext offset,
// opening one sealed chunk at a time (memory stays at one chunk).
type chunkSource struct {
	ctx             context.Context
	s               *Service
	orgID, importID string
	next, chunks    int
	buf             []byte
}

// openSource returns the staged file of an import from offset.
func (s *Service) openSource(ctx context.Context, r store.ContactImportRow, offset int64) (io.Reader, error) {
	src := &chunkSource{ctx: ctx, s: s, orgID: r.OrgID, importID: r.ID, chunks: r.Chunks}
	if offset >= r.Bytes {
		src.next = r.Chunks
		return src, nil
	}
	c, err := store.ImportChunkFrom(ctx, s.deps.DB.Reader(), r.OrgID, r.ID, offset)
	if err != nil {
		return nil, err
	}
	pt, err := s.openChunk(ctx, c)
	if err != nil {
		return nil, err
	}
	src.buf, src.next = pt[offset-c.StartOffset:], c.Seq+1
	return src, nil
}

func (s *Service) openChunk(ctx context.Context, c store.ImportChunkRow) ([]byte, error) {
	pt, err := s.deps.Keys.Open(ctx, s.deps.DB.Reader(), chunkAAD(c.OrgID, c.ID), c.Data)
	if err != nil {
		return nil, fmt.Errorf("open import chunk %s: %w", c.ID, err)
	}
	return pt, nil
}

func (c *chunkSource) Read(p []byte) (int, error) {
	for len(c.buf) == 0 {
		if c.next >= c.chunks {
			return 0, io.EOF
		}
		row, err := store.ImportChunk(c.ctx, c.s.deps.DB.Reader(), c.orgID, c.importID, c.next)
		if err != nil {
			return 0, err
		}
		if c.buf, err = c.s.openChunk(c.ctx, row); err != nil {
			return 0, err
		}
		c.next++
	}
	n := copy(p, c.buf)
	c.buf = c.buf[n:]
	return n, nil
}

// newCSV reads RFC 4180 CSV: quoted fields may hold separators, quotes and
// line breaks; a bare quote in an unquoted field is an error (no lazy
// quotes, so a stray quote cannot swallow the rows after it unnoticed).
// The field count is checked by the caller against the header.
func newCSV(r io.Reader) *csv.Reader {
	cr := csv.NewReader(r)
	cr.ReuseRecord = true
	cr.FieldsPerRecord = -1
	return cr
}

// recordError classifies a csv.Reader error: structural (the file cannot
// be read reliably past it) or not, with a fixed reason.
func recordError(err error) (reason string, structural bool) {
	var pe *csv.ParseError
	if errors.As(err, &pe) {
		switch {
		case errors.Is(pe.Err, csv.ErrBareQuote):
			return "malformed CSV: a quote in an unquoted field", true
		case errors.Is(pe.Err, csv.ErrQuote):
			return "malformed CSV: a quoted field is not closed properly", true
		}
	}
	return "malformed CSV", true
}

// fieldCountReason is the reason of a row whose field count differs from
// the header's.
func fieldCountReason(want, got int) string {
	return fmt.Sprintf("wrong number of fields: the header has %d, the row %d", want, got)
}
