package config

import (
	"maps"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
)

// Secret values of the base environment: no error may print any of them.
const (
	dbPassword      = "db-SECRET-pw-4711"
	zendeskToken    = "zd-SECRET-token-4711"
	salesforceToken = "sf-SECRET-token-4711"
	privateKey      = "-----BEGIN PRIVATE KEY-----\nSECRET-key-4711\n-----END PRIVATE KEY-----"
	riverUIPassword = "ui-SECRET-pw-4711"
	webhookSecret   = "wh-SECRET-4711-signing"
)

var secrets = []string{dbPassword, zendeskToken, salesforceToken, "SECRET-key-4711", riverUIPassword, webhookSecret}

// baseEnv is a valid configuration of both systems with every secret set.
func baseEnv() map[string]string {
	return map[string]string{
		"CXAUDIT_DATABASE_URL":           "postgres://cxaudit:" + dbPassword + "@db.internal:5432/cxaudit",
		"ZENDESK_URL":                    "https://acme.zendesk.com",
		"ZENDESK_EMAIL":                  "cxaudit@acme.example",
		"ZENDESK_API_TOKEN":              zendeskToken,
		"SALESFORCE_INSTANCE_URL":        "https://acme.my.salesforce.com",
		"SALESFORCE_ACCESS_TOKEN":        salesforceToken,
		"CXAUDIT_RIVERUI_USERNAME":       "ops",
		"CXAUDIT_RIVERUI_PASSWORD":       riverUIPassword,
		"CXAUDIT_ZENDESK_WEBHOOK_SECRET": webhookSecret,
	}
}

func fromMap(env map[string]string) (Config, error) {
	return FromEnv(func(k string) string { return env[k] })
}

func TestBaseEnvIsValid(t *testing.T) {
	t.Parallel()
	c, err := fromMap(baseEnv())
	require.NoError(t, err)
	require.True(t, c.Zendesk.Enabled())
	require.True(t, c.Salesforce.Enabled())
	require.Equal(t, DefaultSalesforceDailyShare, c.Salesforce.DailyQuotaShare)
	require.Equal(t, ModeEnforce, c.Mode)
	require.False(t, c.Observe())
}

// TestModeObserve: CXAUDIT_MODE=observe (in any case) holds every rule to
// recording findings.
func TestModeObserve(t *testing.T) {
	t.Parallel()
	for _, v := range []string{"observe", "Observe", " OBSERVE "} {
		env := baseEnv()
		env["CXAUDIT_MODE"] = v
		c, err := fromMap(env)
		require.NoError(t, err, v)
		require.Equal(t, ModeObserve, c.Mode, v)
		require.True(t, c.Observe(), v)
	}
}

// badValues holds, for every variable that can be wrong, a bad value (set
// over baseEnv; "" unsets the variable) and words its error must hold.
// Several rows per variable cover the ways it went wrong before.
var badValues = []struct {
	name  string
	env   map[string]string
	words string
}{
	{"CXAUDIT_SYNC_INTERVAL", map[string]string{"CXAUDIT_SYNC_INTERVAL": "banana"}, "not a duration"},
	{"CXAUDIT_SYNC_INTERVAL", map[string]string{"CXAUDIT_SYNC_INTERVAL": "-5m"}, "at least 1s"},
	{"CXAUDIT_SWEEP_INTERVAL", map[string]string{"CXAUDIT_SWEEP_INTERVAL": "999999999h"}, "not a duration"},
	{"CXAUDIT_SWEEP_INTERVAL", map[string]string{"CXAUDIT_SWEEP_INTERVAL": "0s"}, "at least 1s"},
	{"CXAUDIT_BACKFILL_DAYS", map[string]string{"CXAUDIT_BACKFILL_DAYS": "99999999999999999999"}, "not a whole number"},
	{"CXAUDIT_BACKFILL_DAYS", map[string]string{"CXAUDIT_BACKFILL_DAYS": "0"}, "at least 1"},
	{"CXAUDIT_DRY_RUN", map[string]string{"CXAUDIT_DRY_RUN": "maybe"}, "not true or false"},
	{"CXAUDIT_MODE", map[string]string{"CXAUDIT_MODE": "dry"}, "not a mode: observe"},
	{"CXAUDIT_MODE", map[string]string{"CXAUDIT_MODE": "enforced"}, "or enforce"},
	{"CXAUDIT_RESOLUTION_NOTE", map[string]string{"CXAUDIT_RESOLUTION_NOTE": "yes please"}, "not true or false"},
	{"CXAUDIT_ZENDESK_WRITE_BUDGET", map[string]string{"CXAUDIT_ZENDESK_WRITE_BUDGET": "-1"}, "0 (no cap) or more"},
	{"CXAUDIT_SALESFORCE_WRITE_BUDGET", map[string]string{"CXAUDIT_SALESFORCE_WRITE_BUDGET": "1e3"}, "not a whole number"},
	{"CXAUDIT_SNOOZE_DAYS", map[string]string{"CXAUDIT_SNOOZE_DAYS": "0"}, "between 1 and 365"},
	{"CXAUDIT_SNOOZE_DAYS", map[string]string{"CXAUDIT_SNOOZE_DAYS": "9999999999"}, "between 1 and 365"},
	{"CXAUDIT_SNOOZE_DAYS", map[string]string{"CXAUDIT_SNOOZE_DAYS": "366"}, "between 1 and 365"},
	{"CXAUDIT_HTTP_TIMEOUT", map[string]string{"CXAUDIT_HTTP_TIMEOUT": "1ns"}, "at least 100ms"},
	{"CXAUDIT_MAX_RESPONSE_BYTES", map[string]string{"CXAUDIT_MAX_RESPONSE_BYTES": "64MiB"}, "not a whole number"},
	{"CXAUDIT_MAX_RESPONSE_BYTES", map[string]string{"CXAUDIT_MAX_RESPONSE_BYTES": "1024"}, "between 65536"},
	{"CXAUDIT_MAX_RESPONSE_BYTES", map[string]string{"CXAUDIT_MAX_RESPONSE_BYTES": "99999999999"}, "and 1073741824"},
	{"CXAUDIT_MAX_RETRY_AFTER", map[string]string{"CXAUDIT_MAX_RETRY_AFTER": "300"}, "not a duration"},
	{"CXAUDIT_MAX_RETRY_AFTER", map[string]string{"CXAUDIT_MAX_RETRY_AFTER": "0s"}, "between 1s and 24h"},
	{"CXAUDIT_MAX_RETRY_AFTER", map[string]string{"CXAUDIT_MAX_RETRY_AFTER": "8760h"}, "between 1s and 24h"},
	{"CXAUDIT_WORKER_LEASE_TTL", map[string]string{"CXAUDIT_WORKER_LEASE_TTL": "0s"}, "at least 1s"},
	{"CXAUDIT_LOG_LEVEL", map[string]string{"CXAUDIT_LOG_LEVEL": "verbose"}, "not a log level"},
	{"CXAUDIT_LOG_FORMAT", map[string]string{"CXAUDIT_LOG_FORMAT": "xml"}, "not a log format"},
	{"ZENDESK_URL", map[string]string{"ZENDESK_URL": "ftp://acme.zendesk.com"}, "not an http(s) URL"},
	{"ZENDESK_URL", map[string]string{"ZENDESK_URL": "acme.zendesk.com"}, "not an http(s) URL"},
	{"ZENDESK_URL", map[string]string{"ZENDESK_URL": "http://acme.zendesk.com"}, "must use https://"},
	{"ZENDESK_URL", map[string]string{"ZENDESK_URL": "http://admin:" + zendeskToken + "@acme.zendesk.com"}, "must use https://"},
	{"ZENDESK_URL", map[string]string{"ZENDESK_URL": "http://10.0.0.1:8080"}, "must use https://"},
	{"ZENDESK_EMAIL", map[string]string{"ZENDESK_EMAIL": ""}, "is required"},
	{"ZENDESK_API_TOKEN", map[string]string{"ZENDESK_API_TOKEN": ""}, "is required"},
	{"ZENDESK_API_TOKEN", map[string]string{"ZENDESK_API_TOKEN_FILE": "/nonexistent"}, "not both"},
	{"ZENDESK_API_TOKEN_FILE", map[string]string{"ZENDESK_API_TOKEN": "", "ZENDESK_API_TOKEN_FILE": "/nonexistent/token"}, "cannot read the secret file"},
	{"ZENDESK_RATE_LIMIT", map[string]string{"ZENDESK_RATE_LIMIT": "0"}, "between 1 and 100000"},
	{"ZENDESK_RATE_LIMIT", map[string]string{"ZENDESK_RATE_LIMIT": "2000000000"}, "between 1 and 100000"},
	{"ZENDESK_EXPORT_RATE_LIMIT", map[string]string{"ZENDESK_EXPORT_RATE_LIMIT": "0"}, "between 1 and 100000"},
	{"ZENDESK_EXPORT_RATE_LIMIT", map[string]string{"ZENDESK_EXPORT_RATE_LIMIT": "2000000000"}, "between 1 and 100000"},
	{"SALESFORCE_INSTANCE_URL", map[string]string{"SALESFORCE_INSTANCE_URL": "acme.my.salesforce.com"}, "not an http(s) URL"},
	{"SALESFORCE_INSTANCE_URL", map[string]string{"SALESFORCE_INSTANCE_URL": "http://acme.my.salesforce.com"}, "must use https://"},
	{"SALESFORCE_ACCESS_TOKEN", map[string]string{"SALESFORCE_ACCESS_TOKEN": ""}, "is required"},
	{"SALESFORCE_ACCESS_TOKEN", map[string]string{"SALESFORCE_ACCESS_TOKEN_FILE": "/nonexistent"}, "not both"},
	{"SALESFORCE_DAILY_QUOTA_SHARE", map[string]string{"SALESFORCE_DAILY_QUOTA_SHARE": "2"}, "above 0 and at most 1"},
	{"SALESFORCE_DAILY_QUOTA_SHARE", map[string]string{"SALESFORCE_DAILY_QUOTA_SHARE": "0"}, "above 0 and at most 1"},
	{"SALESFORCE_DAILY_QUOTA_SHARE", map[string]string{"SALESFORCE_DAILY_QUOTA_SHARE": "NaN"}, "not a finite number"},
	{"SALESFORCE_DAILY_QUOTA_SHARE", map[string]string{"SALESFORCE_DAILY_QUOTA_SHARE": "-Inf"}, "not a finite number"},
	{"SALESFORCE_DAILY_QUOTA_SHARE", map[string]string{"SALESFORCE_DAILY_QUOTA_SHARE": "lots"}, "not a finite number"},
	{"SALESFORCE_USERNAME", map[string]string{"SALESFORCE_CLIENT_ID": "3MVG9", "SALESFORCE_PRIVATE_KEY": privateKey}, "is required with SALESFORCE_CLIENT_ID"},
	{"SALESFORCE_PRIVATE_KEY", map[string]string{"SALESFORCE_CLIENT_ID": "3MVG9", "SALESFORCE_USERNAME": "ops@acme.example"}, "is required with SALESFORCE_CLIENT_ID"},
	{"SALESFORCE_PRIVATE_KEY", map[string]string{"SALESFORCE_CLIENT_ID": "3MVG9", "SALESFORCE_USERNAME": "ops@acme.example",
		"SALESFORCE_PRIVATE_KEY": privateKey, "SALESFORCE_PRIVATE_KEY_FILE": "/nonexistent"}, "not both"},
	{"SALESFORCE_PRIVATE_KEY_FILE", map[string]string{"SALESFORCE_CLIENT_ID": "3MVG9", "SALESFORCE_USERNAME": "ops@acme.example",
		"SALESFORCE_PRIVATE_KEY_FILE": "/nonexistent/private-key.pem"}, "cannot read the secret file"},
	{"SALESFORCE_LOGIN_URL", map[string]string{"SALESFORCE_LOGIN_URL": "javascript:alert(1)"}, "not an http(s) URL"},
	{"SALESFORCE_LOGIN_URL", map[string]string{"SALESFORCE_LOGIN_URL": "http://login.salesforce.com"}, "must use https://"},
	{"CXAUDIT_RIVERUI_PASSWORD", map[string]string{"CXAUDIT_RIVERUI_PASSWORD": ""}, "set both"},
	{"CXAUDIT_RIVERUI_PASSWORD", map[string]string{"CXAUDIT_RIVERUI_USERNAME": ""}, "set both"},
	{"CXAUDIT_RIVERUI_PASSWORD", map[string]string{"CXAUDIT_RIVERUI_PASSWORD_FILE": "/nonexistent"}, "not both"},
	{"CXAUDIT_DATABASE_URL", map[string]string{"CXAUDIT_DATABASE_URL_FILE": "/nonexistent"}, "not both"},
	{"CXAUDIT_ZENDESK_WEBHOOK_SECRET", map[string]string{"CXAUDIT_ZENDESK_WEBHOOK_SECRET_FILE": "/nonexistent"}, "not both"},
	{"CXAUDIT_ZENDESK_WEBHOOK_SECRET", map[string]string{"CXAUDIT_ZENDESK_WEBHOOK_SECRET": "wh-SECRET"}, "fewer than 16"},
	{"CXAUDIT_ZENDESK_WEBHOOK_SECRET", map[string]string{"ZENDESK_URL": ""}, "ZENDESK_URL is not"},
	{"ZENDESK_UPDATE_SHARE", map[string]string{"ZENDESK_UPDATE_SHARE": "0"}, "must be a share above 0 and at most 1"},
	{"ZENDESK_COMMENTS", map[string]string{"ZENDESK_COMMENTS": "audits"}, `must be "tickets"`},
	{"ZENDESK_COMMENT_CONCURRENCY", map[string]string{"ZENDESK_COMMENT_CONCURRENCY": "0"}, "must be between 1 and 64"},
	{"ZENDESK_COMMENT_CONCURRENCY", map[string]string{"ZENDESK_COMMENT_CONCURRENCY": "65"}, "must be between 1 and 64"},
	{"ZENDESK_UPDATE_SHARE", map[string]string{"ZENDESK_UPDATE_SHARE": "1.1"}, "must be a share above 0 and at most 1"},
	{"ZENDESK_UPDATE_SHARE", map[string]string{"ZENDESK_UPDATE_SHARE": "NaN"}, "not a finite number"},
	{"SALESFORCE_JWT_AUDIENCE", map[string]string{"SALESFORCE_JWT_AUDIENCE": "login.salesforce.com"}, "not an http(s) URL"},
	{"CXAUDIT_RULES_MAX_DROP", map[string]string{"CXAUDIT_RULES_MAX_DROP": "1.5"}, "must be a share between 0 and 1"},
	{"CXAUDIT_RULES_MAX_DROP", map[string]string{"CXAUDIT_RULES_MAX_DROP": "-0.1"}, "must be a share between 0 and 1"},
	{"CXAUDIT_RULES_MAX_DROP", map[string]string{"CXAUDIT_RULES_MAX_DROP": "NaN"}, "not a finite number"},
	{"CXAUDIT_RULES_MAX_DROP", map[string]string{"CXAUDIT_RULES_MAX_DROP": "half"}, "not a finite number"},
}

// TestBadValueNamesTheVariable sets one bad value at a time: the error
// names the variable at the start of its line, says what is wrong, and
// prints no secret.
func TestBadValueNamesTheVariable(t *testing.T) {
	t.Parallel()
	for _, tc := range badValues {
		t.Run(strings.Join(sortedValues(tc.env), ","), func(t *testing.T) {
			t.Parallel()
			env := baseEnv()
			for k, v := range tc.env {
				env[k] = v
			}
			_, err := fromMap(env)
			require.Error(t, err)
			msg := err.Error()
			require.Regexp(t, `(?m)^`+regexp.QuoteMeta(tc.name)+`: `, msg)
			var line string
			for l := range strings.SplitSeq(msg, "\n") {
				if strings.HasPrefix(l, tc.name+": ") && strings.Contains(l, tc.words) {
					line = l
				}
			}
			require.NotEmpty(t, line, "no line %q says %q in:\n%s", tc.name, tc.words, msg)
			for _, s := range secrets {
				require.NotContains(t, msg, s)
			}
		})
	}
}

func sortedValues(m map[string]string) []string {
	var out []string
	for _, k := range slices.Sorted(maps.Keys(m)) {
		out = append(out, k+"="+m[k])
	}
	return out
}

// TestEveryVariableHasABadValue keeps the table complete: a variable that
// FromEnv reads and that can be wrong must have a row; the few that take
// any value say so here.
func TestEveryVariableHasABadValue(t *testing.T) {
	t.Parallel()
	src, err := os.ReadFile("config.go")
	require.NoError(t, err)
	anyValue := map[string]bool{
		// Any path or string is valid; the store, the rules loader and the
		// listener report what they cannot use, naming the variable.
		"CXAUDIT_RULES_DIR": true, "CXAUDIT_LISTEN_ADDR": true,
		"SALESFORCE_TASK_FALLBACK_OWNER_ID": true, "SALESFORCE_CLIENT_ID": true,
		"CXAUDIT_RIVERUI_USERNAME": true,
	}
	covered := map[string]bool{}
	for _, tc := range badValues {
		covered[tc.name] = true
	}
	re := regexp.MustCompile(`r\.\w+\("([A-Z][A-Z0-9_]+)"`)
	for _, m := range re.FindAllStringSubmatch(string(src), -1) {
		name := m[1]
		require.True(t, covered[name] || anyValue[name], "%s has no bad value in the table", name)
	}
}

// TestAllBadAtOnce reports every problem in one error, without a secret.
func TestAllBadAtOnce(t *testing.T) {
	t.Parallel()
	env := baseEnv()
	names := map[string]bool{}
	for _, tc := range badValues {
		if strings.HasSuffix(tc.name, "_FILE") || len(tc.env) != 1 {
			continue
		}
		for k, v := range tc.env {
			if v != "" && !strings.HasSuffix(k, "_FILE") {
				env[k] = v
				names[tc.name] = true
			}
		}
	}
	_, err := fromMap(env)
	require.Error(t, err)
	for n := range names {
		require.Contains(t, err.Error(), n+": ")
	}
	for _, s := range secrets {
		require.NotContains(t, err.Error(), s)
	}
}

// Loopback hosts may be reached over http:// (the simulators, a local
// proxy); anything else must be https://.
func TestHTTPOnlyToLoopback(t *testing.T) {
	t.Parallel()
	for _, u := range []string{"http://127.0.0.1:8081", "http://localhost:9000", "http://[::1]:9000", "http://127.1.2.3"} {
		env := baseEnv()
		env["ZENDESK_URL"], env["SALESFORCE_INSTANCE_URL"], env["SALESFORCE_LOGIN_URL"] = u, u, u
		c, err := fromMap(env)
		require.NoError(t, err, u)
		require.Equal(t, u, c.Zendesk.URL)
	}
}

func TestSecretFromFile(t *testing.T) {
	t.Parallel()
	file := filepath.Join(t.TempDir(), "token")
	require.NoError(t, os.WriteFile(file, []byte(zendeskToken+"\n"), 0o600))
	env := baseEnv()
	env["ZENDESK_API_TOKEN"], env["ZENDESK_API_TOKEN_FILE"] = "", file
	c, err := fromMap(env)
	require.NoError(t, err)
	require.Equal(t, zendeskToken, c.Zendesk.APIToken.Reveal())
	require.NotContains(t, c.Zendesk.APIToken.String(), zendeskToken)
}

// TestPrivateKeyFileReadOnlyForJWT: deploy/ sets SALESFORCE_PRIVATE_KEY_FILE
// to where an optional Secret key is mounted. Without SALESFORCE_CLIENT_ID
// (Zendesk only, or an access token) a missing file is no error; with it,
// the key is read from the file.
func TestPrivateKeyFileReadOnlyForJWT(t *testing.T) {
	t.Parallel()
	env := baseEnv()
	env["SALESFORCE_PRIVATE_KEY_FILE"] = "/nonexistent/private-key.pem"
	c, err := fromMap(env)
	require.NoError(t, err)
	require.False(t, c.Salesforce.UsesJWT())

	key := filepath.Join(t.TempDir(), "private-key.pem")
	require.NoError(t, os.WriteFile(key, []byte(privateKey+"\n"), 0o400))
	delete(env, "SALESFORCE_ACCESS_TOKEN")
	env["SALESFORCE_CLIENT_ID"], env["SALESFORCE_USERNAME"], env["SALESFORCE_PRIVATE_KEY_FILE"] = "3MVG9", "ops@acme.example", key
	c, err = fromMap(env)
	require.NoError(t, err)
	require.True(t, c.Salesforce.UsesJWT())
	require.Equal(t, privateKey, c.Salesforce.PrivateKey.Reveal())
}
