package api_test

import (
	"net/http"
	"testing"

	"github.com/carepost/carepost/internal/api/apitest"
	"github.com/carepost/carepost/internal/store/storetest"
)

// sendPortal sends a message the policy puts in the portal (security
// "portal") and returns its id and its recipient's portal delivery id.
func sendPortal(t *testing.T, e *apitest.Env, tn *apitest.Tenant) (messageID, deliveryID string) {
	t.Helper()
	// A new address each time: the notification bounces (example.org has
	// no mail server on the test's DNS), which suppresses the address.
	r := e.Do(t, tn.Key, "POST", v1+"/messages", map[string]any{"from": e.Sender(t, tn), "to": []string{"patient-" + randomSuffix(t) + "@example.org"},
		"subject": "Results", "text": "Your results are ready.", "security": "portal"})
	var sent struct {
		ID         string
		Recipients []struct{ ID, State string }
	}
	r.JSON(t, &sent)
	if r.Status != http.StatusAccepted || len(sent.Recipients) != 1 || sent.Recipients[0].State != "portal" {
		t.Fatalf("send portal message: %d %s", r.Status, r.Body)
	}
	var list struct {
		Deliveries []struct {
			ID          string
			RecipientID string `json:"recipient_id"`
		}
	}
	e.Do(t, tn.Key, "GET", v1+"/portal/deliveries?message_id="+sent.ID, nil).JSON(t, &list)
	if len(list.Deliveries) != 1 || list.Deliveries[0].RecipientID != sent.Recipients[0].ID {
		t.Fatalf("portal deliveries of %s: %+v", sent.ID, list)
	}
	return sent.ID, list.Deliveries[0].ID
}

// portalFixture makes a portal delivery for the matrix (routes taking a
// delivery id); portalMessage a message with one (routes taking its id).
func portalFixture(body any) apitest.Fixture {
	return func(t *testing.T, e *apitest.Env, tn *apitest.Tenant) (string, any) {
		_, id := sendPortal(t, e, tn)
		return id, body
	}
}

func portalMessage(t *testing.T, e *apitest.Env, tn *apitest.Tenant) (string, any) {
	id, _ := sendPortal(t, e, tn)
	return id, nil
}

func TestPortalAdministration(t *testing.T) {
	t.Parallel()
	e := apitest.New(t, storetest.Default())
	msgID, id := sendPortal(t, e, e.A)

	// A reporting key sees the delivery but may not revoke it or set its proofs.
	reports := e.KeyWith(t, e.A, "reports:read")
	if r := e.Do(t, reports, "GET", v1+"/portal/deliveries/"+id, nil); r.Status != http.StatusOK {
		t.Fatalf("reports:read get: %d %s", r.Status, r.Body)
	}
	if r := e.Do(t, reports, "POST", v1+"/portal/deliveries/"+id+"/revoke", nil); r.Status != http.StatusForbidden {
		t.Fatalf("reports:read revoke: %d %s", r.Status, r.Body)
	}
	if r := e.Do(t, reports, "PUT", v1+"/portal/deliveries/"+id+"/proof", map[string]any{"phone": "+15551234567"}); r.Status != http.StatusForbidden {
		t.Fatalf("reports:read proof: %d %s", r.Status, r.Body)
	}
	// The sender (a key of the owner with messages:send) sets proofs and revokes.
	sender := e.KeyWith(t, e.A, "messages:send")
	if r := e.Do(t, sender, "PUT", v1+"/portal/deliveries/"+id+"/proof", map[string]any{"phone": "555-1234"}); r.Status != http.StatusBadRequest {
		t.Fatalf("a phone number that is not E.164: %d %s", r.Status, r.Body)
	}
	var d struct {
		State      string
		Passphrase bool
		Phone      bool
	}
	r := e.Do(t, sender, "PUT", v1+"/portal/deliveries/"+id+"/proof", map[string]any{"passphrase": "correct horse battery staple", "phone": "+15551234567"})
	r.JSON(t, &d)
	if r.Status != http.StatusOK || !d.Passphrase || !d.Phone {
		t.Fatalf("set proof: %d %s", r.Status, r.Body)
	}
	r = e.Do(t, sender, "POST", v1+"/messages/"+msgID+"/revoke", map[string]any{"recipient_ids": []string{"rcp_other"}})
	if r.Status != http.StatusOK || string(r.Body) != `{"deliveries":[]}`+"\n" {
		t.Fatalf("revoke of another recipient: %d %s", r.Status, r.Body)
	}
	var list struct{ Deliveries []struct{ ID, State string } }
	r = e.Do(t, sender, "POST", v1+"/messages/"+msgID+"/revoke", nil)
	r.JSON(t, &list)
	if r.Status != http.StatusOK || len(list.Deliveries) != 1 || list.Deliveries[0].State != "revoked" {
		t.Fatalf("revoke the message: %d %s", r.Status, r.Body)
	}
	if r := e.Do(t, sender, "PUT", v1+"/portal/deliveries/"+id+"/proof", map[string]any{"phone": ""}); r.Status != http.StatusConflict || r.ErrorCode() != "gone" {
		t.Fatalf("proof of a revoked delivery: %d %s", r.Status, r.Body)
	}
	var events struct{ Events []struct{ Type string } }
	e.Do(t, e.A.Key, "GET", v1+"/events?message_id="+msgID, nil).JSON(t, &events)
	types := map[string]int{}
	for _, ev := range events.Events {
		types[ev.Type]++
	}
	if types["message.revoked"] != 1 || types["message.held"] != 2 { // held by the outbox, then in the portal
		t.Fatalf("events of the message: %+v", events)
	}

	// Settings: settings:write, validated.
	if r := e.Do(t, sender, "GET", v1+"/portal/settings", nil); r.Status != http.StatusForbidden {
		t.Fatalf("settings without settings:write: %d", r.Status)
	}
	var st struct {
		Expiry string
		Custom bool
	}
	e.Do(t, e.A.Key, "GET", v1+"/portal/settings", nil).JSON(t, &st)
	if st.Expiry != "30d" || st.Custom {
		t.Fatalf("default settings %+v", st)
	}
	if r := e.Do(t, e.A.Key, "PUT", v1+"/portal/settings", map[string]any{"expiry": "400d", "notification_text": "Sign in."}); r.Status != http.StatusBadRequest {
		t.Fatalf("a 400-day expiry: %d %s", r.Status, r.Body)
	}
	r = e.Do(t, e.A.Key, "PUT", v1+"/portal/settings", map[string]any{"expiry": "14d", "notification_text": "Sign in to read it.", "show_subject": true})
	r.JSON(t, &st)
	if r.Status != http.StatusOK || st.Expiry != "14d" || !st.Custom {
		t.Fatalf("put settings: %d %s", r.Status, r.Body)
	}
}
