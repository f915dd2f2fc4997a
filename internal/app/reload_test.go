package app

import (
	"context"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	dto "github.com/prometheus/client_model/go"
	"github.com/stretchr/testify/require"

	"github.com/cxaudit/cxaudit/internal/apptest"
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
	var logs apptest.SyncBuffer
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
	// The gauge drops before the watcher logs the error: wait for the log.
	for _, want := range []string{`invalid severity 'hgh'`, "keeping the last good rules"} {
		require.Eventually(t, func() bool { return strings.Contains(logs.String(), want) }, 30*time.Second, 10*time.Millisecond, want)
	}

	publish(fmt.Sprintf(reloadRule, "medium"))
	require.Eventually(t, func() bool { return severity() == "medium" }, 30*time.Second, 10*time.Millisecond)
	require.Equal(t, 1.0, gaugeValue(t, a.Metrics.RulesReloadOK))
}

func gaugeValue(t *testing.T, g prometheus.Gauge) float64 {
	var m dto.Metric
	require.NoError(t, g.Write(&m))
	return m.GetGauge().GetValue()
}

// TestNewRefusesNoRules: a rules directory without a rule (empty, or only
// empty files) is a configuration error at start, naming the variable.
func TestNewRefusesNoRules(t *testing.T) {
	t.Parallel()
	for name, files := range map[string]map[string]string{
		"empty directory":   {},
		"no rule files":     {"README.md": "# rules", "backlog_test.yaml": "tests: []\n"},
		"empty rules lists": {"a.yaml": "rules:\n", "b.yaml": "# nothing yet\n"},
	} {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			dir := t.TempDir()
			for f, body := range files {
				require.NoError(t, os.WriteFile(filepath.Join(dir, f), []byte(body), 0o644))
			}
			_, err := New(context.Background(), config.Config{RulesDir: dir, DatabaseURL: config.Secret(filepath.Join(t.TempDir(), "db"))},
				slog.New(slog.DiscardHandler), Options{})
			require.ErrorContains(t, err, "CXAUDIT_RULES_DIR: "+dir+" holds no rules (rule files, *.yaml or *.yml: ")
		})
	}
}

// TestWatchRulesRefusesMassDrop: the rule files moved away from a live
// worker (a ConfigMap unmounted, a rename half done) keep the last good
// rules, log why and drop cxaudit_rules_last_reload_successful to 0, as does
// an edit that removes more than CXAUDIT_RULES_MAX_DROP of them; removing a
// minority of the rules on purpose is applied.
func TestWatchRulesRefusesMassDrop(t *testing.T) {
	t.Parallel()
	dir, away := t.TempDir(), t.TempDir()
	rule := func(id string) string {
		return "  - {id: " + id + ", title: t, category: backlog_aging, severity: low, entity: ticket, when: ticket.open, message: '\"m\"'}\n"
	}
	// Three rules in one file: each step below is one rename, whatever
	// reload a debounce window catches in between.
	files := map[string]string{
		"ab.yaml": "rules:\n" + rule("a.one") + rule("a.two") + rule("b.one"),
		"c.yaml":  "rules:\n" + rule("c.one"),
	}
	for f, body := range files {
		require.NoError(t, os.WriteFile(filepath.Join(dir, f), []byte(body), 0o644))
	}
	set, err := rules.LoadDir(dir)
	require.NoError(t, err)
	var logs apptest.SyncBuffer
	a := &App{Config: config.Config{RulesDir: dir, RulesMaxDrop: 0.5}, Logger: slog.New(slog.NewTextHandler(&logs, nil)), Metrics: metrics.New(),
		rulesDebounce: 50 * time.Millisecond}
	a.setRules(set)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	go a.watchRules(ctx)
	ids := func() []string {
		var out []string
		for _, r := range a.Rules().Rules() {
			out = append(out, r.ID)
		}
		return out
	}
	move := func(from, to string, names ...string) {
		for _, n := range names {
			require.NoError(t, os.Rename(filepath.Join(from, n), filepath.Join(to, n)))
		}
	}
	ok := func() float64 { return gaugeValue(t, a.Metrics.RulesReloadOK) }
	// The gauge drops before the reason is logged.
	logged := func(s string) {
		require.Eventually(t, func() bool { return strings.Contains(logs.String(), s) }, 30*time.Second, 10*time.Millisecond, s)
	}

	// Every file moved away: refused (and so is the step between, three
	// of four rules gone).
	move(dir, away, "ab.yaml", "c.yaml")
	require.Eventually(t, func() bool { return ok() == 0 }, 30*time.Second, 10*time.Millisecond)
	require.Equal(t, []string{"a.one", "a.two", "b.one", "c.one"}, ids(), "the last good rules stay")
	logged("rules reload refused: " + dir + " holds no rules now (rule files: 0), the last good set has 4")
	logged("keeping the last good rules")

	// They come back.
	move(away, dir, "ab.yaml", "c.yaml")
	require.Eventually(t, func() bool { return ok() == 1 }, 30*time.Second, 10*time.Millisecond)

	// Three of four rules gone is more than half: refused.
	move(dir, away, "ab.yaml")
	require.Eventually(t, func() bool { return ok() == 0 }, 30*time.Second, 10*time.Millisecond)
	require.Len(t, ids(), 4)
	logged("rules reload refused: it would remove 3 of the 4 rules (a.one, a.two, b.one), more than CXAUDIT_RULES_MAX_DROP=0.5 allows")
	move(away, dir, "ab.yaml")
	require.Eventually(t, func() bool { return ok() == 1 }, 30*time.Second, 10*time.Millisecond)
	require.Len(t, ids(), 4)

	// One of four, on purpose: applied.
	require.NoError(t, os.Remove(filepath.Join(dir, "c.yaml")))
	require.Eventually(t, func() bool { return len(ids()) == 3 }, 30*time.Second, 10*time.Millisecond)
	require.Equal(t, []string{"a.one", "a.two", "b.one"}, ids())
	require.Equal(t, 1.0, ok())
	require.Equal(t, 3.0, gaugeValue(t, a.Metrics.RulesLoaded))
}
