package workflow

import (
	"encoding/json"
	"slices"
	"testing"
)

// A step's small figures are withheld, and so is what would give one back:
// entered − current − completed − (the contacts who went on, which the next
// step shows) is the dropoffs.
func TestSuppressStepWithholdsWhatSubtractionGivesBack(t *testing.T) {
	for _, c := range []struct {
		name string
		in   StepReport
		want []string
	}{
		{"nothing small", StepReport{Entered: 100, Current: 80, Dropoffs: 20, Sends: 100, Opens: 40, Clicks: 12}, nil},
		{"small dropoffs take current with them", StepReport{Entered: 100, Current: 80, Dropoffs: 2, Sends: 100, Opens: 40, Clicks: 12},
			[]string{"current", "dropoffs"}},
		{"two small ones that add up below the floor", StepReport{Entered: 100, Current: 60, Dropoffs: 3, Completed: 4, Sends: 100, Opens: 40, Clicks: 12},
			[]string{"current", "dropoffs", "completed"}},
		{"small step", StepReport{Entered: 5, Current: 5, Sends: 5, Opens: 1}, []string{"entered", "current", "sends", "opens"}},
	} {
		t.Run(c.name, func(t *testing.T) {
			r := c.in
			suppressStep(&r, 11)
			if !slices.Equal(r.Hidden, c.want) {
				t.Fatalf("hidden %v, want %v", r.Hidden, c.want)
			}
			b, err := r.MarshalJSON()
			var doc map[string]any
			if err != nil || json.Unmarshal(b, &doc) != nil {
				t.Fatalf("json: %s, %v", b, err)
			}
			for _, f := range []string{"entered", "current", "dropoffs", "completed", "sends", "opens", "clicks"} {
				v, ok := doc[f]
				if !ok || (v == nil) != slices.Contains(c.want, f) {
					t.Fatalf("%s reads %v in %s", f, v, b)
				}
			}
		})
	}
}
