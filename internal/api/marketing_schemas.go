package api

// marketingSchemas are the OpenAPI components of the segment and template
// endpoints.
func marketingSchemas() schema {
	count := obj(nil, schema{"value": schema{"type": []string{"integer", "null"}, "description": "null when hidden"},
		"display": str("the count, or \"fewer than N\" below the small-cell floor without phi:read"), "hidden": boolean("")})
	problem := obj(nil, schema{"part": str("subject, preheader, html, text, name or sample"), "field": str("the PHI field at fault"),
		"line": integer("from 1"), "column": integer("from 1; not given for the HTML part"), "message": str("")})
	return schema{
		"Segment": obj(nil, schema{"id": str(""), "name": str(""), "description": str(""),
			"kind": schema{"type": "string", "enum": []string{"dynamic", "static"}}, "expression": str("dynamic segments: the filter (docs/SEGMENTS.md)"),
			"version": integer("counts expression changes"), "fields": list(str("fields the expression reads")),
			"uses_phi": boolean("evaluating it opens PHI fields"), "created_at": at(""), "updated_at": at("")}),
		"SegmentList": obj(nil, schema{"segments": list(ref("Segment"))}),
		"SegmentInput": obj([]string{"name"}, schema{"name": str("unique in the organization"), "description": str(""),
			"kind":       schema{"type": "string", "enum": []string{"dynamic", "static"}, "description": "default dynamic"},
			"expression": str("dynamic: e.g. condition == \"diabetes\" and days_since(last_visit) > 180 and age >= 40")}),
		"SegmentPatch": obj(nil, schema{"name": str(""), "description": str(""), "expression": str("a change makes a new version"),
			"base_version": integer("the version the edit started from (409 stale if it moved on)")}),
		"SegmentTry": obj([]string{"expression"}, schema{"expression": str(""), "cursor": str(""), "limit": integer("≤ 100, default 20")}),
		"SegmentPreview": obj(nil, schema{"members": count, "subscribed": count, "consented": count,
			"page": list(ref("Contact")), "next_cursor": str(""), "fields": list(str("")), "uses_phi": boolean(""),
			"version": integer(""), "floor": integer("the small-cell floor")}),
		"SegmentMembersInput":  obj([]string{"contact_ids"}, schema{"contact_ids": list(str("1 to 1000"))}),
		"SegmentMembersResult": obj(nil, schema{"changed": integer("members added (or removed) by this request")}),
		"ExpressionError":      obj(nil, schema{"line": integer("from 1"), "column": integer("from 1"), "snippet": str("the line with a caret under the token")}),
		"Template": obj(nil, schema{"id": str(""), "name": str(""), "current_version": integer(""), "version": integer("the version shown"),
			"subject": str("text/template"), "preheader": str("text/template"), "html": str("html/template, sanitized"), "text": str("text/template"),
			"text_generated": boolean("derived from the HTML"), "created_at": at(""), "updated_at": at(""), "version_created_at": at("")}),
		"TemplateList": obj(nil, schema{"templates": list(ref("Template"))}),
		"TemplateInput": obj([]string{"name", "subject"}, schema{"name": str(""), "subject": str("no PHI field (the lint refuses it)"),
			"preheader": str("no PHI field"), "html": str("link URLs carry no PHI field"), "text": str("derived from html when empty"),
			"base_version": integer("update: the version the edit started from")}),
		"TemplateVersionList": obj(nil, schema{"versions": list(obj(nil, schema{"version": integer(""), "text_generated": boolean(""),
			"created_at": at(""), "actor": obj(nil, schema{"type": str(""), "id": str("")})}))}),
		"TemplatePreviewInput": obj(nil, schema{"version": integer("default current"), "contact_id": str("render for this contact (PHI masked without phi:read)"),
			"sample": obj(nil, schema{"email": str(""), "phone": str(""), "first_name": str(""), "last_name": str(""), "timezone": str(""),
				"locale": str(""), "fields": schema{"type": "object", "additionalProperties": true}})}),
		"TemplatePreview": obj(nil, schema{"version": integer(""), "subject": str(""), "preheader": str(""), "html": str(""), "text": str(""),
			"masked": boolean("PHI was masked")}),
		"TemplateProblems": obj(nil, schema{"problems": list(problem)}),
	}
}
