package app_test

import (
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"strconv"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/cxaudit/cxaudit/internal/salesforce/salesforcetest"
	"github.com/cxaudit/cxaudit/internal/simworld"
	"github.com/cxaudit/cxaudit/internal/store"
	"github.com/cxaudit/cxaudit/internal/store/storetest"
	"github.com/cxaudit/cxaudit/internal/zendesk/zendesktest"
)

// TestPoisonRecordsDoNotStopASource: one ticket with a malformed
// timestamp, one whose comments answer 404 for ever, one Account of the
// wrong type used to stop every later record of their source (the page
// was retried for ever). Now a whole cycle completes on both stores: they
// are in quarantine (listed on /readyz, the worker ready), every other
// ticket is stored and written back.
func TestPoisonRecordsDoNotStopASource(t *testing.T) {
	t.Parallel()
	for name, url := range map[string]func(*testing.T) string{
		"postgres": func(t *testing.T) string { return storetest.NewPostgresSchema(t) },
		"sqlite":   func(t *testing.T) string { return storetest.NewSQLitePath(t) },
	} {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			w := simworld.Generate(simworld.Options{Seed: 44, Accounts: 10, Tickets: 100})
			a, zd, sf := newSimApp(t, w, url(t), nil)
			bad, gone := w.Tickets[1].ID, w.Tickets[2].ID
			zd.SetFaults(zendesktest.Faults{PoisonTickets: []int64{bad}, CommentsNotFound: []int64{gone}})
			sf.SetFaults(salesforcetest.Faults{PoisonRecords: []string{w.Accounts[3].ID}})
			ctx := context.Background()
			res, err := a.RunOnce(ctx)
			require.NoError(t, err)
			require.Zero(t, res.FailedJobs, "no job fails for a poison record")
			require.Positive(t, res.Writes[store.WriteZendeskNote], "the others are written back")
			n, err := a.Store.CountTickets(ctx)
			require.NoError(t, err)
			require.Equal(t, len(w.Tickets)-2, n, "every other ticket is stored")

			rec := httptest.NewRecorder()
			a.Handler().ServeHTTP(rec, httptest.NewRequest(http.MethodGet, "/readyz", nil))
			require.Equal(t, http.StatusOK, rec.Code, rec.Body.String())
			var body struct {
				Quarantine map[string]int `json:"quarantine"`
			}
			require.NoError(t, json.Unmarshal(rec.Body.Bytes(), &body))
			require.Equal(t, map[string]int{"zendesk/tickets": 2, "salesforce/Account": 1}, body.Quarantine, rec.Body.String())
			list, err := a.Store.ListQuarantine(ctx, 10)
			require.NoError(t, err)
			ids := map[string]bool{}
			for _, q := range list {
				ids[q.ID] = true
			}
			require.True(t, ids[strconv.FormatInt(bad, 10)] && ids[strconv.FormatInt(gone, 10)] && ids[w.Accounts[3].ID], "%v", ids)
		})
	}
}
