// Package config reads cxaudit's configuration from the environment, where
// Kubernetes puts it. Every secret can also be read from a file named by the
// same variable with a _FILE suffix (a mounted Secret). A bad value is an
// error naming the variable; all such errors are reported at once.
package config

import (
	"errors"
	"fmt"
	"log/slog"
	"math"
	"net"
	"net/url"
	"os"
	"strconv"
	"strings"
	"time"

	"github.com/cxaudit/cxaudit/internal/cxaudit"
)

// Secret is a credential. It never prints: fmt, slog and JSON all see
// "<secret>".
type Secret string

func (s Secret) String() string               { return "<secret>" }
func (s Secret) GoString() string             { return "<secret>" }
func (s Secret) LogValue() slog.Value         { return slog.StringValue("<secret>") }
func (s Secret) MarshalText() ([]byte, error) { return []byte("<secret>"), nil }

// Reveal returns the secret's value, for the one place that sends it.
func (s Secret) Reveal() string { return string(s) }

// Config is cxaudit's configuration.
type Config struct {
	// DatabaseURL selects the store: postgres:// for PostgreSQL, anything
	// else is an SQLite file path. It can hold a password, so it is a Secret.
	DatabaseURL Secret
	RulesDir    string
	// RulesMaxDrop is the largest share of the rules (0 to 1) a reload of
	// RulesDir may remove; a reload that removes more, or every rule, is
	// refused and the last good rules stay. An emptied or unmounted
	// directory would otherwise resolve every open finding.
	RulesMaxDrop float64
	ListenAddr   string

	Zendesk    ZendeskConfig
	Salesforce SalesforceConfig

	SyncInterval  time.Duration
	SweepInterval time.Duration
	// BackfillDays is how far back the first sync of a source reaches.
	BackfillDays int
	// DryRun does everything but the remote writes, and logs each one.
	DryRun bool
	// Mode is CXAUDIT_MODE: ModeEnforce (the default) leaves each rule's
	// own mode in force; ModeObserve overrides every rule's: findings are
	// recorded, nothing is written to Zendesk or Salesforce. It is the way
	// to start on a real tenant (see the README's "Rolling out").
	Mode Mode
	// ResolutionNote adds a short Zendesk note when findings clear.
	ResolutionNote bool
	// ZendeskWriteBudget and SalesforceWriteBudget cap remote writes per
	// rolling hour (ticket updates; Tasks created or updated); 0 is no cap.
	ZendeskWriteBudget    int
	SalesforceWriteBudget int
	// SnoozeDays is how long the cxaudit_snooze tag silences a ticket.
	SnoozeDays int
	// HTTPTimeout bounds one request to Zendesk or Salesforce.
	HTTPTimeout time.Duration
	// MaxRetryAfter caps the wait a Retry-After may ask for: a longer one
	// is waited for this long, and then the system is asked again.
	MaxRetryAfter time.Duration
	// MaxResponseBytes bounds the body of one response from Zendesk or
	// Salesforce; a larger one is an error, retried as a malformed page.
	MaxResponseBytes int
	// WorkerLeaseTTL is how long a worker that stops renewing its lease
	// (it died) is given before its running jobs are taken over.
	WorkerLeaseTTL time.Duration

	LogLevel  slog.Level
	LogFormat string // json or text

	// RiverUI is the River UI at /riverui; disabled unless both its
	// username and password are set.
	RiverUI RiverUIConfig
	// ZendeskWebhookSecret is the signing secret of the Zendesk webhook
	// that posts ticket changes to POST /webhooks/zendesk (cxaudit
	// webhooks setup prints it); unset, the endpoint is not served.
	ZendeskWebhookSecret Secret
}

// Mode is CXAUDIT_MODE's value.
type Mode string

// The values of CXAUDIT_MODE.
const (
	ModeEnforce Mode = "enforce"
	ModeObserve Mode = "observe"
)

// Observe reports whether CXAUDIT_MODE=observe holds every rule to
// recording findings only.
func (c Config) Observe() bool { return c.Mode == ModeObserve }

// RiverUIConfig is the basic-auth user of the River UI.
type RiverUIConfig struct {
	Username string
	Password Secret
}

// Enabled reports whether the River UI is served.
func (r RiverUIConfig) Enabled() bool { return r.Username != "" && r.Password != "" }

// ZendeskConfig is where and as whom cxaudit reaches Zendesk.
type ZendeskConfig struct {
	URL      string
	Email    string
	APIToken Secret
	// RateLimit is the account's requests per minute (the plan's: 200 to
	// 2,500). The X-Rate-Limit header Zendesk sends replaces it.
	RateLimit int
	// ExportRateLimit is the incremental exports' requests per minute: 10,
	// or 30 with the High Volume add-on.
	ExportRateLimit int
	// UpdateShare is the share (0..1] of Update Ticket's limit (100 a
	// minute per account) that write-back may use; agents saving tickets
	// draw on the rest. Default 0.5.
	UpdateShare float64
	// Comments is where tickets' comments are read from:
	// ZendeskCommentsTickets (List Comments, per ticket a rule can fire
	// on) or ZendeskCommentsEvents (the ticket-event export).
	Comments string
	// CommentConcurrency is how many tickets' comments are fetched at
	// once (ZendeskCommentsTickets).
	CommentConcurrency int
}

// Where Zendesk comments are read from (ZENDESK_COMMENTS).
const (
	ZendeskCommentsTickets = "tickets"
	ZendeskCommentsEvents  = "ticket_events"
)

// Enabled reports whether Zendesk is configured.
func (z ZendeskConfig) Enabled() bool { return z.URL != "" }

// SalesforceConfig is where and as whom cxaudit reaches Salesforce.
type SalesforceConfig struct {
	InstanceURL string
	AccessToken Secret
	// FallbackOwnerID owns Tasks on accounts whose owner is inactive.
	FallbackOwnerID string
	// DailyQuotaShare is the share of the org's daily API quota cxaudit
	// may use (Sforce-Limit-Info); past it, calls stop until usage falls.
	DailyQuotaShare float64

	// OAuth 2.0 JWT bearer flow, used instead of AccessToken when
	// ClientID is set: the connected app's consumer key, the user to act
	// as, the PEM private key whose certificate the app holds, and the
	// login URL (https://login.salesforce.com, or test. for sandboxes).
	ClientID   string
	Username   string
	PrivateKey Secret
	LoginURL   string
	// JWTAudience is the assertion's aud, apart from LoginURL (where it
	// is posted): Salesforce wants https://login.salesforce.com or
	// https://test.salesforce.com even from a My Domain. Empty: derived
	// from LoginURL (test.salesforce.com and sandbox My Domains get the
	// sandbox audience).
	JWTAudience string
}

// UsesJWT reports whether Salesforce is reached through the JWT bearer
// flow rather than a fixed access token.
func (s SalesforceConfig) UsesJWT() bool { return s.ClientID != "" }

// Enabled reports whether Salesforce is configured.
func (s SalesforceConfig) Enabled() bool { return s.InstanceURL != "" }

// MinWebhookSecretLen is the shortest CXAUDIT_ZENDESK_WEBHOOK_SECRET
// accepted: Zendesk's signing secrets are longer, and a short one is a
// placeholder or a truncated copy.
const MinWebhookSecretLen = 16

// Defaults.
const (
	DefaultDatabaseURL   = "./cxaudit.db"
	DefaultRulesDir      = "./rules"
	DefaultRulesMaxDrop  = 0.5
	DefaultListenAddr    = ":8080"
	DefaultSyncInterval  = 5 * time.Minute
	DefaultSweepInterval = 15 * time.Minute
	DefaultBackfillDays  = 90
	// DefaultWriteBudget is per system and hour: enough for a normal day's
	// findings, small enough that a broken rule cannot flood a tenant.
	DefaultWriteBudget = 1000
	DefaultSnoozeDays  = int(cxaudit.DefaultSnooze / (24 * time.Hour))
	DefaultHTTPTimeout = 30 * time.Second
	// DefaultMaxResponseBytes: pages are a few megabytes; a 200 MB one
	// took 1.5 GB of memory, more than a pod has.
	DefaultMaxResponseBytes = 64 << 20
	MinMaxResponseBytes     = 64 << 10
	MaxMaxResponseBytes     = 1 << 30
	// DefaultMaxRetryAfter: Zendesk asks for seconds, a minute at most;
	// a longer wait is re-checked this often. A server that asked for
	// Retry-After: 999999999 stopped a source for 31 years, across
	// restarts.
	DefaultMaxRetryAfter = 5 * time.Minute
	MaxMaxRetryAfter     = 24 * time.Hour
	// DefaultWorkerLeaseTTL: a killed worker's jobs are taken over this
	// long after its last renewal.
	DefaultWorkerLeaseTTL = 30 * time.Second

	DefaultZendeskRateLimit       = 700
	DefaultZendeskExportRateLimit = 10
	DefaultZendeskUpdateShare     = 0.5
	DefaultZendeskCommentWorkers  = 8
	MaxZendeskCommentWorkers      = 64
	DefaultSalesforceDailyShare   = 0.8
	DefaultSalesforceLoginURL     = "https://login.salesforce.com"

	// MaxSnoozeDays bounds CXAUDIT_SNOOZE_DAYS: a year of silence is
	// already a decision to delete the rule, and days beyond ~106,000
	// overflow a time.Duration.
	MaxSnoozeDays = 365
	// MaxZendeskRateLimit bounds both per-minute limits: the budget keeps
	// one send time per allowed request, so an absurd value is an absurd
	// allocation (2,000,000,000 was 48 GB). Zendesk's largest plan allows
	// 2,500 a minute and 30 export requests; tests against the simulators
	// lift the limits with 100000.
	MaxZendeskRateLimit = 100_000
)

// FromEnv reads the configuration through getenv (os.Getenv in production).
func FromEnv(getenv func(string) string) (Config, error) {
	r := reader{getenv: getenv}
	c := Config{
		DatabaseURL:           Secret(r.secret("CXAUDIT_DATABASE_URL", DefaultDatabaseURL)),
		RulesDir:              r.str("CXAUDIT_RULES_DIR", DefaultRulesDir),
		RulesMaxDrop:          r.float("CXAUDIT_RULES_MAX_DROP", DefaultRulesMaxDrop),
		ListenAddr:            r.str("CXAUDIT_LISTEN_ADDR", DefaultListenAddr),
		SyncInterval:          r.duration("CXAUDIT_SYNC_INTERVAL", DefaultSyncInterval),
		SweepInterval:         r.duration("CXAUDIT_SWEEP_INTERVAL", DefaultSweepInterval),
		BackfillDays:          r.integer("CXAUDIT_BACKFILL_DAYS", DefaultBackfillDays),
		DryRun:                r.boolean("CXAUDIT_DRY_RUN", false),
		Mode:                  Mode(strings.ToLower(r.str("CXAUDIT_MODE", string(ModeEnforce)))),
		ResolutionNote:        r.boolean("CXAUDIT_RESOLUTION_NOTE", true),
		ZendeskWriteBudget:    r.integer("CXAUDIT_ZENDESK_WRITE_BUDGET", DefaultWriteBudget),
		SalesforceWriteBudget: r.integer("CXAUDIT_SALESFORCE_WRITE_BUDGET", DefaultWriteBudget),
		SnoozeDays:            r.integer("CXAUDIT_SNOOZE_DAYS", DefaultSnoozeDays),
		HTTPTimeout:           r.duration("CXAUDIT_HTTP_TIMEOUT", DefaultHTTPTimeout),
		MaxResponseBytes:      r.integer("CXAUDIT_MAX_RESPONSE_BYTES", DefaultMaxResponseBytes),
		MaxRetryAfter:         r.duration("CXAUDIT_MAX_RETRY_AFTER", DefaultMaxRetryAfter),
		WorkerLeaseTTL:        r.duration("CXAUDIT_WORKER_LEASE_TTL", DefaultWorkerLeaseTTL),
		LogFormat:             r.str("CXAUDIT_LOG_FORMAT", "json"),
		Zendesk: ZendeskConfig{
			URL:                strings.TrimRight(r.str("ZENDESK_URL", ""), "/"),
			Email:              r.str("ZENDESK_EMAIL", ""),
			APIToken:           Secret(r.secret("ZENDESK_API_TOKEN", "")),
			RateLimit:          r.integer("ZENDESK_RATE_LIMIT", DefaultZendeskRateLimit),
			ExportRateLimit:    r.integer("ZENDESK_EXPORT_RATE_LIMIT", DefaultZendeskExportRateLimit),
			UpdateShare:        r.float("ZENDESK_UPDATE_SHARE", DefaultZendeskUpdateShare),
			Comments:           r.str("ZENDESK_COMMENTS", ZendeskCommentsTickets),
			CommentConcurrency: r.integer("ZENDESK_COMMENT_CONCURRENCY", DefaultZendeskCommentWorkers),
		},
		Salesforce: SalesforceConfig{
			InstanceURL:     strings.TrimRight(r.str("SALESFORCE_INSTANCE_URL", ""), "/"),
			AccessToken:     Secret(r.secret("SALESFORCE_ACCESS_TOKEN", "")),
			FallbackOwnerID: r.str("SALESFORCE_TASK_FALLBACK_OWNER_ID", ""),
			DailyQuotaShare: r.float("SALESFORCE_DAILY_QUOTA_SHARE", DefaultSalesforceDailyShare),
			ClientID:        r.str("SALESFORCE_CLIENT_ID", ""),
			Username:        r.str("SALESFORCE_USERNAME", ""),
			LoginURL:        strings.TrimRight(r.str("SALESFORCE_LOGIN_URL", DefaultSalesforceLoginURL), "/"),
			JWTAudience:     strings.TrimRight(r.str("SALESFORCE_JWT_AUDIENCE", ""), "/"),
		},
		RiverUI: RiverUIConfig{
			Username: r.str("CXAUDIT_RIVERUI_USERNAME", ""),
			Password: Secret(r.secret("CXAUDIT_RIVERUI_PASSWORD", "")),
		},
		ZendeskWebhookSecret: Secret(r.secret("CXAUDIT_ZENDESK_WEBHOOK_SECRET", "")),
	}
	if sec := c.ZendeskWebhookSecret.Reveal(); sec != "" {
		switch {
		case !c.Zendesk.Enabled():
			r.fail("CXAUDIT_ZENDESK_WEBHOOK_SECRET", "is set but ZENDESK_URL is not: the webhook syncs tickets from Zendesk; set ZENDESK_URL or unset the secret")
		case len(sec) < MinWebhookSecretLen:
			r.fail("CXAUDIT_ZENDESK_WEBHOOK_SECRET", "is %d characters, fewer than %d: set the webhook's signing secret as Zendesk shows it (cxaudit webhooks setup prints it)", len(sec), MinWebhookSecretLen)
		}
	}
	if (c.RiverUI.Username == "") != (c.RiverUI.Password == "") {
		r.fail("CXAUDIT_RIVERUI_PASSWORD", "set both CXAUDIT_RIVERUI_USERNAME and CXAUDIT_RIVERUI_PASSWORD (or _FILE) to serve the River UI, or neither")
	}
	if lvl := r.str("CXAUDIT_LOG_LEVEL", "info"); lvl != "" {
		if err := c.LogLevel.UnmarshalText([]byte(lvl)); err != nil {
			r.fail("CXAUDIT_LOG_LEVEL", "%q is not a log level (debug, info, warn, error)", lvl)
		}
	}
	if c.Mode != ModeEnforce && c.Mode != ModeObserve {
		r.fail("CXAUDIT_MODE", "%q is not a mode: observe (record findings, write nothing back, for a first week on a tenant) or enforce (each rule's own mode; the default)", r.str("CXAUDIT_MODE", ""))
	}
	if c.LogFormat != "json" && c.LogFormat != "text" {
		r.fail("CXAUDIT_LOG_FORMAT", "%q is not a log format (json or text)", c.LogFormat)
	}
	if c.SyncInterval < time.Second {
		r.fail("CXAUDIT_SYNC_INTERVAL", "must be at least 1s")
	}
	if c.SweepInterval < time.Second {
		r.fail("CXAUDIT_SWEEP_INTERVAL", "must be at least 1s")
	}
	if c.ZendeskWriteBudget < 0 {
		r.fail("CXAUDIT_ZENDESK_WRITE_BUDGET", "must be 0 (no cap) or more")
	}
	if c.SalesforceWriteBudget < 0 {
		r.fail("CXAUDIT_SALESFORCE_WRITE_BUDGET", "must be 0 (no cap) or more")
	}
	if !(c.RulesMaxDrop >= 0 && c.RulesMaxDrop <= 1) { // NaN too
		r.fail("CXAUDIT_RULES_MAX_DROP", "must be a share between 0 and 1 (like 0.5): the largest part of the rules a reload may remove")
	}
	if c.SnoozeDays < 1 || c.SnoozeDays > MaxSnoozeDays {
		r.fail("CXAUDIT_SNOOZE_DAYS", "must be days between 1 and %d", MaxSnoozeDays)
	}
	if c.WorkerLeaseTTL < time.Second {
		r.fail("CXAUDIT_WORKER_LEASE_TTL", "must be at least 1s")
	}
	if c.HTTPTimeout < 100*time.Millisecond {
		r.fail("CXAUDIT_HTTP_TIMEOUT", "must be at least 100ms")
	}
	if c.MaxResponseBytes < MinMaxResponseBytes || c.MaxResponseBytes > MaxMaxResponseBytes {
		r.fail("CXAUDIT_MAX_RESPONSE_BYTES", "must be bytes between %d (64 KiB) and %d (1 GiB)", MinMaxResponseBytes, MaxMaxResponseBytes)
	}
	if c.MaxRetryAfter < time.Second || c.MaxRetryAfter > MaxMaxRetryAfter {
		r.fail("CXAUDIT_MAX_RETRY_AFTER", "must be between 1s and 24h")
	}
	if c.BackfillDays < 1 {
		r.fail("CXAUDIT_BACKFILL_DAYS", "must be at least 1")
	}
	r.checkURL("ZENDESK_URL", c.Zendesk.URL)
	r.checkURL("SALESFORCE_INSTANCE_URL", c.Salesforce.InstanceURL)
	if c.Zendesk.URL != "" {
		if c.Zendesk.Email == "" {
			r.fail("ZENDESK_EMAIL", "is required when ZENDESK_URL is set (the API user's email)")
		}
		if c.Zendesk.APIToken == "" {
			r.fail("ZENDESK_API_TOKEN", "is required when ZENDESK_URL is set (or ZENDESK_API_TOKEN_FILE)")
		}
	}
	if c.Zendesk.RateLimit < 1 || c.Zendesk.RateLimit > MaxZendeskRateLimit {
		r.fail("ZENDESK_RATE_LIMIT", "must be requests per minute between 1 and %d (plans allow 200 to 2500)", MaxZendeskRateLimit)
	}
	if c.Zendesk.ExportRateLimit < 1 || c.Zendesk.ExportRateLimit > MaxZendeskRateLimit {
		r.fail("ZENDESK_EXPORT_RATE_LIMIT", "must be requests per minute between 1 and %d (10, or 30 with the High Volume add-on)", MaxZendeskRateLimit)
	}
	if !(c.Zendesk.UpdateShare > 0 && c.Zendesk.UpdateShare <= 1) {
		r.fail("ZENDESK_UPDATE_SHARE", "must be a share above 0 and at most 1 of Update Ticket's limit (agents' saves use the rest; default 0.5)")
	}
	if c.Zendesk.Comments != ZendeskCommentsTickets && c.Zendesk.Comments != ZendeskCommentsEvents {
		r.fail("ZENDESK_COMMENTS", "must be %q (List Comments, per ticket a rule can fire on) or %q (the ticket-event export)", ZendeskCommentsTickets, ZendeskCommentsEvents)
	}
	if c.Zendesk.CommentConcurrency < 1 || c.Zendesk.CommentConcurrency > MaxZendeskCommentWorkers {
		r.fail("ZENDESK_COMMENT_CONCURRENCY", "must be between 1 and %d tickets' comments fetched at once (default %d)", MaxZendeskCommentWorkers, DefaultZendeskCommentWorkers)
	}
	// r.float refuses NaN, which every comparison here would let through.
	if c.Salesforce.DailyQuotaShare <= 0 || c.Salesforce.DailyQuotaShare > 1 {
		r.fail("SALESFORCE_DAILY_QUOTA_SHARE", "must be a share above 0 and at most 1 (like 0.8)")
	}
	// The key is read only for the JWT bearer flow: a Deployment that
	// mounts it from an optional Secret key and sets
	// SALESFORCE_PRIVATE_KEY_FILE runs without Salesforce (or with an
	// access token) when the key is not there.
	if c.Salesforce.ClientID != "" {
		c.Salesforce.PrivateKey = Secret(r.secret("SALESFORCE_PRIVATE_KEY", ""))
	}
	r.checkURL("SALESFORCE_LOGIN_URL", c.Salesforce.LoginURL)
	if c.Salesforce.JWTAudience != "" {
		r.checkURL("SALESFORCE_JWT_AUDIENCE", c.Salesforce.JWTAudience)
	}
	switch {
	case c.Salesforce.InstanceURL == "":
	case c.Salesforce.UsesJWT():
		if c.Salesforce.Username == "" {
			r.fail("SALESFORCE_USERNAME", "is required with SALESFORCE_CLIENT_ID (the user the JWT bearer flow acts as)")
		}
		if c.Salesforce.PrivateKey == "" {
			r.fail("SALESFORCE_PRIVATE_KEY", "is required with SALESFORCE_CLIENT_ID (a PEM key; or SALESFORCE_PRIVATE_KEY_FILE)")
		}
	case c.Salesforce.AccessToken == "":
		r.fail("SALESFORCE_ACCESS_TOKEN", "is required when SALESFORCE_INSTANCE_URL is set (or SALESFORCE_ACCESS_TOKEN_FILE), unless SALESFORCE_CLIENT_ID selects the JWT bearer flow")
	}
	return c, errors.Join(r.errs...)
}

type reader struct {
	getenv func(string) string
	errs   []error
}

func (r *reader) fail(name, format string, args ...any) {
	r.errs = append(r.errs, fmt.Errorf("%s: %s", name, fmt.Sprintf(format, args...)))
}

func (r *reader) str(name, def string) string {
	if v := strings.TrimSpace(r.getenv(name)); v != "" {
		return v
	}
	return def
}

// secret reads NAME, or the file NAME_FILE names; setting both is an error.
func (r *reader) secret(name, def string) string {
	v, file := r.getenv(name), strings.TrimSpace(r.getenv(name+"_FILE"))
	if v != "" && file != "" {
		r.fail(name, "set either %s or %s_FILE, not both", name, name)
		return ""
	}
	if file != "" {
		b, err := os.ReadFile(file)
		if err != nil {
			r.fail(name+"_FILE", "cannot read the secret file: %v", errors.Unwrap(err))
			return ""
		}
		return strings.TrimSpace(string(b))
	}
	if v = strings.TrimSpace(v); v != "" {
		return v
	}
	return def
}

func (r *reader) duration(name string, def time.Duration) time.Duration {
	v := r.str(name, "")
	if v == "" {
		return def
	}
	d, err := time.ParseDuration(v)
	if err != nil {
		r.fail(name, "%q is not a duration (like 90s, 5m, 1h)", v)
		return def
	}
	return d
}

func (r *reader) integer(name string, def int) int {
	v := r.str(name, "")
	if v == "" {
		return def
	}
	n, err := strconv.Atoi(v)
	if err != nil {
		r.fail(name, "%q is not a whole number", v)
		return def
	}
	return n
}

func (r *reader) float(name string, def float64) float64 {
	v := r.str(name, "")
	if v == "" {
		return def
	}
	f, err := strconv.ParseFloat(v, 64)
	if err != nil || math.IsNaN(f) || math.IsInf(f, 0) {
		// ParseFloat takes "NaN" and "Inf", which no range check catches.
		r.fail(name, "%q is not a finite number", v)
		return def
	}
	return f
}

func (r *reader) boolean(name string, def bool) bool {
	v := r.str(name, "")
	if v == "" {
		return def
	}
	b, err := strconv.ParseBool(v)
	if err != nil {
		r.fail(name, "%q is not true or false", v)
		return def
	}
	return b
}

// checkURL checks the address of a remote system: https, or http to a
// loopback host only (the simulators listen on http://127.0.0.1), since
// the API token travels in every request. The value is echoed without any
// user:password it may carry.
func (r *reader) checkURL(name, v string) {
	if v == "" {
		return
	}
	u, err := url.Parse(v)
	if err != nil {
		r.fail(name, "is not a URL (want one like https://acme.zendesk.com)")
		return
	}
	shown := u.Redacted()
	switch {
	case u.Scheme != "https" && u.Scheme != "http", u.Host == "":
		r.fail(name, "%q is not an http(s) URL like https://acme.zendesk.com", shown)
	case u.Scheme == "http" && !loopback(u.Hostname()):
		r.fail(name, "%q must use https://: over http:// the credentials would travel in clear (http:// is allowed only to a loopback host such as 127.0.0.1)", shown)
	}
}

// loopback reports whether host names this machine: localhost or a
// loopback address.
func loopback(host string) bool {
	if strings.EqualFold(host, "localhost") {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}
