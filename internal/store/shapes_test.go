package store

import (
	"context"
	"fmt"
	"math/bits"
	"path/filepath"
	"testing"
	"time"
)

// TestRunsCoverEveryRowInFewSizes: runs splits every count into contiguous
// runs covering each row once, every run max rows or a power of two below
// it, so a family of statements has at most log2(max)+2 sizes.
func TestRunsCoverEveryRowInFewSizes(t *testing.T) {
	for _, max := range []int{1, 7, 64, 100, 128} {
		sizes := map[int]bool{}
		for n := 0; n <= 3*max+5; n++ {
			next := 0
			for start, end := range runs(n, max) {
				if start != next || end <= start || end > n {
					t.Fatalf("max %d, n %d: run [%d, %d) after %d", max, n, start, end, next)
				}
				size := end - start
				if size != max && (size > max || bits.OnesCount(uint(size)) != 1) {
					t.Fatalf("max %d, n %d: run of %d rows", max, n, size)
				}
				sizes[size] = true
				next = end
			}
			if next != n {
				t.Fatalf("max %d, n %d: runs end at %d", max, n, next)
			}
		}
		if len(sizes) > bits.Len(uint(max))+1 {
			t.Fatalf("max %d: %d sizes of run %v", max, len(sizes), sizes)
		}
	}
	// Stopping early stops.
	seen := 0
	for range runs(1000, 64) {
		seen++
		if seen == 3 {
			break
		}
	}
	if seen != 3 {
		t.Fatalf("ran %d runs after break", seen)
	}
}

// TestInListPadsToAPowerOfTwo: the values follow the leading arguments, the
// last repeated up to the list's size.
func TestInListPadsToAPowerOfTwo(t *testing.T) {
	args, list := inList([]any{"org"}, []string{"a", "b", "c"})
	if list != "(?, ?, ?, ?)" || fmt.Sprint(args) != "[org a b c c]" {
		t.Fatalf("inList = %v %q", args, list)
	}
	for n, want := range map[int]int{1: 1, 2: 2, 3: 4, 4: 4, 5: 8, 200: 256, 256: 256, 257: 512} {
		if got := inSize(n); got != want {
			t.Errorf("inSize(%d) = %d, want %d", n, got, want)
		}
	}
}

// TestBatchesOfEverySizeReuseStatements: writing events and reading
// suppressions in batches of every size from 1 to 130 keeps every row and
// answer, and the writer prepares a statement for a handful of sizes, not
// one for each (which would also push the rest of its 256 out).
func TestBatchesOfEverySizeReuseStatements(t *testing.T) {
	ctx := context.Background()
	db, err := Open(ctx, Options{URL: "sqlite://" + filepath.Join(t.TempDir(), "s.db")})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	if _, err := db.Migrate(ctx); err != nil {
		t.Fatal(err)
	}
	at := time.UnixMicro(1_700_000_000_000_000).UTC()
	if err := db.Tx(ctx, func(tx *Tx) error {
		for i := 0; i < 130; i += 3 { // every third address is suppressed
			if err := Suppress(ctx, tx, "org_a", []byte(fmt.Sprintf("ix%03d", i)), "bounce", "", at); err != nil {
				return err
			}
		}
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	before, _ := writerStatements(t, db)
	total := 0
	for n := 1; n <= 130; n++ {
		rows := make([]EventRow, n)
		indexes := make([][]byte, n)
		for i := range rows {
			rows[i] = EventRow{ID: fmt.Sprintf("evt_%03d_%03d", n, i), OrgID: "org_a", Type: "message.queued", At: at, Data: `{}`}
			indexes[i] = []byte(fmt.Sprintf("ix%03d", i))
		}
		if err := db.Tx(ctx, func(tx *Tx) error {
			if err := InsertEvents(ctx, tx, rows); err != nil {
				return err
			}
			got, err := Suppressed(ctx, tx, "org_a", indexes)
			if err != nil {
				return err
			}
			if want := (n + 2) / 3; len(got) != want {
				return fmt.Errorf("%d addresses: %d suppressed, want %d", n, len(got), want)
			}
			return nil
		}); err != nil {
			t.Fatal(err)
		}
		total += n
	}
	var count int
	if err := db.Reader().QueryRow(ctx, `SELECT count(*) FROM events WHERE org_id = 'org_a'`).Scan(&count); err != nil {
		t.Fatal(err)
	}
	if count != total {
		t.Fatalf("%d events stored, want %d", count, total)
	}
	after, _ := writerStatements(t, db)
	// Eight sizes of insert (1 to 128) and eight of IN list (1 to 128),
	// and a few for the transactions themselves.
	if prepared := after - before; prepared > 24 {
		t.Fatalf("the writer prepared %d statements for batches of 130 sizes", prepared)
	}
}
