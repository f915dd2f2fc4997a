package rules

import (
	"context"
	"fmt"
	"path/filepath"
	"time"

	"github.com/fsnotify/fsnotify"
)

// DefaultDebounce is how long a rules directory must stay quiet after a
// change before it is reloaded: editors and Kubernetes write several files
// and symlinks for one change.
const DefaultDebounce = 500 * time.Millisecond

// Watcher tells when the rule files of a directory change. It watches the
// directory itself, which sees files being written, created, renamed and
// removed, including the `..data` symlink swap with which Kubernetes updates
// a mounted ConfigMap; and it watches the parent directory, so that a rules
// directory that is itself a symlink, or is removed and created again, is
// followed to its new target.
type Watcher struct {
	dir, parent string
	debounce    time.Duration
	fw          *fsnotify.Watcher
}

// NewWatcher starts watching dir. A debounce of 0 means DefaultDebounce.
// Changes made after NewWatcher returns are reported by Run.
func NewWatcher(dir string, debounce time.Duration) (*Watcher, error) {
	abs, err := filepath.Abs(dir)
	if err != nil {
		return nil, fmt.Errorf("rules: watch %s: %w", dir, err)
	}
	if debounce <= 0 {
		debounce = DefaultDebounce
	}
	fw, err := fsnotify.NewWatcher()
	if err != nil {
		return nil, fmt.Errorf("rules: watch %s: %w", dir, err)
	}
	w := &Watcher{dir: abs, parent: filepath.Dir(abs), debounce: debounce, fw: fw}
	if err := fw.Add(abs); err != nil {
		fw.Close()
		return nil, fmt.Errorf("rules: watch %s: %w", dir, err)
	}
	if w.parent != abs {
		// Best effort: without it, a swapped directory symlink is missed,
		// but changes inside the directory are still seen.
		_ = fw.Add(w.parent)
	}
	return w, nil
}

// Run calls changed after every burst of changes to the directory, once it
// has been quiet for the debounce, until ctx ends or the watcher is closed.
// Errors of the watcher (for instance an event queue overflow) go to
// errFunc, when set; a change is assumed after an error, since events may
// have been lost.
func (w *Watcher) Run(ctx context.Context, changed func(), errFunc func(error)) {
	defer w.fw.Close()
	debounce(ctx, w.debounce, w.fw.Events, w.fw.Errors, w.accept, func() {
		// Re-arm the watch in case the directory was replaced in a way
		// that produced no event for its name (adding twice is a no-op).
		_ = w.fw.Add(w.dir)
		changed()
	}, func(err error) {
		if errFunc != nil {
			errFunc(fmt.Errorf("rules: watching %s: %w", w.dir, err))
		}
	})
}

// accept reports whether ev starts or extends a burst of changes, and
// follows the directory's name when it was replaced.
func (w *Watcher) accept(ev fsnotify.Event) bool {
	if !w.relevant(ev) {
		return false
	}
	if ev.Name == w.dir {
		// The directory (or the symlink naming it) was replaced: watch
		// what the name points at now.
		_ = w.fw.Remove(w.dir)
		_ = w.fw.Add(w.dir)
	}
	return true
}

// debounce calls changed once no accepted event and no error has arrived
// for delay after one did, until ctx ends or either channel is closed. An
// error goes to errFunc first and then counts as a change, since events may
// have been lost. It knows nothing of fsnotify's watcher, only of its
// channels, so that its timing can be tested with a fake clock: a real
// watcher's inotify reads are system calls, which a synctest bubble cannot
// wait out.
func debounce(ctx context.Context, delay time.Duration, events <-chan fsnotify.Event, errs <-chan error,
	accept func(fsnotify.Event) bool, changed func(), errFunc func(error)) {
	timer := time.NewTimer(time.Hour)
	timer.Stop()
	defer timer.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case ev, ok := <-events:
			if !ok {
				return
			}
			if accept(ev) {
				timer.Reset(delay)
			}
		case err, ok := <-errs:
			if !ok {
				return
			}
			errFunc(err)
			timer.Reset(delay)
		case <-timer.C:
			changed()
		}
	}
}

// relevant reports whether ev can change the rules: anything inside the
// directory but a bare permission change, and the directory's own name
// changing in its parent. Other entries of the parent are ignored.
func (w *Watcher) relevant(ev fsnotify.Event) bool {
	if ev.Op == fsnotify.Chmod {
		return false
	}
	if filepath.Dir(ev.Name) == w.parent && ev.Name != w.dir {
		return false
	}
	return true
}

// Close stops watching.
func (w *Watcher) Close() error { return w.fw.Close() }
