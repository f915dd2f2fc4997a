package zendesktest_test

import (
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"strconv"
	"sync"
	"testing"

	gozendesk "github.com/nukosuke/go-zendesk/zendesk"
	"github.com/stretchr/testify/require"

	"github.com/cxaudit/cxaudit/internal/cxaudit"
	"github.com/cxaudit/cxaudit/internal/zendesk/zendesktest"
)

// received is what a webhook endpoint got.
type received struct {
	header http.Header
	body   []byte
}

type receiver struct {
	mu   sync.Mutex
	reqs []received
}

func (rc *receiver) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	b, _ := io.ReadAll(r.Body)
	rc.mu.Lock()
	rc.reqs = append(rc.reqs, received{header: r.Header.Clone(), body: b})
	rc.mu.Unlock()
	w.WriteHeader(http.StatusOK)
}

func (rc *receiver) all() []received {
	rc.mu.Lock()
	defer rc.mu.Unlock()
	return append([]received(nil), rc.reqs...)
}

func apiClient(t *testing.T, b *testBundle) *gozendesk.Client {
	t.Helper()
	c, err := gozendesk.NewClient(nil)
	require.NoError(t, err)
	require.NoError(t, c.SetEndpointURL(b.srv.URL+"/api/v2"))
	c.SetCredential(gozendesk.NewAPITokenCredential(email, token))
	return c
}

// checkSigned verifies a request as Zendesk documents it, independently of
// the simulator's own Sign: base64(HMAC-SHA256(secret, timestamp + body)).
func checkSigned(t *testing.T, secret string, r received) {
	t.Helper()
	stamp := r.header.Get("X-Zendesk-Webhook-Signature-Timestamp")
	require.Regexp(t, `^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$`, stamp)
	m := hmac.New(sha256.New, []byte(secret))
	m.Write([]byte(stamp + string(r.body)))
	require.Equal(t, base64.StdEncoding.EncodeToString(m.Sum(nil)), r.header.Get("X-Zendesk-Webhook-Signature"))
}

// TestWebhookEventSubscription: a webhook subscribed to ticket events is
// called, signed, once per subscribed event of each change, with the ticket
// in detail.id.
func TestWebhookEventSubscription(t *testing.T) {
	b := setup(t, zendesktest.Options{})
	rc := &receiver{}
	dst := httptest.NewServer(rc)
	t.Cleanup(dst.Close)
	ctx := context.Background()
	api := apiClient(t, b)

	hook, err := api.CreateWebhook(ctx, &gozendesk.Webhook{Name: "cxaudit", Endpoint: dst.URL + "/webhooks/zendesk", HTTPMethod: "POST",
		RequestFormat: "json", Status: "active",
		Subscriptions: []string{"zen:event-type:ticket.status_changed", "zen:event-type:ticket.comment_added"}})
	require.NoError(t, err)
	require.NotEmpty(t, hook.ID)
	require.Nil(t, hook.SigningSecret, "the secret is only shown by its own endpoint")
	sec, err := api.GetWebhookSigningSecret(ctx, hook.ID)
	require.NoError(t, err)
	require.Equal(t, "SHA256", sec.Algorithm)
	require.NotEmpty(t, sec.Secret)
	got, err := api.GetWebhook(ctx, hook.ID)
	require.NoError(t, err)
	require.Equal(t, hook.Endpoint, got.Endpoint)

	tk := b.world.Tickets[0]
	b.sim.UpdateTicket(tk.ID, func(x *cxaudit.Ticket) { x.Status = cxaudit.StatusHold; x.Priority = cxaudit.PriorityUrgent })
	b.sim.AddComment(tk.ID, cxaudit.Comment{AuthorID: tk.RequesterID, Public: true, Body: "still broken"})
	b.sim.WaitWebhooks()

	reqs := rc.all()
	require.Len(t, reqs, 2, "priority_changed is not subscribed")
	var types []string
	for _, r := range reqs {
		checkSigned(t, sec.Secret, r)
		require.Equal(t, hook.ID, r.header.Get("X-Zendesk-Webhook-Id"))
		var ev struct {
			Type   string `json:"type"`
			Detail struct {
				ID string `json:"id"`
			} `json:"detail"`
		}
		require.NoError(t, json.Unmarshal(r.body, &ev))
		require.Equal(t, itoa(tk.ID), ev.Detail.ID)
		types = append(types, ev.Type)
	}
	require.ElementsMatch(t, []string{"zen:event-type:ticket.status_changed", "zen:event-type:ticket.comment_added"}, types)
	calls := b.sim.WebhookCalls()
	require.Len(t, calls, 2)
	for _, c := range calls {
		require.Equal(t, http.StatusOK, c.Status)
		require.Equal(t, tk.ID, c.TicketID)
	}
}

// TestWebhookTrigger: a trigger whose notification_webhook action calls a
// webhook connected to triggers sends its JSON body with the ticket id
// filled in, when its conditions hold: here, not for the API user's own
// updates.
func TestWebhookTrigger(t *testing.T) {
	b := setup(t, zendesktest.Options{})
	rc := &receiver{}
	dst := httptest.NewServer(rc)
	t.Cleanup(dst.Close)
	ctx := context.Background()
	api := apiClient(t, b)

	hook, err := api.CreateWebhook(ctx, &gozendesk.Webhook{Name: "cxaudit", Endpoint: dst.URL, HTTPMethod: "POST",
		RequestFormat: "json", Status: "active", Subscriptions: []string{zendesktest.ConditionalTicketEvents}})
	require.NoError(t, err)
	sec, err := api.GetWebhookSigningSecret(ctx, hook.ID)
	require.NoError(t, err)

	var tr gozendesk.Trigger
	tr.Title = "cxaudit"
	tr.Conditions.All = []gozendesk.TriggerCondition{
		{Field: "update_type", Operator: "is", Value: "Change"},
		{Field: "current_user", Operator: "is_not", Value: itoa(b.sim.APIUserID())},
	}
	tr.Actions = []gozendesk.TriggerAction{{Field: "notification_webhook", Value: []any{hook.ID, `{"ticket_id": "{{ticket.id}}"}`}}}
	created, err := api.CreateTrigger(ctx, tr)
	require.NoError(t, err)
	require.NotZero(t, created.ID)

	tk := b.world.Tickets[1]
	b.sim.UpdateTicket(tk.ID, func(x *cxaudit.Ticket) { x.Subject = "changed" })
	// The API user's own update does not fire the trigger.
	resp, _ := b.do(t, http.MethodPut, "/api/v2/tickets/"+itoa(tk.ID)+".json", map[string]any{"ticket": map[string]any{"comment": map[string]any{"body": "note", "public": false}}})
	require.Equal(t, http.StatusOK, resp.StatusCode)
	b.sim.WaitWebhooks()

	reqs := rc.all()
	require.Len(t, reqs, 1)
	checkSigned(t, sec.Secret, reqs[0])
	require.JSONEq(t, `{"ticket_id": "`+itoa(tk.ID)+`"}`, string(reqs[0].body))

	// A trigger cannot call a webhook subscribed to events, nor use a
	// condition the simulator does not model.
	ev, err := api.CreateWebhook(ctx, &gozendesk.Webhook{Name: "events", Endpoint: dst.URL, HTTPMethod: "POST",
		RequestFormat: "json", Status: "active", Subscriptions: []string{"zen:event-type:ticket.status_changed"}})
	require.NoError(t, err)
	tr.Actions = []gozendesk.TriggerAction{{Field: "notification_webhook", Value: []any{ev.ID, `{}`}}}
	_, err = api.CreateTrigger(ctx, tr)
	require.ErrorContains(t, err, "422")
	tr.Actions = []gozendesk.TriggerAction{{Field: "notification_webhook", Value: []any{hook.ID, `{}`}}}
	tr.Conditions.All = []gozendesk.TriggerCondition{{Field: "via_id", Operator: "is", Value: "4"}}
	_, err = api.CreateTrigger(ctx, tr)
	require.ErrorContains(t, err, "422")
	_, err = api.CreateWebhook(ctx, &gozendesk.Webhook{Name: "both", Endpoint: dst.URL, HTTPMethod: "POST", RequestFormat: "json", Status: "active",
		Subscriptions: []string{zendesktest.ConditionalTicketEvents, "zen:event-type:ticket.status_changed"}})
	require.ErrorContains(t, err, "422")
}

func itoa(n int64) string { return strconv.FormatInt(n, 10) }
