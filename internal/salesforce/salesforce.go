// Package salesforce is cxaudit's Salesforce adapter: it reads Accounts,
// Contacts and Opportunities incrementally and reads, creates and updates
// the Tasks findings become, speaking only domain terms to its callers.
//
// It talks through github.com/simpleforce/simpleforce, used with care:
// only Query (SOQL and nextRecordsUrl) and ApexREST (writes) are called,
// because the SObject helpers swallow errors; every call gets an
// http.Client built on remote.NewClient whose transport carries the call's
// context, records the Sforce-Limit-Info header and turns error responses
// into errors before simpleforce can log their bodies; and simpleforce's
// std-log lines are filtered out of the process log.
package salesforce

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"log"
	"log/slog"
	"net/http"
	"net/url"
	"regexp"
	"strconv"
	"strings"
	"sync"

	"github.com/simpleforce/simpleforce"

	"github.com/cxaudit/cxaudit/internal/cxaudit"
	"github.com/cxaudit/cxaudit/internal/ratelimit"
	"github.com/cxaudit/cxaudit/internal/remote"
)

// DefaultAPIVersion is the REST API version used when Config.APIVersion is
// empty.
const DefaultAPIVersion = "59.0"

// Config configures a Client.
type Config struct {
	// InstanceURL is the org's base URL, e.g. https://acme.my.salesforce.com.
	InstanceURL string
	// AccessToken is an OAuth access token (session Id). It never appears
	// in errors or logs. Not needed with JWT.
	AccessToken string
	// JWT, when set, obtains access tokens through the OAuth 2.0 JWT bearer
	// flow, and a fresh one whenever a call is refused with 401
	// INVALID_SESSION_ID (the call is then sent once more). AccessToken, if
	// also set, is used until first refused.
	JWT *JWTConfig
	// APIVersion is the REST API version, e.g. "59.0". Default
	// DefaultAPIVersion.
	APIVersion string
	// Logger receives debug lines about pages and writes. Default: discard.
	Logger *slog.Logger
	// HTTP configures the underlying client. System is set by New.
	HTTP remote.Options
}

// Client reads from and writes to one Salesforce org. It is safe for
// concurrent use.
type Client struct {
	tokenMu    sync.Mutex // guards token, which login replaces
	token      string
	instance   string            // the instance URL the static token is for
	jwt        *jwtAuth          // nil: AccessToken only
	budget     *ratelimit.Budget // may be nil
	apiVersion string
	logger     *slog.Logger
	transport  http.RoundTripper // remote.NewClient's, shared by every call

	// mu serializes use of sf, which is not safe for concurrent use. It is
	// held for one HTTP exchange at a time (retries included), never across
	// pages or callbacks.
	mu sync.Mutex
	sf *simpleforce.Client

	limitMu          sync.Mutex
	limitUsed, limit int
	limitSeen        bool
}

var versionRE = regexp.MustCompile(`^\d+\.\d+$`)

// New returns a Client for cfg.
func New(cfg Config) (*Client, error) {
	if cfg.InstanceURL == "" {
		return nil, cxaudit.Invalidf("Config.InstanceURL", "salesforce: Config.InstanceURL is required (e.g. https://acme.my.salesforce.com)")
	}
	u, err := url.Parse(cfg.InstanceURL)
	if err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" {
		return nil, cxaudit.Invalidf("Config.InstanceURL", "salesforce: Config.InstanceURL %q is not an http(s) URL (e.g. https://acme.my.salesforce.com)", cfg.InstanceURL)
	}
	if cfg.AccessToken == "" && cfg.JWT == nil {
		return nil, cxaudit.Invalidf("Config.AccessToken", "salesforce: Config.AccessToken or Config.JWT is required")
	}
	if cfg.APIVersion == "" {
		cfg.APIVersion = DefaultAPIVersion
	}
	cfg.APIVersion = strings.TrimPrefix(cfg.APIVersion, "v")
	if !versionRE.MatchString(cfg.APIVersion) {
		return nil, cxaudit.Invalidf("Config.APIVersion", "salesforce: Config.APIVersion %q is not a version like %q", cfg.APIVersion, DefaultAPIVersion)
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	cfg.HTTP.System = cxaudit.SourceSalesforce
	if cfg.HTTP.Logger == nil {
		cfg.HTTP.Logger = cfg.Logger
	}
	quietSimpleforce()
	var auth *jwtAuth
	if cfg.JWT != nil {
		if auth, err = newJWTAuth(*cfg.JWT, cfg.HTTP); err != nil {
			return nil, err
		}
	}

	instance := strings.TrimRight(u.Scheme+"://"+u.Host+u.Path, "/")
	sf := simpleforce.NewClient(instance, simpleforce.DefaultClientID, cfg.APIVersion)
	sf.SetSidLoc(cfg.AccessToken, instance)
	return &Client{
		instance:   instance,
		token:      cfg.AccessToken,
		jwt:        auth,
		budget:     cfg.HTTP.Budget,
		apiVersion: cfg.APIVersion,
		logger:     cfg.Logger.With("system", string(cxaudit.SourceSalesforce)),
		transport:  remote.NewClient(cfg.HTTP).Transport,
		sf:         sf,
	}, nil
}

// Limits returns the API usage and daily limit from the last
// Sforce-Limit-Info header seen; ok is false before the first response.
func (c *Client) Limits() (used, max int, ok bool) {
	c.limitMu.Lock()
	defer c.limitMu.Unlock()
	return c.limitUsed, c.limit, c.limitSeen
}

var limitRE = regexp.MustCompile(`api-usage=(\d+)/(\d+)`)

func (c *Client) observeLimits(h http.Header) {
	m := limitRE.FindStringSubmatch(h.Get("Sforce-Limit-Info"))
	if m == nil {
		return
	}
	used, err1 := strconv.Atoi(m[1])
	limit, err2 := strconv.Atoi(m[2])
	if err1 != nil || err2 != nil {
		return
	}
	c.limitMu.Lock()
	c.limitUsed, c.limit, c.limitSeen = used, limit, true
	c.limitMu.Unlock()
}

// do runs fn against the simpleforce client with an http.Client bound to
// ctx. Errors come back raw; callers classify them with c.errorf.
func (c *Client) do(ctx context.Context, fn func(*simpleforce.Client) error) (err error) {
	if err := ctx.Err(); err != nil {
		return err
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	defer func() {
		// simpleforce indexes into error arrays without checking them
		// (ParseSalesforceError on "[]"); a panic there is a bad response.
		if r := recover(); r != nil {
			err = &panicError{fmt.Sprint(r)}
		}
		c.sf.SetHttpClient(&http.Client{Transport: unboundTransport{}})
	}()
	if c.jwt != nil && c.currentToken() == "" {
		if err := c.login(ctx); err != nil {
			return err
		}
	}
	c.sf.SetHttpClient(&http.Client{Transport: &callTransport{ctx: ctx, c: c}})
	err = fn(c.sf)
	if c.jwt != nil && sessionRefused(err) {
		// The request was refused, not applied: with a fresh token it is
		// sent once more, whatever its method.
		c.logger.Info("salesforce session refused (401); getting a fresh token through the JWT bearer flow")
		if lerr := c.login(ctx); lerr != nil {
			return lerr
		}
		err = fn(c.sf)
	}
	return err
}

// SetAccessToken replaces the static access token (a rotated Secret):
// calls that start after it use it. With the JWT bearer flow a token the
// org refuses is replaced by a fresh one anyway.
func (c *Client) SetAccessToken(tok string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.tokenMu.Lock()
	c.token = tok
	c.tokenMu.Unlock()
	c.sf.SetSidLoc(tok, c.instance)
	if c.budget != nil {
		c.budget.ResetAuth()
	}
}

// SetJWT replaces the JWT bearer flow's configuration (a rotated private
// key): the next call gets a token with it.
func (c *Client) SetJWT(cfg JWTConfig, httpOpts remote.Options) error {
	auth, err := newJWTAuth(cfg, httpOpts)
	if err != nil {
		return err
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	c.jwt = auth
	c.tokenMu.Lock()
	c.token = ""
	c.tokenMu.Unlock()
	if c.budget != nil {
		c.budget.ResetAuth()
	}
	return nil
}

func (c *Client) currentToken() string {
	c.tokenMu.Lock()
	defer c.tokenMu.Unlock()
	return c.token
}

// callTransport binds one call's requests to its context, records API
// usage, and turns non-2xx responses into *responseError, so that
// simpleforce never sees (or logs) an error body and the mapping to domain
// errors happens in one place.
type callTransport struct {
	ctx context.Context
	c   *Client
}

// maxErrorBody bounds how much of an error response is read. Success
// bodies are bounded by the transport (remote.Options.MaxResponseBytes).
const maxErrorBody = 64 << 10

func (t *callTransport) RoundTrip(req *http.Request) (*http.Response, error) {
	resp, err := t.c.transport.RoundTrip(req.Clone(t.ctx))
	if err != nil {
		return nil, err
	}
	t.c.observeLimits(resp.Header)
	if resp.StatusCode >= 200 && resp.StatusCode < 300 {
		return resp, nil
	}
	body, _ := io.ReadAll(io.LimitReader(resp.Body, maxErrorBody))
	_ = resp.Body.Close()
	return nil, &responseError{status: resp.StatusCode, header: resp.Header, body: body}
}

// unboundTransport is installed between calls, so a stray use of the
// simpleforce client outside do fails instead of escaping its context.
type unboundTransport struct{}

func (unboundTransport) RoundTrip(*http.Request) (*http.Response, error) {
	return nil, errors.New("salesforce: simpleforce used outside a call")
}

type responseError struct {
	status int
	header http.Header
	body   []byte
}

func (e *responseError) Error() string { return "HTTP " + strconv.Itoa(e.status) }

type panicError struct{ msg string }

func (e *panicError) Error() string { return "simpleforce panicked: " + e.msg }

// apiPath returns the path ApexREST takes (relative to the instance, no
// leading slash) for a REST resource.
func (c *Client) apiPath(resource string) string {
	return "services/data/v" + c.apiVersion + "/" + resource
}

// std-log filtering.

var stdlogMu sync.Mutex

// quietSimpleforce drops simpleforce's lines (prefixed "[simpleforce]")
// from the standard logger, keeping every other line. It wraps whatever
// writer is installed and re-installs itself if that is replaced before a
// later New.
func quietSimpleforce() {
	stdlogMu.Lock()
	defer stdlogMu.Unlock()
	if _, ok := log.Writer().(*stdlogFilter); !ok {
		log.SetOutput(&stdlogFilter{next: log.Writer()})
	}
}

type stdlogFilter struct{ next io.Writer }

var simpleforcePrefix = []byte("[simpleforce]")

func (f *stdlogFilter) Write(p []byte) (int, error) {
	if bytes.Contains(p, simpleforcePrefix) {
		return len(p), nil
	}
	return f.next.Write(p)
}

// BudgetConfig returns the budget of an org of which cxaudit may use
// dailyShare of the daily API quota (Sforce-Limit-Info); past it, calls
// stop for an hour at a time until usage falls back under it.
func BudgetConfig(dailyShare float64) ratelimit.Config {
	return ratelimit.Config{System: cxaudit.SourceSalesforce, DailyShare: dailyShare, DailyBackoff: DailyLimitBackoff}
}
