package campaign

import (
	"context"
	"errors"
	"strconv"

	"github.com/carepost/carepost/internal/audit"
	"github.com/carepost/carepost/internal/id"
	"github.com/carepost/carepost/internal/message"
	"github.com/carepost/carepost/internal/store"
)

// Create saves a new draft campaign.
func (s *Service) Create(ctx context.Context, a Actor, in Input) (Campaign, error) {
	if err := a.canWrite(); err != nil {
		return Campaign{}, err
	}
	now := s.now()
	r := store.CampaignRow{OrgID: a.orgID, ID: id.NewAt("cmp", now), State: string(Draft),
		CreatedByType: string(a.who.Type), CreatedByID: a.who.ID, CreatedAt: now, UpdatedAt: now}
	errs := in.apply(&r, true)
	err := s.deps.DB.Tx(ctx, func(tx *store.Tx) error {
		if err := s.checkAll(ctx, tx, &r, errs); err != nil {
			return err
		}
		if err := store.InsertCampaign(ctx, tx, r); err != nil {
			return err
		}
		return s.audit(ctx, tx, a.who, "campaign.create", r, nil)
	})
	if err != nil {
		return Campaign{}, err
	}
	return fromRow(r), nil
}

// Update changes a draft campaign's settings.
func (s *Service) Update(ctx context.Context, a Actor, campaignID string, in Input) (Campaign, error) {
	if err := a.canWrite(); err != nil {
		return Campaign{}, err
	}
	var out store.CampaignRow
	err := s.deps.DB.Tx(ctx, func(tx *store.Tx) error {
		r, err := store.GetCampaign(ctx, tx, a.orgID, campaignID)
		if err != nil {
			return err
		}
		if err := allowed("update", State(r.State)); err != nil {
			return err
		}
		if err := s.checkAll(ctx, tx, &r, in.apply(&r, false)); err != nil {
			return err
		}
		r.UpdatedAt = s.now()
		if err := store.UpdateCampaign(ctx, tx, r); err != nil {
			return err
		}
		out = r
		return s.audit(ctx, tx, a.who, "campaign.update", r, nil)
	})
	if err != nil {
		return Campaign{}, err
	}
	return fromRow(out), nil
}

// Delete removes a draft campaign.
func (s *Service) Delete(ctx context.Context, a Actor, campaignID string) error {
	if err := a.canWrite(); err != nil {
		return err
	}
	return s.deps.DB.Tx(ctx, func(tx *store.Tx) error {
		r, err := store.GetCampaign(ctx, tx, a.orgID, campaignID)
		if err != nil {
			return err
		}
		if err := allowed("delete", State(r.State)); err != nil {
			return err
		}
		if err := store.DeleteCampaign(ctx, tx, a.orgID, campaignID); err != nil {
			return err
		}
		return s.audit(ctx, tx, a.who, "campaign.delete", r, nil)
	})
}

// Get returns one campaign with its progress.
func (s *Service) Get(ctx context.Context, a Actor, campaignID string) (Campaign, error) {
	if err := a.canRead(); err != nil {
		return Campaign{}, err
	}
	r, err := store.GetCampaign(ctx, s.deps.DB.Reader(), a.orgID, campaignID)
	if err != nil {
		return Campaign{}, err
	}
	return fromRow(r), nil
}

// List returns a page of the organization's campaigns, newest first, and
// the cursor of the next page ("" at the end).
func (s *Service) List(ctx context.Context, a Actor, cursor string, limit int) ([]Campaign, string, error) {
	if err := a.canRead(); err != nil {
		return nil, "", err
	}
	if limit <= 0 || limit > 200 {
		limit = 50
	}
	rows, err := store.ListCampaigns(ctx, s.deps.DB.Reader(), a.orgID, cursor, limit+1)
	if err != nil {
		return nil, "", err
	}
	next := ""
	if len(rows) > limit {
		rows, next = rows[:limit], rows[limit-1].ID
	}
	out := make([]Campaign, 0, len(rows))
	for _, r := range rows {
		out = append(out, fromRow(r))
	}
	return out, next, nil
}

// audit appends an entry about campaign r: ids, settings and counts, never
// PHI.
func (s *Service) audit(ctx context.Context, tx *store.Tx, who audit.Actor, action string, r store.CampaignRow, more map[string]string) error {
	d := map[string]string{"state": r.State, "template_id": r.TemplateID, "template_version": strconv.Itoa(r.TemplateVersion),
		"security": r.Security, "uses_phi": strconv.FormatBool(r.UsesPHI)}
	for k, v := range more {
		d[k] = v
	}
	err := s.deps.Audit.Append(ctx, tx, audit.Entry{Chain: r.OrgID, Actor: who, Action: action, TargetType: "campaign",
		TargetID: r.ID, Outcome: audit.Success, Details: d})
	return err
}

// checkAll runs check after apply and reports the problems of both at
// once, so a client fixes them in one go.
func (s *Service) checkAll(ctx context.Context, q store.Querier, r *store.CampaignRow, errs message.FieldErrors) error {
	err := s.check(ctx, q, r)
	var more message.FieldErrors
	switch {
	case err == nil:
	case errors.As(err, &more):
		errs = append(errs, more...)
	default:
		return err
	}
	if len(errs) > 0 {
		return errs
	}
	return nil
}
