package template

import (
	"sync"
	"time"
)

// Data is what a template sees when it runs for one contact:
//
//	.Contact.ID .Contact.Email .Contact.FirstName .Contact.LastName
//	.Contact.Phone .Contact.Timezone .Contact.Locale
//	.Contact.Fields.<name>     custom fields by name (index .Contact.Fields "a-b" for odd names)
//	.Now                       the send time, in the contact's timezone
//	.Links.Unsubscribe         the one-click unsubscribe page (package tracking)
//	.Links.Preferences         the preference page
//
// The campaign engine fills it from package contact through NewData, once
// per recipient; preview fills it from the sample contact of the request.
type Data struct {
	Contact Contact
	Now     time.Time
	Links   Links
}

// Contact is one recipient's fields. Field values are string, float64,
// bool, Date (a calendar date: birth date, last visit), time.Time (an
// instant: an appointment) or []string (a list field); NewData normalizes
// other numeric types to float64.
type Contact struct {
	ID        string
	Email     string
	FirstName string
	LastName  string
	Phone     string
	// Timezone is an IANA zone name ("America/Chicago"); dates and times
	// are shown in it. Empty or unknown means UTC.
	Timezone string
	Locale   string
	Fields   map[string]any
}

// Links are carepost's own links a template may place (they are never
// rewritten for click tracking).
type Links struct {
	Unsubscribe string
	Preferences string
}

// Date is a calendar date without a time of day or zone. It formats the
// same everywhere: a last visit on March 3 is March 3 in every timezone.
type Date struct {
	Year  int
	Month time.Month
	Day   int
}

// DateOf returns the calendar date of t in t's location.
func DateOf(t time.Time) Date {
	y, m, d := t.Date()
	return Date{Year: y, Month: m, Day: d}
}

// ParseDate reads an ISO 8601 calendar date ("2025-03-01").
func ParseDate(s string) (Date, error) {
	t, err := time.Parse(time.DateOnly, s)
	if err != nil {
		return Date{}, err
	}
	return DateOf(t), nil
}

// IsZero reports whether d is the zero Date.
func (d Date) IsZero() bool { return d == Date{} }

// Time returns midnight UTC of d, for formatting and comparisons.
func (d Date) Time() time.Time { return time.Date(d.Year, d.Month, d.Day, 0, 0, 0, 0, time.UTC) }

// String formats d as ISO 8601 (2006-01-02).
func (d Date) String() string {
	if d.IsZero() {
		return ""
	}
	return d.Time().Format(time.DateOnly)
}

// NewData prepares the data for one contact: instants (time.Time values and
// now) move into the contact's timezone so that the date function shows
// local times, and numbers become float64 so templates compare them
// uniformly. The contact's Fields map is copied, never changed.
func NewData(c Contact, now time.Time, links Links) Data {
	loc := Location(c.Timezone)
	if len(c.Fields) > 0 {
		fields := make(map[string]any, len(c.Fields))
		for k, v := range c.Fields {
			fields[k] = normalize(v, loc)
		}
		c.Fields = fields
	}
	return Data{Contact: c, Now: now.In(loc), Links: links}
}

func normalize(v any, loc *time.Location) any {
	switch x := v.(type) {
	case time.Time:
		return x.In(loc)
	case *time.Time:
		if x == nil {
			return nil
		}
		return x.In(loc)
	case int:
		return float64(x)
	case int64:
		return float64(x)
	case int32:
		return float64(x)
	case float32:
		return float64(x)
	case uint:
		return float64(x)
	case uint64:
		return float64(x)
	}
	return v
}

// locations caches time.LoadLocation, which reads the zone database each
// time it is called: a campaign looks up the same few zones 100,000 times.
var locations sync.Map // name → *time.Location

// Location returns the named IANA zone, or UTC when name is empty or
// unknown (an unknown zone is a data problem that must not stop a send).
func Location(name string) *time.Location {
	if name == "" {
		return time.UTC
	}
	if l, ok := locations.Load(name); ok {
		return l.(*time.Location)
	}
	l, err := time.LoadLocation(name)
	if err != nil {
		l = time.UTC
	}
	locations.Store(name, l)
	return l
}
