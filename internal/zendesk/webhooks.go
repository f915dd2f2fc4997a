package zendesk

import (
	"context"
	"net/url"
	"slices"
	"strconv"

	"github.com/nukosuke/go-zendesk/zendesk"
)

// Webhook definitions cxaudit asks a Zendesk admin to create: a webhook
// connected to triggers (subscriptions ["conditional_ticket_events"],
// https://developer.zendesk.com/documentation/webhooks/creating-and-monitoring-webhooks/)
// and a trigger that calls it on every ticket created or updated by anyone
// but cxaudit's own API user, with a JSON body carrying the ticket id
// (notification_webhook, https://developer.zendesk.com/api-reference/webhooks/webhooks-api/webhooks/).

// WebhookName and TriggerTitle name what cxaudit creates.
const (
	WebhookName  = "cxaudit"
	TriggerTitle = "cxaudit: audit the ticket within seconds"
	// TriggerBody is the trigger's JSON body: Zendesk fills in the
	// placeholder.
	TriggerBody = `{"ticket_id": "{{ticket.id}}"}`
)

// WebhookDefinition is the webhook posting to endpoint.
func WebhookDefinition(endpoint string) *zendesk.Webhook {
	return &zendesk.Webhook{
		Name:          WebhookName,
		Description:   "cxaudit: ticket changes, audited within seconds (signed; set its signing secret as CXAUDIT_ZENDESK_WEBHOOK_SECRET)",
		Endpoint:      endpoint,
		HTTPMethod:    "POST",
		RequestFormat: "json",
		Status:        "active",
		Subscriptions: []string{"conditional_ticket_events"},
	}
}

// TriggerDefinition is the trigger calling webhook webhookID. With
// apiUserID non-zero, the updates of that user (cxaudit's own notes and
// tags) do not fire it.
func TriggerDefinition(webhookID string, apiUserID int64) zendesk.Trigger {
	var t zendesk.Trigger
	t.Title = TriggerTitle
	t.Active = true
	t.Description = "Posts the ticket id to cxaudit's webhook, which syncs, audits and writes back that ticket."
	t.Conditions.Any = []zendesk.TriggerCondition{
		{Field: "update_type", Operator: "is", Value: "Create"},
		{Field: "update_type", Operator: "is", Value: "Change"},
	}
	t.Conditions.All = []zendesk.TriggerCondition{}
	if apiUserID != 0 {
		t.Conditions.All = append(t.Conditions.All, zendesk.TriggerCondition{Field: "current_user", Operator: "is_not", Value: strconv.FormatInt(apiUserID, 10)})
	}
	t.Actions = []zendesk.TriggerAction{{Field: "notification_webhook", Value: []any{webhookID, TriggerBody}}}
	return t
}

// WebhookSetup is what SetupWebhook created or found.
type WebhookSetup struct {
	WebhookID string
	TriggerID int64
	// WebhookExisted and TriggerExisted tell that they were found, from an
	// earlier setup, and not created again.
	WebhookExisted, TriggerExisted bool
	// Secret is the webhook's signing secret, for
	// CXAUDIT_ZENDESK_WEBHOOK_SECRET.
	Secret string
}

// SetupWebhook creates the webhook posting to endpoint and the trigger
// calling it, and reads the webhook's signing secret. Run again, it finds
// them (a webhook connected to triggers with that endpoint; a trigger
// calling it) instead of creating them twice.
func (c *Client) SetupWebhook(ctx context.Context, endpoint string) (WebhookSetup, error) {
	var out WebhookSetup
	me, err := c.Me(ctx)
	if err != nil {
		return out, err
	}
	if out.WebhookID, err = c.findWebhook(ctx, endpoint); err != nil {
		return out, err
	}
	out.WebhookExisted = out.WebhookID != ""
	if !out.WebhookExisted {
		hook, err := c.zd().CreateWebhook(ctx, WebhookDefinition(endpoint))
		if err != nil {
			return out, c.mapError("create webhook", err)
		}
		out.WebhookID = hook.ID
	}
	sec, err := c.zd().GetWebhookSigningSecret(ctx, out.WebhookID)
	if err != nil {
		return out, c.mapError("show webhook signing secret", err)
	}
	out.Secret = sec.Secret
	if out.TriggerID, err = c.findTrigger(ctx, out.WebhookID); err != nil {
		return out, err
	}
	out.TriggerExisted = out.TriggerID != 0
	if !out.TriggerExisted {
		tr, err := c.zd().CreateTrigger(ctx, TriggerDefinition(out.WebhookID, me.ID))
		if err != nil {
			return out, c.mapError("create trigger", err)
		}
		out.TriggerID = tr.ID
	}
	return out, nil
}

// findWebhook returns the id of a webhook connected to triggers that posts
// to endpoint, or "". The List Webhooks endpoint pages by cursor
// (https://developer.zendesk.com/api-reference/webhooks/webhooks-api/webhooks/#list-webhooks).
func (c *Client) findWebhook(ctx context.Context, endpoint string) (string, error) {
	path := "/webhooks?page[size]=100"
	for path != "" {
		var resp struct {
			Webhooks []zendesk.Webhook `json:"webhooks"`
			Meta     struct {
				HasMore     bool   `json:"has_more"`
				AfterCursor string `json:"after_cursor"`
			} `json:"meta"`
		}
		if err := c.get(ctx, "list webhooks", path, &resp); err != nil {
			return "", err
		}
		for _, h := range resp.Webhooks {
			if h.Endpoint == endpoint && slices.Contains(h.Subscriptions, "conditional_ticket_events") {
				return h.ID, nil
			}
		}
		path = ""
		if resp.Meta.HasMore && resp.Meta.AfterCursor != "" {
			path = "/webhooks?page[size]=100&page[after]=" + url.QueryEscape(resp.Meta.AfterCursor)
		}
	}
	return "", nil
}

// findTrigger returns the id of a trigger whose notification_webhook
// action calls webhook id, or 0.
func (c *Client) findTrigger(ctx context.Context, id string) (int64, error) {
	for page := 1; ; page++ {
		trs, pg, err := c.zd().GetTriggers(ctx, &zendesk.TriggerListOptions{PageOptions: zendesk.PageOptions{PerPage: 100, Page: page}})
		if err != nil {
			return 0, c.mapError("list triggers", err)
		}
		for _, t := range trs {
			for _, a := range t.Actions {
				if v, ok := a.Value.([]any); ok && a.Field == "notification_webhook" && len(v) == 2 && v[0] == id {
					return t.ID, nil
				}
			}
		}
		if !pg.HasNext() || len(trs) == 0 {
			return 0, nil
		}
	}
}
