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
// figure between 1 and the small-cell floor is suppressed.
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
	cnt := func(n int64) Count {
		if floor > 0 && n > 0 && n < int64(floor) {
			return Count{Suppressed: true}
		}
		return Count{N: n}
	}
	rep := Report{CampaignID: r.ID, State: State(r.State), Floor: floor, Targeted: cnt(r.Targeted),
		Skipped: map[string]Count{}, Delivery: map[string]Count{}, Methods: map[string]Count{}}
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
	if r.State == string(Cancelled) {
		rep.Cancelled = cnt(pending)
	} else {
		rep.Pending = cnt(pending)
	}
	rep.Sent = cnt(sent)
	for _, reason := range SkipReasons {
		rep.Skipped[reason] = cnt(skipped[reason])
	}
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
	for _, st := range DeliveryStates {
		rep.Delivery[st] = cnt(states[st])
	}
	for _, m := range Methods {
		rep.Methods[m] = cnt(methods[m])
	}
	if err := s.engagement(ctx, &rep, a.orgID, campaignID, cnt); err != nil {
		return Report{}, err
	}
	return rep, nil
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

// engagement adds the tracking counters.
func (s *Service) engagement(ctx context.Context, rep *Report, orgID, campaignID string, cnt func(int64) Count) error {
	tr, err := s.deps.Tracking.Report(ctx, orgID, campaignID)
	if err != nil {
		return err
	}
	eng := func(total, unique, machine int64) Engagement {
		return Engagement{Total: cnt(total), Unique: cnt(unique), Machine: cnt(machine)}
	}
	rep.Opens = eng(tr.Opens.Total, tr.Opens.Unique, tr.Opens.Machine)
	rep.Clicks = eng(tr.Clicks.Total, tr.Clicks.Unique, tr.Clicks.Machine)
	rep.Unsubscribes, rep.Complaints = cnt(tr.Unsubscribes), cnt(tr.Complaints)
	if len(tr.Links) == 0 {
		rep.Links = []LinkReport{}
		return nil
	}
	table, err := s.deps.Tracking.LinkTable(ctx, orgID, campaignID)
	if err != nil {
		return err
	}
	for _, l := range tr.Links {
		u, _ := table.URL(l.Index)
		rep.Links = append(rep.Links, LinkReport{Index: l.Index, URL: u, Engagement: eng(l.Total, l.Unique, l.Machine)})
	}
	return nil
}
