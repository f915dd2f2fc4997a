package main

import (
	"bytes"
	"encoding/json"
	"net/http"
	"regexp"
	"strconv"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/cxaudit/cxaudit/internal/demo"
	"github.com/cxaudit/cxaudit/internal/zendesk/zendesktest"
)

func zendeskEnv(url string) map[string]string {
	return map[string]string{"ZENDESK_URL": url, "ZENDESK_EMAIL": demo.SimZendeskEmail, "ZENDESK_API_TOKEN": demo.SimZendeskToken}
}

// simPost sends body to the simulator's API as the API user.
func simPost(t *testing.T, base, path string, body []byte) (int, []byte) {
	t.Helper()
	req, err := http.NewRequest(http.MethodPost, base+path, bytes.NewReader(body))
	require.NoError(t, err)
	req.SetBasicAuth(demo.SimZendeskEmail+"/token", demo.SimZendeskToken)
	req.Header.Set("Content-Type", "application/json")
	resp, err := http.DefaultClient.Do(req)
	require.NoError(t, err)
	defer resp.Body.Close()
	var buf bytes.Buffer
	_, _ = buf.ReadFrom(resp.Body)
	return resp.StatusCode, buf.Bytes()
}

// TestWebhooksSetup: setup creates the webhook (connected to triggers,
// posting to the given URL) and the trigger through the API, and prints
// the signing secret Zendesk shows for it.
func TestWebhooksSetup(t *testing.T) {
	t.Parallel()
	sim, srv := zendesktest.NewServer(zendesktest.Options{Email: demo.SimZendeskEmail, APIToken: demo.SimZendeskToken})
	t.Cleanup(srv.Close)
	code, out, errOut := runCLI(t, zendeskEnv(srv.URL), "webhooks", "setup", "--url", "https://cxaudit.acme.example")
	require.Equal(t, 0, code, errOut)
	m := regexp.MustCompile(`created webhook (\S+) \(posting to https://cxaudit.acme.example/webhooks/zendesk\), created trigger (\d+)`).FindStringSubmatch(out)
	require.NotNil(t, m, out)
	secret := sim.WebhookSecret(m[1])
	require.NotEmpty(t, secret)
	require.Contains(t, out, "CXAUDIT_ZENDESK_WEBHOOK_SECRET="+secret+"\n")
	require.Equal(t, 1, sim.Stats().ByEndpoint[zendesktest.EndpointCreateWebhook])
	require.Equal(t, 1, sim.Stats().ByEndpoint[zendesktest.EndpointCreateTriggerJSON])

	// Run again, it finds both and prints the same secret.
	code, out, errOut = runCLI(t, zendeskEnv(srv.URL), "webhooks", "setup", "--url", "https://cxaudit.acme.example/webhooks/zendesk")
	require.Equal(t, 0, code, errOut)
	require.Contains(t, out, "found webhook "+m[1]+" ")
	require.Contains(t, out, "found trigger "+m[2]+"\n")
	require.Contains(t, out, "CXAUDIT_ZENDESK_WEBHOOK_SECRET="+secret+"\n")
	require.Equal(t, 1, sim.Stats().ByEndpoint[zendesktest.EndpointCreateWebhook], "nothing created twice")
	require.Equal(t, 1, sim.Stats().ByEndpoint[zendesktest.EndpointCreateTriggerJSON])

	code, _, errOut = runCLI(t, nil, "webhooks", "setup", "--url", "https://cxaudit.acme.example")
	require.Equal(t, 2, code)
	require.Contains(t, errOut, "ZENDESK_URL")
	code, _, errOut = runCLI(t, zendeskEnv(srv.URL), "webhooks", "setup", "--url", "cxaudit.acme.example")
	require.Equal(t, 2, code)
	require.Contains(t, errOut, "not an absolute http(s) URL")
}

// TestWebhooksPrint: print gives the bodies of the two API requests; sent
// to the simulator (the webhook's id in place of the placeholder), they
// are accepted as Zendesk documents them. The trigger leaves out the API
// user, looked up or given.
func TestWebhooksPrint(t *testing.T) {
	t.Parallel()
	sim, srv := zendesktest.NewServer(zendesktest.Options{Email: demo.SimZendeskEmail, APIToken: demo.SimZendeskToken})
	t.Cleanup(srv.Close)
	code, out, errOut := runCLI(t, zendeskEnv(srv.URL), "webhooks", "print", "--url", "https://cxaudit.acme.example/webhooks/zendesk")
	require.Equal(t, 0, code, errOut)
	var defs struct {
		Webhook json.RawMessage `json:"webhook"`
		Trigger json.RawMessage `json:"trigger"`
	}
	require.NoError(t, json.Unmarshal([]byte(out), &defs), out)
	require.Contains(t, string(defs.Webhook), `"conditional_ticket_events"`)
	require.Contains(t, string(defs.Webhook), `"https://cxaudit.acme.example/webhooks/zendesk"`)
	require.Contains(t, string(defs.Trigger), `{\"ticket_id\": \"{{ticket.id}}\"}`)
	require.Contains(t, string(defs.Trigger), `"value": "`+itoa(sim.APIUserID())+`"`, "the API user's updates do not fire it")
	require.Zero(t, sim.Stats().ByEndpoint[zendesktest.EndpointCreateWebhook], "print creates nothing")

	status, body := simPost(t, srv.URL, "/api/v2/webhooks", defs.Webhook)
	require.Equal(t, http.StatusCreated, status, string(body))
	var created struct {
		Webhook struct {
			ID string `json:"id"`
		} `json:"webhook"`
	}
	require.NoError(t, json.Unmarshal(body, &created))
	trigger := strings.ReplaceAll(string(defs.Trigger), webhookPlaceholder, created.Webhook.ID)
	status, body = simPost(t, srv.URL, "/api/v2/triggers", []byte(trigger))
	require.Equal(t, http.StatusCreated, status, string(body))

	// Without ZENDESK_* and --api-user-id it says what that means.
	code, out, errOut = runCLI(t, nil, "webhooks", "print", "--url", "https://cxaudit.acme.example")
	require.Equal(t, 0, code, errOut)
	require.Contains(t, errOut, "also fires on cxaudit's own updates")
	require.Contains(t, out, `"https://cxaudit.acme.example/webhooks/zendesk"`)
	code, out, _ = runCLI(t, nil, "webhooks", "print", "--url", "https://x.example", "--api-user-id", "4242")
	require.Equal(t, 0, code)
	require.Contains(t, out, `"value": "4242"`)
}

func itoa(n int64) string { return strconv.FormatInt(n, 10) }
