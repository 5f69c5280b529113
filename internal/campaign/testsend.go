package campaign

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"strings"

	"github.com/carepost/carepost/internal/access"
	"github.com/carepost/carepost/internal/auth"
	"github.com/carepost/carepost/internal/message"
	"github.com/carepost/carepost/internal/outbox"
	"github.com/carepost/carepost/internal/store"
	"github.com/carepost/carepost/internal/template"
)

// MaxTestRecipients bounds a test send.
const MaxTestRecipients = 10

// TestInput is a test send: the campaign as it stands, to a few addresses.
type TestInput struct {
	To []string
	// ContactID renders the message with this contact's fields; it needs
	// phi:read (the contact's PHI goes to the test addresses) and is
	// audited. Without it a sample contact named "Test Recipient" is used.
	ContactID string
}

// TestResult is each test message's outbox result.
type TestResult struct {
	Messages []outbox.Result
}

// Test sends the campaign's current template version to each address in
// in.To as a separate message through the outbox (policy, sealing and
// delivery as for any message), with "[Test] " before the subject. A test
// message carries no tracking and no List-Unsubscribe: it is not to a
// contact, and nothing in it may unsubscribe or count for anyone.
func (s *Service) Test(ctx context.Context, a Actor, campaignID string, in TestInput) (TestResult, error) {
	if err := a.canWrite(); err != nil {
		return TestResult{}, err
	}
	to, err := testAddresses(in.To)
	if err != nil {
		return TestResult{}, err
	}
	r, err := store.GetCampaign(ctx, s.deps.DB.Reader(), a.orgID, campaignID)
	if err != nil {
		return TestResult{}, err
	}
	sample := template.Contact{ID: "test", FirstName: "Test", LastName: "Recipient", Fields: map[string]any{}}
	if in.ContactID != "" {
		if !a.perms.Has(access.PHIRead) {
			return TestResult{}, auth.ErrForbidden
		}
		cs, err := s.deps.Contacts.Load(ctx, a.orgID, []string{in.ContactID})
		if err != nil {
			return TestResult{}, err
		}
		c, ok := cs[in.ContactID]
		if !ok {
			return TestResult{}, fe("contact_id", "no such contact in your organization")
		}
		sample = templateContact(c)
	}
	compiled, _, err := s.deps.Templates.Compiled(ctx, a.orgID, r.TemplateID, r.TemplateVersion)
	if err != nil {
		return TestResult{}, err
	}
	// The sample's own links go nowhere: a test must not unsubscribe anyone.
	data := template.NewData(sample, s.now(), template.Links{Unsubscribe: "#unsubscribe", Preferences: "#preferences"})
	out, err := compiled.Render(&data)
	if err != nil {
		return TestResult{}, fe("contact_id", "the template does not render for this contact")
	}
	var res TestResult
	for i, addr := range to {
		d := &message.Draft{From: message.Address{Email: r.FromEmail, Name: r.FromName}, To: []message.Address{{Email: addr}},
			Subject: "[Test] " + out.Subject, HTML: out.HTML, Text: out.Text}
		if r.ReplyTo != "" {
			d.ReplyTo = []message.Address{{Email: r.ReplyTo}}
		}
		m, err := s.deps.Outbox.Submit(ctx, outbox.Submission{OrgID: a.orgID, Actor: a.who, Source: outbox.SourceCampaign, Draft: d,
			Security: outbox.SecurityAuto, TLSOnly: r.Security == string(SecurityTLSOnly), Tags: []string{"campaign-test"},
			Metadata: map[string]string{"campaign_id": r.ID}})
		var fe *message.FieldError
		if errors.As(err, &fe) && fe.Field != "from" {
			return res, &message.FieldError{Field: fmt.Sprintf("to[%d]", i), Msg: fe.Msg}
		}
		if err != nil {
			return res, err
		}
		res.Messages = append(res.Messages, m)
	}
	err = s.deps.DB.Tx(ctx, func(tx *store.Tx) error {
		more := map[string]string{"messages": strconv.Itoa(len(res.Messages))}
		if in.ContactID != "" {
			more["sample_contact_id"] = in.ContactID
		}
		return s.audit(ctx, tx, a.who, "campaign.test", r, more)
	})
	return res, err
}

func testAddresses(in []string) ([]string, error) {
	if len(in) == 0 || len(in) > MaxTestRecipients {
		return nil, fe("to", "give 1 to "+strconv.Itoa(MaxTestRecipients)+" addresses")
	}
	out := make([]string, 0, len(in))
	for i, v := range in {
		a, err := message.NormalizeAddress(message.Address{Email: strings.TrimSpace(v)})
		if err != nil {
			return nil, fe(fmt.Sprintf("to[%d]", i), err.Error())
		}
		out = append(out, a.Email)
	}
	return out, nil
}
