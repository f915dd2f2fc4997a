package audit

import (
	"context"
	"fmt"
	"slices"
	"strconv"

	"github.com/cxaudit/cxaudit/internal/cxaudit"
	"github.com/cxaudit/cxaudit/internal/rules"
	"github.com/cxaudit/cxaudit/internal/store"
)

// sweep audits every open ticket, organization and account after pos, in
// store.SweepOrder and key order, then marks the sweep finished.
func (a *Auditor) sweep(ctx context.Context, pos store.EntityKey, size int, stats *Stats) error {
	// Batches are read one after another, never two at once: they can
	// share the cache without a lock.
	cache := &links{}
	next := a.prefetchSweep(ctx, pos, size, cache)
	for {
		b := <-next
		if b.err != nil {
			return b.err
		}
		if b.read == 0 {
			return a.Store.FinishSweep(ctx)
		}
		next = a.prefetchSweep(ctx, b.cursor, size, cache)
		err := a.auditBatch(ctx, b, stats, func(ctx context.Context, tx Tx) error {
			return tx.SaveSweepPosition(ctx, b.cursor)
		})
		if err != nil {
			return err
		}
	}
}

// prefetchSweep reads, in the background, the sweep's next batch after pos
// (the zero key: from the start) and what its rules read. A batch holds one
// kind of entity; it reads nothing when the sweep is done.
func (a *Auditor) prefetchSweep(ctx context.Context, pos store.EntityKey, size int, cache *links) <-chan batch {
	out := make(chan batch, 1)
	go func() {
		var b batch
		defer func() { out <- b }()
		kinds := store.SweepOrder
		if pos.Kind != "" {
			i := slices.Index(kinds, pos.Kind)
			if i < 0 {
				b.err = fmt.Errorf("audit sweep: unknown position %s %s", pos.Kind, pos.ID)
				return
			}
			kinds = kinds[i:]
		}
		b.set, b.now = a.RulesFunc(), a.now().UTC()
		l, err := a.loader(ctx, &b)
		if err != nil {
			b.err = err
			return
		}
		l.links = cache
		after := pos.ID
		for i, kind := range kinds {
			if i > 0 {
				after = ""
			}
			if kind == cxaudit.EntityTicket {
				var afterID int64
				if after != "" {
					if afterID, b.err = strconv.ParseInt(after, 10, 64); b.err != nil {
						return
					}
				}
				tickets, err := a.Store.OpenTicketsAfter(ctx, afterID, size)
				if err != nil {
					b.err = err
					return
				}
				if len(tickets) == 0 {
					continue
				}
				b.keys = make([]store.EntityKey, len(tickets))
				for j, t := range tickets {
					b.keys[j] = store.EntityKey{Kind: kind, ID: strconv.FormatInt(t.ID, 10)}
				}
				b.ins, b.found = make([]rules.Input, len(tickets)), make([]bool, len(tickets))
				b.err = l.tickets(ctx, b.keys, tickets, b.ins, b.found)
			} else {
				if b.keys, b.err = a.Store.SweepKeysAfter(ctx, kind, after, size); b.err != nil {
					return
				}
				if len(b.keys) == 0 {
					continue
				}
				b.ins, b.found, b.err = l.load(ctx, b.keys)
			}
			b.read, b.cursor = len(b.keys), b.keys[len(b.keys)-1]
			return
		}
	}()
	return out
}

// links holds organizations with their linked accounts. A sweep keeps them
// while it runs, since every batch of tickets names much the same
// customers: an organization or account changed meanwhile is queued by
// the sync, and its tickets audited again once the sweep is done. Rules
// only read what they are handed, so one value serves every ticket.
type links struct {
	orgs map[int64]*link
}

type link struct {
	org cxaudit.Organization
	acc *cxaudit.Account // nil: linked to no account
}

// maxLinks bounds what a sweep keeps: a tenant with more organizations
// starts over when it is full.
const maxLinks = 20_000

func (c *links) get(org int64) *link { return c.orgs[org] }

func (c *links) put(l *link) {
	if c.orgs == nil || len(c.orgs) >= maxLinks {
		c.orgs = make(map[int64]*link)
	}
	c.orgs[l.org.ID] = l
}
