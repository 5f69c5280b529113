package campaign

import (
	"time"

	"github.com/carepost/carepost/internal/contact"
	"github.com/carepost/carepost/internal/store"
)

// Reasons a targeted contact is skipped, as the report counts them. Each
// is checked at send time, against the contact as it is then, so a
// contact who unsubscribed, bounced or revoked consent after the campaign
// was prepared is not sent to.
const (
	SkipDeleted        = "deleted"         // the contact was deleted (its PHI shredded)
	SkipNoAddress      = "no_address"      // the contact has no e-mail address
	SkipSuppressed     = "suppressed"      // the address is on the organization's delivery suppression list (hard bounce, complaint)
	SkipBounced        = "bounced"         // the contact's status is bounced
	SkipComplained     = "complained"      // the contact's status is complained
	SkipUnsubscribed   = "unsubscribed"    // the contact unsubscribed from marketing mail
	SkipLeftList       = "left_list"       // the contact unsubscribed from (or was removed from) the list it was targeted through
	SkipNoConsent      = "no_consent"      // the campaign uses PHI and the contact has no valid marketing authorization
	SkipInvalidAddress = "invalid_address" // the outbox refused the address
	SkipRenderFailed   = "render_failed"   // the template did not render for the contact's data
)

// SkipReasons lists them in report order.
var SkipReasons = []string{SkipDeleted, SkipNoAddress, SkipSuppressed, SkipBounced, SkipComplained, SkipUnsubscribed,
	SkipLeftList, SkipNoConsent, SkipInvalidAddress, SkipRenderFailed}

// audienceState is what a batch reads once about its contacts besides the
// contacts themselves.
type audienceState struct {
	// memberships: list → contact → state (package contact's lists),
	// for the lists the batch's recipients were targeted through.
	memberships map[string]map[string]string
	// unsubscribed: contact → lists left through a tracking link ("" all).
	unsubscribed map[string][]string
}

// skipReason says why rc must not be sent to, or "" when it may be. c and
// found are the contact as loaded now.
func skipReason(rc store.CampaignRecipient, c contact.Contact, found, usesPHI bool, st audienceState, now time.Time) string {
	switch {
	case !found:
		return SkipDeleted
	case c.Email == "":
		return SkipNoAddress
	case c.Suppression != "":
		return SkipSuppressed
	case c.Status == contact.Bounced:
		return SkipBounced
	case c.Status == contact.Complained:
		return SkipComplained
	case c.Status != contact.Subscribed:
		return SkipUnsubscribed
	}
	for _, l := range st.unsubscribed[c.ID] {
		if l == "" {
			return SkipUnsubscribed
		}
		if l == rc.ListID {
			return SkipLeftList
		}
	}
	if rc.ListID != "" && st.memberships[rc.ListID][c.ID] != string(contact.MemberSubscribed) {
		return SkipLeftList
	}
	// HIPAA 164.508(a)(3): marketing that uses PHI needs the individual's
	// authorization.
	if usesPHI && !contact.CanMarketPHI(c, now) {
		return SkipNoConsent
	}
	return ""
}
