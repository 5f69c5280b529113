package api

import (
	"net/http"

	"github.com/carepost/carepost/internal/access"
)

// table is every endpoint of the API. Later features append their routes
// here; the OpenAPI document and the two-organization matrix follow.
func (s *Server) table() []Route {
	const (
		get, post, put, patch, del = http.MethodGet, http.MethodPost, http.MethodPut, http.MethodPatch, http.MethodDelete
	)
	return append([]Route{
		{Method: get, Path: "/me", Tag: "account", Summary: "The caller: user or API key, organization, effective permissions", Response: "Me", handler: s.getMe},
		{Method: get, Path: "/org", Tag: "organization", Summary: "The caller's organization and its session settings", Response: "Org", handler: s.getOrg},
		{Method: patch, Path: "/org", Tag: "organization", Perm: access.SettingsWrite, Summary: "Change the organization's name and session timeouts (idle ≤ 30 minutes)", Request: "OrgPatch", Response: "Org", handler: s.patchOrg},

		{Method: get, Path: "/users", Tag: "users", Perm: access.UsersRead, Summary: "List users", Response: "UserList", handler: s.listUsers},
		{Method: post, Path: "/users", Tag: "users", Perm: access.UsersWrite, Summary: "Create a user; answers a one-time password to change at first sign-in", Request: "NewUser", Response: "CreatedUser", Status: http.StatusCreated, handler: s.createUser},
		{Method: get, Path: "/users/{id}", Tag: "users", Tenant: true, Summary: "A user (yourself, or any with users:read)", Response: "User", handler: s.getUser},
		{Method: put, Path: "/users/{id}/roles", Tag: "users", Tenant: true, Perm: access.UsersWrite, Summary: "Replace a user's roles (needs recent re-authentication)", Request: "RoleAssignment", Response: "User", handler: s.setUserRoles},
		{Method: post, Path: "/users/{id}/disable", Tag: "users", Tenant: true, Perm: access.UsersWrite, Summary: "Disable a user: ends their sessions and revokes their API keys at once", Response: "User", handler: s.disableUser},
		{Method: post, Path: "/users/{id}/enable", Tag: "users", Tenant: true, Perm: access.UsersWrite, Summary: "Enable a disabled user", Response: "User", handler: s.enableUser},
		{Method: post, Path: "/users/{id}/mfa/reset", Tag: "users", Tenant: true, Perm: access.UsersWrite, Summary: "Remove a user's second factors; they enrol again at next sign-in (needs recent re-authentication)", Response: "User", handler: s.resetUserMFA},

		{Method: get, Path: "/roles", Tag: "roles", Perm: access.UsersRead, Summary: "Built-in and custom roles, and the permission list", Response: "RoleList", handler: s.listRoles},
		{Method: post, Path: "/roles", Tag: "roles", Perm: access.RolesWrite, Summary: "Create a custom role from the permission list", Request: "RoleInput", Response: "Role", Status: http.StatusCreated, handler: s.createRole},
		{Method: get, Path: "/roles/{id}", Tag: "roles", Tenant: true, Perm: access.UsersRead, Summary: "A role", Response: "Role", handler: s.getRole},
		{Method: put, Path: "/roles/{id}", Tag: "roles", Tenant: true, Perm: access.RolesWrite, Summary: "Replace a custom role's name, description and permissions", Request: "RoleInput", Response: "Role", handler: s.updateRole},
		{Method: del, Path: "/roles/{id}", Tag: "roles", Tenant: true, Perm: access.RolesWrite, Summary: "Delete a custom role that nobody holds", Status: http.StatusNoContent, handler: s.deleteRole},

		{Method: get, Path: "/api-keys", Tag: "api-keys", Perm: access.APIKeysWrite, Summary: "List the organization's API keys (never their secrets)", Response: "APIKeyList", handler: s.listKeys},
		{Method: post, Path: "/api-keys", Tag: "api-keys", Perm: access.APIKeysWrite, Summary: "Create an API key; the token is shown only in this answer", Request: "APIKeyInput", Response: "CreatedAPIKey", Status: http.StatusCreated, handler: s.createKey},
		{Method: get, Path: "/api-keys/{id}", Tag: "api-keys", Tenant: true, Perm: access.APIKeysWrite, Summary: "An API key", Response: "APIKey", handler: s.getKey},
		{Method: del, Path: "/api-keys/{id}", Tag: "api-keys", Tenant: true, Perm: access.APIKeysWrite, Summary: "Revoke an API key", Status: http.StatusNoContent, handler: s.revokeKey},

		{Method: get, Path: "/session", Tag: "sessions", SessionOnly: true, Summary: "The current browser session and its CSRF token (send it as X-CSRF-Token on changes)", Response: "CurrentSession", handler: s.currentSession},
		{Method: get, Path: "/sessions", Tag: "sessions", Summary: "Your active sessions", Response: "SessionList", handler: s.listSessions},
		{Method: del, Path: "/sessions/{id}", Tag: "sessions", Tenant: true, Summary: "End a session (yours, or anyone's with sessions:manage)", Status: http.StatusNoContent, handler: s.endSession},
		{Method: post, Path: "/session/reauth", Tag: "sessions", SessionOnly: true, Summary: "Confirm password and second factor; opens a short window for sensitive changes", Request: "Reauth", Status: http.StatusNoContent, handler: s.reauth},
		{Method: post, Path: "/session/password", Tag: "sessions", SessionOnly: true, Summary: "Change your password; ends your other sessions", Request: "PasswordChange", Status: http.StatusNoContent, handler: s.changePassword},

		{Method: post, Path: "/passkeys/begin", Tag: "passkeys", SessionOnly: true, Summary: "Begin adding a passkey: options for navigator.credentials.create() (needs recent re-authentication)", Response: "PasskeyOptions", handler: s.beginPasskey},
		{Method: post, Path: "/passkeys/finish", Tag: "passkeys", SessionOnly: true, Summary: "Finish adding a passkey with the browser's answer (needs recent re-authentication)", Request: "PasskeyFinish", Response: "PasskeyCreated", Status: http.StatusCreated, handler: s.finishPasskey},
		{Method: get, Path: "/passkeys", Tag: "passkeys", Summary: "Your passkeys", Response: "PasskeyList", handler: s.listPasskeys},
		{Method: del, Path: "/passkeys/{id}", Tag: "passkeys", Tenant: true, Summary: "Remove one of your passkeys; never your only second factor (needs a person and recent re-authentication)", Status: http.StatusNoContent, handler: s.removePasskey},
		{Method: post, Path: "/session/reauth/passkey/begin", Tag: "sessions", SessionOnly: true, Summary: "Begin confirming password and passkey: options for navigator.credentials.get()", Response: "PasskeyOptions", handler: s.beginPasskeyReauth},
		{Method: post, Path: "/session/reauth/passkey", Tag: "sessions", SessionOnly: true, Summary: "Confirm password and passkey; opens a short window for sensitive changes", Request: "PasskeyReauth", Status: http.StatusNoContent, handler: s.passkeyReauth},

		{Method: get, Path: "/sso", Tag: "sso", Perm: access.SettingsWrite, Summary: "The organization's OpenID Connect provider (never its client secret)", Response: "SSO", handler: s.getSSO},
		{Method: put, Path: "/sso", Tag: "sso", Perm: access.SettingsWrite, Summary: "Set up or replace the OpenID Connect provider and its group → role map (needs recent re-authentication)", Request: "SSOInput", Response: "SSO", handler: s.putSSO},
		{Method: del, Path: "/sso", Tag: "sso", Perm: access.SettingsWrite, Summary: "Remove the OpenID Connect provider (needs recent re-authentication)", Status: http.StatusNoContent, handler: s.deleteSSO},

		{Method: post, Path: "/break-glass", Tag: "break-glass", Perm: access.BreakGlass, SessionOnly: true, Summary: "Activate emergency access for a limited time with a written reason (audited, raises an alert)", Request: "BreakGlassInput", Response: "Grant", Status: http.StatusCreated, handler: s.activateBreakGlass},
		{Method: del, Path: "/break-glass", Tag: "break-glass", SessionOnly: true, Summary: "End your emergency access now", Status: http.StatusNoContent, handler: s.endBreakGlass},

		{Method: post, Path: "/messages", Tag: "messages", Perm: access.MessagesSend, Summary: "Send a message; answers 202 once it is durably queued (Idempotency-Key header supported)", Request: "SendMessage", Response: "Submitted", Status: http.StatusAccepted, handler: s.sendMessage},
		{Method: post, Path: "/messages/raw", Tag: "messages", Perm: access.MessagesSend, Summary: "Send a whole RFC 5322 message (base64) to envelope recipients", Request: "SendRaw", Response: "Submitted", Status: http.StatusAccepted, handler: s.sendRaw},
		{Method: get, Path: "/messages", Tag: "messages", Summary: "List messages, newest first (status, since, cursor, limit)", Response: "MessageList", handler: s.listMessages},
		{Method: get, Path: "/messages/{id}", Tag: "messages", Tenant: true, Summary: "A message's delivery record: per-recipient state and security receipt", Response: "Message", handler: s.getMessage},
		{Method: get, Path: "/messages/{id}/content", Tag: "messages", Tenant: true, Summary: "A message's content, for its sender or holders of messages:read_all (audited)", Response: "MessageContent", handler: s.getMessageContent},
		{Method: get, Path: "/events", Tag: "events", Summary: "Delivery events after a cursor (since=next_cursor of the last page, or an event id), in commit order, oldest first", Response: "EventList", handler: s.listEvents},

		{Method: get, Path: "/policy", Tag: "policy", Summary: "The organization's encryption policy document (policy:write or audit:read)", Response: "Policy", handler: s.getPolicy},
		{Method: put, Path: "/policy", Tag: "policy", Perm: access.PolicyWrite, Summary: "Replace the encryption policy: validated, saved as a new version, audited (policy.update)", Request: "Policy", Response: "Policy", handler: s.putPolicy},
		{Method: post, Path: "/policy/explain", Tag: "policy", Summary: "Dry run: the decision and reasons per recipient for a POST /messages body; stores and sends nothing (messages:send or policy:write)", Request: "SendMessage", Response: "Explanation", handler: s.explainPolicy},
		{Method: get, Path: "/policy/pins", Tag: "policy", Summary: "Partner domains pinned to verified TLS (policy:write or audit:read)", Response: "PinList", handler: s.listPins},
		{Method: post, Path: "/policy/pins", Tag: "policy", Perm: access.PolicyWrite, Summary: "Pin a partner domain to verified TLS, optionally to MX hosts and a certificate (audited)", Request: "PinInput", Response: "Pin", Status: http.StatusCreated, handler: s.createPin},
		{Method: get, Path: "/policy/pins/{id}", Tag: "policy", Tenant: true, Summary: "A transport pin, by domain (policy:write or audit:read)", Response: "Pin", handler: s.getPin},
		{Method: put, Path: "/policy/pins/{id}", Tag: "policy", Tenant: true, Perm: access.PolicyWrite, Summary: "Change a transport pin's MX pattern or certificate (audited)", Request: "PinUpdate", Response: "Pin", handler: s.updatePin},
		{Method: del, Path: "/policy/pins/{id}", Tag: "policy", Tenant: true, Perm: access.PolicyWrite, Summary: "Remove a transport pin (audited)", Status: http.StatusNoContent, handler: s.deletePin},

		{Method: post, Path: "/domains", Tag: "domains", Perm: access.DomainsWrite, Summary: "Add a sender domain: generates its DKIM keys (RSA-2048 and Ed25519) and answers the DNS records to publish", Request: "DomainInput", Response: "DomainRecords", Status: http.StatusCreated, handler: s.addDomain},
		{Method: get, Path: "/domains", Tag: "domains", Summary: "The organization's sender domains (domains:write or settings:write)", Response: "DomainList", handler: s.listDomains},
		{Method: get, Path: "/domains/{id}", Tag: "domains", Tenant: true, Summary: "A sender domain with the records to publish and its last check (domains:write or settings:write)", Response: "DomainRecords", handler: s.getDomain},
		{Method: post, Path: "/domains/{id}/verify", Tag: "domains", Tenant: true, Perm: access.DomainsWrite, Summary: "Read the domain's records back through DNS; both DKIM keys published verify it, SPF, DMARC and TLS-RPT are warnings", Response: "DomainCheck", handler: s.verifyDomain},
		{Method: del, Path: "/domains/{id}", Tag: "domains", Tenant: true, Perm: access.DomainsWrite, Summary: "Delete a sender domain and its keys (refused while mail from it awaits delivery)", Status: http.StatusNoContent, handler: s.deleteDomain},

		{Method: get, Path: "/gateway/connectors", Tag: "gateway", Perm: access.SettingsWrite, Summary: "The organization's gateway connectors: the mail servers allowed to relay through the gateway without AUTH", Response: "GatewayConnectorList", handler: s.listConnectors},
		{Method: post, Path: "/gateway/connectors", Tag: "gateway", Perm: access.SettingsWrite, Summary: "Add a gateway connector matched by source ranges and/or a client certificate (pinned, or from a CA for given names)", Request: "GatewayConnectorInput", Response: "GatewayConnector", Status: http.StatusCreated, handler: s.createConnector},
		{Method: get, Path: "/gateway/connectors/{id}", Tag: "gateway", Tenant: true, Perm: access.SettingsWrite, Summary: "A gateway connector", Response: "GatewayConnector", handler: s.getConnector},
		{Method: put, Path: "/gateway/connectors/{id}", Tag: "gateway", Tenant: true, Perm: access.SettingsWrite, Summary: "Replace a gateway connector's settings", Request: "GatewayConnectorInput", Response: "GatewayConnector", handler: s.updateConnector},
		{Method: del, Path: "/gateway/connectors/{id}", Tag: "gateway", Tenant: true, Perm: access.SettingsWrite, Summary: "Delete a gateway connector: its servers are refused at once", Status: http.StatusNoContent, handler: s.deleteConnector},

		{Method: get, Path: "/alerts", Tag: "alerts", Perm: access.AlertsRead, Summary: "Security alert events (failed sign-in bursts, break-glass)", Response: "AlertList", handler: s.listAlerts},
	}, append(s.keyRoutes(), s.portalRoutes()...)...)
}
