package syncer_test

import (
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/cxaudit/cxaudit/internal/remote"
	"github.com/cxaudit/cxaudit/internal/zendesk"
	"github.com/cxaudit/cxaudit/internal/zendesk/zendesktest"
)

// quickRetries retries the simulators' faults without production's waits.
var quickRetries = remote.Options{RetryWaitMin: time.Millisecond, RetryWaitMax: 5 * time.Millisecond}

// zendeskClient is the real Zendesk client of the simulator at url, with
// the simulator's default credentials and the transport options http.
func zendeskClient(tb testing.TB, url string, http remote.Options) *zendesk.Client {
	tb.Helper()
	c, err := zendesk.New(zendesk.Config{URL: url, Email: zendesktest.DefaultEmail, APIToken: zendesktest.DefaultAPIToken, HTTP: http})
	require.NoError(tb, err)
	return c
}
