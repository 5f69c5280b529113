package config

import "time"

// Marketing is the [marketing] section: segments, campaign reports and
// what they may show (docs/SEGMENTS.md).
type Marketing struct {
	// SmallCellFloor is the smallest group a count may reveal to a
	// principal without phi:read: smaller counts read "fewer than" the
	// floor, and such segments show no member page and cannot be exported
	// without phi:read (1 to 1000; 1 shows every count). Default: 11.
	SmallCellFloor int `toml:"small_cell_floor" doc:"smallest group a count may reveal to a principal without phi:read: smaller counts read \"fewer than\" the floor, and such segments show no member page and cannot be exported without phi:read (1 to 1000; 1 shows every count)"`
	// SegmentWatchInterval is how often dynamic segments watched by
	// segment_in workflow triggers are evaluated again to find contacts
	// who entered them (at least 1s): the longest a contact waits between
	// matching and starting the workflow (docs/SEGMENTS.md, "Entering a
	// dynamic segment"). Default: "1m".
	SegmentWatchInterval Duration `toml:"segment_watch_interval" doc:"how often dynamic segments watched by segment_in workflow triggers are evaluated again to find contacts who entered them (at least 1s)"`
}

func defaultMarketing() Marketing {
	return Marketing{SmallCellFloor: 11, SegmentWatchInterval: Duration(time.Minute)}
}

func (c *Config) validateMarketing(ch *check) {
	if f := c.Marketing.SmallCellFloor; f < 1 || f > 1000 {
		ch.add("marketing.small_cell_floor", "%d is not between 1 and 1000", f)
	}
	ch.atLeast("marketing.segment_watch_interval", c.Marketing.SegmentWatchInterval, Duration(time.Second))
}
