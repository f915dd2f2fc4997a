package store_test

import (
	"context"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/cxaudit/cxaudit/internal/cxaudit"
	"github.com/cxaudit/cxaudit/internal/store"
	"github.com/cxaudit/cxaudit/internal/store/storetest"
)

// BenchmarkStoreUpsertTickets stores pages of 1,000 tickets (with metrics
// and three comments each) the way a sync does, one transaction a page,
// half of them new and half updates, and reports tickets/s.
//
//	go test ./internal/store -run '^$' -bench BenchmarkStoreUpsertTickets -benchtime 20x
func BenchmarkStoreUpsertTickets(b *testing.B) {
	b.Run("postgres", func(b *testing.B) { benchUpsert(b, storetest.NewPostgres(b)) })
	b.Run("sqlite", func(b *testing.B) { benchUpsert(b, storetest.NewSQLite(b)) })
}

func benchUpsert(b *testing.B, s store.Store) {
	const page = 1000
	ctx := context.Background()
	now := time.Date(2026, 5, 1, 12, 0, 0, 0, time.UTC)
	tickets := make([]cxaudit.Ticket, page)
	var next int64 = 1
	b.ResetTimer()
	for i := 0; b.Loop(); i++ {
		for j := range tickets {
			id := next
			if j%2 == 1 && next > page {
				id = next - page // an update of a stored ticket
			}
			next++
			reply := int64(j % 90)
			tickets[j] = cxaudit.Ticket{
				ID: id, Subject: "Printer on fire", Description: "It is on fire, again.", Status: cxaudit.StatusOpen,
				Priority: "high", Tags: []string{"printer", "fire"}, RequesterID: 10 + id, AssigneeID: 7, OrganizationID: id % 300,
				CreatedAt: now, UpdatedAt: now.Add(time.Duration(i) * time.Second),
				Metrics: &cxaudit.TicketMetrics{ReplyTimeCalendarMinutes: &reply, Replies: 2},
				Comments: []cxaudit.Comment{
					{ID: 3 * id, AuthorID: 10 + id, Public: true, Body: "Help", CreatedAt: now},
					{ID: 3*id + 1, AuthorID: 7, Public: true, Body: "On it", CreatedAt: now},
					{ID: 3*id + 2, AuthorID: 7, Public: false, Body: "internal", CreatedAt: now},
				},
			}
		}
		require.NoError(b, s.InTx(ctx, func(ctx context.Context, q store.Querier) error {
			return q.UpsertTickets(ctx, tickets)
		}))
	}
	b.ReportMetric(float64(b.N*page)/b.Elapsed().Seconds(), "tickets/s")
}
