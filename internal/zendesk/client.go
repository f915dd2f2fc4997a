// Package zendesk is cxaudit's adapter to the Zendesk Support API. It
// exports tickets (with their metrics), comments, organizations and users,
// and writes findings back as one private note plus tags per ticket update.
//
// It speaks through github.com/nukosuke/go-zendesk over the retrying client
// of package remote: reads are retried, writes are not (a write that failed
// with a 5xx may have been applied). Every error is a *cxaudit.Error or a
// *cxaudit.RateLimitError; none carries the API token.
package zendesk

import (
	"context"
	"log/slog"
	"net/http"
	"net/url"
	"strings"
	"sync"

	"github.com/nukosuke/go-zendesk/zendesk"

	"github.com/cxaudit/cxaudit/internal/cxaudit"
	"github.com/cxaudit/cxaudit/internal/ratelimit"
	"github.com/cxaudit/cxaudit/internal/remote"
)

// Config configures a Client.
type Config struct {
	// URL is the account's address, like https://acme.zendesk.com (without
	// /api/v2).
	URL string
	// Email and APIToken authenticate as "Email/token:APIToken".
	Email, APIToken string
	Logger          *slog.Logger
	// HTTP configures the underlying client. New sets its System to
	// cxaudit.SourceZendesk.
	HTTP remote.Options
}

// Client talks to one Zendesk account. It is safe for concurrent use.
type Client struct {
	apiMu  sync.RWMutex // guards api, which SetCredentials replaces
	api    *zendesk.Client
	logger *slog.Logger
	base   string       // the account's URL, without /api/v2
	http   *http.Client // remote.NewClient's, shared by every api

	meMu sync.Mutex
	me   *cxaudit.User
}

// New returns a Client for cfg. It checks cfg but makes no request.
func New(cfg Config) (*Client, error) {
	base, err := validateURL(cfg.URL)
	if err != nil {
		return nil, err
	}
	if strings.TrimSpace(cfg.Email) == "" {
		return nil, cxaudit.Errorf(cxaudit.EINVALID, "zendesk: Config.Email is empty (the agent email the API token belongs to)")
	}
	if cfg.APIToken == "" {
		return nil, cxaudit.Errorf(cxaudit.EINVALID, "zendesk: Config.APIToken is empty (create one in Admin Center > Apps and integrations > Zendesk API)")
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	opts := cfg.HTTP
	opts.System = cxaudit.SourceZendesk
	if opts.Logger == nil {
		opts.Logger = cfg.Logger
	}

	c := &Client{logger: cfg.Logger, base: base, http: remote.NewClient(opts)}
	api, err := c.newAPI(cfg.Email, cfg.APIToken)
	if err != nil {
		return nil, cxaudit.Errorf(cxaudit.EINVALID, "zendesk: Config.URL %q: %v", cfg.URL, err)
	}
	c.api = api
	return c, nil
}

// newAPI builds a go-zendesk client on the shared HTTP client. NewClient
// never fails. Never call SetHeader: it writes to a map the library shares
// between all its clients.
func (c *Client) newAPI(email, token string) (*zendesk.Client, error) {
	api, _ := zendesk.NewClient(c.http)
	if err := api.SetEndpointURL(c.base + "/api/v2"); err != nil {
		return nil, err
	}
	api.SetCredential(zendesk.NewAPITokenCredential(email, token))
	return api, nil
}

// SetCredentials replaces the API user and token (a rotated token, a
// Secret updated in place): calls that start after it use them, calls in
// flight finish with the old ones.
func (c *Client) SetCredentials(email, token string) error {
	if strings.TrimSpace(email) == "" || token == "" {
		return cxaudit.Errorf(cxaudit.EINVALID, "zendesk: new credentials without an email or token")
	}
	api, err := c.newAPI(email, token)
	if err != nil {
		return cxaudit.Errorf(cxaudit.EINVALID, "zendesk: %v", err)
	}
	c.apiMu.Lock()
	c.api = api
	c.apiMu.Unlock()
	c.meMu.Lock()
	c.me = nil // the token may belong to another user
	c.meMu.Unlock()
	return nil
}

// zd returns the go-zendesk client of the current credentials.
func (c *Client) zd() *zendesk.Client {
	c.apiMu.RLock()
	defer c.apiMu.RUnlock()
	return c.api
}

// validateURL checks an account URL and returns it without a trailing
// slash.
func validateURL(raw string) (string, error) {
	invalid := func(problem string) error {
		return cxaudit.Errorf(cxaudit.EINVALID, "zendesk: Config.URL %q %s", raw, problem)
	}
	if strings.TrimSpace(raw) == "" {
		return "", cxaudit.Errorf(cxaudit.EINVALID, "zendesk: Config.URL is empty (want https://<subdomain>.zendesk.com)")
	}
	u, err := url.Parse(raw)
	if err != nil {
		return "", invalid("is not a URL")
	}
	switch {
	case u.Scheme != "https" && u.Scheme != "http":
		return "", invalid("must start with https:// (like https://acme.zendesk.com)")
	case u.Host == "":
		return "", invalid("has no host (like https://acme.zendesk.com)")
	case u.User != nil:
		return "", cxaudit.Errorf(cxaudit.EINVALID, "zendesk: Config.URL must not carry credentials; set Config.Email and Config.APIToken")
	case u.RawQuery != "" || u.Fragment != "":
		return "", invalid("must not have a query or fragment")
	}
	path := strings.TrimSuffix(u.Path, "/")
	if strings.HasSuffix(path, "/api/v2") {
		return "", invalid("must not include /api/v2 (did you mean " + u.Scheme + "://" + u.Host + "?)")
	}
	if path != "" {
		return "", invalid("must have no path (did you mean " + u.Scheme + "://" + u.Host + "?)")
	}
	return u.Scheme + "://" + u.Host, nil
}

// Me returns the user the API token belongs to. The first success is
// remembered.
func (c *Client) Me(ctx context.Context) (cxaudit.User, error) {
	c.meMu.Lock()
	defer c.meMu.Unlock()
	if c.me != nil {
		return *c.me, nil
	}
	var resp struct {
		User wireUser `json:"user"`
	}
	if err := c.get(ctx, "get current user", "/users/me.json", &resp); err != nil {
		return cxaudit.User{}, err
	}
	if resp.User.ID == 0 {
		return cxaudit.User{}, cxaudit.Errorf(cxaudit.EUNAUTHORIZED, "zendesk: get current user: the API answered as an anonymous user; check Config.Email and Config.APIToken")
	}
	u := resp.User.domain()
	c.me = &u
	return u, nil
}

// get fetches path and decodes its JSON body into v.
func (c *Client) get(ctx context.Context, op, path string, v any) error {
	body, err := c.zd().Get(ctx, path)
	if err != nil {
		return c.mapError(op, err)
	}
	return c.decode(op, body, v)
}

// put sends data to path and decodes the JSON answer into v.
func (c *Client) put(ctx context.Context, op, path string, data, v any) error {
	body, err := c.zd().Put(ctx, path, data)
	if err != nil {
		return c.mapError(op, err)
	}
	return c.decode(op, body, v)
}

// String keeps the token out of anything that prints a Client.
func (c *Client) String() string { return "zendesk.Client{token: <secret>}" }

// ExportPath is in the path of every incremental export endpoint, which
// share their own limit.
const ExportPath = "/api/v2/incremental/"

// HighVolumeRateLimit is the account-wide limit of the High Volume API
// add-on (and Enterprise Plus), which also raises the export limit to
// HighVolumeExportRateLimit a minute.
const (
	HighVolumeRateLimit       = 2500
	HighVolumeExportRateLimit = 30
)

// Update Ticket's own limits: 100 requests a minute per account, 300 with
// the High Volume add-on, on top of the account's
// (https://developer.zendesk.com/api-reference/ticketing/tickets/tickets/#update-ticket).
// Agents saving tickets in the UI draw on the same limit, so cxaudit takes
// only a share of it, DefaultUpdateShare unless configured.
const (
	UpdateRateLimit           = 100
	HighVolumeUpdateRateLimit = 300
	DefaultUpdateShare        = 0.5
)

// UpdateLimitHeader is where Zendesk tells Update Ticket's limit on its
// answers: "total=100; remaining=99; resets=41".
const UpdateLimitHeader = "Zendesk-RateLimit-tickets-update"

// UpdatePath is in the path of Update Ticket (PUT /api/v2/tickets/{id}.json).
const UpdatePath = "/api/v2/tickets/"

// BudgetConfig returns the budget of an account allowed perMinute
// requests, of which exportPerMinute to the incremental exports (10, or 30
// with High Volume; an account that advertises the High Volume limit gets
// at least 30), and updateShare (0..1] of Update Ticket's limit to ticket
// updates, spread over each minute instead of spent in a burst.
func BudgetConfig(perMinute, exportPerMinute int, updateShare float64) ratelimit.Config {
	if updateShare <= 0 || updateShare > 1 {
		updateShare = DefaultUpdateShare
	}
	updates := func(limit int) int { return max(int(updateShare*float64(limit)), 1) }
	return ratelimit.Config{
		System:    cxaudit.SourceZendesk,
		PerMinute: perMinute,
		Endpoints: []ratelimit.Endpoint{{
			Name: "incremental_export", PathContains: ExportPath, PerMinute: exportPerMinute,
			ScaleFunc: func(account int) int {
				if account >= HighVolumeRateLimit {
					return max(exportPerMinute, HighVolumeExportRateLimit)
				}
				return exportPerMinute
			},
		}, {
			Name: "tickets_update", PathContains: UpdatePath, Method: http.MethodPut, PerMinute: updates(UpdateRateLimit),
			LimitHeader: UpdateLimitHeader, HeaderShare: updateShare,
			ScaleFunc: func(account int) int {
				if account >= HighVolumeRateLimit {
					return updates(HighVolumeUpdateRateLimit)
				}
				return updates(UpdateRateLimit)
			},
		}},
	}
}
