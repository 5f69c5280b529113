package audit

// SetPageSize makes l read n rows per query, so tests cross page boundaries
// with few entries.
func SetPageSize(l *Log, n int) { l.pageSize = n }

// SetPruneBatch makes one prune transaction delete about n entries.
func SetPruneBatch(l *Log, n int64) { l.pruneBatch = n }
