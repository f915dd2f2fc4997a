package audit

import (
	"context"
	"log/slog"
	"maps"
	"slices"
	"strings"
	"sync"

	"github.com/cxaudit/cxaudit/internal/cxaudit"
	"github.com/cxaudit/cxaudit/internal/rules"
	"github.com/cxaudit/cxaudit/internal/store"
	"github.com/cxaudit/cxaudit/internal/tenant"
)

// A rule that cannot judge this tenant now is set aside, not run: one that
// reads a field the tenant lacks (a renewal date the org keeps under a name
// the field map does not give, a custom field a rule misspells), and one
// that reads a system whose first full sync has not completed (a
// cross-system rule would see one side only). Its findings stay as they
// are, and everything else runs: no source waits for another.

// CursorReader is a Reader that reads the sync cursors too, which say
// whether a system's first full sync has completed.
type CursorReader interface {
	Reader
	GetCursor(ctx context.Context, source cxaudit.Source, object string) (store.Cursor, error)
}

// Availability returns the rules of set that cannot run now, by id (see
// rules.Set.Availability), with the tenant they were judged against.
// sources are the systems cxaudit syncs, each with the cursor objects whose
// first complete pass makes its data whole (syncer.ReadyObjects); a system
// not among them is never waited for: its data never comes, and rules see
// it absent.
func Availability(ctx context.Context, q CursorReader, set *rules.Set, sources map[cxaudit.Source][]string) (map[string]rules.Disabled, *tenant.Tenant, error) {
	t, err := LoadTenant(ctx, q, set.FieldMap())
	if err != nil {
		return nil, nil, err
	}
	ready := map[cxaudit.Source]bool{}
	for src, objects := range sources {
		ready[src] = true
		for _, object := range objects {
			c, err := q.GetCursor(ctx, src, object)
			if err != nil {
				return nil, nil, err
			}
			if c.CompletedAt.IsZero() {
				ready[src] = false
			}
		}
	}
	return set.Availability(t, func(s cxaudit.Source) bool {
		r, synced := ready[s]
		return r || !synced
	}), t, nil
}

// fit is what a batch runs: the rules that can, and those set aside.
type fit struct {
	set      *rules.Set // the rules that run
	disabled map[string]rules.Disabled
}

// gate reports, once, every change in what is set aside: one warning for
// each field the tenant lacks, naming it, its object, the rules it
// disables and the fix; one line for each system rules wait for; one line
// when that ends.
type gate struct {
	mu   sync.Mutex
	last map[string]string // "field Account.health" or "wait salesforce" → the rules, joined
}

func (g *gate) report(logger *slog.Logger, disabled map[string]rules.Disabled) {
	byCause := map[string][]string{}
	problems := map[string]tenant.Problem{}
	for _, id := range slices.Sorted(maps.Keys(disabled)) {
		d := disabled[id]
		for _, p := range d.Problems {
			key := "field " + p.Ref
			byCause[key] = append(byCause[key], id)
			problems[key] = p
		}
		for _, src := range d.Waiting {
			key := "wait " + string(src)
			byCause[key] = append(byCause[key], id)
		}
	}
	now := make(map[string]string, len(byCause))
	for k, ids := range byCause {
		now[k] = strings.Join(ids, ", ")
	}
	g.mu.Lock()
	defer g.mu.Unlock()
	for _, key := range slices.Sorted(maps.Keys(now)) {
		if g.last[key] == now[key] {
			continue
		}
		if p, ok := problems[key]; ok {
			args := []any{"field", p.Ref, "source", p.Source, "problem", p.Message, "fix", p.Fix, "rules", byCause[key]}
			if w := p.Where.String(); w != "" {
				args = append(args, "where", w)
			}
			logger.Warn("rules disabled: they read a field this tenant lacks; their findings are kept as they are until it is there", args...)
			continue
		}
		logger.Info("rules wait for the first full sync of a system they read; the others run",
			"waiting_for", strings.TrimPrefix(key, "wait "), "rules", byCause[key])
	}
	for _, key := range slices.Sorted(maps.Keys(g.last)) {
		if _, still := now[key]; !still {
			logger.Info("rules run again", "cause", key, "rules", g.last[key])
		}
	}
	g.last = now
}
