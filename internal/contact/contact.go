package contact

import (
	"strings"
	"time"
)

// Status is a contact's marketing subscription state.
type Status string

// Subscription states. Bounced and complained addresses are never sent to:
// setting either also puts the address on the delivery suppression list,
// and a suppression recorded by delivery (a hard bounce) counts whatever
// the contact's own status says.
const (
	Subscribed   Status = "subscribed"
	Unsubscribed Status = "unsubscribed"
	Bounced      Status = "bounced"
	Complained   Status = "complained"
)

func validStatus(s Status) bool {
	switch s {
	case Subscribed, Unsubscribed, Bounced, Complained:
		return true
	}
	return false
}

// Contact is one person an organization communicates with, with every
// value opened: what Scan hands to segments and campaigns. It never leaves
// carepost's process as is; the API shows a View (masked and audited).
type Contact struct {
	ID, OrgID string
	// PHI, sealed at rest.
	Email, Phone, FirstName, LastName string
	// Not PHI, in clear.
	Timezone string // IANA name, "" unknown
	Locale   string // BCP 47 tag, "" unknown
	Status   Status
	// Suppression is why delivery refuses the address (a hard bounce, a
	// complaint), "" when it does not.
	Suppression string
	// Fields are the custom field values by key, PHI or not.
	Fields  map[string]Value
	Consent Consent
	// CreatedAt and UpdatedAt are when the contact was made and last
	// changed.
	CreatedAt, UpdatedAt time.Time
}

// Get returns the value of a built-in or custom field by key, as Value.Any
// gives it (built-ins and timezone, locale and status as strings), for
// expression environments. Unset fields report false.
func (c Contact) Get(key string) (any, bool) {
	switch key {
	case "email":
		return c.Email, c.Email != ""
	case "phone":
		return c.Phone, c.Phone != ""
	case "first_name":
		return c.FirstName, c.FirstName != ""
	case "last_name":
		return c.LastName, c.LastName != ""
	case "timezone":
		return c.Timezone, c.Timezone != ""
	case "locale":
		return c.Locale, c.Locale != ""
	case "status":
		return string(c.Status), true
	}
	v, ok := c.Fields[key]
	if !ok {
		return nil, false
	}
	return v.Any(), true
}

// Sendable reports whether marketing mail may go to the contact at all:
// subscribed, and the address not suppressed. Campaigns check it for every
// contact; lists add their own membership state on top.
func Sendable(c Contact) bool {
	return c.Status == Subscribed && c.Suppression == "" && c.Email != ""
}

// suppressionStatus is the status a delivery suppression implies.
func suppressionStatus(reason string) Status {
	if strings.Contains(strings.ToLower(reason), "complain") {
		return Complained
	}
	return Bounced
}

// EffectiveStatus is the status the contact shows: its own, unless the
// address is suppressed, which reads as bounced or complained.
func (c Contact) EffectiveStatus() Status {
	if c.Suppression != "" && c.Status != Complained {
		return suppressionStatus(c.Suppression)
	}
	return c.Status
}

// builtin returns a pointer to the built-in text value with tag, or nil.
func (c *Contact) builtin(tag int) *string {
	switch tag {
	case tagEmail:
		return &c.Email
	case tagPhone:
		return &c.Phone
	case tagFirstName:
		return &c.FirstName
	case tagLastName:
		return &c.LastName
	}
	return nil
}
