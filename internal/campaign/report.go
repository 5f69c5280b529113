package campaign

import (
	"context"
	"strings"

	"github.com/carepost/carepost/internal/access"
	"github.com/carepost/carepost/internal/outbox"
	"github.com/carepost/carepost/internal/policy"
	"github.com/carepost/carepost/internal/store"
)

// Count is one figure of a report. Suppressed means the figure is between
// 1 and the small-cell floor and the viewer has no phi:read: N is then 0
// and the report shows "fewer than Floor" instead, so a report cannot
// single out a patient in a small group.
type Count struct {
	N          int64
	Suppressed bool
}

// Report is a campaign's figures, from its recipient rows, the delivery
// rows of its messages and the tracking counters.
type Report struct {
	CampaignID string
	State      State
	// Floor is the small-cell floor applied (0: none, the viewer has
	// phi:read).
	Floor int

	// Targeted contacts; Pending not yet sent to or skipped (Cancelled
	// instead when the campaign was cancelled); Sent handed to the outbox;
	// Skipped by reason (SkipReasons).
	Targeted, Pending, Cancelled, Sent Count
	Skipped                            map[string]Count

	// Delivery is the sent messages' recipients by delivery state:
	// queued, sending, deferred, delivered, bounced, failed, held,
	// portal; plus dropped (the TLS-only mode's recipients policy would
	// have sent to the portal or by e2e) and suppressed (refused by the
	// outbox as suppressed after the send-time check).
	Delivery map[string]Count
	// Methods is the delivery method mix: tls (ordinary email over
	// verified or opportunistic TLS), e2e, portal, dropped — by the
	// method the message travelled or is planned to travel by.
	Methods map[string]Count

	Opens, Clicks Engagement
	Links         []LinkReport
	Unsubscribes  Count
	Complaints    Count
}

// Engagement is an open or click figure: Total and Unique count people
// (Unique: distinct contacts), Machine the fetches by privacy proxies and
// scanners, counted apart.
type Engagement struct {
	Total, Unique, Machine Count
}

// LinkReport is one tracked link's clicks.
type LinkReport struct {
	Index int
	URL   string
	Engagement
}

// Delivery states a report counts, in order.
var DeliveryStates = []string{outbox.StateQueued, outbox.StateSending, outbox.StateDeferred, outbox.StateDelivered,
	outbox.StateBounced, outbox.StateFailed, outbox.StateHeld, outbox.StatePortal, "dropped", "suppressed"}

// Methods a report counts, in order.
var Methods = []string{"tls", "e2e", "portal", "dropped"}

// Report reads a campaign's figures. For a viewer without phi:read every
// figure between 1 and the small-cell floor is suppressed, and so are the
// complements that would give one back by subtraction
// (access.SuppressCells over the report's partitions: targeted contacts
// into pending, sent and skipped; sent messages into delivery states and
// into methods; clicks into links).
func (s *Service) Report(ctx context.Context, a Actor, campaignID string) (Report, error) {
	if err := a.canRead(); err != nil {
		return Report{}, err
	}
	q := s.deps.DB.Reader()
	r, err := store.GetCampaign(ctx, q, a.orgID, campaignID)
	if err != nil {
		return Report{}, err
	}
	floor := 0
	if !a.perms.Has(access.PHIRead) {
		floor = s.opts.SmallCellFloor
	}
	t := &table{}
	targeted := t.add(r.Targeted)
	counts, err := store.CampaignRecipientCounts(ctx, q, a.orgID, campaignID)
	if err != nil {
		return Report{}, err
	}
	var pending, sent int64
	skipped := map[string]int64{}
	for _, c := range counts {
		switch c.State {
		case "pending":
			pending += c.N
		case "sent":
			sent += c.N
		case "skipped":
			skipped[c.Reason] += c.N
		}
	}
	pendingAt, sentAt := t.add(pending), t.add(sent)
	skippedAt := map[string]int{}
	recipients := []int{pendingAt, sentAt}
	for _, reason := range SkipReasons {
		skippedAt[reason] = t.add(skipped[reason])
		recipients = append(recipients, skippedAt[reason])
	}
	t.parts = append(t.parts, access.Partition{Total: targeted, Cells: recipients})

	deliveries, err := store.CampaignDeliveryCounts(ctx, q, a.orgID, campaignID)
	if err != nil {
		return Report{}, err
	}
	states, methods := map[string]int64{}, map[string]int64{}
	for _, d := range deliveries {
		st := d.State
		switch {
		case d.Suppressed:
			st = "suppressed"
		case d.State == outbox.StateFailed && d.Methods == "":
			st = "dropped"
		}
		states[st] += d.N
		if m := methodOf(d); m != "" {
			methods[m] += d.N
		}
	}
	stateAt, methodAt := map[string]int{}, map[string]int{}
	var byState, byMethod []int
	for _, st := range DeliveryStates {
		stateAt[st] = t.add(states[st])
		byState = append(byState, stateAt[st])
	}
	for _, m := range Methods {
		methodAt[m] = t.add(methods[m])
		byMethod = append(byMethod, methodAt[m])
	}
	// A message refused as suppressed has no method: methods and it add
	// up to the sent messages.
	t.parts = append(t.parts, access.Partition{Total: sentAt, Cells: byState},
		access.Partition{Total: sentAt, Cells: append(byMethod, stateAt["suppressed"])})
	eng, err := s.engagement(ctx, t, a.orgID, campaignID)
	if err != nil {
		return Report{}, err
	}

	t.hidden = access.SuppressCells(t.counts, int64(floor), t.parts)
	rep := Report{CampaignID: r.ID, State: State(r.State), Floor: floor, Targeted: t.count(targeted), Sent: t.count(sentAt),
		Skipped: map[string]Count{}, Delivery: map[string]Count{}, Methods: map[string]Count{}}
	if r.State == string(Cancelled) {
		rep.Cancelled = t.count(pendingAt)
	} else {
		rep.Pending = t.count(pendingAt)
	}
	for _, reason := range SkipReasons {
		rep.Skipped[reason] = t.count(skippedAt[reason])
	}
	for _, st := range DeliveryStates {
		rep.Delivery[st] = t.count(stateAt[st])
	}
	for _, m := range Methods {
		rep.Methods[m] = t.count(methodAt[m])
	}
	eng.fill(&rep, t)
	return rep, nil
}

// table gathers a report's raw figures and the partitions among them,
// so suppression is decided over the whole report at once.
type table struct {
	counts []int64
	parts  []access.Partition
	hidden []bool
}

// add appends a figure and returns its index.
func (t *table) add(n int64) int {
	t.counts = append(t.counts, n)
	return len(t.counts) - 1
}

func (t *table) count(i int) Count {
	if t.hidden[i] {
		return Count{Suppressed: true}
	}
	return Count{N: t.counts[i]}
}

// methodOf is the method a recipient travelled (or will travel) by: the
// portal once handed to it, else the policy's first method; "" for a
// recipient refused as suppressed.
func methodOf(d store.CampaignDeliveryCount) string {
	if d.Suppressed {
		return ""
	}
	if d.State == outbox.StatePortal {
		return "portal"
	}
	first, _, _ := strings.Cut(d.Methods, ",")
	switch policy.Level(first) {
	case "":
		return "dropped"
	case policy.VerifiedTLS, policy.Opportunistic:
		return "tls"
	case policy.E2E:
		return "e2e"
	case policy.Portal:
		return "portal"
	}
	return ""
}

// engagementAt is where the tracking figures sit in a report's table.
type engagementAt struct {
	opens, clicks            [3]int // total, unique, machine
	unsubscribes, complaints int
	links                    []LinkReport
	linkAt                   [][3]int
}

func (e *engagementAt) fill(rep *Report, t *table) {
	eng := func(at [3]int) Engagement {
		return Engagement{Total: t.count(at[0]), Unique: t.count(at[1]), Machine: t.count(at[2])}
	}
	rep.Opens, rep.Clicks = eng(e.opens), eng(e.clicks)
	rep.Unsubscribes, rep.Complaints = t.count(e.unsubscribes), t.count(e.complaints)
	rep.Links = e.links
	for i := range rep.Links {
		rep.Links[i].Engagement = eng(e.linkAt[i])
	}
}

// engagement adds the tracking counters to the table; the links' total
// clicks add up to the campaign's.
func (s *Service) engagement(ctx context.Context, t *table, orgID, campaignID string) (*engagementAt, error) {
	tr, err := s.deps.Tracking.Report(ctx, orgID, campaignID)
	if err != nil {
		return nil, err
	}
	three := func(total, unique, machine int64) [3]int { return [3]int{t.add(total), t.add(unique), t.add(machine)} }
	e := &engagementAt{opens: three(tr.Opens.Total, tr.Opens.Unique, tr.Opens.Machine),
		clicks: three(tr.Clicks.Total, tr.Clicks.Unique, tr.Clicks.Machine), links: []LinkReport{}}
	e.unsubscribes, e.complaints = t.add(tr.Unsubscribes), t.add(tr.Complaints)
	if len(tr.Links) == 0 {
		return e, nil
	}
	table, err := s.deps.Tracking.LinkTable(ctx, orgID, campaignID)
	if err != nil {
		return nil, err
	}
	var totals []int
	for _, l := range tr.Links {
		u, _ := table.URL(l.Index)
		e.links = append(e.links, LinkReport{Index: l.Index, URL: u})
		at := three(l.Total, l.Unique, l.Machine)
		e.linkAt = append(e.linkAt, at)
		totals = append(totals, at[0])
	}
	t.parts = append(t.parts, access.Partition{Total: e.clicks[0], Cells: totals})
	return e, nil
}
