package rules

import (
	"context"
	"errors"
	"sync/atomic"
	"testing"
	"testing/synctest"
	"time"

	"github.com/fsnotify/fsnotify"
	"github.com/stretchr/testify/require"
)

// debounceHarness runs debounce in a synctest bubble over channels the test
// writes to, and counts what it reports.
type debounceHarness struct {
	events  chan fsnotify.Event
	errs    chan error
	cancel  context.CancelFunc
	done    chan struct{}
	changes atomic.Int32
	errors  []error // read only after synctest.Wait, written by debounce's goroutine
}

const testDelay = 500 * time.Millisecond

// startDebounce starts debounce with testDelay. Events named "ignored" are
// not accepted, as the watcher's filter would reject them.
func startDebounce(t *testing.T) *debounceHarness {
	t.Helper()
	h := &debounceHarness{events: make(chan fsnotify.Event), errs: make(chan error), done: make(chan struct{})}
	ctx, cancel := context.WithCancel(t.Context())
	h.cancel = cancel
	go func() {
		defer close(h.done)
		debounce(ctx, testDelay, h.events, h.errs,
			func(ev fsnotify.Event) bool { return ev.Name != "ignored" },
			func() { h.changes.Add(1) },
			func(err error) { h.errors = append(h.errors, err) })
	}()
	t.Cleanup(func() {
		cancel()
		<-h.done
	})
	return h
}

func (h *debounceHarness) send(name string) {
	h.events <- fsnotify.Event{Name: name, Op: fsnotify.Write}
}

// requireChanges lets debounce's goroutine catch up with the fake clock
// before counting.
func (h *debounceHarness) requireChanges(t *testing.T, want int32, msg string) {
	t.Helper()
	synctest.Wait()
	require.Equal(t, want, h.changes.Load(), msg)
}

func TestDebounceBurst(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		h := startDebounce(t)
		// A ConfigMap swap or an editor's save: several events, each well
		// within the debounce of the one before, over more than the
		// debounce in all.
		for range 8 {
			h.send("a.yaml")
			time.Sleep(testDelay / 4)
		}
		h.send("a.yaml")
		h.requireChanges(t, 0, "no change while the burst goes on")
		time.Sleep(testDelay - time.Nanosecond)
		h.requireChanges(t, 0, "no change before the directory was quiet for the whole debounce")
		time.Sleep(time.Nanosecond)
		h.requireChanges(t, 1, "one change once the debounce elapsed after the last event")
		time.Sleep(10 * testDelay)
		h.requireChanges(t, 1, "a burst is reported once")
	})
}

func TestDebounceSpacedEvents(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		h := startDebounce(t)
		for i := range int32(3) {
			h.send("a.yaml")
			time.Sleep(testDelay + testDelay/2)
			h.requireChanges(t, i+1, "events further apart than the debounce are one change each")
		}
	})
}

func TestDebounceIgnoredEvents(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		h := startDebounce(t)
		h.send("ignored")
		time.Sleep(2 * testDelay)
		h.requireChanges(t, 0, "an event the filter rejects is no change")

		h.send("a.yaml")
		time.Sleep(testDelay / 2)
		h.send("ignored")
		time.Sleep(testDelay / 2)
		h.requireChanges(t, 1, "an event the filter rejects does not extend the debounce")
	})
}

func TestDebounceError(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		h := startDebounce(t)
		overflow := errors.New("queue overflow")
		h.errs <- overflow
		h.requireChanges(t, 0, "the change after an error waits for the debounce too")
		require.Len(t, h.errors, 1)
		require.ErrorIs(t, h.errors[0], overflow)
		time.Sleep(testDelay)
		h.requireChanges(t, 1, "events may have been lost with the error: a change is assumed")
	})
}

func TestDebounceStops(t *testing.T) {
	t.Run("ContextCanceled", func(t *testing.T) {
		synctest.Test(t, func(t *testing.T) {
			h := startDebounce(t)
			h.send("a.yaml")
			h.cancel()
			<-h.done
			time.Sleep(2 * testDelay)
			require.Zero(t, h.changes.Load(), "a pending change is not reported after the end")
		})
	})
	t.Run("EventsClosed", func(t *testing.T) {
		synctest.Test(t, func(t *testing.T) {
			h := startDebounce(t)
			close(h.events)
			<-h.done
		})
	})
	t.Run("ErrorsClosed", func(t *testing.T) {
		synctest.Test(t, func(t *testing.T) {
			h := startDebounce(t)
			close(h.errs)
			<-h.done
		})
	})
}
