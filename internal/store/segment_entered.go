package store

import (
	"context"
	"fmt"
	"time"
)

// AddSegmentMembersNew adds contacts to a static segment, like
// AddSegmentMembers, and returns the ids that were not members yet (those
// that entered it), in no particular order.
func AddSegmentMembersNew(ctx context.Context, tx *Tx, orgID, segmentID string, contactIDs []string, source string, at time.Time) ([]string, error) {
	var added []string
	for start, end := range runs(len(contactIDs), contactBatch) {
		part := contactIDs[start:end]
		args := make([]any, 0, len(part)*5)
		for _, id := range part {
			args = append(args, orgID, segmentID, id, source, Micros(at))
		}
		ids, err := queryIDs(ctx, tx, `INSERT INTO segment_members (org_id, segment_id, contact_id, source, added_at) VALUES `+
			rowPlaceholders(len(part), 5)+` ON CONFLICT (org_id, segment_id, contact_id) DO NOTHING RETURNING contact_id`, args...)
		if err != nil {
			return added, fmt.Errorf("add segment members: %w", err)
		}
		added = append(added, ids...)
	}
	return added, nil
}
