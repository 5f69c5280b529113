package workflow

import (
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/carepost/carepost/internal/template"
)

var weekdays = map[string]time.Weekday{
	"sun": time.Sunday, "mon": time.Monday, "tue": time.Tuesday, "wed": time.Wednesday,
	"thu": time.Thursday, "fri": time.Friday, "sat": time.Saturday,
}

// ContactTimezone is the Window.Timezone that means the contact's own.
const ContactTimezone = "contact"

// check validates a window; "" when it is fine.
func (w *Window) check() string {
	for _, d := range w.Days {
		if _, ok := weekdays[strings.ToLower(d)]; !ok {
			return "days are mon, tue, wed, thu, fri, sat, sun"
		}
	}
	for _, d := range w.MonthDays {
		if d < 1 || d > 31 {
			return "month_days are 1 to 31"
		}
	}
	if !clockPattern.MatchString(w.From) || w.From == "24:00" || !clockPattern.MatchString(w.To) {
		return "from and to are times of day HH:MM (to may be 24:00)"
	}
	if minutes(w.To) <= minutes(w.From) {
		return "to must be after from"
	}
	if w.Timezone == "" {
		return `timezone is required: an IANA name such as "America/Chicago", or "contact"`
	}
	if w.Timezone != ContactTimezone && !knownZone(w.Timezone) {
		return "timezone is not a known IANA timezone"
	}
	return ""
}

// zones remembers known zone names (a few hundred at most; unknown names
// are not kept): time.LoadLocation reads the zone database on each call.
var zones sync.Map

func knownZone(name string) bool {
	if _, ok := zones.Load(name); ok {
		return true
	}
	if _, err := time.LoadLocation(name); err != nil {
		return false
	}
	zones.Store(name, true)
	return true
}

func minutes(hhmm string) int {
	h, _ := strconv.Atoi(hhmm[:2])
	m, _ := strconv.Atoi(hhmm[3:])
	return h*60 + m
}

// at is the instant of the local clock time hhmm on the given day in loc.
// A time the day skips (a spring-forward gap) is the first instant after
// the gap, as time.Date normalizes it; "24:00" is the next midnight.
func at(y int, m time.Month, d int, hhmm string, loc *time.Location) time.Time {
	mins := minutes(hhmm)
	return time.Date(y, m, d, mins/60, mins%60, 0, 0, loc)
}

// Next is the first instant at or after t inside the window. Day and time
// are read on the wall clock of the window's timezone, so "noon to 2 PM
// Central" is noon to 2 PM on either side of a daylight-saving change.
// contactTZ is the contact's timezone for Timezone "contact". ok is false
// when no day in the coming 400 matches (month day 31 in no month never
// happens: every year has one).
func (w *Window) Next(t time.Time, contactTZ string) (time.Time, bool) {
	if w.check() != "" {
		return time.Time{}, false
	}
	loc := w.location(contactTZ)
	local := t.In(loc)
	days := make([]time.Weekday, 0, len(w.Days))
	for _, d := range w.Days {
		days = append(days, weekdays[strings.ToLower(d)])
	}
	y, m, d := local.Date()
	for i := 0; i < 400; i++ {
		day := time.Date(y, m, d+i, 12, 0, 0, 0, loc)
		if len(days) > 0 && !slices.Contains(days, day.Weekday()) {
			continue
		}
		if len(w.MonthDays) > 0 && !slices.Contains(w.MonthDays, day.Day()) {
			continue
		}
		dy, dm, dd := day.Date()
		start, end := at(dy, dm, dd, w.From, loc), at(dy, dm, dd, w.To, loc)
		switch {
		case t.Before(start):
			return start, true
		case t.Before(end):
			return t, true
		}
	}
	return time.Time{}, false
}

func (w *Window) location(contactTZ string) *time.Location {
	if w.Timezone == ContactTimezone {
		return template.Location(contactTZ)
	}
	return template.Location(w.Timezone)
}

// dueAt is when a contact that reached a wait step at arrived may go on:
// arrived + Duration, then no earlier than Until, then no earlier than the
// relative time (when the contact has the field), then the window's next
// opening. field is the contact's value of RelativeTo.Field (zero when
// unset). ok is false when the window never opens.
func (w Wait) dueAt(arrived time.Time, field time.Time, contactTZ string) (time.Time, bool) {
	t := arrived.Add(w.Duration.D())
	if !w.Until.IsZero() && w.Until.After(t) {
		t = w.Until
	}
	if w.RelativeTo != nil && !field.IsZero() {
		if r := field.Add(w.RelativeTo.Offset.D()); r.After(t) {
			t = r
		}
	}
	if w.Window != nil {
		return w.Window.Next(t, contactTZ)
	}
	return t, true
}
