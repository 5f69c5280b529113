package access

// Partition is a shown total and the counts that add up to it, as
// indexes into a table of counts (a campaign's targeted contacts and the
// pending, sent and skipped ones; its sent messages by delivery state).
type Partition struct {
	Total int
	Cells []int
}

// SuppressCells decides which counts of a table a principal without
// phi:read may not see. Primary suppression hides every count from 1 to
// floor − 1. Hiding a count is not enough when its partition's total is
// shown: total minus the shown counts gives it back. So, complementary
// suppression: for each partition whose total is shown, further counts
// are hidden — the smallest non-zero shown ones first, to lose the least
// — until the partition's hidden counts are at least two and add up to at
// least the floor, so none can be worked out by subtraction, alone or
// together. Partitions may share counts; the rule is applied again until
// nothing changes. Zero is never hidden (it singles out nobody).
//
// This is the heuristic statistical agencies use for tables (a cell's
// protection by at least one complement per row), not a proof against
// every linear combination of overlapping partitions; the floor itself
// is the primary control.
func SuppressCells(counts []int64, floor int64, parts []Partition) []bool {
	hidden := make([]bool, len(counts))
	if floor <= 1 {
		return hidden
	}
	for i, n := range counts {
		hidden[i] = n > 0 && n < floor
	}
	for changed := true; changed; {
		changed = false
		for _, p := range parts {
			if hidden[p.Total] {
				continue
			}
			for {
				k, sum := 0, int64(0)
				for _, c := range p.Cells {
					if hidden[c] {
						k++
						sum += counts[c]
					}
				}
				if k == 0 || (k >= 2 && sum >= floor) {
					break
				}
				next := -1
				for _, c := range p.Cells {
					if !hidden[c] && counts[c] > 0 && (next < 0 || counts[c] < counts[next]) {
						next = c
					}
				}
				if next < 0 {
					break // only zeros are left: the hidden ones add up to the shown total, which is at least the floor
				}
				hidden[next], changed = true, true
			}
		}
	}
	return hidden
}
