package writeback

import (
	"context"
	"time"
)

// budget caps writes per rolling hour. It starts from the writes the store
// recorded in the last hour (by every replica), so restarts and replicas
// share it.
type budget struct {
	limit, used int
}

func newBudget(ctx context.Context, s Store, limit int, kinds ...string) (*budget, error) {
	b := &budget{limit: limit}
	if limit <= 0 {
		return b, nil
	}
	counts, err := s.CountWrites(ctx, time.Now().Add(-time.Hour))
	if err != nil {
		return nil, err
	}
	for _, k := range kinds {
		b.used += counts[k]
	}
	return b, nil
}

// allow reports whether one more write fits.
func (b *budget) allow() bool { return b.limit <= 0 || b.used < b.limit }

// remaining is how many writes fit; -1 means no limit.
func (b *budget) remaining() int {
	if b.limit <= 0 {
		return -1
	}
	return max(b.limit-b.used, 0)
}

func (b *budget) spend(n int) { b.used += n }
