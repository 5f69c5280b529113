package store

import (
	"context"
	"fmt"
	"strings"
	"time"
)

// TrackingLinkRow is one entry of a campaign's link table; URL is sealed.
type TrackingLinkRow struct {
	ID, OrgID, CampaignID string
	Index                 int
	URL                   []byte
	DEKVersion            int
	CreatedAt             time.Time
}

// TrackingLinksTable is the sealed-table descriptor for key rotation.
func TrackingLinksTable() SealedTable {
	return SealedTable{Table: "tracking_links", ScopeColumn: "org_id", IDColumn: "id", VersionColumn: "dek_version", Columns: []string{"url"}}
}

// InsertTrackingLinks adds links, skipping indexes the campaign already
// has, and returns how many it inserted.
func InsertTrackingLinks(ctx context.Context, tx *Tx, rows []TrackingLinkRow) (int64, error) {
	if len(rows) == 0 {
		return 0, nil
	}
	var b strings.Builder
	b.WriteString(`INSERT INTO tracking_links (id, org_id, campaign_id, idx, url, dek_version, created_at) VALUES `)
	args := make([]any, 0, len(rows)*7)
	for i, r := range rows {
		if i > 0 {
			b.WriteString(", ")
		}
		b.WriteString("(?, ?, ?, ?, ?, ?, ?)")
		args = append(args, r.ID, r.OrgID, r.CampaignID, r.Index, r.URL, r.DEKVersion, Micros(r.CreatedAt))
	}
	b.WriteString(` ON CONFLICT (org_id, campaign_id, idx) DO NOTHING`)
	res, err := tx.Exec(ctx, b.String(), args...)
	if err != nil {
		return 0, fmt.Errorf("insert tracking links: %w", err)
	}
	n, err := res.RowsAffected()
	if err != nil {
		return 0, fmt.Errorf("insert tracking links: %w", err)
	}
	return n, nil
}

const trackingLinkColumns = `id, idx, url, dek_version, created_at`

func scanTrackingLink(sc interface{ Scan(...any) error }, r *TrackingLinkRow) error {
	var created int64
	if err := sc.Scan(&r.ID, &r.Index, &r.URL, &r.DEKVersion, &created); err != nil {
		return err
	}
	r.CreatedAt = FromMicros(created)
	return nil
}

// GetTrackingLink reads link idx of a campaign.
func GetTrackingLink(ctx context.Context, q Querier, orgID, campaignID string, idx int) (TrackingLinkRow, error) {
	r := TrackingLinkRow{OrgID: orgID, CampaignID: campaignID}
	row := q.QueryRow(ctx, `SELECT `+trackingLinkColumns+` FROM tracking_links WHERE org_id = ? AND campaign_id = ? AND idx = ?`, orgID, campaignID, idx)
	if err := mapError(scanTrackingLink(row, &r)); err != nil {
		return TrackingLinkRow{}, fmt.Errorf("read tracking link: %w", err)
	}
	return r, nil
}

// TrackingLinksOf lists a campaign's links by index, from index from on.
func TrackingLinksOf(ctx context.Context, q Querier, orgID, campaignID string, from int) ([]TrackingLinkRow, error) {
	rows, err := q.Query(ctx, `SELECT `+trackingLinkColumns+` FROM tracking_links WHERE org_id = ? AND campaign_id = ? AND idx >= ? ORDER BY idx`,
		orgID, campaignID, from)
	if err != nil {
		return nil, fmt.Errorf("list tracking links: %w", err)
	}
	defer rows.Close()
	var out []TrackingLinkRow
	for rows.Next() {
		r := TrackingLinkRow{OrgID: orgID, CampaignID: campaignID}
		if err := scanTrackingLink(rows, &r); err != nil {
			return nil, fmt.Errorf("list tracking links: %w", err)
		}
		out = append(out, r)
	}
	return out, rows.Err()
}

// Engagement is one open or click to count.
type Engagement struct {
	OrgID, CampaignID, ContactID string
	Click                        bool
	Link                         int // clicks
	Machine                      bool
	At                           time.Time
}

// RecordEngagement counts an open or a click per recipient (per link for
// clicks) and in the campaign's counters, and reports whether it was the
// recipient's first human open, or first human click on that link: what
// makes the unique counts. Machine fetches count apart and are never
// unique opens or clicks.
func RecordEngagement(ctx context.Context, tx *Tx, e Engagement) (bool, error) {
	human, machine, at := 1, 0, Micros(e.At)
	if e.Machine {
		human, machine, at = 0, 1, 0
	}
	if !e.Click {
		var opens int64
		err := Scan(tx.QueryRow(ctx, `INSERT INTO tracking_recipients (org_id, campaign_id, contact_id, opens, machine_opens, first_open_at)
			VALUES (?, ?, ?, ?, ?, ?) ON CONFLICT (org_id, campaign_id, contact_id) DO UPDATE SET
			opens = tracking_recipients.opens + excluded.opens, machine_opens = tracking_recipients.machine_opens + excluded.machine_opens,
			first_open_at = CASE WHEN tracking_recipients.first_open_at = 0 THEN excluded.first_open_at ELSE tracking_recipients.first_open_at END
			RETURNING opens`, e.OrgID, e.CampaignID, e.ContactID, human, machine, at), &opens)
		if err != nil {
			return false, fmt.Errorf("record open: %w", err)
		}
		first := human == 1 && opens == 1
		return first, AddTrackingCounter(ctx, tx, e.OrgID, e.CampaignID, "open", -1, int64(human), int64(machine), b2i(first))
	}
	var onLink, clicked int64
	err := Scan(tx.QueryRow(ctx, `INSERT INTO tracking_clicks (org_id, campaign_id, contact_id, idx, clicks, machine_clicks, first_at)
		VALUES (?, ?, ?, ?, ?, ?, ?) ON CONFLICT (org_id, campaign_id, contact_id, idx) DO UPDATE SET
		clicks = tracking_clicks.clicks + excluded.clicks, machine_clicks = tracking_clicks.machine_clicks + excluded.machine_clicks,
		first_at = CASE WHEN tracking_clicks.first_at = 0 THEN excluded.first_at ELSE tracking_clicks.first_at END
		RETURNING clicks`, e.OrgID, e.CampaignID, e.ContactID, e.Link, human, machine, at), &onLink)
	if err != nil {
		return false, fmt.Errorf("record click: %w", err)
	}
	err = Scan(tx.QueryRow(ctx, `INSERT INTO tracking_recipients (org_id, campaign_id, contact_id, clicks, machine_clicks, first_click_at)
		VALUES (?, ?, ?, ?, ?, ?) ON CONFLICT (org_id, campaign_id, contact_id) DO UPDATE SET
		clicks = tracking_recipients.clicks + excluded.clicks, machine_clicks = tracking_recipients.machine_clicks + excluded.machine_clicks,
		first_click_at = CASE WHEN tracking_recipients.first_click_at = 0 THEN excluded.first_click_at ELSE tracking_recipients.first_click_at END
		RETURNING clicks`, e.OrgID, e.CampaignID, e.ContactID, human, machine, at), &clicked)
	if err != nil {
		return false, fmt.Errorf("record click: %w", err)
	}
	first := human == 1 && onLink == 1
	if err := AddTrackingCounter(ctx, tx, e.OrgID, e.CampaignID, "click", e.Link, int64(human), int64(machine), b2i(first)); err != nil {
		return false, err
	}
	// Index -1 holds the campaign's totals: unique there is unique clickers.
	return first, AddTrackingCounter(ctx, tx, e.OrgID, e.CampaignID, "click", -1, int64(human), int64(machine), b2i(human == 1 && clicked == 1))
}

func b2i(b bool) int64 {
	if b {
		return 1
	}
	return 0
}

// AddTrackingCounter adds to one report counter of a campaign.
func AddTrackingCounter(ctx context.Context, tx *Tx, orgID, campaignID, kind string, idx int, total, machine, uniq int64) error {
	_, err := tx.Exec(ctx, `INSERT INTO tracking_counters (org_id, campaign_id, kind, idx, total, machine, uniq) VALUES (?, ?, ?, ?, ?, ?, ?)
		ON CONFLICT (org_id, campaign_id, kind, idx) DO UPDATE SET total = tracking_counters.total + excluded.total,
		machine = tracking_counters.machine + excluded.machine, uniq = tracking_counters.uniq + excluded.uniq`,
		orgID, campaignID, kind, idx, total, machine, uniq)
	if err != nil {
		return fmt.Errorf("count %s: %w", kind, err)
	}
	return nil
}

// MarkTrackingRecipient stamps a recipient's unsubscribe ("unsubscribed")
// or complaint ("complained") once and reports whether this was the first
// time.
func MarkTrackingRecipient(ctx context.Context, tx *Tx, orgID, campaignID, contactID, what string, at time.Time) (bool, error) {
	var col string
	switch what {
	case "unsubscribed":
		col = "unsubscribed_at"
	case "complained":
		col = "complained_at"
	default:
		return false, fmt.Errorf("mark tracking recipient: unknown %q", what)
	}
	stamp := func() (bool, error) {
		res, err := tx.Exec(ctx, `UPDATE tracking_recipients SET `+col+` = ? WHERE org_id = ? AND campaign_id = ? AND contact_id = ? AND `+col+` = 0`,
			Micros(at), orgID, campaignID, contactID)
		if err != nil {
			return false, fmt.Errorf("mark %s: %w", what, err)
		}
		n, err := res.RowsAffected()
		return n == 1, err
	}
	if first, err := stamp(); first || err != nil {
		return first, err
	}
	res, err := tx.Exec(ctx, `INSERT INTO tracking_recipients (org_id, campaign_id, contact_id, `+col+`) VALUES (?, ?, ?, ?)
		ON CONFLICT (org_id, campaign_id, contact_id) DO NOTHING`, orgID, campaignID, contactID, Micros(at))
	if err != nil {
		return false, fmt.Errorf("mark %s: %w", what, err)
	}
	if n, err := res.RowsAffected(); n == 1 || err != nil {
		return n == 1, err
	}
	// The row appeared between the two statements (another transaction's
	// open or click): stamp it now, unless it already was.
	return stamp()
}

// TrackingCounter is one report counter.
type TrackingCounter struct {
	Kind                   string
	Index                  int
	Total, Machine, Unique int64
}

// TrackingCountersOf reads a campaign's counters.
func TrackingCountersOf(ctx context.Context, q Querier, orgID, campaignID string) ([]TrackingCounter, error) {
	rows, err := q.Query(ctx, `SELECT kind, idx, total, machine, uniq FROM tracking_counters WHERE org_id = ? AND campaign_id = ? ORDER BY kind, idx`, orgID, campaignID)
	if err != nil {
		return nil, fmt.Errorf("read tracking counters: %w", err)
	}
	defer rows.Close()
	var out []TrackingCounter
	for rows.Next() {
		var c TrackingCounter
		if err := rows.Scan(&c.Kind, &c.Index, &c.Total, &c.Machine, &c.Unique); err != nil {
			return nil, fmt.Errorf("read tracking counters: %w", err)
		}
		out = append(out, c)
	}
	return out, rows.Err()
}

// SubscriptionRow is a contact's state for one list ("" is all marketing).
type SubscriptionRow struct {
	OrgID, ContactID, ListID string
	Subscribed               bool
	Source                   string
	UpdatedAt                time.Time
}

// PutSubscription sets a contact's state for a list.
func PutSubscription(ctx context.Context, tx *Tx, s SubscriptionRow) error {
	_, err := tx.Exec(ctx, `INSERT INTO tracking_subscriptions (org_id, contact_id, list_id, subscribed, source, updated_at) VALUES (?, ?, ?, ?, ?, ?)
		ON CONFLICT (org_id, contact_id, list_id) DO UPDATE SET subscribed = excluded.subscribed, source = excluded.source, updated_at = excluded.updated_at`,
		s.OrgID, s.ContactID, s.ListID, s.Subscribed, s.Source, Micros(s.UpdatedAt))
	if err != nil {
		return fmt.Errorf("put subscription: %w", err)
	}
	return nil
}

// SubscriptionsOf lists a contact's recorded states, by list.
func SubscriptionsOf(ctx context.Context, q Querier, orgID, contactID string) ([]SubscriptionRow, error) {
	rows, err := q.Query(ctx, `SELECT list_id, subscribed, source, updated_at FROM tracking_subscriptions WHERE org_id = ? AND contact_id = ? ORDER BY list_id`, orgID, contactID)
	if err != nil {
		return nil, fmt.Errorf("list subscriptions: %w", err)
	}
	defer rows.Close()
	var out []SubscriptionRow
	for rows.Next() {
		s := SubscriptionRow{OrgID: orgID, ContactID: contactID}
		var at int64
		if err := rows.Scan(&s.ListID, &s.Subscribed, &s.Source, &at); err != nil {
			return nil, fmt.Errorf("list subscriptions: %w", err)
		}
		s.UpdatedAt = FromMicros(at)
		out = append(out, s)
	}
	return out, rows.Err()
}
