package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/url"
	"strings"

	"github.com/cxaudit/cxaudit/internal/app"
	"github.com/cxaudit/cxaudit/internal/config"
	"github.com/cxaudit/cxaudit/internal/zendesk"
)

const webhooksUsage = `Usage: cxaudit webhooks print --url URL [--api-user-id ID]
       cxaudit webhooks setup --url URL

Zendesk's webhook brings a ticket change to cxaudit within seconds instead
of at the next sync: a webhook connected to triggers, posting to the
worker's POST /webhooks/zendesk, and a trigger that calls it with the
ticket id on every ticket created or updated by anyone but cxaudit's API
user. The worker serves the endpoint once CXAUDIT_ZENDESK_WEBHOOK_SECRET
holds the webhook's signing secret. See README.md, "Webhooks".

  print   prints, as JSON, the bodies of the two API requests an admin sends
          (POST /api/v2/webhooks, then POST /api/v2/triggers with the new
          webhook's id in place of <webhook id>). The API user is looked up
          with ZENDESK_* unless --api-user-id gives it.
  setup   creates both through the API with ZENDESK_URL, ZENDESK_EMAIL and
          ZENDESK_API_TOKEN (an admin's token), and prints the signing
          secret to set as CXAUDIT_ZENDESK_WEBHOOK_SECRET.`

// webhookPlaceholder stands for the webhook's id in a printed trigger.
const webhookPlaceholder = "<webhook id>"

func cmdWebhooks(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer) error {
	if len(args) == 0 || args[0] == "-h" || args[0] == "--help" || args[0] == "help" {
		fmt.Fprintln(stdout, webhooksUsage)
		if len(args) == 0 {
			return usageError{errors.New("print or setup?")}
		}
		return nil
	}
	sub, rest := args[0], args[1:]
	if sub != "print" && sub != "setup" {
		return usageError{fmt.Errorf("unknown webhooks command %q (print or setup)", sub)}
	}
	fs := newFlags("webhooks "+sub, webhooksUsage, stderr)
	endpoint := fs.String("url", "", "the worker's public base URL or its "+app.WebhookPath+" URL (required)")
	var apiUser *int64
	if sub == "print" {
		apiUser = fs.Int64("api-user-id", 0, "the Zendesk user id of cxaudit's API token, whose updates must not fire the trigger (default: looked up)")
	}
	if err := parse(fs, rest); err != nil {
		return err
	}
	hook, err := webhookURL(*endpoint)
	if err != nil {
		return usageError{err}
	}
	cfg, err := config.FromEnv(getenv)
	if err != nil {
		return err
	}
	var zc *zendesk.Client
	if cfg.Zendesk.Enabled() {
		zc, err = zendesk.New(zendesk.Config{URL: cfg.Zendesk.URL, Email: cfg.Zendesk.Email, APIToken: cfg.Zendesk.APIToken.Reveal(),
			Logger: slog.New(slog.NewTextHandler(stderr, &slog.HandlerOptions{Level: slog.LevelWarn}))})
		if err != nil {
			return fmt.Errorf("ZENDESK_URL: %w", err)
		}
	}
	if sub == "setup" {
		if zc == nil {
			return usageError{errors.New("setup creates the webhook through the API: set ZENDESK_URL, ZENDESK_EMAIL and ZENDESK_API_TOKEN (an admin's), or use print")}
		}
		res, err := zc.SetupWebhook(ctx, hook)
		if err != nil {
			return err
		}
		verb := func(existed bool) string {
			if existed {
				return "found"
			}
			return "created"
		}
		fmt.Fprintf(stdout, "%s webhook %s (posting to %s), %s trigger %d\n", verb(res.WebhookExisted), res.WebhookID, hook, verb(res.TriggerExisted), res.TriggerID)
		fmt.Fprintf(stdout, "set the webhook's signing secret in the worker's environment (a Secret), then restart it:\n")
		fmt.Fprintf(stdout, "CXAUDIT_ZENDESK_WEBHOOK_SECRET=%s\n", res.Secret)
		return nil
	}
	id := *apiUser
	if id == 0 && zc != nil {
		me, err := zc.Me(ctx)
		if err != nil {
			return fmt.Errorf("look up the API user (or pass --api-user-id): %w", err)
		}
		id = me.ID
	}
	if id == 0 {
		fmt.Fprintln(stderr, "cxaudit webhooks print: no API user (ZENDESK_* unset, no --api-user-id): the trigger also fires on cxaudit's own updates (harmless: each is one more sync of the ticket)")
	}
	wh := zendesk.WebhookDefinition(hook)
	out := map[string]any{
		// The request body names only what an admin sets (go-zendesk's
		// struct carries read-only timestamps too).
		"webhook": map[string]any{"webhook": map[string]any{
			"name": wh.Name, "description": wh.Description, "endpoint": wh.Endpoint, "http_method": wh.HTTPMethod,
			"request_format": wh.RequestFormat, "status": wh.Status, "subscriptions": wh.Subscriptions,
		}},
		"trigger": map[string]any{"trigger": zendesk.TriggerDefinition(webhookPlaceholder, id)},
	}
	enc := json.NewEncoder(stdout)
	enc.SetIndent("", "  ")
	enc.SetEscapeHTML(false)
	return enc.Encode(out)
}

// webhookURL returns the endpoint for raw: an absolute http(s) URL, with
// /webhooks/zendesk added to a bare base URL.
func webhookURL(raw string) (string, error) {
	if raw == "" {
		return "", errors.New("--url is required: the worker's public URL, as Zendesk reaches it")
	}
	u, err := url.Parse(raw)
	if err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" {
		return "", fmt.Errorf("--url %q is not an absolute http(s) URL", raw)
	}
	if u.User != nil {
		return "", errors.New("--url must not carry credentials: the webhook is authenticated by its signature")
	}
	if p := strings.TrimSuffix(u.Path, "/"); p == "" {
		u.Path = app.WebhookPath
	}
	return u.String(), nil
}
