package api

import (
	"maps"
	"net/http"
	"regexp"
	"strconv"
	"strings"

	"github.com/carepost/carepost/internal/access"
	"github.com/carepost/carepost/internal/httpserver"
)

// The OpenAPI 3.1 document is generated from the route table and the
// schemas below, so it cannot drift from what the server registers.

type schema = map[string]any

func str(desc string) schema     { return schema{"type": "string", "description": desc} }
func integer(desc string) schema { return schema{"type": "integer", "description": desc} }
func boolean(desc string) schema { return schema{"type": "boolean", "description": desc} }
func when(desc string) schema {
	return schema{"type": []string{"string", "null"}, "format": "date-time", "description": desc}
}
func at(desc string) schema {
	return schema{"type": "string", "format": "date-time", "description": desc}
}
func list(items schema) schema { return schema{"type": "array", "items": items} }
func ref(name string) schema   { return schema{"$ref": "#/components/schemas/" + name} }

func obj(required []string, props schema) schema {
	s := schema{"type": "object", "properties": props, "additionalProperties": false}
	if len(required) > 0 {
		s["required"] = required
	}
	return s
}

func permissionEnum() schema {
	names := make([]string, 0, len(access.All))
	for _, p := range access.All {
		names = append(names, string(p))
	}
	return schema{"type": "string", "enum": names}
}

func schemas() schema {
	perms := list(permissionEnum())
	return schema{
		"Error": obj([]string{"error"}, schema{
			"error": obj([]string{"code", "message"}, schema{
				"code": str("stable machine-readable code"), "message": str("what went wrong, for a person"), "field": str("the input field at fault, when there is one")}),
			"request_id": str("quote this when reporting a problem")}),
		"Me": obj([]string{"org_id", "permissions"}, schema{"user": ref("User"), "api_key_id": str("set when called with an API key"),
			"org_id": str(""), "permissions": perms, "break_glass_until": when("emergency access active until")}),
		"Org": obj(nil, schema{"id": str(""), "name": str(""), "status": str("active"), "idle_timeout_minutes": integer("1 to 30"),
			"session_lifetime_minutes": integer("60 to 720"), "created_at": at("")}),
		"OrgPatch": obj(nil, schema{"name": str(""), "idle_timeout_minutes": integer("1 to 30 (HIPAA automatic logoff)"), "session_lifetime_minutes": integer("60 to 720")}),
		"User": obj(nil, schema{"id": str(""), "email": str(""), "name": str(""), "status": schema{"type": "string", "enum": []string{"active", "disabled"}},
			"roles":                list(str("built-in role name or custom role id")),
			"mfa":                  obj(nil, schema{"totp": boolean(""), "passkeys": integer(""), "recovery_codes_left": integer("")}),
			"must_change_password": boolean(""), "created_at": at(""), "last_login_at": when("")}),
		"UserList":       obj([]string{"users"}, schema{"users": list(ref("User"))}),
		"NewUser":        obj([]string{"email", "name", "roles"}, schema{"email": str(""), "name": str(""), "roles": list(str(""))}),
		"CreatedUser":    obj(nil, schema{"user": ref("User"), "one_time_password": str("shown once; must be changed at first sign-in")}),
		"RoleAssignment": obj([]string{"roles"}, schema{"roles": list(str(""))}),
		"Role":           obj(nil, schema{"id": str("built-in name or role_…"), "name": str(""), "description": str(""), "permissions": perms, "built_in": boolean("")}),
		"RoleList":       obj(nil, schema{"roles": list(ref("Role")), "permissions": perms}),
		"RoleInput":      obj([]string{"name", "permissions"}, schema{"name": str(""), "description": str(""), "permissions": perms}),
		"APIKey": obj(nil, schema{"id": str(""), "name": str(""), "prefix": str("the visible start of the token"), "user_id": str("owner"),
			"scopes": perms, "created_at": at(""), "expires_at": when(""), "revoked_at": when(""), "last_used_at": when("")}),
		"APIKeyList":    obj(nil, schema{"api_keys": list(ref("APIKey"))}),
		"APIKeyInput":   obj([]string{"name", "scopes"}, schema{"name": str(""), "scopes": perms, "expires_at": when("optional expiry")}),
		"CreatedAPIKey": obj(nil, schema{"api_key": ref("APIKey"), "token": str("shown once: send as Authorization: Bearer <token>, or as the SMTP AUTH password")}),
		"Session": obj(nil, schema{"id": str(""), "user_id": str(""), "created_at": at(""), "last_seen_at": at(""), "expires_at": at("absolute expiry"),
			"idle_timeout_minutes": integer(""), "client_ip": str(""), "user_agent": str(""), "methods": list(str("authentication methods")), "current": boolean("")}),
		"SessionList":     obj(nil, schema{"sessions": list(ref("Session"))}),
		"CurrentSession":  obj(nil, schema{"session": ref("Session"), "csrf_token": str("send as X-CSRF-Token on state-changing requests")}),
		"Reauth":          obj([]string{"password", "code"}, schema{"password": str(""), "code": str("TOTP or recovery code")}),
		"PasswordChange":  obj([]string{"current_password", "new_password"}, schema{"current_password": str(""), "new_password": str("12 to 256 characters, not a common password")}),
		"BreakGlassInput": obj([]string{"reason"}, schema{"reason": str("why emergency access is needed (at least 20 characters; sealed)"), "minutes": integer("1 to 240; default 60")}),
		"Grant":           obj(nil, schema{"id": str(""), "user_id": str(""), "started_at": at(""), "expires_at": at("")}),
		"Alert": obj(nil, schema{"id": str(""), "kind": str("auth.failures, auth.breakglass, …"), "severity": str(""),
			"details": schema{"type": "object", "additionalProperties": schema{"type": "string"}}, "created_at": at("")}),
		"AlertList": obj(nil, schema{"alerts": list(ref("Alert"))}),

		"DomainInput": obj([]string{"domain"}, schema{"domain": str("the domain mail is sent from, e.g. example.org (IDN allowed; stored as A-labels)")}),
		"Domain": obj(nil, schema{"id": str(""), "domain": str("lower-case A-labels"),
			"status":      schema{"type": "string", "enum": []string{"pending", "verified"}, "description": "only verified domains send"},
			"verified_by": schema{"type": "string", "enum": []string{"", "dns", "demo"}, "description": "demo: verified by demo mode, which counts only while demo mode is on"},
			"selectors":   obj(nil, schema{"rsa": str("DKIM selector of the RSA key"), "ed25519": str("DKIM selector of the Ed25519 key")}),
			"created_at":  at(""), "verified_at": when(""),
			"last_check": schema{"oneOf": []any{schema{"type": "null"}, obj(nil, schema{"at": at(""), "checks": list(ref("DomainCheckItem")),
				"warnings": list(ref("DomainCheckItem"))})}}}),
		"DomainCheckItem": obj(nil, schema{"kind": schema{"type": "string", "enum": []string{"dkim-rsa", "dkim-ed25519", "spf", "dmarc", "tls-rpt"}},
			"name": str("the DNS name looked up"), "status": schema{"type": "string", "enum": []string{"found", "missing", "mismatch", "error"}},
			"detail": str("what was found or why it does not match"), "required": boolean("verification needs it (the DKIM keys); the others are warnings")}),
		"DomainRecord": obj(nil, schema{"kind": str("dkim-rsa, dkim-ed25519, spf, dmarc or tls-rpt"), "name": str("fully qualified, no trailing dot"),
			"type": str("TXT"), "value": str("the whole TXT value"), "zone": str("a zone-file line, split into 255-octet strings"),
			"required": boolean("verification needs it")}),
		"DomainRecords": obj(nil, schema{"domain": ref("Domain"), "records": list(ref("DomainRecord"))}),
		"DomainList":    obj(nil, schema{"domains": list(ref("Domain"))}),
		"DomainCheck": obj(nil, schema{"domain": ref("Domain"), "verified": boolean("the domain may send"),
			"checks": list(ref("DomainCheckItem")), "warnings": list(ref("DomainCheckItem"))}),
		"Address": schema{"oneOf": []any{str("an address, optionally with a display name: \"Name <a@example.org>\""),
			obj([]string{"email"}, schema{"name": str(""), "email": str("")})}},
		"SendMessage": obj([]string{"from", "subject"}, schema{
			"from": ref("Address"), "reply_to": list(ref("Address")), "to": list(ref("Address")), "cc": list(ref("Address")), "bcc": list(ref("Address")),
			"subject": str("carried inside the encrypted content; never in notifications"), "text": str(""), "html": str(""),
			"attachments": list(obj([]string{"filename", "content_type", "content"}, schema{"filename": str(""), "content_type": str(""),
				"content": str("standard base64"), "inline": boolean(""), "content_id": str("")})),
			"headers":     schema{"type": "object", "additionalProperties": schema{"type": "string"}, "description": "X-* and a small allowlist"},
			"tags":        list(str("")),
			"metadata":    schema{"type": "object", "additionalProperties": schema{"type": "string"}, "description": "echoed in events and webhooks: never put PHI here"},
			"security":    schema{"type": "string", "enum": []string{"auto", "tls", "e2e", "portal"}, "description": "the minimum protection; policy may raise it, never lower it"},
			"require_tls": boolean("RFC 8689 REQUIRETLS")}),
		"SendRaw": obj([]string{"message", "rcpts"}, schema{"message": str("the RFC 5322 message, CRLF line endings, standard base64"),
			"mail_from": str("envelope sender; default the From address"), "rcpts": list(str("envelope recipients")),
			"security": schema{"type": "string", "enum": []string{"auto", "tls", "e2e", "portal"}}, "require_tls": boolean(""),
			"tags": list(str("")), "metadata": schema{"type": "object", "additionalProperties": schema{"type": "string"}}}),
		"Submitted": obj(nil, schema{"id": str("message id"), "duplicate": boolean("true when an Idempotency-Key replayed the first result"),
			"recipients": list(obj(nil, schema{"id": str(""), "email": str(""), "state": str("queued, held, failed"), "level": str("required transport level"), "reason": str("")}))}),
		"Message": obj(nil, schema{"id": str(""), "created_at": at(""), "expires_at": at("delivery is retried until then"), "source": str(""),
			"from": str(""), "security": str(""), "phi": boolean(""), "require_tls": boolean(""), "size": integer(""),
			"tags": list(str("")), "metadata": schema{"type": "object"}, "states": schema{"type": "object", "additionalProperties": schema{"type": "integer"}},
			"recipients": list(obj(nil, schema{"id": str(""), "email": str("masked unless you may read the message"), "kind": str("to, cc or bcc"),
				"state": str(""), "level": str(""), "rule": str("the policy rule that set the level"), "attempts": integer(""),
				"last_code": integer(""), "last_enhanced": str(""), "reason": str(""),
				"receipt":    schema{"type": "object", "description": "security receipt: MX host and IP, TLS version and cipher, certificate verification, which policy authorized it"},
				"policy":     ref("RecipientPolicy"),
				"updated_at": at(""), "finished_at": when("")}))}),
		"MessageList": obj(nil, schema{"messages": list(ref("Message")), "next_cursor": str("pass as cursor for the next page")}),
		"MessageContent": obj(nil, schema{"id": str(""), "subject": str(""), "text": str(""), "html": str(""),
			"attachments": list(obj(nil, schema{"filename": str(""), "content_type": str(""), "size": integer("")}))}),
		"EventList": obj(nil, schema{"events": list(obj(nil, schema{"id": str(""), "type": str(""), "message_id": str(""), "recipient_id": str(""),
			"at": at(""), "data": schema{"type": "object"}})), "next_cursor": str("poll with since=next_cursor"), "has_more": boolean("")}),
	}
}

// allSchemas are the components of every feature.
func allSchemas() schema {
	all := schemas()
	maps.Copy(all, contactSchemas())
	maps.Copy(all, passkeySchemas())
	maps.Copy(all, ssoSchemas())
	maps.Copy(all, policySchemas())
	maps.Copy(all, connectorSchemas())
	maps.Copy(all, keySchemas())
	maps.Copy(all, portalSchemas())
	maps.Copy(all, workflowSchemas())
	maps.Copy(all, marketingSchemas())
	maps.Copy(all, campaignSchemas())
	return all
}

var pathParam = regexp.MustCompile(`\{([a-z_]+)\}`)

// Document is the OpenAPI 3.1 description of the API.
func (s *Server) Document() map[string]any {
	paths := schema{}
	for _, rt := range s.routes {
		item, _ := paths[rt.Path].(schema)
		if item == nil {
			item = schema{}
			paths[rt.Path] = item
		}
		status := rt.Status
		if status == 0 {
			status = http.StatusOK
		}
		resp := schema{"description": http.StatusText(status)}
		if rt.Response != "" {
			resp["content"] = schema{"application/json": schema{"schema": ref(rt.Response)}}
		}
		responses := schema{strconv.Itoa(status): resp}
		errResp := func(desc string) schema {
			return schema{"description": desc, "content": schema{"application/json": schema{"schema": ref("Error")}}}
		}
		responses["400"] = errResp("invalid input; error.field names it")
		responses["401"] = errResp("not authenticated, or re-authentication required")
		responses["403"] = errResp("authenticated, but the role lacks the permission, or CSRF failed")
		if rt.Tenant {
			responses["404"] = errResp("no such resource in your organization")
		}
		op := schema{"summary": rt.Summary, "tags": []string{rt.Tag}, "operationId": operationID(rt), "responses": responses}
		if rt.Perm != "" {
			op["x-permission"] = string(rt.Perm)
		}
		if rt.Public {
			op["security"] = []any{}
		}
		if rt.Request != "" {
			op["requestBody"] = schema{"required": true, "content": schema{"application/json": schema{"schema": ref(rt.Request)}}}
		}
		var params []any
		for _, m := range pathParam.FindAllStringSubmatch(rt.Path, -1) {
			params = append(params, schema{"name": m[1], "in": "path", "required": true, "schema": schema{"type": "string"}})
		}
		if len(params) > 0 {
			op["parameters"] = params
		}
		item[strings.ToLower(rt.Method)] = op
	}
	return map[string]any{
		"openapi": "3.1.0",
		"info": schema{"title": "carepost API", "version": "v1",
			"description": "HIPAA-compliant secure healthcare communications. Authenticate with an API key (Authorization: Bearer cpk_…). Errors never carry PHI."},
		"servers":  []any{schema{"url": Prefix}},
		"paths":    paths,
		"security": []any{schema{"apiKey": []string{}}, schema{"session": []string{}}},
		"components": schema{
			"schemas": allSchemas(),
			"securitySchemes": schema{
				"apiKey":  schema{"type": "http", "scheme": "bearer", "description": "an API key token cpk_…"},
				"session": schema{"type": "apiKey", "in": "cookie", "name": "__Host-carepost-session", "description": "console session; state changes also need the X-CSRF-Token header"},
			},
		},
	}
}

func operationID(rt Route) string {
	var b strings.Builder
	b.WriteString(strings.ToLower(rt.Method))
	for _, part := range strings.Split(strings.Trim(rt.Path, "/"), "/") {
		part = strings.Trim(part, "{}")
		for _, w := range strings.FieldsFunc(part, func(r rune) bool { return r == '-' || r == '_' }) {
			b.WriteString(strings.ToUpper(w[:1]) + w[1:])
		}
	}
	return b.String()
}

func (s *Server) serveOpenAPI(w http.ResponseWriter, r *http.Request) {
	s.docOnce.Do(func() { s.doc = s.Document() })
	w.Header().Set("Cache-Control", "no-cache")
	httpserver.WriteJSON(w, http.StatusOK, s.doc)
}
