package store

import (
	"iter"
	"math/bits"
	"strings"
)

// Statement shapes of a few sizes only.
//
// A multi-row INSERT or UPDATE … FROM (VALUES …) and a query with an IN
// list have SQL that depends on how many rows or values they carry, and
// both drivers keep prepared statements by SQL text (cachedConn on SQLite,
// pgx's statement cache on PostgreSQL). A campaign's batches come in every
// size from 1 to a chunk, so each new size was parsed afresh — on SQLite a
// 20-row insert of recipients is 14 KB of SQL — and pushed a statement in
// use out of the connection's 256 (profiling a DKIM-off campaign at 20k
// contacts: 36 recipients inserts, 31 outcome updates and 62 event inserts
// prepared, 2.5% of its CPU in the parser). Sizes here are powers of two or
// a family's full chunk, so a family keeps at most a dozen texts, prepared
// once per connection.

// runs yields the [start, end) bounds that split n rows into statements of
// at most max rows: runs of max while that many are left, then the rest in
// falling powers of two (37 under a max of 64: 32, 4 and 1). Each run is a
// statement; a remainder costs up to log2(max) statements instead of one,
// each an execution of a prepared statement instead of a parse.
func runs(n, max int) iter.Seq2[int, int] {
	return func(yield func(int, int) bool) {
		start := 0
		for ; n-start >= max; start += max {
			if !yield(start, start+max) {
				return
			}
		}
		for start < n {
			size := 1 << (bits.Len(uint(n-start)) - 1)
			if !yield(start, start+size) {
				return
			}
			start += size
		}
	}
}

// inList appends vals to args for an IN list and returns its placeholders,
// "(?, ?, …)": the list is padded to a power of two by repeating the last
// value, which a set membership test does not notice (a value listed twice
// matches the same rows once). vals must not be empty.
func inList[T any](args []any, vals []T) ([]any, string) {
	n := inSize(len(vals))
	for _, v := range vals {
		args = append(args, v)
	}
	for i := len(vals); i < n; i++ {
		args = append(args, vals[len(vals)-1])
	}
	return args, "(?" + strings.Repeat(", ?", n-1) + ")"
}

// inSize is the size of a padded IN list of n values: n rounded up to a
// power of two.
func inSize(n int) int {
	if n <= 1 {
		return 1
	}
	return 1 << bits.Len(uint(n-1))
}
