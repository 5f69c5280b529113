package api

import (
	"errors"
	"net/http"
	"strconv"
	"time"

	"github.com/carepost/carepost/internal/access"
	"github.com/carepost/carepost/internal/campaign"
	"github.com/carepost/carepost/internal/httpserver"
	"github.com/carepost/carepost/internal/outbox"
	"github.com/carepost/carepost/internal/webauth"
)

// Campaigns: CRUD of drafts, the life-cycle actions, test sends and the
// report. Reads (list, get, report) need campaigns:write or reports:read,
// which package campaign checks.

func (s *Server) campaignRoutes() []Route {
	const get, post, patch, del = http.MethodGet, http.MethodPost, http.MethodPatch, http.MethodDelete
	w := access.CampaignsWrite
	return []Route{
		{Method: get, Path: "/campaigns", Tag: "campaigns", Summary: "The organization's campaigns, newest first (cursor=, limit= ≤ 200; campaigns:write or reports:read)", Response: "CampaignList", handler: s.listCampaigns},
		{Method: post, Path: "/campaigns", Tag: "campaigns", Perm: w, Summary: "Create a draft campaign: name, From in a verified sender domain, template version, audience (lists and/or segments), throttle, security (auto or tls_only), uses_phi", Request: "CampaignInput", Response: "Campaign", Status: http.StatusCreated, handler: s.createCampaign},
		{Method: get, Path: "/campaigns/{id}", Tag: "campaigns", Tenant: true, Summary: "A campaign and its progress (campaigns:write or reports:read)", Response: "Campaign", handler: s.getCampaign},
		{Method: patch, Path: "/campaigns/{id}", Tag: "campaigns", Tenant: true, Perm: w, Summary: "Change a draft campaign", Request: "CampaignInput", Response: "Campaign", handler: s.updateCampaign},
		{Method: del, Path: "/campaigns/{id}", Tag: "campaigns", Tenant: true, Perm: w, Summary: "Delete a draft campaign", Status: http.StatusNoContent, handler: s.deleteCampaign},
		{Method: post, Path: "/campaigns/{id}/schedule", Tag: "campaigns", Tenant: true, Perm: w, Summary: "Schedule a draft (or reschedule a scheduled) campaign: a local time in an IANA timezone, or an RFC 3339 instant", Request: "CampaignSchedule", Response: "Campaign", handler: s.scheduleCampaign},
		{Method: post, Path: "/campaigns/{id}/send", Tag: "campaigns", Tenant: true, Perm: w, Summary: "Start a draft or scheduled campaign now", Response: "Campaign", handler: s.campaignAction(campaignSend)},
		{Method: post, Path: "/campaigns/{id}/pause", Tag: "campaigns", Tenant: true, Perm: w, Summary: "Pause a sending or scheduled campaign; nothing more is claimed once this answers", Response: "Campaign", handler: s.campaignAction(campaignPause)},
		{Method: post, Path: "/campaigns/{id}/resume", Tag: "campaigns", Tenant: true, Perm: w, Summary: "Resume a paused campaign with the contacts not yet sent to", Response: "Campaign", handler: s.campaignAction(campaignResume)},
		{Method: post, Path: "/campaigns/{id}/cancel", Tag: "campaigns", Tenant: true, Perm: w, Summary: "Cancel a scheduled, sending or paused campaign for good", Response: "Campaign", handler: s.campaignAction(campaignCancel)},
		{Method: post, Path: "/campaigns/{id}/test", Tag: "campaigns", Tenant: true, Perm: w, Summary: "Send the campaign to up to 10 addresses as a test (no tracking, no unsubscribe); contact_id renders a real contact's fields (needs phi:read; audited)", Request: "CampaignTest", Response: "CampaignTestResult", Status: http.StatusAccepted, handler: s.testCampaign},
		{Method: get, Path: "/campaigns/{id}/report", Tag: "campaigns", Tenant: true, Summary: "A campaign's figures: targeted, skipped by reason, sent, delivery states, method mix, opens, clicks per link, unsubscribes, complaints; counts below the small-cell floor are null without phi:read (campaigns:write or reports:read)", Response: "CampaignReport", handler: s.campaignReport},
	}
}

// failCampaign maps the campaign engine's errors, then the common ones.
func (s *Server) failCampaign(w http.ResponseWriter, r *http.Request, err error) {
	var se *campaign.StateError
	if errors.As(err, &se) {
		httpserver.WriteError(w, r, http.StatusConflict, "campaign_state", se.Error(), "")
		return
	}
	s.fail(w, r, err)
}

type campaignInput struct {
	Name            *string            `json:"name"`
	FromEmail       *string            `json:"from_email"`
	FromName        *string            `json:"from_name"`
	ReplyTo         *string            `json:"reply_to"`
	TemplateID      *string            `json:"template_id"`
	TemplateVersion *int               `json:"template_version"`
	Audience        *campaign.Audience `json:"audience"`
	Throttle        *int               `json:"throttle"`
	Security        *campaign.Security `json:"security"`
	UsesPHI         *bool              `json:"uses_phi"`
}

func (in campaignInput) domain() campaign.Input {
	return campaign.Input{Name: in.Name, FromEmail: in.FromEmail, FromName: in.FromName, ReplyTo: in.ReplyTo, TemplateID: in.TemplateID,
		TemplateVersion: in.TemplateVersion, Audience: in.Audience, Throttle: in.Throttle, Security: in.Security, UsesPHI: in.UsesPHI}
}

type campaignView struct {
	ID              string            `json:"id"`
	Name            string            `json:"name"`
	State           campaign.State    `json:"state"`
	StateReason     string            `json:"state_reason,omitempty"`
	FromEmail       string            `json:"from_email"`
	FromName        string            `json:"from_name"`
	ReplyTo         string            `json:"reply_to"`
	TemplateID      string            `json:"template_id"`
	TemplateVersion int               `json:"template_version"`
	Audience        campaign.Audience `json:"audience"`
	SendAt          *time.Time        `json:"send_at"`
	Timezone        string            `json:"timezone"`
	Throttle        int               `json:"throttle"`
	Security        campaign.Security `json:"security"`
	UsesPHI         bool              `json:"uses_phi"`
	Progress        struct {
		Targeted    int64 `json:"targeted"`
		Prepared    bool  `json:"prepared"`
		Batches     int   `json:"batches"`
		BatchesDone int   `json:"batches_done"`
	} `json:"progress"`
	CreatedAt  time.Time  `json:"created_at"`
	UpdatedAt  time.Time  `json:"updated_at"`
	StartedAt  *time.Time `json:"started_at"`
	FinishedAt *time.Time `json:"finished_at"`
}

func optTime(t time.Time) *time.Time {
	if t.IsZero() {
		return nil
	}
	u := t.UTC()
	return &u
}

func viewCampaign(c campaign.Campaign) campaignView {
	v := campaignView{ID: c.ID, Name: c.Name, State: c.State, StateReason: c.StateReason, FromEmail: c.From.Email, FromName: c.From.Name,
		ReplyTo: c.From.ReplyTo, TemplateID: c.TemplateID, TemplateVersion: c.TemplateVersion, Audience: c.Audience,
		SendAt: optTime(c.SendAt), Timezone: c.Timezone, Throttle: c.Throttle, Security: c.Security, UsesPHI: c.UsesPHI,
		CreatedAt: c.CreatedAt.UTC(), UpdatedAt: c.UpdatedAt.UTC(), StartedAt: optTime(c.StartedAt), FinishedAt: optTime(c.FinishedAt)}
	v.Progress.Targeted, v.Progress.Prepared, v.Progress.Batches, v.Progress.BatchesDone = c.Targeted, c.Prepared, c.Batches, c.BatchesDone
	return v
}

func (s *Server) listCampaigns(w http.ResponseWriter, r *http.Request, id webauth.Identity) {
	limit, _ := strconv.Atoi(r.URL.Query().Get("limit"))
	cs, next, err := s.deps.Campaigns.List(r.Context(), campaign.As(id.Principal), r.URL.Query().Get("cursor"), limit)
	if err != nil {
		s.failCampaign(w, r, err)
		return
	}
	out := make([]campaignView, 0, len(cs))
	for _, c := range cs {
		out = append(out, viewCampaign(c))
	}
	s.ok(w, 0, map[string]any{"campaigns": out, "next_cursor": next})
}

func (s *Server) createCampaign(w http.ResponseWriter, r *http.Request, id webauth.Identity) {
	var in campaignInput
	if err := decode(r, &in); err != nil {
		s.fail(w, r, err)
		return
	}
	c, err := s.deps.Campaigns.Create(r.Context(), campaign.As(id.Principal), in.domain())
	if err != nil {
		s.failCampaign(w, r, err)
		return
	}
	s.ok(w, http.StatusCreated, viewCampaign(c))
}

func (s *Server) getCampaign(w http.ResponseWriter, r *http.Request, id webauth.Identity) {
	c, err := s.deps.Campaigns.Get(r.Context(), campaign.As(id.Principal), r.PathValue("id"))
	if err != nil {
		s.failCampaign(w, r, err)
		return
	}
	s.ok(w, 0, viewCampaign(c))
}

func (s *Server) updateCampaign(w http.ResponseWriter, r *http.Request, id webauth.Identity) {
	var in campaignInput
	if err := decode(r, &in); err != nil {
		s.fail(w, r, err)
		return
	}
	c, err := s.deps.Campaigns.Update(r.Context(), campaign.As(id.Principal), r.PathValue("id"), in.domain())
	if err != nil {
		s.failCampaign(w, r, err)
		return
	}
	s.ok(w, 0, viewCampaign(c))
}

func (s *Server) deleteCampaign(w http.ResponseWriter, r *http.Request, id webauth.Identity) {
	if err := s.deps.Campaigns.Delete(r.Context(), campaign.As(id.Principal), r.PathValue("id")); err != nil {
		s.failCampaign(w, r, err)
		return
	}
	w.WriteHeader(http.StatusNoContent)
}

func (s *Server) scheduleCampaign(w http.ResponseWriter, r *http.Request, id webauth.Identity) {
	var in struct {
		SendAt   string `json:"send_at"`
		Timezone string `json:"timezone"`
	}
	if err := decode(r, &in); err != nil {
		s.fail(w, r, err)
		return
	}
	c, err := s.deps.Campaigns.Schedule(r.Context(), campaign.As(id.Principal), r.PathValue("id"), campaign.ScheduleInput{SendAt: in.SendAt, Timezone: in.Timezone})
	if err != nil {
		s.failCampaign(w, r, err)
		return
	}
	s.ok(w, 0, viewCampaign(c))
}

type campaignVerb int

const (
	campaignSend campaignVerb = iota
	campaignPause
	campaignResume
	campaignCancel
)

// campaignAction is the handler of a body-less life-cycle action.
func (s *Server) campaignAction(v campaignVerb) func(http.ResponseWriter, *http.Request, webauth.Identity) {
	return func(w http.ResponseWriter, r *http.Request, id webauth.Identity) {
		svc, a, cid := s.deps.Campaigns, campaign.As(id.Principal), r.PathValue("id")
		var c campaign.Campaign
		var err error
		switch v {
		case campaignSend:
			c, err = svc.Send(r.Context(), a, cid)
		case campaignPause:
			c, err = svc.Pause(r.Context(), a, cid)
		case campaignResume:
			c, err = svc.Resume(r.Context(), a, cid)
		case campaignCancel:
			c, err = svc.Cancel(r.Context(), a, cid)
		}
		if err != nil {
			s.failCampaign(w, r, err)
			return
		}
		s.ok(w, 0, viewCampaign(c))
	}
}

func (s *Server) testCampaign(w http.ResponseWriter, r *http.Request, id webauth.Identity) {
	var in struct {
		To        []string `json:"to"`
		ContactID string   `json:"contact_id"`
	}
	if err := decode(r, &in); err != nil {
		s.fail(w, r, err)
		return
	}
	res, err := s.deps.Campaigns.Test(r.Context(), campaign.As(id.Principal), r.PathValue("id"), campaign.TestInput{To: in.To, ContactID: in.ContactID})
	if err != nil {
		s.failCampaign(w, r, err)
		return
	}
	msgs := res.Messages
	if msgs == nil {
		msgs = []outbox.Result{}
	}
	s.ok(w, http.StatusAccepted, map[string]any{"messages": msgs})
}

// count is a report figure as JSON: the number, or null when the
// small-cell floor hides it.
func count(c campaign.Count) *int64 {
	if c.Suppressed {
		return nil
	}
	n := c.N
	return &n
}

func counts(m map[string]campaign.Count) map[string]*int64 {
	out := make(map[string]*int64, len(m))
	for k, c := range m {
		out[k] = count(c)
	}
	return out
}

type engagementView struct {
	Total   *int64 `json:"total"`
	Unique  *int64 `json:"unique"`
	Machine *int64 `json:"machine"`
}

func viewEngagement(e campaign.Engagement) engagementView {
	return engagementView{Total: count(e.Total), Unique: count(e.Unique), Machine: count(e.Machine)}
}

func (s *Server) campaignReport(w http.ResponseWriter, r *http.Request, id webauth.Identity) {
	rep, err := s.deps.Campaigns.Report(r.Context(), campaign.As(id.Principal), r.PathValue("id"))
	if err != nil {
		s.failCampaign(w, r, err)
		return
	}
	type linkView struct {
		Index int    `json:"index"`
		URL   string `json:"url"`
		engagementView
	}
	links := make([]linkView, 0, len(rep.Links))
	for _, l := range rep.Links {
		links = append(links, linkView{Index: l.Index, URL: l.URL, engagementView: viewEngagement(l.Engagement)})
	}
	s.ok(w, 0, map[string]any{
		"campaign_id": rep.CampaignID, "state": rep.State, "small_cell_floor": rep.Floor,
		"targeted": count(rep.Targeted), "pending": count(rep.Pending), "cancelled": count(rep.Cancelled), "sent": count(rep.Sent),
		"skipped": counts(rep.Skipped), "delivery": counts(rep.Delivery), "methods": counts(rep.Methods),
		"opens": viewEngagement(rep.Opens), "clicks": viewEngagement(rep.Clicks), "links": links,
		"unsubscribes": count(rep.Unsubscribes), "complaints": count(rep.Complaints),
	})
}
