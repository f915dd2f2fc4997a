package main

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"sync"
	"testing"
)

// binDir holds the cxaudit binary that the tests which run the real
// process share; TestMain removes it.
var binDir string

var built struct {
	once sync.Once
	path string
	err  error
}

func TestMain(m *testing.M) {
	dir, err := os.MkdirTemp("", "cxaudit-bin-")
	if err != nil {
		fmt.Fprintln(os.Stderr, "temporary directory for the cxaudit binary:", err)
		os.Exit(1)
	}
	binDir = dir
	code := m.Run()
	_ = os.RemoveAll(dir)
	os.Exit(code)
}

// cxauditBinary builds the real cxaudit once per test run and returns its
// path; every test (and benchmark) that starts the process runs the same
// file. A failed build fails each caller with the compiler's output.
func cxauditBinary(tb testing.TB) string {
	tb.Helper()
	built.once.Do(func() {
		bin := filepath.Join(binDir, "cxaudit")
		out, err := exec.Command("go", "build", "-o", bin, ".").CombinedOutput()
		if err != nil {
			built.err = fmt.Errorf("go build: %w\n%s", err, out)
			return
		}
		built.path = bin
	})
	if built.err != nil {
		tb.Fatal(built.err)
	}
	return built.path
}
