package audit

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"time"

	"github.com/carepost/carepost/internal/store"
)

// ExportOptions selects what Export and ExportCheckpoints write.
type ExportOptions struct {
	// Since keeps entries (checkpoints) at or after this time. Zero
	// exports everything.
	Since time.Time
	// Chain limits the export to one chain. Empty exports every chain.
	Chain string
}

// Export writes entries as JSON lines for a SIEM (see Entry.MarshalJSON),
// ordered by chain then seq, streaming page by page, and returns how many it
// wrote. To let the export be verified later (VerifyExport), take
// ExportCheckpoints first: a checkpoint written after the entries were
// exported would look like truncation.
func (l *Log) Export(ctx context.Context, w io.Writer, opts ExportOptions) (int, error) {
	return l.export(ctx, w, opts, func(ctx context.Context, chain string, after int64, out *lineWriter) (int64, int, error) {
		recs, err := store.AuditRecordsSince(ctx, l.db.Reader(), chain, opts.Since, after, l.pageSize)
		if err != nil || len(recs) == 0 {
			return after, 0, err
		}
		for i, r := range recs {
			e, err := fromRecord(r)
			if err != nil {
				return after, i, fmt.Errorf("%w (run audit verify)", err)
			}
			if err := out.line(e); err != nil {
				return after, i, err
			}
		}
		return recs[len(recs)-1].Seq, len(recs), nil
	}, true)
}

// ExportCheckpoints writes checkpoints as JSON lines (see
// Checkpoint.MarshalJSON), ordered by chain then seq, for keeping off the
// box and for VerifyExport and VerifyOptions.Checkpoints.
func (l *Log) ExportCheckpoints(ctx context.Context, w io.Writer, opts ExportOptions) (int, error) {
	return l.export(ctx, w, opts, func(ctx context.Context, chain string, after int64, out *lineWriter) (int64, int, error) {
		cps, err := store.AuditCheckpointsSince(ctx, l.db.Reader(), chain, opts.Since, after, l.pageSize)
		if err != nil || len(cps) == 0 {
			return after, 0, err
		}
		for i, c := range cps {
			if err := out.line(fromStoreCheckpoint(c)); err != nil {
				return after, i, err
			}
		}
		return cps[len(cps)-1].Seq, len(cps), nil
	}, false)
}

// pageFunc writes one page of chain after seq and returns the last seq
// written and how many lines it wrote (also on error).
type pageFunc func(ctx context.Context, chain string, after int64, out *lineWriter) (int64, int, error)

func (l *Log) export(ctx context.Context, w io.Writer, opts ExportOptions, page pageFunc, entries bool) (int, error) {
	chains := []string{opts.Chain}
	if opts.Chain == "" {
		var err error
		if chains, err = store.AuditChains(ctx, l.db.Reader()); err != nil {
			return 0, fmt.Errorf("audit export: %w", err)
		}
	}
	out := &lineWriter{w: bufio.NewWriterSize(w, 64<<10)}
	total := 0
	for _, ch := range chains {
		after := int64(0)
		if entries && !opts.Since.IsZero() {
			// Start at the first entry that qualifies rather than
			// scanning the chain from its beginning.
			first, err := store.AuditFirstSeqSince(ctx, l.db.Reader(), ch, opts.Since)
			if err != nil {
				return total, fmt.Errorf("audit export %s: %w", ch, err)
			}
			if first == 0 {
				continue
			}
			after = first - 1
		}
		for {
			last, n, err := page(ctx, ch, after, out)
			total += n
			if err != nil {
				return total, fmt.Errorf("audit export %s: %w", ch, err)
			}
			if n < l.pageSize {
				break
			}
			after = last
		}
	}
	if err := out.w.Flush(); err != nil {
		return total, fmt.Errorf("audit export: %w", err)
	}
	return total, nil
}

type lineWriter struct{ w *bufio.Writer }

func (lw *lineWriter) line(v interface{ MarshalJSON() ([]byte, error) }) error {
	b, err := v.MarshalJSON()
	if err != nil {
		return err
	}
	if _, err := lw.w.Write(append(b, '\n')); err != nil {
		return fmt.Errorf("write export line: %w", err)
	}
	return nil
}
