// Package config reads cxaudit's configuration from the environment, where
// Kubernetes puts it. Every secret can also be read from a file named by the
// same variable with a _FILE suffix (a mounted Secret). A bad value is an
// error naming the variable; all such errors are reported at once.
package config

import (
	"errors"
	"fmt"
	"log/slog"
	"net/url"
	"os"
	"strconv"
	"strings"
	"time"
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
	ListenAddr  string

	Zendesk    ZendeskConfig
	Salesforce SalesforceConfig

	SyncInterval  time.Duration
	SweepInterval time.Duration
	// BackfillDays is how far back the first sync of a source reaches.
	BackfillDays int
	// DryRun does everything but the remote writes, and logs each one.
	DryRun bool
	// ResolutionNote adds a short Zendesk note when findings clear.
	ResolutionNote bool

	LogLevel  slog.Level
	LogFormat string // json or text
}

// ZendeskConfig is where and as whom cxaudit reaches Zendesk.
type ZendeskConfig struct {
	URL      string
	Email    string
	APIToken Secret
}

// Enabled reports whether Zendesk is configured.
func (z ZendeskConfig) Enabled() bool { return z.URL != "" }

// SalesforceConfig is where and as whom cxaudit reaches Salesforce.
type SalesforceConfig struct {
	InstanceURL string
	AccessToken Secret
	// FallbackOwnerID owns Tasks on accounts whose owner is inactive.
	FallbackOwnerID string
}

// Enabled reports whether Salesforce is configured.
func (s SalesforceConfig) Enabled() bool { return s.InstanceURL != "" }

// Defaults.
const (
	DefaultDatabaseURL   = "./cxaudit.db"
	DefaultRulesDir      = "./rules"
	DefaultListenAddr    = ":8080"
	DefaultSyncInterval  = 5 * time.Minute
	DefaultSweepInterval = 15 * time.Minute
	DefaultBackfillDays  = 90
)

// FromEnv reads the configuration through getenv (os.Getenv in production).
func FromEnv(getenv func(string) string) (Config, error) {
	r := reader{getenv: getenv}
	c := Config{
		DatabaseURL:    Secret(r.secret("CXAUDIT_DATABASE_URL", DefaultDatabaseURL)),
		RulesDir:       r.str("CXAUDIT_RULES_DIR", DefaultRulesDir),
		ListenAddr:     r.str("CXAUDIT_LISTEN_ADDR", DefaultListenAddr),
		SyncInterval:   r.duration("CXAUDIT_SYNC_INTERVAL", DefaultSyncInterval),
		SweepInterval:  r.duration("CXAUDIT_SWEEP_INTERVAL", DefaultSweepInterval),
		BackfillDays:   r.integer("CXAUDIT_BACKFILL_DAYS", DefaultBackfillDays),
		DryRun:         r.boolean("CXAUDIT_DRY_RUN", false),
		ResolutionNote: r.boolean("CXAUDIT_RESOLUTION_NOTE", true),
		LogFormat:      r.str("CXAUDIT_LOG_FORMAT", "json"),
		Zendesk: ZendeskConfig{
			URL:      strings.TrimRight(r.str("ZENDESK_URL", ""), "/"),
			Email:    r.str("ZENDESK_EMAIL", ""),
			APIToken: Secret(r.secret("ZENDESK_API_TOKEN", "")),
		},
		Salesforce: SalesforceConfig{
			InstanceURL:     strings.TrimRight(r.str("SALESFORCE_INSTANCE_URL", ""), "/"),
			AccessToken:     Secret(r.secret("SALESFORCE_ACCESS_TOKEN", "")),
			FallbackOwnerID: r.str("SALESFORCE_TASK_FALLBACK_OWNER_ID", ""),
		},
	}
	if lvl := r.str("CXAUDIT_LOG_LEVEL", "info"); lvl != "" {
		if err := c.LogLevel.UnmarshalText([]byte(lvl)); err != nil {
			r.fail("CXAUDIT_LOG_LEVEL", "%q is not a log level (debug, info, warn, error)", lvl)
		}
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
	if c.Salesforce.InstanceURL != "" && c.Salesforce.AccessToken == "" {
		r.fail("SALESFORCE_ACCESS_TOKEN", "is required when SALESFORCE_INSTANCE_URL is set (or SALESFORCE_ACCESS_TOKEN_FILE)")
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

func (r *reader) checkURL(name, v string) {
	if v == "" {
		return
	}
	u, err := url.Parse(v)
	if err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" {
		r.fail(name, "%q is not an http(s) URL like https://acme.zendesk.com", v)
	}
}
