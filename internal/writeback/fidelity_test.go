package writeback_test

import (
	"context"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/cxaudit/cxaudit/internal/cxaudit"
	"github.com/cxaudit/cxaudit/internal/ratelimit"
	"github.com/cxaudit/cxaudit/internal/remote"
	"github.com/cxaudit/cxaudit/internal/store"
	"github.com/cxaudit/cxaudit/internal/store/storetest"
	"github.com/cxaudit/cxaudit/internal/writeback"
	"github.com/cxaudit/cxaudit/internal/zendesk"
	"github.com/cxaudit/cxaudit/internal/zendesk/zendesktest"
)

var stores = storetest.Stores

// syncTickets copies the tickets as the simulator holds them into the
// store, as a Zendesk sync would: tags, updated_at and comments.
func (b *testBundle) syncTickets(t *testing.T, st store.Store, ids []int64) {
	t.Helper()
	ctx := context.Background()
	for _, id := range ids {
		tk, ok := b.zsim.Ticket(id)
		require.True(t, ok)
		for i := range tk.Comments {
			tk.Comments[i].ByCXAudit = !tk.Comments[i].Public && cxaudit.HasMarker(tk.Comments[i].Body)
		}
		require.NoError(t, st.UpsertTickets(ctx, []cxaudit.Ticket{tk}))
		require.NoError(t, st.PutComments(ctx, id, tk.Comments))
	}
}

// TestTagsKeepAgentsTagsAtAboutOneCallPerTicket: tags are written as the
// ticket's whole list with safe_update. Over cycles of sync, an agent
// editing some tickets between the sync and the write, and write-back,
// no agent's tag is ever lost, cxaudit's tags land and go, and the cost
// stays about one call per ticket per cycle (a re-read and a second PUT
// only for the tickets that raced).
func TestTagsKeepAgentsTagsAtAboutOneCallPerTicket(t *testing.T) {
	t.Parallel()
	// Zendesk's updated_at, which safe_update compares, has whole
	// seconds: the simulator's clock ticks a second per reading, so that
	// every save is told apart.
	var tick atomic.Int64
	start := time.Now()
	b := setupWith(t, storetest.NewSQLite(t), zendesktest.Options{
		Now: func() time.Time { return start.Add(time.Duration(tick.Add(1)) * time.Second) },
	})
	ctx := context.Background()
	ids := b.openTicketIDs(t, 40)
	const cycles = 5
	var writes int
	before := b.zsim.Stats()
	for cycle := range cycles {
		b.syncTickets(t, b.store, ids)
		for i, id := range ids {
			f := ticketFinding("r"+strconv.Itoa(cycle), id)
			require.NoError(t, b.store.PutFinding(ctx, f))
			if i%10 == cycle%10 {
				// An agent saves the ticket after the sync read it.
				b.zsim.UpdateTicket(id, func(tk *cxaudit.Ticket) { tk.Tags = append(tk.Tags, "agent_"+strconv.Itoa(cycle)) })
			}
		}
		stats, err := b.zw.Run(ctx)
		require.NoError(t, err)
		writes += stats.Writes[store.WriteZendeskTicketUpdate]
	}
	after := b.zsim.Stats()
	calls := after.Requests - before.Requests
	perTicketCycle := float64(calls) / float64(len(ids)*cycles)
	t.Logf("zendesk calls per ticket per cycle: %.2f (%d calls, %d tickets, %d cycles; 10%% of tickets edited by an agent meanwhile)",
		perTicketCycle, calls, len(ids), cycles)
	require.Equal(t, len(ids)*cycles, writes, "one update per ticket per cycle")
	require.LessOrEqual(t, perTicketCycle, 1.25, "about one call per ticket per cycle")
	require.Equal(t, len(ids)*cycles/10, after.ByEndpoint[zendesktest.EndpointShowTicket]-before.ByEndpoint[zendesktest.EndpointShowTicket],
		"a re-read only for the tickets that raced")
	for i, id := range ids {
		tk, _ := b.zsim.Ticket(id)
		for cycle := range cycles {
			require.Contains(t, tk.Tags, "cxaudit_r"+strconv.Itoa(cycle))
			if i%10 == cycle%10 {
				require.Contains(t, tk.Tags, "agent_"+strconv.Itoa(cycle), "the agent's tag survives")
			}
		}
	}

	// A finding resolves: its tag goes, the agents' stay.
	b.syncTickets(t, b.store, ids)
	fs, err := b.store.FindingsForEntity(ctx, cxaudit.EntityTicket, strconv.FormatInt(ids[0], 10))
	require.NoError(t, err)
	for _, f := range fs {
		if f.RuleID == "r0" {
			now := time.Now()
			f.Status, f.ResolvedAt = cxaudit.FindingResolved, &now
			require.NoError(t, b.store.PutFinding(ctx, f))
		}
	}
	_, err = b.zw.Run(ctx)
	require.NoError(t, err)
	tk, _ := b.zsim.Ticket(ids[0])
	require.NotContains(t, tk.Tags, "cxaudit_r0")
	require.Contains(t, tk.Tags, "agent_0")
	require.Contains(t, tk.Tags, "cxaudit_r1")
}

// TestClosedTicketIsNeverRetried: an update a closed ticket refused (422
// "closed prevents ticket update") is final: the findings are recorded as
// not writable, on both stores, and never sent again.
func TestClosedTicketIsNeverRetried(t *testing.T) {
	t.Parallel()
	for name, open := range stores {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			b := setup(t, open(t))
			ctx := context.Background()
			var closed int64
			for _, tk := range b.world.Tickets {
				if tk.Status == cxaudit.StatusClosed {
					closed = tk.ID
					break
				}
			}
			require.NotZero(t, closed)
			require.NoError(t, b.store.PutFinding(ctx, ticketFinding("a", closed)))
			stats, err := b.zw.Run(ctx)
			require.NoError(t, err)
			require.Equal(t, 1, stats.NotWritable)
			require.Equal(t, 1, b.zsim.Stats().ByEndpoint[zendesktest.EndpointUpdateTicket])
			require.Zero(t, dirtyCount(t, b.store, cxaudit.EntityTicket))
			fs, err := b.store.FindingsForEntity(ctx, cxaudit.EntityTicket, strconv.FormatInt(closed, 10))
			require.NoError(t, err)
			require.Equal(t, cxaudit.FindingNotWritable, fs[0].WrittenStatus)

			// Whatever becomes of the finding, nothing more is sent.
			f := fs[0]
			f.Message = "something else entirely"
			require.NoError(t, b.store.PutFinding(ctx, f))
			now := time.Now()
			f.Status, f.ResolvedAt = cxaudit.FindingResolved, &now
			require.NoError(t, b.store.PutFinding(ctx, f))
			for range 2 {
				_, err = b.zw.Run(ctx)
				require.NoError(t, err)
			}
			require.Equal(t, 1, b.zsim.Stats().ByEndpoint[zendesktest.EndpointUpdateTicket], "never sent again")
		})
	}
}

// TestFreshStoreWritesNothing: a second store pointed at a tenant the
// first already wrote to (a restored backup, a move off SQLite, a staging
// copy) adopts what is there, the notes by the marks in the synced
// comments and the Tasks by their markers, and writes nothing new.
func TestFreshStoreWritesNothing(t *testing.T) {
	t.Parallel()
	for name, open := range stores {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			b := setup(t, storetest.NewSQLite(t))
			ctx := context.Background()
			ids := b.openTicketIDs(t, 6)
			put := func(st store.Store) {
				for i, id := range ids {
					require.NoError(t, st.PutFinding(ctx, ticketFinding("a", id)))
					if i%2 == 0 {
						require.NoError(t, st.PutFinding(ctx, ticketFinding("b", id)))
					}
				}
				for _, acc := range b.world.Accounts[:5] {
					require.NoError(t, st.PutFinding(ctx, accountFinding("t", acc.ID)))
				}
			}
			put(b.store)
			_, err := b.zw.Run(ctx)
			require.NoError(t, err)
			_, err = b.sw.Run(ctx)
			require.NoError(t, err)
			// A later change, written as a second note on one ticket.
			b.syncTickets(t, b.store, ids)
			fs, err := b.store.FindingsForEntity(ctx, cxaudit.EntityTicket, strconv.FormatInt(ids[1], 10))
			require.NoError(t, err)
			fs[0].Message = "now with data loss"
			require.NoError(t, b.store.PutFinding(ctx, fs[0]))
			_, err = b.zw.Run(ctx)
			require.NoError(t, err)
			require.Len(t, b.ssim.Tasks(), 5)

			// The second store: synced from the tenant, the same findings.
			fresh := open(t)
			require.NoError(t, fresh.UpsertAccounts(ctx, b.world.Accounts))
			require.NoError(t, fresh.UpsertTickets(ctx, b.world.Tickets))
			b.syncTickets(t, fresh, ids)
			put(fresh)
			f := fs[0]
			f.WrittenStatus, f.WrittenHash = "", ""
			require.NoError(t, fresh.PutFinding(ctx, f))
			zw := &writeback.Zendesk{Client: b.zw.Client, Store: fresh, Logger: b.zw.Logger, ResolutionNote: true}
			sw := &writeback.Salesforce{Client: b.sw.Client, Store: fresh, Logger: b.sw.Logger, RulesFunc: b.sw.RulesFunc,
				FallbackOwnerID: b.sw.FallbackOwnerID, TenantFunc: b.sw.TenantFunc}
			zBefore, sBefore := b.zsim.Stats(), b.ssim.Stats()
			zs, err := zw.Run(ctx)
			require.NoError(t, err)
			ss, err := sw.Run(ctx)
			require.NoError(t, err)
			require.Equal(t, zBefore.TicketUpdates, b.zsim.Stats().TicketUpdates, "no note or tag written again")
			require.Equal(t, sBefore.TasksCreated, b.ssim.Stats().TasksCreated, "no Task created again")
			require.Equal(t, sBefore.TasksUpdated, b.ssim.Stats().TasksUpdated)
			require.Empty(t, zs.Writes)
			require.Empty(t, ss.Writes)
			require.Equal(t, 5, ss.Reconciled, "the Tasks were adopted")
			require.Zero(t, dirtyCount(t, fresh, cxaudit.EntityTicket))
			require.Zero(t, dirtyCount(t, fresh, cxaudit.EntityAccount))

			// Adopted Tasks are the fresh store's own from now on: a
			// finding that clears completes its Task.
			afs, err := fresh.FindingsForEntity(ctx, cxaudit.EntityAccount, b.world.Accounts[0].ID)
			require.NoError(t, err)
			now := time.Now()
			afs[0].Status, afs[0].ResolvedAt = cxaudit.FindingResolved, &now
			require.NoError(t, fresh.PutFinding(ctx, afs[0]))
			_, err = sw.Run(ctx)
			require.NoError(t, err)
			require.Equal(t, sBefore.TasksUpdated+1, b.ssim.Stats().TasksUpdated)
			require.Len(t, b.ssim.Tasks(), 5)
		})
	}
}

// TestLongTitleKeepsTheTaskMarker: a title of 300 characters (multi-byte
// ones among them) is cut by characters, and the marker, first in the
// subject, survives: a lost answer is adopted, not created twice, and
// completing the Task acknowledges the finding.
func TestLongTitleKeepsTheTaskMarker(t *testing.T) {
	t.Parallel()
	b := setup(t, storetest.NewSQLite(t))
	ctx := context.Background()
	acc := b.world.Accounts[0]
	f := accountFinding("long", acc.ID)
	f.Title = strings.Repeat("é", 150) + strings.Repeat("x", 150)
	require.NoError(t, b.store.PutFinding(ctx, f))
	b.loseNextTaskWrite.Store(true)
	_, err := b.sw.Run(ctx)
	require.Error(t, err)
	stats, err := b.sw.Run(ctx)
	require.NoError(t, err)
	require.Equal(t, 1, stats.Reconciled)
	tasks := b.ssim.Tasks()
	require.Len(t, tasks, 1, "adopted, not created twice")
	subject := tasks[0].Subject
	require.True(t, strings.HasPrefix(subject, writeback.TaskMarker(f.Fingerprint)+" éé"), subject)
	require.Equal(t, writeback.MaxSubject, len([]rune(subject)))
	require.True(t, strings.HasSuffix(subject, "…"))

	b.ssim.CompleteTask(tasks[0].ID)
	_, err = b.sw.Run(ctx)
	require.NoError(t, err)
	fs, err := b.store.FindingsForEntity(ctx, cxaudit.EntityAccount, acc.ID)
	require.NoError(t, err)
	require.NotNil(t, fs[0].AcknowledgedAt, "completing the Task acknowledged the finding")
}

// TestNoteTellsTheConfiguredSnooze: the note tells agents how long the
// snooze tag silences findings as configured, not "a week".
func TestNoteTellsTheConfiguredSnooze(t *testing.T) {
	t.Parallel()
	b := setup(t, storetest.NewSQLite(t))
	ctx := context.Background()
	id := b.openTicketIDs(t, 1)[0]
	b.zw.SnoozeFor = 3 * 24 * time.Hour
	require.NoError(t, b.store.PutFinding(ctx, ticketFinding("a", id)))
	_, err := b.zw.Run(ctx)
	require.NoError(t, err)
	notes := b.notesOn(t, id)
	require.Len(t, notes, 1)
	require.Contains(t, notes[0].Body, "to silence them for 3 days, cxaudit_snooze")
	require.NotContains(t, notes[0].Body, "week")
}

// TestWritebackKeepsItsShareOfUpdateTicket: over a run of 600 ticket
// updates, write-back never sends more than its share (half) of Update
// Ticket's account limit in any window, so agents saving tickets are
// never throttled by it; the simulator, enforcing the limit, never
// refuses one of its updates. The limit's minute is shrunk to a second.
func TestWritebackKeepsItsShareOfUpdateTicket(t *testing.T) {
	t.Parallel()
	const (
		updates = 600
		minute  = time.Second
		limit   = zendesktest.DefaultUpdateRateLimit
	)
	b := setup(t, storetest.NewPostgres(t))
	zsim, zsrv := zendesktest.NewServer(zendesktest.Options{World: b.world, RateLimit: 100000, UpdateRateLimit: limit, Minute: minute})
	t.Cleanup(zsrv.Close)
	var mu sync.Mutex
	var sent []time.Time
	srv := httptest.NewServer(http.HandlerFunc(func(rw http.ResponseWriter, r *http.Request) {
		if r.Method == http.MethodPut {
			mu.Lock()
			sent = append(sent, time.Now())
			mu.Unlock()
		}
		zsim.ServeHTTP(rw, r)
	}))
	t.Cleanup(srv.Close)
	cfg := zendesk.BudgetConfig(100000, 10, zendesk.DefaultUpdateShare)
	cfg.Window = minute
	budget := ratelimit.New(cfg)
	zc, err := zendesk.New(zendesk.Config{URL: srv.URL, Email: zendesktest.DefaultEmail, APIToken: zendesktest.DefaultAPIToken,
		Logger: slog.New(slog.DiscardHandler), HTTP: remote.Options{RetryWaitMin: time.Millisecond, RetryWaitMax: 5 * time.Millisecond, Budget: budget}})
	require.NoError(t, err)
	ctx := context.Background()
	ids := b.openTicketIDs(t, 100)
	for _, id := range ids {
		require.NoError(t, b.store.PutFinding(ctx, ticketFinding("a", id)))
	}
	zw := &writeback.Zendesk{Client: zc, Store: b.store, Logger: b.zw.Logger, ResolutionNote: true}
	total := 0
	for total < updates {
		for _, id := range ids {
			tk, _ := zsim.Ticket(id)
			require.NoError(t, b.store.UpsertTickets(ctx, []cxaudit.Ticket{tk}))
		}
		stats, err := zw.Run(ctx)
		require.NoError(t, err)
		require.NotZero(t, stats.Writes[store.WriteZendeskTicketUpdate])
		total += stats.Writes[store.WriteZendeskTicketUpdate]
		// The next round of findings.
		for _, id := range ids {
			fs, err := b.store.FindingsForEntity(ctx, cxaudit.EntityTicket, strconv.FormatInt(id, 10))
			require.NoError(t, err)
			for _, f := range fs {
				f.Message += " again"
				require.NoError(t, b.store.PutFinding(ctx, f))
				break
			}
		}
	}
	require.GreaterOrEqual(t, len(sent), updates)
	require.Zero(t, zsim.Stats().UpdatesRateLimited, "no update of write-back was refused")
	// In any window of a (shrunk) minute, at most the share was sent; a
	// little slack for the time between leaving the client and arriving.
	share := int(zendesk.DefaultUpdateShare * limit)
	worst := 0
	for i := range sent {
		n := 0
		for j := i; j < len(sent) && sent[j].Sub(sent[i]) < minute-20*time.Millisecond; j++ {
			n++
		}
		worst = max(worst, n)
	}
	t.Logf("%d updates; most in one window: %d (share %d of %d)", len(sent), worst, share, limit)
	require.LessOrEqual(t, worst, share)
}
