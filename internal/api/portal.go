package api

import (
	"errors"
	"net/http"
	"strconv"
	"time"

	"github.com/carepost/carepost/internal/access"
	"github.com/carepost/carepost/internal/auth"
	"github.com/carepost/carepost/internal/config"
	"github.com/carepost/carepost/internal/httpserver"
	"github.com/carepost/carepost/internal/portal"
	"github.com/carepost/carepost/internal/store"
	"github.com/carepost/carepost/internal/webauth"
)

// The secure portal's administration (package portal, docs/PORTAL.md):
// portal deliveries, revocation, proofs the sender sets, settings.

// portalRoutes are appended to the route table.
func (s *Server) portalRoutes() []Route {
	const get, post, put = http.MethodGet, http.MethodPost, http.MethodPut
	return []Route{
		{Method: get, Path: "/portal/deliveries", Tag: "portal", Summary: "Portal deliveries, newest first (message_id, state, cursor, limit); one's own messages', or all with messages:read_all", Response: "PortalDeliveryList", handler: s.listPortal},
		{Method: get, Path: "/portal/deliveries/{id}", Tag: "portal", Tenant: true, Summary: "A portal delivery: state, expiry, when it was opened, revoked or expired", Response: "PortalDelivery", handler: s.getPortal},
		{Method: post, Path: "/portal/deliveries/{id}/revoke", Tag: "portal", Tenant: true, Summary: "Revoke one recipient's portal delivery: the portal refuses it at once (the sender, or messages:revoke; audited)", Response: "PortalDelivery", handler: s.revokePortal},
		{Method: put, Path: "/portal/deliveries/{id}/proof", Tag: "portal", Tenant: true, Summary: "Set or clear the passphrase and the phone number for SMS codes of a portal delivery (the sender, or messages:revoke; audited)", Request: "PortalProof", Response: "PortalDelivery", handler: s.setPortalProof},
		{Method: post, Path: "/messages/{id}/revoke", Tag: "portal", Tenant: true, Summary: "Revoke a message's portal deliveries, all or those of recipient_ids (the sender, or messages:revoke; audited)", Request: "PortalRevoke", Response: "PortalDeliveryList", handler: s.revokeMessage},
		{Method: get, Path: "/portal/settings", Tag: "portal", Perm: access.SettingsWrite, Summary: "The organization's portal settings: expiry, notification text, whether notifications show the subject", Response: "PortalSettings", handler: s.getPortalSettings},
		{Method: put, Path: "/portal/settings", Tag: "portal", Perm: access.SettingsWrite, Summary: "Replace the portal settings; the notification text is checked for PHI (audited)", Request: "PortalSettings", Response: "PortalSettings", handler: s.putPortalSettings},
	}
}

type portalDeliveryView struct {
	ID             string     `json:"id"`
	MessageID      string     `json:"message_id"`
	RecipientID    string     `json:"recipient_id"`
	State          string     `json:"state"`
	Passphrase     bool       `json:"passphrase"`
	Phone          bool       `json:"phone"`
	FailedAttempts int        `json:"failed_attempts"`
	LockedUntil    *time.Time `json:"locked_until"`
	Replies        int        `json:"replies"`
	NotificationID string     `json:"notification_id"`
	CreatedAt      time.Time  `json:"created_at"`
	ExpiresAt      time.Time  `json:"expires_at"`
	OpenedAt       *time.Time `json:"opened_at"`
	RevokedAt      *time.Time `json:"revoked_at"`
	ExpiredAt      *time.Time `json:"expired_at"`
}

func viewPortal(d portal.Delivery) portalDeliveryView {
	return portalDeliveryView{ID: d.ID, MessageID: d.MessageID, RecipientID: d.RecipientID, State: d.State, Passphrase: d.Passphrase,
		Phone: d.Phone, FailedAttempts: d.FailedAttempts, LockedUntil: timePtr(d.LockedUntil), Replies: d.Replies,
		NotificationID: d.NoticeID, CreatedAt: d.CreatedAt, ExpiresAt: d.ExpiresAt, OpenedAt: timePtr(d.OpenedAt),
		RevokedAt: timePtr(d.RevokedAt), ExpiredAt: timePtr(d.ExpiredAt)}
}

func viewPortals(l []portal.Delivery) map[string]any {
	out := make([]portalDeliveryView, 0, len(l))
	for _, d := range l {
		out = append(out, viewPortal(d))
	}
	return map[string]any{"deliveries": out}
}

// portalFail maps the portal's errors, then the rest as fail does.
func (s *Server) portalFail(w http.ResponseWriter, r *http.Request, err error) {
	var in *portal.InputError
	switch {
	case errors.As(err, &in):
		s.fail(w, r, &auth.InputError{Field: in.Field, Msg: in.Msg})
	case errors.Is(err, portal.ErrForbidden):
		s.fail(w, r, auth.ErrForbidden)
	case errors.Is(err, portal.ErrGone):
		httpserver.WriteError(w, r, http.StatusConflict, "gone", "the portal delivery was revoked or has expired", "")
	default:
		s.fail(w, r, err)
	}
}

func (s *Server) listPortal(w http.ResponseWriter, r *http.Request, id webauth.Identity) {
	q := r.URL.Query()
	f := portal.Filter{MessageID: q.Get("message_id"), State: q.Get("state"), Before: q.Get("cursor"), Limit: 50}
	if f.State != "" && f.State != store.PortalActive && f.State != store.PortalRevoked && f.State != store.PortalExpired {
		s.fail(w, r, &auth.InputError{Field: "state", Msg: "must be active, revoked or expired"})
		return
	}
	if v := q.Get("limit"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 || n > 200 {
			s.fail(w, r, &auth.InputError{Field: "limit", Msg: "must be 1 to 200"})
			return
		}
		f.Limit = n
	}
	l, err := s.deps.Portal.List(r.Context(), id.Principal, f)
	if err != nil {
		s.portalFail(w, r, err)
		return
	}
	out := viewPortals(l)
	out["next_cursor"] = ""
	if len(l) == f.Limit {
		out["next_cursor"] = l[len(l)-1].ID
	}
	s.ok(w, 0, out)
}

func (s *Server) getPortal(w http.ResponseWriter, r *http.Request, id webauth.Identity) {
	d, err := s.deps.Portal.Get(r.Context(), id.Principal, r.PathValue("id"))
	if err != nil {
		s.portalFail(w, r, err)
		return
	}
	s.ok(w, 0, viewPortal(d))
}

func (s *Server) revokePortal(w http.ResponseWriter, r *http.Request, id webauth.Identity) {
	d, err := s.deps.Portal.Revoke(r.Context(), id.Principal, r.PathValue("id"))
	if err != nil {
		s.portalFail(w, r, err)
		return
	}
	s.ok(w, 0, viewPortal(d))
}

type portalProofInput struct {
	Passphrase *string `json:"passphrase"`
	Phone      *string `json:"phone"`
}

func (s *Server) setPortalProof(w http.ResponseWriter, r *http.Request, id webauth.Identity) {
	var in portalProofInput
	if err := decode(r, &in); err != nil {
		s.fail(w, r, err)
		return
	}
	d, err := s.deps.Portal.SetProof(r.Context(), id.Principal, r.PathValue("id"), portal.Proof{Passphrase: in.Passphrase, Phone: in.Phone})
	if err != nil {
		s.portalFail(w, r, err)
		return
	}
	s.ok(w, 0, viewPortal(d))
}

type portalRevokeInput struct {
	RecipientIDs []string `json:"recipient_ids"`
}

func (s *Server) revokeMessage(w http.ResponseWriter, r *http.Request, id webauth.Identity) {
	var in portalRevokeInput
	if r.ContentLength != 0 {
		if err := decode(r, &in); err != nil {
			s.fail(w, r, err)
			return
		}
	}
	l, err := s.deps.Portal.RevokeMessage(r.Context(), id.Principal, r.PathValue("id"), in.RecipientIDs)
	if err != nil {
		s.portalFail(w, r, err)
		return
	}
	s.ok(w, 0, viewPortals(l))
}

type portalSettingsView struct {
	Expiry           string     `json:"expiry"`
	NotificationText string     `json:"notification_text"`
	ShowSubject      bool       `json:"show_subject"`
	Custom           bool       `json:"custom"`
	UpdatedAt        *time.Time `json:"updated_at"`
}

func viewPortalSettings(st portal.Settings) portalSettingsView {
	return portalSettingsView{Expiry: config.Duration(st.Expiry).String(), NotificationText: st.NotificationText,
		ShowSubject: st.ShowSubject, Custom: st.Custom, UpdatedAt: timePtr(st.UpdatedAt)}
}

func (s *Server) getPortalSettings(w http.ResponseWriter, r *http.Request, id webauth.Identity) {
	st, err := s.deps.Portal.GetSettings(r.Context(), id.Principal)
	if err != nil {
		s.portalFail(w, r, err)
		return
	}
	s.ok(w, 0, viewPortalSettings(st))
}

type portalSettingsInput struct {
	Expiry           string `json:"expiry"`
	NotificationText string `json:"notification_text"`
	ShowSubject      bool   `json:"show_subject"`
	Custom           bool   `json:"custom"`     // ignored (output only)
	UpdatedAt        any    `json:"updated_at"` // ignored (output only)
}

func (s *Server) putPortalSettings(w http.ResponseWriter, r *http.Request, id webauth.Identity) {
	var in portalSettingsInput
	if err := decode(r, &in); err != nil {
		s.fail(w, r, err)
		return
	}
	d, err := config.ParseDuration(in.Expiry)
	if err != nil {
		s.fail(w, r, &auth.InputError{Field: "expiry", Msg: "must be a duration such as 30d or 72h"})
		return
	}
	st, err := s.deps.Portal.PutSettings(r.Context(), id.Principal, portal.Settings{Expiry: d.Duration(),
		NotificationText: in.NotificationText, ShowSubject: in.ShowSubject})
	if err != nil {
		s.portalFail(w, r, err)
		return
	}
	s.ok(w, 0, viewPortalSettings(st))
}

// portalSchemas are the OpenAPI schemas of portalRoutes.
func portalSchemas() schema {
	delivery := obj(nil, schema{"id": str("ptl_…"), "message_id": str(""), "recipient_id": str(""),
		"state":      schema{"type": "string", "enum": []string{store.PortalActive, store.PortalRevoked, store.PortalExpired}},
		"passphrase": boolean("the sender set a passphrase"), "phone": boolean("a phone number for SMS codes is known"),
		"failed_attempts": integer("failed proofs in a row"), "locked_until": when("locked by failed proofs until"),
		"replies": integer("replies sent from the portal"), "notification_id": str("message id of the notification"),
		"created_at": at(""), "expires_at": at(""), "opened_at": when("first read"), "revoked_at": when(""), "expired_at": when("")})
	return schema{
		"PortalDelivery":     delivery,
		"PortalDeliveryList": obj(nil, schema{"deliveries": list(ref("PortalDelivery")), "next_cursor": str("")}),
		"PortalProof": obj(nil, schema{"passphrase": str("10 to 256 characters, told to the recipient another way; \"\" clears; stored as argon2id"),
			"phone": str("E.164 (+15551234567) for SMS codes; \"\" clears; stored sealed")}),
		"PortalRevoke": obj(nil, schema{"recipient_ids": list(str("only these recipients; empty means all"))}),
		"PortalSettings": obj([]string{"expiry", "notification_text"}, schema{"expiry": str("how long new portal messages can be opened: 1h to 366d, e.g. 30d"),
			"notification_text": str("1 to 1000 characters; refused when the detectors find PHI"),
			"show_subject":      boolean("show the original subject in notifications when no PHI was found in it"),
			"custom":            boolean("false while the defaults apply (output only)"), "updated_at": when("(output only)")}),
	}
}
