package access

import (
	"slices"
	"testing"
)

// TestSuppressCells: a hidden count whose partition total is shown takes
// a complement with it, the smallest shown one; two small counts that
// together stay under the floor take a third; a zero is never hidden;
// a partition whose total is hidden needs nothing more; overlapping
// partitions are settled together.
func TestSuppressCells(t *testing.T) {
	for _, tc := range []struct {
		name   string
		counts []int64
		parts  []Partition
		want   []bool
	}{
		{"one small cell takes the smallest complement",
			[]int64{100, 90, 5, 0, 5 + 0 + 0}, []Partition{{Total: 0, Cells: []int{1, 2, 3}}},
			[]bool{false, true, true, false, true}},
		{"two small cells adding to less than the floor take a third",
			[]int64{100, 80, 3, 4, 13}, []Partition{{Total: 0, Cells: []int{1, 2, 3, 4}}},
			[]bool{false, false, true, true, true}},
		{"two small cells adding to the floor are enough",
			[]int64{100, 89, 5, 6}, []Partition{{Total: 0, Cells: []int{1, 2, 3}}},
			[]bool{false, false, true, true}},
		{"a hidden total needs no complement",
			[]int64{7, 5, 2}, []Partition{{Total: 0, Cells: []int{1, 2}}},
			[]bool{true, true, true}},
		{"nothing small, nothing hidden",
			[]int64{50, 20, 30, 0}, []Partition{{Total: 0, Cells: []int{1, 2, 3}}},
			[]bool{false, false, false, false}},
		{"a complement chosen in one partition is protected in the other",
			// 0 = 1+2+3; 4 = 2+5. Cell 1 (3) hides 2 (40) as its complement;
			// then 2 is alone in the second partition and hides 5.
			[]int64{143, 3, 40, 100, 90, 50}, []Partition{{Total: 0, Cells: []int{1, 2, 3}}, {Total: 4, Cells: []int{2, 5}}},
			[]bool{false, true, true, false, false, true}},
	} {
		if got := SuppressCells(tc.counts, 11, tc.parts); !slices.Equal(got, tc.want) {
			t.Errorf("%s: hidden %v, want %v", tc.name, got, tc.want)
		}
	}
	if got := SuppressCells([]int64{3, 3}, 1, []Partition{{Total: 0, Cells: []int{1}}}); slices.Contains(got, true) {
		t.Errorf("floor 1 hid %v", got)
	}
}
