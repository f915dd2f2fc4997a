package rules

import (
	"context"
	"os"
	"path/filepath"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

// configMapDir lays out dir the way the kubelet mounts a ConfigMap: the
// files are symlinks through ..data, a symlink to a timestamped directory.
// It returns a function that publishes a new version of the files with the
// kubelet's atomic swap of ..data.
func configMapDir(t *testing.T, dir string, files map[string]string) (update func(files map[string]string)) {
	t.Helper()
	gen := 0
	write := func(files map[string]string) string {
		gen++
		ts := filepath.Join(dir, "..2025_03_12_15_00_0"+string(rune('0'+gen)))
		require.NoError(t, os.Mkdir(ts, 0o755))
		for name, body := range files {
			require.NoError(t, os.WriteFile(filepath.Join(ts, name), []byte(body), 0o644))
		}
		return filepath.Base(ts)
	}
	first := write(files)
	require.NoError(t, os.Symlink(first, filepath.Join(dir, "..data")))
	for name := range files {
		require.NoError(t, os.Symlink(filepath.Join("..data", name), filepath.Join(dir, name)))
	}
	return func(files map[string]string) {
		next := write(files)
		tmp := filepath.Join(dir, "..data_tmp")
		require.NoError(t, os.Symlink(next, tmp))
		require.NoError(t, os.Rename(tmp, filepath.Join(dir, "..data")))
	}
}

func TestWatcherConfigMapSwap(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	update := configMapDir(t, dir, map[string]string{"a.yaml": "rules: []\n"})
	w, err := NewWatcher(dir, 50*time.Millisecond)
	require.NoError(t, err)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	var changes atomic.Int32
	done := make(chan struct{})
	go func() {
		defer close(done)
		w.Run(ctx, func() { changes.Add(1) }, func(err error) { t.Error(err) })
	}()

	update(map[string]string{"a.yaml": "rules: [] # v2\n"})
	// One swap is several events; that they make one reload is
	// TestDebounceBurst's concern, with a fake clock.
	require.Eventually(t, func() bool { return changes.Load() == 1 }, 5*time.Second, 10*time.Millisecond)

	// A plain edit of a file in place.
	require.NoError(t, os.WriteFile(filepath.Join(dir, "b.yaml"), []byte("rules: []\n"), 0o644))
	require.Eventually(t, func() bool { return changes.Load() == 2 }, 5*time.Second, 10*time.Millisecond)

	cancel()
	<-done
}

// TestWatcherDirectorySymlinkSwap covers a rules directory that is itself a
// symlink, repointed at a new directory.
func TestWatcherDirectorySymlinkSwap(t *testing.T) {
	t.Parallel()
	root := t.TempDir()
	v1, v2 := filepath.Join(root, "v1"), filepath.Join(root, "v2")
	require.NoError(t, os.Mkdir(v1, 0o755))
	require.NoError(t, os.Mkdir(v2, 0o755))
	link := filepath.Join(root, "rules")
	require.NoError(t, os.Symlink(v1, link))
	w, err := NewWatcher(link, 50*time.Millisecond)
	require.NoError(t, err)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	var changes atomic.Int32
	go w.Run(ctx, func() { changes.Add(1) }, nil)

	tmp := filepath.Join(root, "rules_tmp")
	require.NoError(t, os.Symlink(v2, tmp))
	require.NoError(t, os.Rename(tmp, link))
	require.Eventually(t, func() bool { return changes.Load() >= 1 }, 5*time.Second, 10*time.Millisecond)

	// The watch follows the new target.
	n := changes.Load()
	require.NoError(t, os.WriteFile(filepath.Join(v2, "a.yaml"), []byte("rules: []\n"), 0o644))
	require.Eventually(t, func() bool { return changes.Load() > n }, 5*time.Second, 10*time.Millisecond)
}
