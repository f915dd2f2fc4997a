package zendesktest_test

import (
	"fmt"
	"net/http"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/cxaudit/cxaudit/internal/zendesk/zendesktest"
)

type schedulesPage struct {
	Schedules []struct {
		ID        int64  `json:"id"`
		Name      string `json:"name"`
		TimeZone  string `json:"time_zone"`
		CreatedAt string `json:"created_at"`
		Intervals []struct {
			StartTime int `json:"start_time"`
			EndTime   int `json:"end_time"`
		} `json:"intervals"`
	} `json:"schedules"`
}

type holidaysPage struct {
	Holidays []struct {
		ID        int64  `json:"id"`
		Name      string `json:"name"`
		StartDate string `json:"start_date"`
		EndDate   string `json:"end_date"`
	} `json:"holidays"`
}

func TestSchedulesAndHolidays(t *testing.T) {
	t.Parallel()
	b := setup(t, zendesktest.Options{})
	require.NotEmpty(t, b.world.Schedules)

	var page schedulesPage
	b.getJSON(t, "/api/v2/business_hours/schedules.json", &page)
	require.Len(t, page.Schedules, len(b.world.Schedules))
	for i, want := range b.world.Schedules {
		got := page.Schedules[i]
		require.Equal(t, want.ID, got.ID)
		require.Equal(t, want.Name, got.Name)
		require.Equal(t, want.TimeZone, got.TimeZone)
		require.Equal(t, "2024-05-01T12:00:00Z", got.CreatedAt)
		require.Len(t, got.Intervals, len(want.Intervals))
		for j, iv := range want.Intervals {
			require.Equal(t, iv.Start, got.Intervals[j].StartTime)
			require.Equal(t, iv.End, got.Intervals[j].EndTime)
		}

		var hs holidaysPage
		b.getJSON(t, fmt.Sprintf("/api/v2/business_hours/schedules/%d/holidays.json", want.ID), &hs)
		require.Len(t, hs.Holidays, len(want.Holidays))
		for j, h := range want.Holidays {
			require.Equal(t, h.ID, hs.Holidays[j].ID)
			require.Equal(t, h.Name, hs.Holidays[j].Name)
			require.Equal(t, h.StartDate, hs.Holidays[j].StartDate)
			require.Equal(t, h.EndDate, hs.Holidays[j].EndDate)
		}
	}

	resp, data := b.do(t, http.MethodGet, "/api/v2/business_hours/schedules/424242/holidays.json", nil)
	require.Equal(t, http.StatusNotFound, resp.StatusCode)
	require.Contains(t, string(data), "RecordNotFound")

	st := b.sim.Stats()
	require.Equal(t, 1, st.ByEndpoint[zendesktest.EndpointSchedules])
	require.Equal(t, len(b.world.Schedules)+1, st.ByEndpoint[zendesktest.EndpointScheduleHolidays])
}

// The schedule endpoints go through authentication and fault injection
// like every other.
func TestSchedulesAuthenticationAndFaults(t *testing.T) {
	t.Parallel()
	b := setup(t, zendesktest.Options{})

	req, err := http.NewRequest(http.MethodGet, b.srv.URL+"/api/v2/business_hours/schedules.json", nil)
	require.NoError(t, err)
	resp, err := b.srv.Client().Do(req)
	require.NoError(t, err)
	resp.Body.Close()
	require.Equal(t, http.StatusUnauthorized, resp.StatusCode)

	b.sim.FailNext(1, http.StatusServiceUnavailable)
	resp, _ = b.do(t, http.MethodGet, "/api/v2/business_hours/schedules.json", nil)
	require.Equal(t, http.StatusServiceUnavailable, resp.StatusCode)
	require.NotEmpty(t, resp.Header.Get("X-Rate-Limit-Remaining"))
}

func TestNoBusinessHours(t *testing.T) {
	t.Parallel()
	b := setup(t, zendesktest.Options{NoBusinessHours: true})
	id := b.world.Schedules[0].ID

	for _, path := range []string{"/api/v2/business_hours/schedules.json", fmt.Sprintf("/api/v2/business_hours/schedules/%d/holidays.json", id)} {
		resp, data := b.do(t, http.MethodGet, path, nil)
		require.Equal(t, http.StatusNotFound, resp.StatusCode, path)
		require.JSONEq(t, `{"error":"InvalidEndpoint","description":"Not found"}`, string(data), path)
	}
}
