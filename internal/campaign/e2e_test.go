package campaign_test

import (
	"context"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/carepost/carepost/internal/access"
	"github.com/carepost/carepost/internal/app"
	"github.com/carepost/carepost/internal/auth"
	"github.com/carepost/carepost/internal/campaign"
	"github.com/carepost/carepost/internal/config"
	"github.com/carepost/carepost/internal/store"
	"github.com/carepost/carepost/internal/store/storetest"
)

// TestScheduledCampaignRunsOnTheJobEngine schedules a campaign in a
// timezone and lets the node's job client do everything: the start job at
// the send time, the prepare job, the batch jobs, delivery (demo mode
// captures). The report then counts every message delivered.
func TestScheduledCampaignRunsOnTheJobEngine(t *testing.T) {
	t.Parallel()
	storetest.Each(t, func(t *testing.T, d store.Driver) {
		e := setup(t, d, nil)
		ids := e.contacts(append(people(12), person{local: "nocon"})...)
		e.run()
		ctx := context.Background()
		svc := e.a.Campaigns
		name, from, tpl := "Scheduled", sender, e.tpl
		c, err := svc.Create(ctx, e.admin(), campaign.Input{Name: &name, FromEmail: &from, TemplateID: &tpl,
			Audience: &campaign.Audience{Lists: []string{e.list}}})
		if err != nil {
			t.Fatal(err)
		}
		chicago, _ := time.LoadLocation("America/Chicago")
		at := time.Now().Add(2 * time.Second).In(chicago).Truncate(time.Second)
		c, err = svc.Schedule(ctx, e.admin(), c.ID, campaign.ScheduleInput{SendAt: at.Format("2006-01-02T15:04:05"), Timezone: "America/Chicago"})
		if err != nil {
			t.Fatal(err)
		}
		if c.State != campaign.Scheduled || !c.SendAt.Equal(at) || c.Timezone != "America/Chicago" {
			t.Fatalf("scheduled: %s at %v in %q, want %v", c.State, c.SendAt, c.Timezone, at)
		}
		deadline := time.Now().Add(60 * time.Second)
		for {
			c = e.get(c.ID)
			rep := e.report(c.ID, e.admin())
			if c.State == campaign.Completed && rep.Delivery["delivered"].N == 12 {
				if rep.Targeted.N != 13 || rep.Sent.N != 12 || rep.Skipped[campaign.SkipNoConsent].N != 1 || rep.Methods["tls"].N != 12 {
					t.Fatalf("report: %+v", rep)
				}
				break
			}
			if time.Now().After(deadline) {
				t.Fatalf("campaign %s, report %+v", c.State, rep.Delivery)
			}
			time.Sleep(50 * time.Millisecond)
		}
		delete(ids, "nocon")
		oneMessageEach(t, e, c.ID, ids)
		if n := e.count(`SELECT count(*) FROM demo_messages WHERE org_id = ?`, e.org); n != 12 {
			t.Fatalf("%d messages captured, want 12", n)
		}
	})
}

// TestReportHidesSmallCellsWithoutPHIRead: a viewer with reports:read only
// sees figures below the floor as suppressed, and the figure that would
// give one back by subtraction too (13 targeted − 12 sent = the one
// contact without consent, so "sent" is hidden with it); one with
// phi:read sees them all.
func TestReportHidesSmallCellsWithoutPHIRead(t *testing.T) {
	t.Parallel()
	e := setup(t, storetest.Default(), nil)
	e.contacts(append(people(12), person{local: "nocon"})...)
	c := e.send(e.create(nil))
	analyst := campaign.As(auth.Principal{OrgID: e.org, UserID: "usr_analyst", Perms: access.NewSet(access.ReportsRead)})
	rep := e.report(c.ID, analyst)
	if rep.Floor != 11 || rep.Targeted.N != 13 || !rep.Sent.Suppressed || rep.Sent.N != 0 || !rep.Skipped[campaign.SkipNoConsent].Suppressed ||
		rep.Skipped[campaign.SkipNoConsent].N != 0 || rep.Skipped[campaign.SkipBounced].Suppressed {
		t.Fatalf("analyst report: floor %d targeted %+v sent %+v no_consent %+v bounced %+v", rep.Floor, rep.Targeted, rep.Sent,
			rep.Skipped[campaign.SkipNoConsent], rep.Skipped[campaign.SkipBounced])
	}
	full := e.report(c.ID, e.admin())
	if full.Floor != 0 || full.Skipped[campaign.SkipNoConsent].N != 1 || full.Skipped[campaign.SkipNoConsent].Suppressed || full.Sent.N != 12 {
		t.Fatalf("phi:read report: %+v", full.Skipped)
	}
	marketer := campaign.As(auth.Principal{OrgID: e.org, UserID: "usr_sender", Perms: access.NewSet(access.MessagesSend)})
	if _, err := e.svc.Report(context.Background(), marketer, c.ID); err != auth.ErrForbidden {
		t.Fatalf("a sender without reports:read read a report: %v", err)
	}
}

// TestCampaignInputIsChecked: a campaign that says it uses no PHI with a
// template that reads PHI fields, an unverified From domain, a list of
// another organization or an unknown template are refused naming the
// field, and nothing is stored.
func TestCampaignInputIsChecked(t *testing.T) {
	t.Parallel()
	e := setup(t, storetest.Default(), nil)
	ctx := context.Background()
	no := false
	name, from, bad, tpl, missing := "Newsletter", sender, "news@unverified.test", e.tpl, "tpl_nope"
	cases := []struct {
		in    campaign.Input
		field string
	}{
		{campaign.Input{Name: &name, FromEmail: &from, TemplateID: &tpl, Audience: &campaign.Audience{Lists: []string{e.list}}, UsesPHI: &no}, "uses_phi"},
		{campaign.Input{Name: &name, FromEmail: &bad, TemplateID: &tpl, Audience: &campaign.Audience{Lists: []string{e.list}}}, "from_email"},
		{campaign.Input{Name: &name, FromEmail: &from, TemplateID: &missing, Audience: &campaign.Audience{Lists: []string{e.list}}}, "template_id"},
		{campaign.Input{Name: &name, FromEmail: &from, TemplateID: &tpl, Audience: &campaign.Audience{Lists: []string{"lst_elsewhere"}}}, "audience.lists[0]"},
		{campaign.Input{Name: &name, FromEmail: &from, TemplateID: &tpl, Audience: &campaign.Audience{Segments: []string{"seg_1"}}}, "audience.segments[0]"},
		{campaign.Input{FromEmail: &from, TemplateID: &tpl, Audience: &campaign.Audience{Lists: []string{e.list}}}, "name"},
	}
	for _, c := range cases {
		_, err := e.svc.Create(ctx, e.admin(), c.in)
		if err == nil || !strings.Contains(err.Error(), c.field+":") {
			t.Errorf("want a problem with %s, got %v", c.field, err)
		}
	}
	if n := e.count(`SELECT count(*) FROM campaigns`); n != 0 {
		t.Fatalf("%d campaigns stored from bad input", n)
	}
	// A template that reads no PHI may say so.
	plain := e.template(`<p>Flu shots are in. <a href="https://clinic.example/flu">Book</a> <a href="{{.Links.Unsubscribe}}">Unsubscribe</a></p>`)
	if _, err := e.svc.Create(ctx, e.admin(), campaign.Input{Name: &name, FromEmail: &from, TemplateID: &plain,
		Audience: &campaign.Audience{Lists: []string{e.list}}, UsesPHI: &no}); err != nil {
		t.Fatalf("a PHI-free campaign: %v", err)
	}
}

func TestScheduleInput(t *testing.T) {
	t.Parallel()
	e := setup(t, storetest.Default(), nil)
	ctx := context.Background()
	c := e.create(nil)
	future := e.clock.Now().Add(48 * time.Hour)
	cases := []struct {
		in    campaign.ScheduleInput
		field string // "" accepted
		at    time.Time
	}{
		{campaign.ScheduleInput{SendAt: future.In(time.UTC).Format(time.RFC3339)}, "", future.Truncate(time.Second)},
		{campaign.ScheduleInput{SendAt: "2099-03-02T09:00", Timezone: "America/New_York"}, "", time.Date(2099, 3, 2, 14, 0, 0, 0, time.UTC)},
		{campaign.ScheduleInput{SendAt: "2099-07-02 09:00", Timezone: "America/New_York"}, "", time.Date(2099, 7, 2, 13, 0, 0, 0, time.UTC)},
		{campaign.ScheduleInput{SendAt: "2099-03-02T09:00"}, "timezone", time.Time{}},
		{campaign.ScheduleInput{SendAt: "2099-03-02T09:00", Timezone: "Mars/Olympus"}, "timezone", time.Time{}},
		{campaign.ScheduleInput{SendAt: "next tuesday", Timezone: "UTC"}, "send_at", time.Time{}},
		{campaign.ScheduleInput{SendAt: "2001-01-01T09:00", Timezone: "UTC"}, "send_at", time.Time{}},
	}
	for _, tc := range cases {
		got, err := e.svc.Schedule(ctx, e.admin(), c.ID, tc.in)
		switch {
		case tc.field == "" && err != nil:
			t.Errorf("%+v: %v", tc.in, err)
		case tc.field == "" && !got.SendAt.Equal(tc.at):
			t.Errorf("%+v: send at %v, want %v", tc.in, got.SendAt, tc.at)
		case tc.field != "" && (err == nil || !strings.HasPrefix(err.Error(), tc.field+":")):
			t.Errorf("%+v: %v, want a problem with %s", tc.in, err, tc.field)
		}
	}
}

// TestBatchesRunOnTheirOwnQueue: batch jobs go on the campaign queue, and
// a node runs no more of them at once than jobs.campaign_workers — with
// one, the chunks of different batches never interleave, while the
// default queue's workers stay free for delivery, which completes.
func TestBatchesRunOnTheirOwnQueue(t *testing.T) {
	t.Parallel()
	storetest.Each(t, func(t *testing.T, d store.Driver) {
		var mu sync.Mutex
		var order []int
		e := setupWith(t, d, setupOptions{
			app: app.Options{Campaign: func(o *campaign.Options) {
				o.BatchSize, o.Chunk = 3, 1
				o.AfterChunk = func(_ string, batch int) error {
					mu.Lock()
					defer mu.Unlock()
					order = append(order, batch)
					time.Sleep(5 * time.Millisecond) // room for another batch to interleave
					return nil
				}
			}},
			config: func(c *config.Config) { c.Jobs.CampaignWorkers = 1 },
		})
		e.contacts(people(12)...)
		e.run()
		name, from, tpl := "Queued", sender, e.tpl
		c, err := e.a.Campaigns.Create(context.Background(), e.admin(), campaign.Input{Name: &name, FromEmail: &from, TemplateID: &tpl,
			Audience: &campaign.Audience{Lists: []string{e.list}}})
		if err != nil {
			t.Fatal(err)
		}
		if _, err := e.a.Campaigns.Send(context.Background(), e.admin(), c.ID); err != nil {
			t.Fatal(err)
		}
		deadline := time.Now().Add(60 * time.Second)
		for {
			rep := e.report(c.ID, e.admin())
			if e.get(c.ID).State == campaign.Completed && rep.Delivery["delivered"].N == 12 {
				break
			}
			if time.Now().After(deadline) {
				t.Fatalf("campaign %s, delivery %+v", e.get(c.ID).State, rep.Delivery)
			}
			time.Sleep(50 * time.Millisecond)
		}
		if n := e.count(`SELECT count(*) FROM river_job WHERE kind = 'campaign_batch' AND queue <> ?`, campaign.BatchQueue); n != 0 ||
			e.count(`SELECT count(*) FROM river_job WHERE kind = 'campaign_batch'`) != 4 {
			t.Fatalf("%d batch jobs off the %s queue (of %d)", n, campaign.BatchQueue, e.count(`SELECT count(*) FROM river_job WHERE kind = 'campaign_batch'`))
		}
		mu.Lock()
		defer mu.Unlock()
		finished := map[int]bool{} // batches another one has followed
		for i, b := range order {
			if i > 0 && order[i-1] != b {
				finished[order[i-1]] = true
			}
			if finished[b] {
				t.Fatalf("chunks of batches interleaved with one campaign worker: %v", order)
			}
		}
		if len(order) != 12 {
			t.Fatalf("%d chunks, want 12: %v", len(order), order)
		}
	})
}
