// Package apptest holds what tests of the whole worker share: a rules
// directory fit for the simulated tenant, and a log buffer that several
// goroutines may write.
package apptest

import (
	"bytes"
	"sync"
	"testing"

	"github.com/cxaudit/cxaudit/internal/demo"
)

// RulesDir returns a fresh rules directory holding the default rule pack
// and the simulated tenant's field map, as a user of that tenant would
// have it.
func RulesDir(tb testing.TB) string {
	tb.Helper()
	dir := tb.TempDir()
	if err := demo.WriteSimRules(dir); err != nil {
		tb.Fatalf("write the rules directory: %v", err)
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
