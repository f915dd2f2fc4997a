package metrics

import (
	"fmt"
	"net/http"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/cxaudit/cxaudit/internal/cxaudit"
	"github.com/cxaudit/cxaudit/internal/remote"
)

func TestEndpoint(t *testing.T) {
	t.Parallel()
	for path, want := range map[string]string{
		"/api/v2/tickets/123/comments.json":                        "/api/v2/tickets/{id}/comments.json",
		"/api/v2/tickets/123.json":                                 "/api/v2/tickets/{id}.json",
		"/api/v2/incremental/tickets/cursor.json":                  "/api/v2/incremental/tickets/cursor.json",
		"/services/data/v59.0/sobjects/Account/001Dn00000AbCdEFGH": "/services/data/v59.0/sobjects/Account/{id}",
		"/services/data/v59.0/query":                               "/services/data/v59.0/query",
		"/services/data/v59.0/query/01gD0000002HU6KIAW-2000":       "/services/data/v59.0/query/{locator}",
		"/services/data/v59.0/query/01g000000000000001-4000":       "/services/data/v59.0/query/{locator}",
		"/services/data/v59.0/query/01gFAKE000000-10":              "/services/data/v59.0/query/{locator}",
		"/services/data/v59.0/queryAll/01gD0000002HU6KIAW-2000":    "/services/data/v59.0/queryAll/{locator}",
	} {
		require.Equal(t, want, Endpoint(path), path)
	}
}

// Every page of a Salesforce query has its own locator: they must all be
// one series of cxaudit_api_requests_total, not one each.
func TestQueryLocatorsAreOneSeries(t *testing.T) {
	t.Parallel()
	m := New()
	for i := range 500 {
		m.ObserveAttempt(remote.Attempt{System: cxaudit.SourceSalesforce, Method: http.MethodGet,
			Path: fmt.Sprintf("/services/data/v59.0/query/01g%015d-%d", i/5, 2000*(i%5+1)), Status: 200, Duration: time.Millisecond})
	}
	fams, err := m.Registry.Gather()
	require.NoError(t, err)
	var series []string
	var total float64
	for _, f := range fams {
		if f.GetName() != "cxaudit_api_requests_total" {
			continue
		}
		for _, s := range f.GetMetric() {
			for _, l := range s.GetLabel() {
				if l.GetName() == "endpoint" {
					series = append(series, l.GetValue())
				}
			}
			total += s.GetCounter().GetValue()
		}
	}
	require.Equal(t, []string{"/services/data/v59.0/query/{locator}"}, series)
	require.Equal(t, 500.0, total)
}
