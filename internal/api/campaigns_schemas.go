package api

import "github.com/carepost/carepost/internal/campaign"

// campaignSchemas are the OpenAPI components of the campaign endpoints.
func campaignSchemas() schema {
	num := schema{"type": []string{"integer", "null"}, "description": "null: fewer than small_cell_floor (shown without phi:read)"}
	byKey := func(desc string, keys []string) schema {
		props := schema{}
		for _, k := range keys {
			props[k] = num
		}
		return schema{"type": "object", "properties": props, "description": desc}
	}
	engagement := obj(nil, schema{"total": num, "unique": num, "machine": num})
	audience := obj(nil, schema{"lists": list(str("lst_… of the organization")), "segments": list(str("seg_… (when segments are available)"))})
	states := []string{string(campaign.Draft), string(campaign.Scheduled), string(campaign.Sending), string(campaign.Paused),
		string(campaign.Completed), string(campaign.Cancelled)}
	return schema{
		"CampaignInput": obj(nil, schema{"name": str("1 to 200 characters (required on create)"),
			"from_email": str("in a verified sender domain of the organization (required on create)"), "from_name": str(""), "reply_to": str(""),
			"template_id": str("required on create"), "template_version": integer("0 or absent: the current version, fixed when saved"),
			"audience": audience, "throttle": integer("at most this many messages per minute; 0: no limit"),
			"security": schema{"type": "string", "enum": []string{string(campaign.SecurityAuto), string(campaign.SecurityTLSOnly)},
				"description": "auto: the organization's policy (verified TLS, e2e or the portal); tls_only: verified TLS or dropped, never the portal"},
			"uses_phi": boolean("default true: only contacts with a valid marketing authorization get it; false is refused when the template reads PHI fields")}),
		"Campaign": obj(nil, schema{"id": str(""), "name": str(""), "state": schema{"type": "string", "enum": states},
			"state_reason": str("why the engine paused it by itself"), "from_email": str(""), "from_name": str(""), "reply_to": str(""),
			"template_id": str(""), "template_version": integer(""), "audience": audience, "send_at": when("the scheduled instant (UTC)"),
			"timezone": str("the zone it was scheduled in"), "throttle": integer(""), "security": str(""), "uses_phi": boolean(""),
			"progress": obj(nil, schema{"targeted": integer("contacts written so far"), "prepared": boolean("the whole audience is written"),
				"batches": integer(""), "batches_done": integer("")}),
			"created_at": at(""), "updated_at": at(""), "started_at": when(""), "finished_at": when("")}),
		"CampaignList": obj(nil, schema{"campaigns": list(ref("Campaign")), "next_cursor": str("")}),
		"CampaignSchedule": obj([]string{"send_at"}, schema{"send_at": str("local time (2026-03-02T09:00) with timezone, or RFC 3339 with an offset"),
			"timezone": str("IANA name, e.g. America/Chicago")}),
		"CampaignTest": obj([]string{"to"}, schema{"to": list(str("1 to 10 addresses")),
			"contact_id": str("render with this contact's fields (needs phi:read; audited)")}),
		"CampaignTestResult": obj(nil, schema{"messages": list(ref("Submitted"))}),
		"CampaignReport": obj(nil, schema{"campaign_id": str(""), "state": str(""),
			"small_cell_floor": integer("counts from 1 to this minus one are null; 0 when you have phi:read"),
			"targeted":         num, "pending": num, "cancelled": num, "sent": num,
			"skipped":  byKey("targeted contacts not sent to, by reason", campaign.SkipReasons),
			"delivery": byKey("sent messages by delivery state; dropped: TLS-only recipients policy would have sent to the portal", campaign.DeliveryStates),
			"methods":  byKey("delivery method mix", campaign.Methods),
			"opens":    engagement, "clicks": engagement,
			"links":        list(obj(nil, schema{"index": integer(""), "url": str(""), "total": num, "unique": num, "machine": num})),
			"unsubscribes": num, "complaints": num}),
	}
}
