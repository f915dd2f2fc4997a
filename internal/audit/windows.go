package audit

import (
	"context"
	"sync/atomic"
	"time"

	"github.com/cxaudit/cxaudit/internal/cxaudit"
	"github.com/cxaudit/cxaudit/internal/rules"
	"github.com/cxaudit/cxaudit/internal/store"
)

// windowOrg returns the organization whose tickets of the last rules.TicketWindow
// the rules of an organization or account read (as `tickets`), and whether
// they read any: an account linked to no organization has none, and rules
// that never mention `tickets` need none.
func windowOrg(set *rules.Set, key store.EntityKey, in rules.Input, found bool) (int64, bool) {
	if !found || key.Kind == cxaudit.EntityTicket || in.Organization == nil {
		return 0, false
	}
	if reads, _ := set.TicketWindow(key.Kind); !reads {
		return 0, false
	}
	return in.Organization.ID, true
}

// windowComments reports whether any rule reads the comments of the
// tickets in a window; when none does they are not read.
func windowComments(set *rules.Set) bool {
	_, org := set.TicketWindow(cxaudit.EntityOrganization)
	_, acc := set.TicketWindow(cxaudit.EntityAccount)
	return org || acc
}

// window is an organization's tickets since the start of the window.
type window struct {
	org     int64
	tickets []cxaudit.Ticket
	err     error
}

// Ticket windows are read by windowReaders goroutines, at most windowsAhead
// of them ahead of the one being evaluated.
const (
	windowReaders = 2
	windowsAhead  = 4
)

// windows reads the ticket window of each of orgs in the background and
// hands them over in the order of orgs. It stops after an error, or when
// ctx is done.
func (a *Auditor) windows(ctx context.Context, orgs []int64, since time.Time, comments bool, l *loader) <-chan window {
	out := make(chan window, 1)
	results := make([]chan window, len(orgs))
	for i := range results {
		results[i] = make(chan window, 1)
	}
	// A reader takes a token before it takes an organization, so the
	// organization handed over next is always being read, never waiting.
	tokens := make(chan struct{}, windowsAhead)
	var next atomic.Int64
	for range windowReaders {
		go func() {
			for {
				select {
				case tokens <- struct{}{}:
				case <-ctx.Done():
					return
				}
				i := int(next.Add(1)) - 1
				if i >= len(orgs) {
					return
				}
				ts, err := a.Store.TicketsForOrganizations(ctx, []int64{orgs[i]}, since, comments)
				w := ts[orgs[i]]
				for j := range w {
					prepareTicket(&w[j], l.agents, l.managed, l.tenant)
				}
				results[i] <- window{org: orgs[i], tickets: w, err: err}
			}
		}()
	}
	go func() {
		defer close(out)
		for i := range results {
			var w window
			select {
			case w = <-results[i]:
			case <-ctx.Done():
				return
			}
			<-tokens
			select {
			case out <- w:
			case <-ctx.Done():
				return
			}
			if w.err != nil {
				return
			}
		}
	}()
	return out
}
