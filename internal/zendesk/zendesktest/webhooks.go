package zendesktest

// Webhooks and the triggers that call them, as Zendesk documents them:
//
//   - Webhooks API: https://developer.zendesk.com/api-reference/webhooks/webhooks-api/webhooks/
//     (create, list, show, show signing secret). A webhook either subscribes
//     to Zendesk events or, with subscriptions ["conditional_ticket_events"],
//     is connected to triggers and automations; never both
//     (https://developer.zendesk.com/documentation/webhooks/creating-and-monitoring-webhooks/).
//   - Triggers API: https://developer.zendesk.com/api-reference/ticketing/business-rules/triggers/
//     A trigger's notification_webhook action is [webhook id, JSON body];
//     its placeholders ({{ticket.id}}) are filled in for the ticket.
//   - Ticket event payloads: https://developer.zendesk.com/api-reference/webhooks/event-types/ticket-events/
//     ({"type": "zen:event-type:ticket.…", "detail": {"id": "<ticket id>", …}}).
//   - Request headers and signing:
//     https://developer.zendesk.com/documentation/webhooks/anatomy-of-a-webhook-request/ and
//     https://developer.zendesk.com/documentation/webhooks/verifying/:
//     X-Zendesk-Webhook-Signature is base64(HMAC-SHA256(signing secret,
//     X-Zendesk-Webhook-Signature-Timestamp + body)), the timestamp like
//     "2021-03-25T05:09:27Z".
//
// The simulator calls the webhooks on each ticket change (Sim.UpdateTicket,
// Sim.AddComment and Update Ticket through the API), asynchronously, after
// the change is visible through the API. It does not retry failed calls.

import (
	"bytes"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/cxaudit/cxaudit/internal/cxaudit"
)

// Endpoint keys of the webhook and trigger endpoints.
const (
	EndpointCreateWebhook        = "POST /api/v2/webhooks"
	EndpointListWebhooks         = "GET /api/v2/webhooks"
	EndpointShowWebhook          = "GET /api/v2/webhooks/{id}"
	EndpointWebhookSigningSecret = "GET /api/v2/webhooks/{id}/signing_secret"
	EndpointCreateTrigger        = "POST /api/v2/triggers"
	EndpointCreateTriggerJSON    = "POST /api/v2/triggers.json"
	EndpointListTriggers         = "GET /api/v2/triggers"
	EndpointListTriggersJSON     = "GET /api/v2/triggers.json"
)

// ConditionalTicketEvents is the subscription of a webhook connected to
// triggers and automations.
const ConditionalTicketEvents = "conditional_ticket_events"

// Webhook request headers.
const (
	HeaderWebhookSignature = "X-Zendesk-Webhook-Signature"
	HeaderWebhookTimestamp = "X-Zendesk-Webhook-Signature-Timestamp"
	HeaderWebhookID        = "X-Zendesk-Webhook-Id"
	HeaderInvocationID     = "X-Zendesk-Webhook-Invocation-Id"
)

// Sign returns the signature Zendesk sends for body at timestamp:
// base64(HMAC-SHA256(secret, timestamp + body)).
func Sign(secret, timestamp string, body []byte) string {
	m := hmac.New(sha256.New, []byte(secret))
	m.Write([]byte(timestamp))
	m.Write(body)
	return base64.StdEncoding.EncodeToString(m.Sum(nil))
}

type wireWebhook struct {
	ID            string     `json:"id"`
	Name          string     `json:"name"`
	Status        string     `json:"status"`
	Endpoint      string     `json:"endpoint"`
	HTTPMethod    string     `json:"http_method"`
	RequestFormat string     `json:"request_format"`
	Subscriptions []string   `json:"subscriptions"`
	CreatedAt     string     `json:"created_at"`
	CreatedBy     string     `json:"created_by"`
	SigningSecret *wireSigns `json:"signing_secret,omitempty"`
}

type wireSigns struct {
	Algorithm string `json:"algorithm"`
	Secret    string `json:"secret"`
}

type wireCondition struct {
	Field    string `json:"field"`
	Operator string `json:"operator"`
	Value    any    `json:"value"`
}

type wireTrigger struct {
	ID         int64  `json:"id"`
	Title      string `json:"title"`
	Active     bool   `json:"active"`
	Conditions struct {
		All []wireCondition `json:"all"`
		Any []wireCondition `json:"any"`
	} `json:"conditions"`
	Actions   []wireCondition `json:"actions"`
	CreatedAt string          `json:"created_at"`
}

// hooks is the webhook state of a Sim, guarded by Sim.mu.
type hooks struct {
	webhooks []*wireWebhook
	secrets  map[string]string
	triggers []*wireTrigger
	nextID   int64
	client   *http.Client
	inflight sync.WaitGroup
	calls    []WebhookCall
}

// WebhookCall is one request the simulator made to a webhook.
type WebhookCall struct {
	WebhookID string
	TicketID  int64
	Body      []byte
	// Status is the endpoint's answer, 0 when the request failed.
	Status int
	Err    string
	At     time.Time
}

func (s *Sim) webhookRoutes(mux *http.ServeMux) {
	mux.HandleFunc(EndpointCreateWebhook, s.createWebhook)
	mux.HandleFunc(EndpointListWebhooks, s.listWebhooks)
	mux.HandleFunc(EndpointShowWebhook, s.showWebhook)
	mux.HandleFunc(EndpointWebhookSigningSecret, s.webhookSigningSecret)
	mux.HandleFunc(EndpointCreateTrigger, s.createTrigger)
	mux.HandleFunc(EndpointCreateTriggerJSON, s.createTrigger)
	mux.HandleFunc(EndpointListTriggers, s.listTriggers)
	mux.HandleFunc(EndpointListTriggersJSON, s.listTriggers)
}

func (s *Sim) createWebhook(w http.ResponseWriter, r *http.Request) {
	var req struct {
		Webhook *wireWebhook `json:"webhook"`
	}
	if err := json.NewDecoder(r.Body).Decode(&req); err != nil || req.Webhook == nil {
		writeJSON(w, http.StatusBadRequest, wireError{Error: "InvalidJSON", Description: "The request body must be a JSON object with a webhook"})
		return
	}
	h := req.Webhook
	switch {
	case h.Name == "":
		unprocessable(w, "name", "Name: cannot be blank")
		return
	case !strings.HasPrefix(h.Endpoint, "http://") && !strings.HasPrefix(h.Endpoint, "https://"):
		unprocessable(w, "endpoint", "Endpoint: must be an http or https URL")
		return
	case !slices.Contains([]string{"GET", "POST", "PUT", "PATCH", "DELETE"}, h.HTTPMethod):
		unprocessable(w, "http_method", "HTTP method: is invalid")
		return
	case !slices.Contains([]string{"json", "xml", "form_encoded"}, h.RequestFormat):
		unprocessable(w, "request_format", "Request format: is invalid")
		return
	case h.Status != "active" && h.Status != "inactive":
		unprocessable(w, "status", "Status: is invalid")
		return
	case slices.Contains(h.Subscriptions, ConditionalTicketEvents) && len(h.Subscriptions) > 1:
		// "A webhook that's subscribed to a Zendesk event can't connect to
		// a trigger or automation."
		unprocessable(w, "subscriptions", "Subscriptions: conditional_ticket_events cannot be combined with event types")
		return
	case len(h.Subscriptions) > 0 && !slices.Contains(h.Subscriptions, ConditionalTicketEvents) && (h.HTTPMethod != "POST" || h.RequestFormat != "json"):
		unprocessable(w, "http_method", "A webhook subscribed to Zendesk events must use POST and json")
		return
	}
	secret := make([]byte, 32)
	_, _ = rand.Read(secret)
	s.mu.Lock()
	s.hooks.nextID++
	h.ID = fmt.Sprintf("01SIMWEBHOOK%014d", s.hooks.nextID)
	h.CreatedAt = ts(s.now())
	h.CreatedBy = strconv.FormatInt(s.apiUser, 10)
	h.SigningSecret = nil
	if h.Subscriptions == nil {
		h.Subscriptions = []string{}
	}
	if s.hooks.secrets == nil {
		s.hooks.secrets = map[string]string{}
	}
	s.hooks.secrets[h.ID] = base64.RawURLEncoding.EncodeToString(secret)
	s.hooks.webhooks = append(s.hooks.webhooks, h)
	out := *h
	s.mu.Unlock()
	writeJSON(w, http.StatusCreated, map[string]any{"webhook": out})
}

func (s *Sim) listWebhooks(w http.ResponseWriter, r *http.Request) {
	s.mu.Lock()
	out := make([]wireWebhook, 0, len(s.hooks.webhooks))
	for _, h := range s.hooks.webhooks {
		out = append(out, *h)
	}
	s.mu.Unlock()
	writeJSON(w, http.StatusOK, map[string]any{"webhooks": out, "meta": map[string]any{"has_more": false}, "links": map[string]any{}})
}

func (s *Sim) webhook(id string) *wireWebhook {
	for _, h := range s.hooks.webhooks {
		if h.ID == id {
			return h
		}
	}
	return nil
}

func (s *Sim) showWebhook(w http.ResponseWriter, r *http.Request) {
	s.mu.Lock()
	h := s.webhook(r.PathValue("id"))
	var out wireWebhook
	if h != nil {
		out = *h
	}
	s.mu.Unlock()
	if h == nil {
		notFound(w)
		return
	}
	writeJSON(w, http.StatusOK, map[string]any{"webhook": out})
}

func (s *Sim) webhookSigningSecret(w http.ResponseWriter, r *http.Request) {
	s.mu.Lock()
	secret, ok := s.hooks.secrets[r.PathValue("id")]
	s.mu.Unlock()
	if !ok {
		notFound(w)
		return
	}
	writeJSON(w, http.StatusOK, map[string]any{"signing_secret": wireSigns{Algorithm: "SHA256", Secret: secret}})
}

// Trigger conditions the simulator evaluates. Others are refused (422),
// so that a definition cxaudit prints is one the simulator judges as
// Zendesk would.
var triggerConditions = map[string][]string{
	"update_type":  {"is"},           // "Create" or "Change"
	"current_user": {"is", "is_not"}, // a user id, as a string or number
}

func (s *Sim) createTrigger(w http.ResponseWriter, r *http.Request) {
	var req struct {
		Trigger *wireTrigger `json:"trigger"`
	}
	if err := json.NewDecoder(r.Body).Decode(&req); err != nil || req.Trigger == nil {
		writeJSON(w, http.StatusBadRequest, wireError{Error: "InvalidJSON", Description: "The request body must be a JSON object with a trigger"})
		return
	}
	t := req.Trigger
	if t.Title == "" {
		unprocessable(w, "title", "Title: cannot be blank")
		return
	}
	if len(t.Conditions.All)+len(t.Conditions.Any) == 0 {
		unprocessable(w, "conditions", "Conditions: cannot be blank")
		return
	}
	for _, c := range slices.Concat(t.Conditions.All, t.Conditions.Any) {
		if !slices.Contains(triggerConditions[c.Field], c.Operator) {
			unprocessable(w, "conditions", fmt.Sprintf("Condition %s %s: not modelled by the simulator", c.Field, c.Operator))
			return
		}
	}
	if len(t.Actions) == 0 {
		unprocessable(w, "actions", "Actions: cannot be blank")
		return
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, a := range t.Actions {
		if a.Field != "notification_webhook" {
			continue
		}
		v, ok := a.Value.([]any)
		if !ok || len(v) != 2 {
			unprocessable(w, "actions", "notification_webhook: value must be [webhook id, body]")
			return
		}
		id, _ := v[0].(string)
		if h := s.webhook(id); h == nil || !slices.Contains(h.Subscriptions, ConditionalTicketEvents) {
			unprocessable(w, "actions", "notification_webhook: webhook "+id+" is not connected to triggers")
			return
		}
		if _, ok := v[1].(string); !ok {
			unprocessable(w, "actions", "notification_webhook: body must be a string")
			return
		}
	}
	s.hooks.nextID++
	t.ID = 360_000_000_000 + s.hooks.nextID
	t.CreatedAt = ts(s.now())
	t.Active = true
	s.hooks.triggers = append(s.hooks.triggers, t)
	writeJSON(w, http.StatusCreated, map[string]any{"trigger": t})
}

func (s *Sim) listTriggers(w http.ResponseWriter, r *http.Request) {
	s.mu.Lock()
	out := make([]wireTrigger, 0, len(s.hooks.triggers))
	for _, t := range s.hooks.triggers {
		out = append(out, *t)
	}
	s.mu.Unlock()
	writeJSON(w, http.StatusOK, map[string]any{"triggers": out, "next_page": nil, "previous_page": nil, "count": len(out)})
}

// ticketEvents returns the ticket event types of the change from before
// to after (https://developer.zendesk.com/api-reference/webhooks/event-types/ticket-events/).
func ticketEvents(before, after *cxaudit.Ticket) []string {
	var out []string
	add := func(changed bool, name string) {
		if changed {
			out = append(out, "zen:event-type:ticket."+name)
		}
	}
	add(before.Status != after.Status, "status_changed")
	add(before.Priority != after.Priority, "priority_changed")
	add(!slices.Equal(before.Tags, after.Tags), "tags_changed")
	add(before.Subject != after.Subject, "subject_changed")
	add(before.AssigneeID != after.AssigneeID, "agent_assignment_changed")
	add(before.OrganizationID != after.OrganizationID, "organization_changed")
	add(len(after.Comments) > len(before.Comments), "comment_added")
	return out
}

// pendingCall is a webhook request decided under Sim.mu, sent after.
type pendingCall struct {
	webhookID, endpoint, method, secret string
	ticketID                            int64
	body                                []byte
}

// changed decides the webhook calls for a change of t from before by
// actor, and sends them in the background. Called with s.mu held.
func (s *Sim) changed(t *ticketState, before *cxaudit.Ticket, actor int64) {
	if len(s.hooks.webhooks) == 0 {
		return
	}
	now := s.now().UTC()
	var calls []pendingCall
	events := ticketEvents(before, &t.Ticket)
	seq := s.newID()
	for _, h := range s.hooks.webhooks {
		if h.Status != "active" || slices.Contains(h.Subscriptions, ConditionalTicketEvents) {
			continue
		}
		for i, ev := range events {
			if !slices.Contains(h.Subscriptions, ev) {
				continue
			}
			body, _ := json.Marshal(map[string]any{
				"type": ev, "account_id": 1, "id": fmt.Sprintf("sim-%d-%d", seq, i), "time": ts(now),
				"zendesk_event_version": "2022-11-06", "subject": "zen:ticket:" + strconv.FormatInt(t.ID, 10),
				"detail": map[string]any{
					"id": strconv.FormatInt(t.ID, 10), "status": t.Status, "priority": t.Priority, "subject": t.Subject,
					"tags": nonNil(t.Tags), "updated_at": ts(t.UpdatedAt), "created_at": ts(t.CreatedAt),
					"actor_id": strconv.FormatInt(actor, 10),
				},
				"event": map[string]any{"meta": map[string]any{"sequence": map[string]any{"id": strconv.FormatInt(seq, 10), "position": i + 1}}},
			})
			calls = append(calls, pendingCall{webhookID: h.ID, endpoint: h.Endpoint, method: "POST", secret: s.hooks.secrets[h.ID], ticketID: t.ID, body: body})
		}
	}
	for _, tr := range s.hooks.triggers {
		if !tr.Active || !s.triggerMatches(tr, actor) {
			continue
		}
		for _, a := range tr.Actions {
			v, _ := a.Value.([]any)
			if a.Field != "notification_webhook" || len(v) != 2 {
				continue
			}
			id, _ := v[0].(string)
			tmpl, _ := v[1].(string)
			h := s.webhook(id)
			if h == nil || h.Status != "active" {
				continue
			}
			body := strings.ReplaceAll(tmpl, "{{ticket.id}}", strconv.FormatInt(t.ID, 10))
			calls = append(calls, pendingCall{webhookID: h.ID, endpoint: h.Endpoint, method: h.HTTPMethod, secret: s.hooks.secrets[h.ID], ticketID: t.ID, body: []byte(body)})
		}
	}
	for _, c := range calls {
		s.hooks.inflight.Add(1)
		go s.call(c, now)
	}
}

// triggerMatches evaluates tr's conditions for an update (never a
// creation: the simulator creates no tickets) by actor.
func (s *Sim) triggerMatches(tr *wireTrigger, actor int64) bool {
	holds := func(c wireCondition) bool {
		switch c.Field {
		case "update_type":
			return fmt.Sprint(c.Value) == "Change"
		case "current_user":
			is := fmt.Sprint(c.Value) == strconv.FormatInt(actor, 10)
			return is == (c.Operator == "is")
		}
		return false
	}
	for _, c := range tr.Conditions.All {
		if !holds(c) {
			return false
		}
	}
	if len(tr.Conditions.Any) == 0 {
		return true
	}
	return slices.ContainsFunc(tr.Conditions.Any, holds)
}

func (s *Sim) call(c pendingCall, at time.Time) {
	defer s.hooks.inflight.Done()
	stamp := at.UTC().Format(time.RFC3339)
	rec := WebhookCall{WebhookID: c.webhookID, TicketID: c.ticketID, Body: c.body, At: at}
	req, err := http.NewRequest(c.method, c.endpoint, bytes.NewReader(c.body))
	if err == nil {
		req.Header.Set("Content-Type", "application/json")
		req.Header.Set("User-Agent", "Zendesk Webhook")
		req.Header.Set(HeaderWebhookID, c.webhookID)
		req.Header.Set(HeaderInvocationID, strconv.FormatInt(at.UnixNano(), 10))
		req.Header.Set(HeaderWebhookTimestamp, stamp)
		req.Header.Set(HeaderWebhookSignature, Sign(c.secret, stamp, c.body))
		var resp *http.Response
		if resp, err = s.hooks.client.Do(req); err == nil {
			rec.Status = resp.StatusCode
			resp.Body.Close()
		}
	}
	if err != nil {
		rec.Err = err.Error()
	}
	s.mu.Lock()
	s.hooks.calls = append(s.hooks.calls, rec)
	s.mu.Unlock()
}

// WebhookCalls returns the webhook requests made so far, in the order they
// were answered.
func (s *Sim) WebhookCalls() []WebhookCall {
	s.mu.Lock()
	defer s.mu.Unlock()
	return slices.Clone(s.hooks.calls)
}

// WaitWebhooks waits until every webhook request started so far is
// answered.
func (s *Sim) WaitWebhooks() { s.hooks.inflight.Wait() }

// WebhookSecret returns the signing secret of webhook id ("" if none).
func (s *Sim) WebhookSecret(id string) string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.hooks.secrets[id]
}
