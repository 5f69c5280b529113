package workflow

import (
	"context"
	"strconv"
	"time"

	"github.com/carepost/carepost/internal/contact"
	"github.com/carepost/carepost/internal/store"
	"github.com/carepost/carepost/internal/template"
)

// Date triggers: a contact enters when a date field reaches its yearly
// milestone — the field's month and day this year, moved by offset_days,
// at the trigger's time of day in the contact's timezone — on that local
// day. The job runs every Options.MilestoneInterval and scans the
// contacts of organizations that have date-triggered workflows (PHI date
// fields such as a birth date are sealed, so the scan opens each contact:
// the cost is linear in contacts, once per interval).
//
// QUIRK: no re-entry is per occurrence for date triggers. A birthday
// workflow would otherwise greet a contact once in a lifetime; its runs
// are keyed by the milestone's year, so each year enrols the contact once
// and a second run within the year is refused like any re-entry.

// milestone is when the field's milestone of the year y occurs in loc.
func milestone(field time.Time, y int, offsetDays int, atClock string, loc *time.Location) time.Time {
	if atClock == "" {
		atClock = "09:00"
	}
	mins := minutes(atClock)
	return time.Date(y, field.Month(), field.Day()+offsetDays, mins/60, mins%60, 0, 0, loc)
}

// dueMilestone reports whether the milestone is today (local) and its time
// has come, and its occurrence key.
func dueMilestone(field, now time.Time, t Trigger, tz string) (string, bool) {
	loc := template.Location(tz)
	local := now.In(loc)
	for _, y := range []int{local.Year() - 1, local.Year(), local.Year() + 1} {
		m := milestone(field, y, t.OffsetDays, t.At, loc)
		my, mm, md := m.Date()
		ly, lm, ld := local.Date()
		if my == ly && mm == lm && md == ld && !now.Before(m) {
			return strconv.Itoa(y), true
		}
	}
	return "", false
}

// RunMilestones enrols every contact whose date-trigger milestone is due,
// and returns how many entered.
func (s *Service) RunMilestones(ctx context.Context) (int, error) {
	triggers, err := store.TriggersOfKind(ctx, s.deps.DB.Reader(), TriggerDate)
	if err != nil {
		return 0, err
	}
	type wf struct {
		id string
		t  Trigger
	}
	byOrg := map[string][]wf{}
	for _, tr := range triggers {
		org, wid := tr[0], tr[2]
		row, err := store.GetWorkflow(ctx, s.deps.DB.Reader(), org, wid)
		if err != nil {
			return 0, err
		}
		d, err := s.definition(ctx, s.deps.DB.Reader(), org, wid, row.CurrentVersion)
		if err != nil {
			return 0, err
		}
		byOrg[org] = append(byOrg[org], wf{wid, d.Trigger})
	}
	total := 0
	now := s.now()
	for org, wfs := range byOrg {
		type key struct{ wid, occ string }
		due := map[key][]string{}
		err := s.deps.Contacts.Scan(ctx, org, func(c contact.Contact) error {
			for _, w := range wfs {
				v, ok := c.Fields[w.t.Field]
				if !ok || v.Type != contact.TypeDate {
					continue
				}
				if occ, ok := dueMilestone(v.Date, now, w.t, c.Timezone); ok {
					k := key{w.id, occ}
					due[k] = append(due[k], c.ID)
				}
			}
			return nil
		})
		if err != nil {
			return total, err
		}
		for k, ids := range due {
			for start := 0; start < len(ids); start += s.opts.EnrolPage {
				part := ids[start:min(start+s.opts.EnrolPage, len(ids))]
				err := s.deps.DB.Tx(ctx, func(tx *store.Tx) error {
					n, err := s.enrolTx(ctx, tx, org, k.wid, part, k.occ, "date:"+k.occ)
					total += n
					return err
				})
				if err != nil {
					return total, err
				}
			}
		}
	}
	return total, nil
}
