package zendesk_test

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/cxaudit/cxaudit/internal/bizhours"
	"github.com/cxaudit/cxaudit/internal/cxaudit"
	"github.com/cxaudit/cxaudit/internal/simworld"
	"github.com/cxaudit/cxaudit/internal/zendesk/zendesktest"
)

func TestSchedulesEqualTheWorld(t *testing.T) {
	t.Parallel()
	b := setup(t, zendesktest.Options{})

	got, err := b.client.Schedules(context.Background())
	require.NoError(t, err)
	require.Len(t, b.world.Schedules, 2)
	require.Equal(t, b.world.Schedules, got, "each schedule with its own holidays")
	st := b.sim.Stats()
	require.Equal(t, 1, st.ByEndpoint[zendesktest.EndpointSchedules])
	require.Equal(t, 2, st.ByEndpoint[zendesktest.EndpointScheduleHolidays])
}

// An account without business hours has no schedules: not an error.
func TestSchedulesOfAnAccountWithoutBusinessHours(t *testing.T) {
	t.Parallel()

	t.Run("PlanWithoutSchedules", func(t *testing.T) {
		t.Parallel()
		b := setup(t, zendesktest.Options{NoBusinessHours: true})
		got, err := b.client.Schedules(context.Background())
		require.NoError(t, err)
		require.NotNil(t, got)
		require.Empty(t, got)
		require.Equal(t, 1, b.sim.Stats().Requests, "a 404 is not retried")
	})

	t.Run("NoSchedules", func(t *testing.T) {
		t.Parallel()
		_, srv := zendesktest.NewServer(zendesktest.Options{World: &simworld.World{Now: worldNow}, Email: email, APIToken: token,
			Now: func() time.Time { return worldNow }})
		t.Cleanup(srv.Close)
		got, err := newClient(t, srv.URL, token).Schedules(context.Background())
		require.NoError(t, err)
		require.NotNil(t, got)
		require.Empty(t, got)
	})
}

func TestSchedulesErrors(t *testing.T) {
	t.Parallel()
	ctx := context.Background()

	t.Run("Unauthorized", func(t *testing.T) {
		t.Parallel()
		b := setup(t, zendesktest.Options{})
		_, err := newClient(t, b.url, "wrong-"+token).Schedules(ctx)
		require.Equal(t, cxaudit.EUNAUTHORIZED, cxaudit.ErrorCode(err))
		require.ErrorContains(t, err, "zendesk: list schedules: 401")
		require.NotContains(t, err.Error(), token)
	})

	t.Run("Forbidden", func(t *testing.T) {
		t.Parallel()
		b := setup(t, zendesktest.Options{})
		b.sim.FailNext(1, http.StatusForbidden)
		_, err := b.client.Schedules(ctx)
		require.Equal(t, cxaudit.EUNAUTHORIZED, cxaudit.ErrorCode(err), "not taken for an account without schedules")
	})

	t.Run("RetriedThenServed", func(t *testing.T) {
		t.Parallel()
		b := setup(t, zendesktest.Options{})
		b.sim.FailNext(2, http.StatusBadGateway)
		got, err := b.client.Schedules(ctx)
		require.NoError(t, err)
		require.Equal(t, b.world.Schedules, got)
		require.Equal(t, 3, b.sim.Stats().ByEndpoint[zendesktest.EndpointSchedules])
	})

	t.Run("Unavailable", func(t *testing.T) {
		t.Parallel()
		b := setup(t, zendesktest.Options{})
		b.sim.FailNext(10, http.StatusServiceUnavailable)
		_, err := b.client.Schedules(ctx)
		require.Equal(t, cxaudit.EUNAVAILABLE, cxaudit.ErrorCode(err))
	})

	t.Run("Malformed", func(t *testing.T) {
		t.Parallel()
		b := setup(t, zendesktest.Options{})
		b.sim.SetFaults(zendesktest.Faults{MalformedRate: 1})
		_, err := b.client.Schedules(ctx)
		require.Equal(t, cxaudit.EUNAVAILABLE, cxaudit.ErrorCode(err))
		require.ErrorContains(t, err, "list schedules: malformed page")
	})

	t.Run("RateLimited", func(t *testing.T) {
		t.Parallel()
		b := setup(t, zendesktest.Options{RateLimit: 1})
		_, err := b.client.Me(ctx)
		require.NoError(t, err)
		_, err = b.client.Schedules(ctx)
		var rl *cxaudit.RateLimitError
		require.ErrorAs(t, err, &rl)
	})
}

// The holidays of a schedule fail while the list did not: the error names
// the schedule, and nothing is returned half read.
func TestScheduleHolidaysErrors(t *testing.T) {
	t.Parallel()
	world := simworld.Generate(simworld.Options{Seed: 11, Now: worldNow})
	second := world.Schedules[1].ID
	for _, tc := range []struct {
		name     string
		status   int
		body     string
		wantCode string
		want     string
	}{
		{"Deleted", http.StatusNotFound, `{"error":"RecordNotFound","description":"Not found"}`, cxaudit.EUNAVAILABLE,
			fmt.Sprintf("zendesk: list holidays of schedule %d: 404 Not Found: RecordNotFound (Not found) (the schedule was deleted while the schedules were read; read them again)", second)},
		{"Malformed", http.StatusOK, `{"holidays":[{"id":1,`, cxaudit.EUNAVAILABLE, fmt.Sprintf("list holidays of schedule %d: malformed page", second)},
		{"NoHolidaysKey", http.StatusOK, `{"holiday":[]}`, cxaudit.EUNAVAILABLE, "no holidays in the response"},
		{"Forbidden", http.StatusForbidden, `{"error":"Forbidden"}`, cxaudit.EUNAUTHORIZED, fmt.Sprintf("list holidays of schedule %d: 403", second)},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			sim := zendesktest.New(zendesktest.Options{World: world, Email: email, APIToken: token, Now: func() time.Time { return worldNow }})
			// The simulator, except for the second schedule's holidays.
			srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				if strings.HasSuffix(r.URL.Path, fmt.Sprintf("/schedules/%d/holidays.json", second)) {
					w.Header().Set("Content-Type", "application/json")
					w.WriteHeader(tc.status)
					_, _ = w.Write([]byte(tc.body))
					return
				}
				sim.ServeHTTP(w, r)
			}))
			t.Cleanup(srv.Close)

			got, err := newClient(t, srv.URL, token).Schedules(context.Background())
			require.Nil(t, got)
			require.Equal(t, tc.wantCode, cxaudit.ErrorCode(err))
			require.ErrorContains(t, err, tc.want)
		})
	}
}

// The schedules' times are the Zendesk ones: a Calendar counts them in
// the schedule's own zone.
func TestSchedulesCompileToCalendars(t *testing.T) {
	t.Parallel()
	b := setup(t, zendesktest.Options{})
	got, err := b.client.Schedules(context.Background())
	require.NoError(t, err)
	cals := map[int64]*bizhours.Calendar{}
	for _, s := range got {
		cal, err := s.Calendar()
		require.NoError(t, err)
		cals[s.ID] = cal
	}
	// worldNow is Wednesday 2024-05-01 12:00 UTC: 14:00 in Berlin, 05:00
	// in Los Angeles. The next hour is business time in Berlin only.
	next := worldNow.Add(time.Hour)
	require.Equal(t, 1.0, cals[simworld.ScheduleEMEA].Hours(worldNow, next))
	require.Equal(t, 0.0, cals[simworld.ScheduleAmericas].Hours(worldNow, next))
}
