package app_test

import (
	"bytes"
	"context"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"encoding/pem"
	"log/slog"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/cxaudit/cxaudit/internal/app"
	"github.com/cxaudit/cxaudit/internal/apptest"
	"github.com/cxaudit/cxaudit/internal/config"
	"github.com/cxaudit/cxaudit/internal/salesforce/salesforcetest"
	"github.com/cxaudit/cxaudit/internal/simworld"
	"github.com/cxaudit/cxaudit/internal/store"
	"github.com/cxaudit/cxaudit/internal/store/storetest"
)

// TestSalesforceJWTBearer runs cycles against a Salesforce that accepts
// only tokens from its JWT bearer endpoint, configured the way an operator
// does it (SALESFORCE_CLIENT_ID, _USERNAME, _PRIVATE_KEY, _LOGIN_URL and no
// access token), and revokes the session between cycles.
func TestSalesforceJWTBearer(t *testing.T) {
	t.Parallel()
	key, err := rsa.GenerateKey(rand.Reader, 2048)
	require.NoError(t, err)
	der, err := x509.MarshalPKCS8PrivateKey(key)
	require.NoError(t, err)
	keyPEM := string(pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: der}))

	w := simworld.Generate(simworld.Options{Seed: 7, Accounts: 30})
	sim, srv := salesforcetest.NewServer(salesforcetest.Options{World: w, JWT: &salesforcetest.JWTOptions{
		PublicKey: &key.PublicKey, ClientID: "3MVG9-cxaudit", Username: "integration@acme.example",
	}})
	t.Cleanup(srv.Close)
	env := map[string]string{
		"CXAUDIT_DATABASE_URL": storetest.NewPostgresSchema(t), "CXAUDIT_RULES_DIR": apptest.RulesDir(t),
		"SALESFORCE_INSTANCE_URL": srv.URL, "SALESFORCE_LOGIN_URL": srv.URL,
		"SALESFORCE_CLIENT_ID": "3MVG9-cxaudit", "SALESFORCE_USERNAME": "integration@acme.example",
		"SALESFORCE_PRIVATE_KEY": keyPEM,
	}
	cfg, err := config.FromEnv(func(k string) string { return env[k] })
	require.NoError(t, err)
	var logs bytes.Buffer
	a, err := app.New(context.Background(), cfg, slog.New(slog.NewJSONHandler(&logs, &slog.HandlerOptions{Level: slog.LevelDebug})), app.Options{Migrate: true})
	require.NoError(t, err)
	t.Cleanup(func() { a.Close() })

	res, err := a.RunOnce(context.Background())
	require.NoError(t, err)
	require.Zero(t, res.FailedJobs)
	require.Positive(t, res.Writes[store.WriteSalesforceTask])
	require.Equal(t, res.Writes[store.WriteSalesforceTask], sim.Stats().TasksCreated)
	require.Equal(t, 1, sim.TokensIssued())

	sim.ExpireTokens()
	res, err = a.RunOnce(context.Background())
	require.NoError(t, err)
	require.Zero(t, res.FailedJobs)
	require.Equal(t, 2, sim.TokensIssued(), "a revoked session is replaced once")
	for _, h := range a.SourceHealth() {
		require.True(t, h.OK, "%s healthy after the refresh", h.System)
	}
	require.NotContains(t, logs.String(), "PRIVATE KEY")
	require.NotContains(t, logs.String(), "00Dsim", "no access token in the log")
}
