package zendesk

import (
	"context"
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

// WebhookSetup is what SetupWebhook created.
type WebhookSetup struct {
	WebhookID string
	TriggerID int64
	// Secret is the webhook's signing secret, for
	// CXAUDIT_ZENDESK_WEBHOOK_SECRET.
	Secret string
}

// SetupWebhook creates the webhook posting to endpoint and the trigger
// calling it, and reads the webhook's signing secret.
func (c *Client) SetupWebhook(ctx context.Context, endpoint string) (WebhookSetup, error) {
	var out WebhookSetup
	me, err := c.Me(ctx)
	if err != nil {
		return out, err
	}
	hook, err := c.zd().CreateWebhook(ctx, WebhookDefinition(endpoint))
	if err != nil {
		return out, c.mapError("create webhook", err)
	}
	out.WebhookID = hook.ID
	sec, err := c.zd().GetWebhookSigningSecret(ctx, hook.ID)
	if err != nil {
		return out, c.mapError("show webhook signing secret", err)
	}
	out.Secret = sec.Secret
	tr, err := c.zd().CreateTrigger(ctx, TriggerDefinition(hook.ID, me.ID))
	if err != nil {
		return out, c.mapError("create trigger", err)
	}
	out.TriggerID = tr.ID
	return out, nil
}
