package app

import (
	"bytes"
	"context"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	dto "github.com/prometheus/client_model/go"
	"github.com/stretchr/testify/require"

	"github.com/cxaudit/cxaudit/internal/config"
	"github.com/cxaudit/cxaudit/internal/metrics"
	"github.com/cxaudit/cxaudit/internal/rules"
)

const reloadRule = `rules:
  - id: backlog.stale
    title: Stale ticket
    category: backlog_aging
    severity: %s
    entity: ticket
    when: ticket.open && days_between(ticket.created_at, now) > 14.0
    message: '"stale"'
`

type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// TestWatchRulesConfigMapSwap mounts rules the way Kubernetes mounts a
// ConfigMap and updates them with its ..data symlink swap: a good edit is
// picked up, a broken one keeps the last good rules, logs its error and
// drops cxaudit_rules_last_reload_successful to 0, and a fix restores it.
func TestWatchRulesConfigMapSwap(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	gen := 0
	publish := func(body string) {
		gen++
		ts := filepath.Join(dir, "..2025_03_12_15_00_"+string(rune('a'+gen)))
		require.NoError(t, os.Mkdir(ts, 0o755))
		require.NoError(t, os.WriteFile(filepath.Join(ts, "backlog.yaml"), []byte(body), 0o644))
		tmp := filepath.Join(dir, "..data_tmp")
		require.NoError(t, os.Symlink(filepath.Base(ts), tmp))
		require.NoError(t, os.Rename(tmp, filepath.Join(dir, "..data")))
	}
	publish(fmt.Sprintf(reloadRule, "low"))
	require.NoError(t, os.Symlink("..data/backlog.yaml", filepath.Join(dir, "backlog.yaml")))

	set, err := rules.LoadDir(dir)
	require.NoError(t, err)
	var logs syncBuffer
	a := &App{Config: config.Config{RulesDir: dir}, Logger: slog.New(slog.NewTextHandler(&logs, nil)), Metrics: metrics.New(),
		rulesDebounce: 50 * time.Millisecond}
	a.setRules(set)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	go a.watchRules(ctx)
	severity := func() string { return string(a.Rules().Rule("backlog.stale").Severity) }

	publish(fmt.Sprintf(reloadRule, "high"))
	require.Eventually(t, func() bool { return severity() == "high" }, 30*time.Second, 10*time.Millisecond)
	require.Equal(t, 1.0, gaugeValue(t, a.Metrics.RulesReloadOK))

	publish(fmt.Sprintf(reloadRule, "hgh"))
	require.Eventually(t, func() bool { return gaugeValue(t, a.Metrics.RulesReloadOK) == 0 }, 30*time.Second, 10*time.Millisecond)
	require.Equal(t, "high", severity(), "a broken edit keeps the last good rules")
	require.Contains(t, logs.String(), `invalid severity 'hgh'`)
	require.Contains(t, logs.String(), "keeping the last good rules")

	publish(fmt.Sprintf(reloadRule, "medium"))
	require.Eventually(t, func() bool { return severity() == "medium" }, 30*time.Second, 10*time.Millisecond)
	require.Equal(t, 1.0, gaugeValue(t, a.Metrics.RulesReloadOK))
}

func gaugeValue(t *testing.T, g prometheus.Gauge) float64 {
	var m dto.Metric
	require.NoError(t, g.Write(&m))
	return m.GetGauge().GetValue()
}
