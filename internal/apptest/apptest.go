// Package apptest holds what tests of the whole worker share: a rules
// directory fit for the simulated tenant, the worker's configuration from
// the environment a test gives it (demo.Simulators.Env and its own
// variables), and a log buffer that several goroutines may write. It
// imports neither the worker nor the demo, so that the worker's own
// internal tests can use it too.
package apptest

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"github.com/cxaudit/cxaudit/internal/config"
	"github.com/cxaudit/cxaudit/internal/rules"
	rulepack "github.com/cxaudit/cxaudit/rules"

	"github.com/cxaudit/cxaudit/internal/simworld"
)

// RulesDir returns a fresh rules directory holding the default rule pack
// and the simulated tenant's field map, as a user of that tenant would
// have it (what demo.WriteSimRules writes).
func RulesDir(tb testing.TB) string {
	tb.Helper()
	dir := tb.TempDir()
	if err := rulepack.WriteTo(dir); err != nil {
		tb.Fatalf("write the rule pack: %v", err)
	}
	if err := os.WriteFile(filepath.Join(dir, rules.FieldMapFile), simworld.FieldMapYAML, 0o644); err != nil {
		tb.Fatalf("write the field map: %v", err)
	}
	return dir
}

// SyncBuffer is a bytes.Buffer safe for concurrent writers, such as a
// logger and a test reading it.
type SyncBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *SyncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

// String returns what was written so far.
func (b *SyncBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

// Config is the worker's configuration from env, KEY=VALUE pairs as
// os.Environ and demo.Simulators.Env give them (of two pairs for one
// variable, the later wins), read as cxaudit reads its environment.
// CXAUDIT_RULES_DIR defaults to a fresh RulesDir. An invalid
// configuration fails tb.
func Config(tb testing.TB, env ...string) config.Config {
	tb.Helper()
	vars := map[string]string{}
	for _, kv := range env {
		k, v, ok := strings.Cut(kv, "=")
		if !ok {
			tb.Fatalf("apptest.Config: %q is not KEY=VALUE", kv)
		}
		vars[k] = v
	}
	if _, ok := vars["CXAUDIT_RULES_DIR"]; !ok {
		vars["CXAUDIT_RULES_DIR"] = RulesDir(tb)
	}
	cfg, err := config.FromEnv(func(k string) string { return vars[k] })
	if err != nil {
		tb.Fatalf("configuration: %v", err)
	}
	return cfg
}
