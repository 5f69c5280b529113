package contact

import (
	"context"
	"maps"
	"strconv"
	"strings"

	"github.com/carepost/carepost/internal/audit"
	"github.com/carepost/carepost/internal/store"
)

// Audit entries name contacts by id, never by address or name. A request
// that touches many contacts writes one entry listing them all rather than
// one per contact or per field: the ids go comma-separated into details
// "contacts", "contacts_2", … (idsPerDetail to a value, so a value stays
// inside audit.MaxDetailValue), and only when even that overflows one
// entry does the request write another.
const (
	idsPerDetail   = 32 // 32 ids of 30 bytes and their commas: 991 bytes
	detailsPerEach = 24 // leaves room for the caller's details and request_id
)

// appendAudit appends the entries recording action inside tx.
func (s *Service) appendAudit(ctx context.Context, tx *store.Tx, a Actor, action, targetType, targetID string, details map[string]string, ids []string) error {
	perEntry := idsPerDetail * detailsPerEach
	for start := 0; start == 0 || start < len(ids); start += perEntry {
		d := maps.Clone(details)
		if d == nil {
			d = map[string]string{}
		}
		part := ids[start:min(start+perEntry, len(ids))]
		for i := 0; i*idsPerDetail < len(part); i++ {
			key := "contacts"
			if i > 0 {
				key += "_" + strconv.Itoa(i+1)
			}
			d[key] = strings.Join(part[i*idsPerDetail:min((i+1)*idsPerDetail, len(part))], ",")
		}
		if len(ids) > perEntry {
			d["part"] = strconv.Itoa(start/perEntry + 1)
		}
		e := audit.Entry{Chain: a.orgID, Actor: a.who, Action: action, TargetType: targetType, TargetID: targetID,
			Outcome: audit.Success, Details: d}
		if err := s.deps.Audit.Append(ctx, tx, e); err != nil {
			return err
		}
	}
	return nil
}

// auditRead records that a person saw PHI of the contacts ids (HIPAA
// 164.312(b)): one entry per request, committed before the caller shows
// anything, so a read that cannot be audited is refused. via names the
// operation ("get", "search", "events"); fields lists the PHI fields shown.
// Reads by the system and reads that showed no PHI are not recorded here.
func (s *Service) auditRead(ctx context.Context, a Actor, via string, ids []string, fields []string) error {
	if !a.person || !a.readsPHI() || len(ids) == 0 {
		return nil
	}
	details := map[string]string{"via": via, "count": strconv.Itoa(len(ids))}
	if len(fields) > 0 {
		details["fields"] = strings.Join(fields, ",")
	}
	target := ""
	if len(ids) == 1 {
		target = ids[0]
	}
	targetType := "contact"
	if target == "" {
		targetType = ""
	}
	return s.write(ctx, func(tx *store.Tx) error {
		return s.appendAudit(ctx, tx, a, "contact.phi.read", targetType, target, details, ids)
	})
}
