package store

import (
	"context"
	"fmt"
	"sort"
	"strings"
	"time"
)

// CampaignRecipient is one targeted contact of a campaign.
type CampaignRecipient struct {
	ContactID string
	ListID    string
	State     string
	Reason    string
	MessageID string
}

// PendingCampaignRecipients lists a batch's recipients still to send, in
// contact id order.
func PendingCampaignRecipients(ctx context.Context, q Querier, orgID, campaignID string, batch int) ([]CampaignRecipient, error) {
	// No ORDER BY: sorted here, so SQLite keeps the covering batch index
	// rather than walking the campaign's primary key in contact order.
	rows, err := q.Query(ctx, `SELECT contact_id, list_id FROM campaign_recipients
		WHERE org_id = ? AND campaign_id = ? AND batch = ? AND state = 'pending'`, orgID, campaignID, batch)
	if err != nil {
		return nil, fmt.Errorf("pending campaign recipients: %w", err)
	}
	defer rows.Close()
	var out []CampaignRecipient
	for rows.Next() {
		r := CampaignRecipient{State: "pending"}
		if err := rows.Scan(&r.ContactID, &r.ListID); err != nil {
			return nil, fmt.Errorf("pending campaign recipients: %w", err)
		}
		out = append(out, r)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].ContactID < out[j].ContactID })
	return out, mapError(rows.Err())
}

// ListMemberStates returns the membership state in listID of each of
// contactIDs that has one, by the membership table's primary key.
func ListMemberStates(ctx context.Context, q Querier, orgID, listID string, contactIDs []string) (map[string]string, error) {
	out := make(map[string]string, len(contactIDs))
	for start := 0; start < len(contactIDs); start += contactBatch {
		part := contactIDs[start:min(start+contactBatch, len(contactIDs))]
		args, list := inList([]any{orgID, listID}, part)
		rows, err := q.Query(ctx, `SELECT contact_id, state FROM contact_list_members WHERE org_id = ? AND list_id = ?
			AND contact_id IN `+list, args...)
		if err != nil {
			return nil, fmt.Errorf("read list memberships: %w", err)
		}
		for rows.Next() {
			var c, st string
			if err := rows.Scan(&c, &st); err != nil {
				rows.Close()
				return nil, fmt.Errorf("read list memberships: %w", err)
			}
			out[c] = st
		}
		err = rows.Err()
		rows.Close()
		if err != nil {
			return nil, fmt.Errorf("read list memberships: %w", mapError(err))
		}
	}
	return out, nil
}

// CampaignRecipientsOf lists a campaign's recipients in contact id order
// after after, at most limit (for tests and support tools).
func CampaignRecipientsOf(ctx context.Context, q Querier, orgID, campaignID, after string, limit int) ([]CampaignRecipient, error) {
	rows, err := q.Query(ctx, `SELECT contact_id, list_id, state, reason, message_id FROM campaign_recipients
		WHERE org_id = ? AND campaign_id = ? AND contact_id > ? ORDER BY contact_id LIMIT ?`, orgID, campaignID, after, limit)
	if err != nil {
		return nil, fmt.Errorf("campaign recipients: %w", err)
	}
	defer rows.Close()
	var out []CampaignRecipient
	for rows.Next() {
		var r CampaignRecipient
		if err := rows.Scan(&r.ContactID, &r.ListID, &r.State, &r.Reason, &r.MessageID); err != nil {
			return nil, fmt.Errorf("campaign recipients: %w", err)
		}
		out = append(out, r)
	}
	return out, mapError(rows.Err())
}

// SettleCampaignRecipients moves pending recipients to their new states
// (sent with the message id, or skipped with a reason) while the campaign
// is sending in epoch (in one statement on PostgreSQL, one a recipient on
// SQLite: settleEach), and returns the contact ids it moved. A recipient settled before (a batch run again after a crash) is
// not moved, and none is when the campaign was paused, cancelled or moved
// to another epoch meanwhile: the caller writes messages only for the ids
// returned, in the same transaction — which is what makes a contact's
// message exactly once.
func SettleCampaignRecipients(ctx context.Context, tx *Tx, orgID, campaignID string, epoch int, rs []CampaignRecipient, at time.Time) (map[string]bool, error) {
	if tx.Driver() == SQLite {
		return settleEach(ctx, tx, orgID, campaignID, epoch, rs, at)
	}
	out := make(map[string]bool, len(rs))
	const per = 200
	for start := 0; start < len(rs); start += per {
		part := rs[start:min(start+per, len(rs))]
		// One CASE per column keyed by contact id, and the ids in an IN
		// list, so each row is found by its primary key (an UPDATE … FROM
		// (VALUES …) join made SQLite walk the campaign's rows).
		var state, reason, msg, in strings.Builder
		args := make([]any, 0, 7*len(part)+6)
		var sa, ra, ma, ia []any
		for i, r := range part {
			state.WriteString(" WHEN ? THEN ?")
			reason.WriteString(" WHEN ? THEN ?")
			msg.WriteString(" WHEN ? THEN ?")
			if i > 0 {
				in.WriteString(", ")
			}
			in.WriteString("?")
			sa, ra, ma, ia = append(sa, r.ContactID, r.State), append(ra, r.ContactID, r.Reason), append(ma, r.ContactID, r.MessageID), append(ia, r.ContactID)
		}
		args = append(append(append(append(args, sa...), ra...), ma...), Micros(at), orgID, campaignID)
		args = append(append(args, ia...), orgID, campaignID, epoch)
		query := `UPDATE campaign_recipients SET state = CASE contact_id` + state.String() + ` END, reason = CASE contact_id` + reason.String() +
			` END, message_id = CASE contact_id` + msg.String() + ` END, updated_at = ?
			WHERE org_id = ? AND campaign_id = ? AND contact_id IN (` + in.String() + `) AND state = 'pending'
			AND EXISTS (SELECT 1 FROM campaigns c WHERE c.org_id = ? AND c.id = ? AND c.state = 'sending' AND c.epoch = ?)
			RETURNING contact_id`
		ids, err := queryIDs(ctx, tx, query, args...)
		if err != nil {
			return nil, fmt.Errorf("settle campaign recipients: %w", err)
		}
		for _, id := range ids {
			out[id] = true
		}
	}
	return out, nil
}

// settleEach is SettleCampaignRecipients on SQLite: the campaign is
// checked once — SQLite has one writer, so nothing changes it before this
// transaction ends — and then each recipient is moved by a statement of its
// own, found by its primary key. QUIRK: SQLite walks a CASE's WHENs in
// order for every row, so PostgreSQL's one statement of 200 CASE arms costs
// rows times arms here: for a campaign chunk of 200 it took 3.6-4.0 ms, the
// same prepared statement run 200 times 2.1-2.9 ms
// (BenchmarkSettleCampaignRecipients). With chunks of 50 it had been the
// other way round (docs/BENCHMARKS.md).
func settleEach(ctx context.Context, tx *Tx, orgID, campaignID string, epoch int, rs []CampaignRecipient, at time.Time) (map[string]bool, error) {
	out := make(map[string]bool, len(rs))
	var sending bool
	if err := tx.QueryRow(ctx, `SELECT EXISTS (SELECT 1 FROM campaigns WHERE org_id = ? AND id = ? AND state = 'sending' AND epoch = ?)`,
		orgID, campaignID, epoch).Scan(&sending); err != nil {
		return nil, fmt.Errorf("settle campaign recipients: %w", mapError(err))
	}
	if !sending {
		return out, nil
	}
	for _, r := range rs {
		res, err := tx.Exec(ctx, `UPDATE campaign_recipients SET state = ?, reason = ?, message_id = ?, updated_at = ?
			WHERE org_id = ? AND campaign_id = ? AND contact_id = ? AND state = 'pending'`,
			r.State, r.Reason, r.MessageID, Micros(at), orgID, campaignID, r.ContactID)
		if err != nil {
			return nil, fmt.Errorf("settle campaign recipients: %w", err)
		}
		if n, err := res.RowsAffected(); err != nil {
			return nil, fmt.Errorf("settle campaign recipients: %w", err)
		} else if n == 1 {
			out[r.ContactID] = true
		}
	}
	return out, nil
}

// CampaignStateCount is how many recipients are in one state for one
// reason.
type CampaignStateCount struct {
	State, Reason string
	N             int64
}

// CampaignRecipientCounts counts a campaign's recipients by state and
// reason.
func CampaignRecipientCounts(ctx context.Context, q Querier, orgID, campaignID string) ([]CampaignStateCount, error) {
	rows, err := q.Query(ctx, `SELECT state, reason, count(*) FROM campaign_recipients WHERE org_id = ? AND campaign_id = ?
		GROUP BY state, reason ORDER BY state, reason`, orgID, campaignID)
	if err != nil {
		return nil, fmt.Errorf("count campaign recipients: %w", err)
	}
	defer rows.Close()
	var out []CampaignStateCount
	for rows.Next() {
		var c CampaignStateCount
		if err := rows.Scan(&c.State, &c.Reason, &c.N); err != nil {
			return nil, fmt.Errorf("count campaign recipients: %w", err)
		}
		out = append(out, c)
	}
	return out, mapError(rows.Err())
}

// CampaignDeliveryCount is how many of a campaign's messages have their
// recipient in one delivery state with one decided method list.
type CampaignDeliveryCount struct {
	State string
	// Methods is the policy's method list ("verified-tls,portal"; ""
	// when dropped).
	Methods string
	// Suppressed: the outbox refused the address as suppressed.
	Suppressed bool
	N          int64
}

// CampaignDeliveryCounts joins a campaign's sent recipients to their
// delivery rows and counts them by state and method list. QUIRK: CROSS
// JOIN makes SQLite walk the campaign's rows and look each message up by
// recipients_message; with a plain JOIN it walks the organization's every
// recipient instead, which is quadratic over a history of campaigns.
// PostgreSQL plans it as the same inner join.
func CampaignDeliveryCounts(ctx context.Context, q Querier, orgID, campaignID string) ([]CampaignDeliveryCount, error) {
	rows, err := q.Query(ctx, `SELECT r.state, r.policy_methods, CASE WHEN r.last_reason LIKE 'suppressed:%' THEN 1 ELSE 0 END, count(*)
		FROM campaign_recipients cr CROSS JOIN recipients r
		WHERE cr.org_id = ? AND cr.campaign_id = ? AND cr.state = 'sent' AND r.message_id = cr.message_id AND r.org_id = ?
		GROUP BY r.state, r.policy_methods, CASE WHEN r.last_reason LIKE 'suppressed:%' THEN 1 ELSE 0 END`, orgID, campaignID, orgID)
	if err != nil {
		return nil, fmt.Errorf("count campaign deliveries: %w", err)
	}
	defer rows.Close()
	var out []CampaignDeliveryCount
	for rows.Next() {
		var c CampaignDeliveryCount
		var supp int
		if err := rows.Scan(&c.State, &c.Methods, &supp, &c.N); err != nil {
			return nil, fmt.Errorf("count campaign deliveries: %w", err)
		}
		c.Suppressed = supp == 1
		out = append(out, c)
	}
	return out, mapError(rows.Err())
}

// Unsubscribes returns, for each of contactIDs with any, the lists it
// unsubscribed from through a tracking link ("" meaning all marketing
// mail): tracking_subscriptions rows with subscribed false.
func Unsubscribes(ctx context.Context, q Querier, orgID string, contactIDs []string) (map[string][]string, error) {
	out := map[string][]string{}
	for start := 0; start < len(contactIDs); start += contactBatch {
		part := contactIDs[start:min(start+contactBatch, len(contactIDs))]
		args, list := inList([]any{orgID, false}, part)
		rows, err := q.Query(ctx, `SELECT contact_id, list_id FROM tracking_subscriptions WHERE org_id = ? AND subscribed = ?
			AND contact_id IN `+list, args...)
		if err != nil {
			return nil, fmt.Errorf("read unsubscribes: %w", err)
		}
		for rows.Next() {
			var c, l string
			if err := rows.Scan(&c, &l); err != nil {
				rows.Close()
				return nil, fmt.Errorf("read unsubscribes: %w", err)
			}
			out[c] = append(out[c], l)
		}
		err = rows.Err()
		rows.Close()
		if err != nil {
			return nil, fmt.Errorf("read unsubscribes: %w", mapError(err))
		}
	}
	return out, nil
}
