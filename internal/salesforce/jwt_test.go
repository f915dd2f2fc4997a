package salesforce_test

import (
	"context"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"encoding/pem"
	"fmt"
	"log/slog"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/cxaudit/cxaudit/internal/apptest"
	"github.com/cxaudit/cxaudit/internal/cxaudit"
	"github.com/cxaudit/cxaudit/internal/ratelimit"
	"github.com/cxaudit/cxaudit/internal/remote"
	"github.com/cxaudit/cxaudit/internal/salesforce"
	"github.com/cxaudit/cxaudit/internal/salesforce/salesforcetest"
	"github.com/cxaudit/cxaudit/internal/simworld"
)

var (
	keyOnce           sync.Once
	testKey, testKey2 *rsa.PrivateKey
)

func rsaKeys(t *testing.T) (*rsa.PrivateKey, *rsa.PrivateKey) {
	t.Helper()
	keyOnce.Do(func() {
		var err error
		testKey, err = rsa.GenerateKey(rand.Reader, 2048)
		require.NoError(t, err)
		testKey2, err = rsa.GenerateKey(rand.Reader, 2048)
		require.NoError(t, err)
	})
	return testKey, testKey2
}

func pemPKCS8(t *testing.T, k *rsa.PrivateKey) []byte {
	t.Helper()
	der, err := x509.MarshalPKCS8PrivateKey(k)
	require.NoError(t, err)
	return pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: der})
}

type jwtBundle struct {
	client *salesforce.Client
	sim    *salesforcetest.Sim
	budget *ratelimit.Budget
	logs   *apptest.SyncBuffer
	pem    []byte
	url    string
	now    *time.Time
	mu     *sync.Mutex
}

// setupJWT serves a simulator that accepts only tokens from its JWT bearer
// endpoint, and a client that signs with signer.
func setupJWT(t *testing.T, ttl time.Duration, signer *rsa.PrivateKey) *jwtBundle {
	t.Helper()
	verify, _ := rsaKeys(t)
	var mu sync.Mutex
	now := worldNow
	clock := func() time.Time { mu.Lock(); defer mu.Unlock(); return now }
	w := simworld.Generate(simworld.Options{Seed: 11, Accounts: 30, Now: worldNow})
	sim, srv := salesforcetest.NewServer(salesforcetest.Options{
		World: w, PageSize: 7, Now: clock,
		JWT: &salesforcetest.JWTOptions{PublicKey: &verify.PublicKey, ClientID: "3MVG9-consumer-key", Username: "cxaudit@acme.example", TokenTTL: ttl},
	})
	t.Cleanup(srv.Close)
	logs := &apptest.SyncBuffer{}
	budget := ratelimit.New(salesforce.BudgetConfig(0.8))
	key := pemPKCS8(t, signer)
	client, err := salesforce.New(salesforce.Config{
		InstanceURL: srv.URL,
		JWT:         &salesforce.JWTConfig{ClientID: "3MVG9-consumer-key", Username: "cxaudit@acme.example", PrivateKey: key, LoginURL: srv.URL},
		Logger:      slog.New(slog.NewJSONHandler(logs, &slog.HandlerOptions{Level: slog.LevelDebug})),
		HTTP:        remote.Options{RetryWaitMin: time.Millisecond, RetryWaitMax: 5 * time.Millisecond, Budget: budget},
	})
	require.NoError(t, err)
	b := &jwtBundle{client: client, sim: sim, budget: budget, logs: logs, pem: key, url: srv.URL, now: &now, mu: &mu}
	t.Cleanup(func() {
		require.NotContains(t, logs.String(), "PRIVATE KEY")
		require.NotContains(t, logs.String(), "00Dsim", "no access token in the log")
	})
	return b
}

func (b *jwtBundle) advance(d time.Duration) {
	b.mu.Lock()
	defer b.mu.Unlock()
	*b.now = b.now.Add(d)
}

func countAccounts(t *testing.T, c *salesforce.Client) (int, error) {
	t.Helper()
	n := 0
	err := c.Accounts(context.Background(), time.Time{}, nil, func(p []cxaudit.Account, _ []cxaudit.Rejected) error { n += len(p); return nil })
	return n, err
}

func TestJWTBearerFlowLogsInAndRefreshesOnInvalidSession(t *testing.T) {
	t.Parallel()
	key, _ := rsaKeys(t)
	b := setupJWT(t, 0, key)

	n, err := countAccounts(t, b.client)
	require.NoError(t, err)
	require.Equal(t, 30, n)
	require.Equal(t, 1, b.sim.TokensIssued(), "one token for every page")

	// The session is revoked: the next call is refused once, a fresh token
	// is fetched and the call sent again.
	b.sim.ExpireTokens()
	n, err = countAccounts(t, b.client)
	require.NoError(t, err)
	require.Equal(t, 30, n)
	require.Equal(t, 2, b.sim.TokensIssued())
	require.True(t, b.budget.Health().OK, "a refreshed token leaves the source healthy")

	// Writes too: the refused create is sent again and applied once.
	b.sim.ExpireTokens()
	res, err := b.client.CreateTasks(context.Background(), findingTasks(simworld.Generate(simworld.Options{Seed: 11, Accounts: 30, Now: worldNow}), 3))
	require.NoError(t, err)
	require.Len(t, res, 3)
	require.Len(t, b.sim.Tasks(), 3)
	require.Equal(t, 3, b.sim.TokensIssued())
	require.Equal(t, 3, b.sim.Stats().ByEndpoint["POST /services/oauth2/token"])
}

func TestJWTBearerTokensThatExpire(t *testing.T) {
	t.Parallel()
	key, _ := rsaKeys(t)
	b := setupJWT(t, time.Hour, key)
	_, err := countAccounts(t, b.client)
	require.NoError(t, err)
	b.advance(30 * time.Minute)
	_, err = countAccounts(t, b.client)
	require.NoError(t, err)
	require.Equal(t, 1, b.sim.TokensIssued(), "a live token is reused")
	b.advance(31 * time.Minute)
	_, err = countAccounts(t, b.client)
	require.NoError(t, err)
	require.Equal(t, 2, b.sim.TokensIssued(), "an expired token is replaced")
}

func TestJWTBearerRetriesOnlyOnce(t *testing.T) {
	t.Parallel()
	key, _ := rsaKeys(t)
	b := setupJWT(t, 0, key)
	_, err := countAccounts(t, b.client)
	require.NoError(t, err)
	b.sim.FailNext(2, 401) // refused, and refused again with the fresh token
	_, err = countAccounts(t, b.client)
	require.Error(t, err)
	require.Equal(t, cxaudit.EUNAUTHORIZED, cxaudit.ErrorCode(err))
	require.Equal(t, 2, b.sim.TokensIssued(), "one fresh token per refused call, no hammering")
	require.False(t, b.budget.Health().OK, "readiness reports the source")
}

func TestJWTBearerWrongKey(t *testing.T) {
	t.Parallel()
	_, other := rsaKeys(t)
	b := setupJWT(t, 0, other)
	_, err := countAccounts(t, b.client)
	require.Error(t, err)
	require.Equal(t, cxaudit.EUNAUTHORIZED, cxaudit.ErrorCode(err))
	require.Contains(t, err.Error(), "invalid_grant")
	require.Contains(t, err.Error(), "cxaudit@acme.example")
	require.NotContains(t, err.Error(), "PRIVATE KEY")
	require.NotContains(t, err.Error(), "eyJ", "no assertion in the error")
	h := b.budget.Health()
	require.False(t, h.OK)
	require.Contains(t, h.Reason, "JWT")
	require.Equal(t, 0, b.sim.TokensIssued())
	// The back-off holds: no call goes out until it passes.
	before := b.sim.Stats().Requests
	_, err = countAccounts(t, b.client)
	require.Error(t, err)
	require.Equal(t, before+1, b.sim.Stats().Requests, "only the token endpoint, which is outside the API budget, is asked again")
}

func TestJWTConfigErrors(t *testing.T) {
	t.Parallel()
	key, _ := rsaKeys(t)
	good := salesforce.JWTConfig{ClientID: "cid", Username: "u@x", PrivateKey: pemPKCS8(t, key), LoginURL: "https://login.salesforce.com"}
	for name, tc := range map[string]struct {
		mut   func(*salesforce.JWTConfig)
		want  string
		field string
	}{
		"bad key": {func(c *salesforce.JWTConfig) {
			c.PrivateKey = []byte("-----BEGIN PRIVATE KEY-----\nbm90IGEga2V5\n-----END PRIVATE KEY-----\n")
		}, "JWTConfig.PrivateKey is not a PEM-encoded RSA private key", "JWTConfig.PrivateKey"},
		"no client":    {func(c *salesforce.JWTConfig) { c.ClientID = "" }, "JWTConfig.ClientID", "JWTConfig.ClientID"},
		"no user":      {func(c *salesforce.JWTConfig) { c.Username = "" }, "JWTConfig.Username", "JWTConfig.Username"},
		"bad login":    {func(c *salesforce.JWTConfig) { c.LoginURL = "login.salesforce.com" }, "JWTConfig.LoginURL", "JWTConfig.LoginURL"},
		"bad audience": {func(c *salesforce.JWTConfig) { c.Audience = "login" }, "JWTConfig.Audience", "JWTConfig.Audience"},
	} {
		t.Run(name, func(t *testing.T) {
			c := good
			tc.mut(&c)
			_, err := salesforce.New(salesforce.Config{InstanceURL: "https://acme.my.salesforce.com", JWT: &c})
			require.ErrorContains(t, err, tc.want)
			require.NotContains(t, err.Error(), "bm90IGEga2V5")
			// The field travels in the error, for callers that name the
			// variable behind it (app.New); they never read the text.
			require.Equal(t, tc.field, cxaudit.ErrorField(fmt.Errorf("wrapped: %w", err)))
		})
	}
	for field, cfg := range map[string]salesforce.Config{
		"Config.InstanceURL": {InstanceURL: "acme.my.salesforce.com", AccessToken: "t"},
		"Config.AccessToken": {InstanceURL: "https://acme.my.salesforce.com"},
		"Config.APIVersion":  {InstanceURL: "https://acme.my.salesforce.com", AccessToken: "t", APIVersion: "sixty"},
	} {
		_, err := salesforce.New(cfg)
		require.Equal(t, field, cxaudit.ErrorField(err), "%v", err)
	}
}

// TestJWTAudienceApartFromTheTokenURL: the assertion is posted to the
// org's My Domain (the simulator) but carries the audience Salesforce
// documents, login.salesforce.com by default; another audience is
// refused with invalid_grant, as Salesforce does.
func TestJWTAudienceApartFromTheTokenURL(t *testing.T) {
	t.Parallel()
	require.Equal(t, salesforce.ProductionAudience, salesforce.DefaultAudience("https://acme.my.salesforce.com"))
	require.Equal(t, salesforce.SandboxAudience, salesforce.DefaultAudience("https://test.salesforce.com"))
	require.Equal(t, salesforce.SandboxAudience, salesforce.DefaultAudience("https://acme--uat.sandbox.my.salesforce.com"))

	key, _ := rsaKeys(t)
	b := setupJWT(t, 0, key) // LoginURL is the simulator, audience by default
	_, err := countAccounts(t, b.client)
	require.NoError(t, err)
	require.Equal(t, 1, b.sim.TokensIssued())

	for aud, ok := range map[string]bool{salesforce.ProductionAudience: true, salesforce.SandboxAudience: false, b.url: false} {
		c, err := salesforce.New(salesforce.Config{
			InstanceURL: b.url,
			JWT:         &salesforce.JWTConfig{ClientID: "3MVG9-consumer-key", Username: "cxaudit@acme.example", PrivateKey: b.pem, LoginURL: b.url, Audience: aud},
			HTTP:        remote.Options{RetryWaitMin: time.Millisecond, RetryWaitMax: 5 * time.Millisecond},
		})
		require.NoError(t, err)
		_, err = countAccounts(t, c)
		if ok {
			require.NoError(t, err, aud)
		} else {
			require.Equal(t, cxaudit.EUNAUTHORIZED, cxaudit.ErrorCode(err), aud)
			require.ErrorContains(t, err, "invalid_grant")
		}
	}
	_, err = salesforce.New(salesforce.Config{InstanceURL: b.url, JWT: &salesforce.JWTConfig{ClientID: "c", Username: "u",
		PrivateKey: b.pem, LoginURL: b.url, Audience: "login.salesforce.com"}})
	require.ErrorContains(t, err, "JWTConfig.Audience")
}
