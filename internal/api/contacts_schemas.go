package api

import "github.com/carepost/carepost/internal/access"

// contactSchemas are the OpenAPI components of the contact endpoints.
func contactSchemas() schema {
	masked := "PHI: shown as \"" + access.Masked + "\" without phi:read"
	status := schema{"type": "string", "enum": []string{"subscribed", "unsubscribed", "bounced", "complained"},
		"description": "bounced and complained addresses are never sent to (they are on the delivery suppression list)"}
	fields := schema{"type": "object", "additionalProperties": true,
		"description": "custom field values by key: string, number, boolean, YYYY-MM-DD date, list of strings; PHI fields \"" + access.Masked + "\" without phi:read; null clears (on input)"}
	consent := obj(nil, schema{"id": str(""), "granted_at": when(""), "expires_at": when("null: expires on an event instead"),
		"revoked_at": when(""), "valid": boolean("permits marketing with PHI now (contact.CanMarketPHI)")})
	consentIn := obj([]string{"method", "source"}, schema{
		"granted_at": when("when the patient signed (default now)"), "method": schema{"type": "string", "enum": []string{"written", "electronic"}},
		"text_version": str("the version id of the authorization text"), "text": str("the authorization text itself (recorded under text_version, or under its sha256)"),
		"source":     str("where it came from: form:frm_…, ehr, front-desk — an identifier, never PHI"),
		"expires_at": when("the expiration date; give this or expiry_event (HIPAA 164.508(c)(1)(v))"), "expiry_event": str("the expiration event")})
	return schema{
		"ContactInput": obj(nil, schema{"email": str("required on create; unique in the organization, case-insensitively"),
			"phone": str("7 to 15 digits, optionally starting with +"), "first_name": str(""), "last_name": str(""),
			"timezone": str("IANA name, e.g. America/Chicago"), "locale": str("BCP 47 tag, e.g. en-US"), "status": status, "fields": fields}),
		"Contact": obj(nil, schema{"id": str(""), "email": str(masked), "phone": str(masked), "first_name": str(masked), "last_name": str(masked),
			"timezone": str(""), "locale": str(""), "status": status, "suppressed": boolean("delivery refuses the address"), "fields": fields,
			"consent": schema{"oneOf": []any{schema{"type": "null"}, consent}},
			"lists":   schema{"type": "object", "additionalProperties": schema{"type": "string"}, "description": "list id → subscribed or unsubscribed"},
			"masked":  boolean("PHI was hidden from you"), "created_at": at(""), "updated_at": at("")}),
		"ContactPage":       obj(nil, schema{"contacts": list(ref("Contact")), "next_cursor": str("pass as cursor for the next page")}),
		"ContactBulk":       obj([]string{"contacts"}, schema{"contacts": list(ref("ContactInput"))}),
		"ContactBulkResult": obj(nil, schema{"results": list(obj(nil, schema{"id": str(""), "created": boolean("false: an existing contact was updated")}))}),
		"ContactEventInput": obj([]string{"name"}, schema{"name": str("a-z, 0-9, _ and ., e.g. appointment_missed; says what happened, never to whom"),
			"at": when("when it happened (default now)"), "properties": schema{"type": "object", "description": "at most 4 KiB of JSON; sealed (PHI)"}}),
		"ContactEvent": obj(nil, schema{"id": str(""), "contact_id": str(""), "name": str(""), "at": at(""),
			"properties": schema{"type": []string{"object", "null"}, "description": "null when masked or none"}, "masked": boolean("")}),
		"ContactEventList":    obj(nil, schema{"events": list(ref("ContactEvent"))}),
		"ContactConsentInput": consentIn,
		"ContactConsent": obj(nil, schema{"id": str(""), "contact_id": str(""), "granted_at": at(""), "method": str(""), "text_version": str(""),
			"source": str(""), "expires_at": when(""), "expiry_event": str(""), "revoked_at": when(""), "revoke_source": str("")}),
		"ContactConsentList":   obj(nil, schema{"consents": list(ref("ContactConsent"))}),
		"ContactConsentRevoke": obj([]string{"source"}, schema{"revoked_at": when("default now"), "source": str("how the revocation came: portal, letter, …")}),
		"ContactField": obj(nil, schema{"key": str(""), "label": str(""), "type": schema{"type": "string", "enum": []string{"text", "number", "date", "boolean", "list"}},
			"phi": boolean("sealed, masked without phi:read, reads audited"), "options": list(str("")), "built_in": boolean("")}),
		"ContactFieldList": obj(nil, schema{"fields": list(ref("ContactField"))}),
		"ContactFieldInput": obj([]string{"key", "type"}, schema{"key": str("a-z, 0-9, _; starts with a letter"), "label": str(""), "type": str(""),
			"phi": boolean("default true"), "options": list(str("list fields: the allowed values"))}),
		"ContactFieldPatch": obj(nil, schema{"label": str(""), "options": list(str(""))}),
		"ContactList": obj(nil, schema{"id": str(""), "name": str(""), "description": str(""), "subscribed": integer("members subscribed"),
			"created_at": at(""), "updated_at": at("")}),
		"ContactListList":  obj(nil, schema{"lists": list(ref("ContactList"))}),
		"ContactListInput": obj(nil, schema{"name": str(""), "description": str("")}),
		"ListMembersInput": obj([]string{"contact_ids"}, schema{"contact_ids": list(str("")),
			"state": schema{"type": "string", "enum": []string{"subscribed", "unsubscribed"}, "description": "default subscribed"}}),
		"ListMemberPage": obj(nil, schema{"members": list(obj(nil, schema{"contact_id": str(""), "state": str(""), "updated_at": at("")})),
			"next_cursor": str("")}),
		"ImportInput": obj(nil, schema{"mapping": schema{"type": "object", "additionalProperties": schema{"type": "string"},
			"description": "CSV header name → email, phone, first_name, last_name, timezone, locale, status, a custom field key, @consent, or \"\" to ignore; empty: by name"},
			"skip_invalid": boolean("apply the valid rows and report the others (default: one invalid row fails the import and nothing is written)"),
			"list_id":      str("subscribe every imported contact to this list"), "consent": consentIn}),
		"Import": obj(nil, schema{"id": str(""), "state": schema{"type": "string", "enum": []string{"uploading", "queued", "validating", "applying", "completed", "failed", "cancelled"}},
			"bytes": integer("uploaded"), "rows_total": integer("rows read by validation"), "rows_invalid": integer(""),
			"rows_applied": integer("rows committed"), "created": integer(""), "updated": integer("existing contacts and repeated addresses"),
			"skipped": integer("invalid rows skipped (skip_invalid)"), "failure": str("why it failed; no values"),
			"ignored_columns": list(str("")), "created_at": at(""), "started_at": when(""), "finished_at": when("")}),
		"ImportList": obj(nil, schema{"imports": list(ref("Import"))}),
		"ImportReport": obj(nil, schema{"errors": list(obj(nil, schema{"row": integer("data row, 1 is the first after the header; 0 the header"),
			"line": integer("line of the file"), "column": str("header name; empty for the whole row"), "reason": str("never the value")}))}),
	}
}
