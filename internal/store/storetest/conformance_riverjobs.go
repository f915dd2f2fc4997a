package storetest

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/riverqueue/river"
	"github.com/riverqueue/river/riverdriver/riverpgxv5"
	"github.com/riverqueue/river/riverdriver/riversqlite"
	"github.com/riverqueue/river/rivertype"
	"github.com/stretchr/testify/require"

	"github.com/cxaudit/cxaudit/internal/cxaudit"
	"github.com/cxaudit/cxaudit/internal/store"
)

func exerciseRiverjobs(t *testing.T, newStore func(t *testing.T) store.Store) {
	ctx := context.Background()

	t.Run("EnqueueCommitsWithTheTransaction", func(t *testing.T) {
		t.Parallel()
		s := newStore(t)
		require.NoError(t, s.Enqueue(ctx), "nothing to enqueue needs no River client")
		err := s.Enqueue(ctx, jobParams(0)...)
		require.Equal(t, cxaudit.EINTERNAL, cxaudit.ErrorCode(err), "without a River client a job cannot be enqueued")
		jobs := attachRiver(t, s)

		boom := errors.New("boom")
		err = s.InTx(ctx, func(ctx context.Context, q store.Querier) error {
			require.NoError(t, q.UpsertTickets(ctx, []cxaudit.Ticket{ticket(1, now)}))
			require.NoError(t, q.Enqueue(ctx, jobParams(1, 2)...))
			return boom
		})
		require.ErrorIs(t, err, boom)
		require.Empty(t, jobs(t), "the jobs roll back with the transaction")
		_, err = s.Ticket(ctx, 1)
		require.Equal(t, cxaudit.ENOTFOUND, cxaudit.ErrorCode(err))

		require.NoError(t, s.InTx(ctx, func(ctx context.Context, q store.Querier) error {
			if err := q.UpsertTickets(ctx, []cxaudit.Ticket{ticket(1, now)}); err != nil {
				return err
			}
			return q.Enqueue(ctx, jobParams(3, 4)...)
		}))
		got := jobs(t)
		require.Len(t, got, 2, "the jobs commit with the transaction")
		for i, j := range got {
			require.Equal(t, conformanceJobArgs{}.Kind(), j.Kind)
			require.Equal(t, "storetest", j.Queue, "the args' own InsertOpts apply, as the jobs package relies on")
			require.JSONEq(t, []string{`{"n":3}`, `{"n":4}`}[i], string(j.EncodedArgs))
		}
		_, err = s.Ticket(ctx, 1)
		require.NoError(t, err)

		// Outside a transaction the job is inserted on its own.
		require.NoError(t, s.Enqueue(ctx, jobParams(5)...))
		require.Len(t, jobs(t), 3)
	})

	t.Run("JobCountsByState", func(t *testing.T) {
		t.Parallel()
		s := newStore(t)
		counts, err := s.JobCounts(ctx)
		require.NoError(t, err)
		require.Empty(t, counts, "no jobs yet")
		jobs := attachRiver(t, s)
		later := river.InsertManyParams{Args: conformanceJobArgs{N: 3}, InsertOpts: &river.InsertOpts{ScheduledAt: time.Now().Add(time.Hour)}}
		require.NoError(t, s.InTx(ctx, func(ctx context.Context, q store.Querier) error {
			return q.Enqueue(ctx, append(jobParams(1, 2), later)...)
		}))
		// A rolled-back job is no job at all.
		require.Error(t, s.InTx(ctx, func(ctx context.Context, q store.Querier) error {
			require.NoError(t, q.Enqueue(ctx, jobParams(4)...))
			return errors.New("boom")
		}))
		require.Len(t, jobs(t), 3)
		counts, err = s.JobCounts(ctx)
		require.NoError(t, err)
		require.Equal(t, map[string]int{string(rivertype.JobStateAvailable): 2, string(rivertype.JobStateScheduled): 1}, counts)
	})
}

// conformanceJobArgs is the suite's own kind of job: the jobs package's
// cannot be named here, as its tests import storetest. Like those, it
// carries its InsertOpts, which jobs.Params leaves in force.
type conformanceJobArgs struct {
	N int `json:"n"`
}

func (conformanceJobArgs) Kind() string { return "storetest_conformance" }

func (conformanceJobArgs) InsertOpts() river.InsertOpts { return river.InsertOpts{Queue: "storetest"} }

// jobParams builds insert parameters the way jobs.Params does: the args
// alone, with their own InsertOpts.
func jobParams(ns ...int) []river.InsertManyParams {
	out := make([]river.InsertManyParams, len(ns))
	for i, n := range ns {
		out[i] = river.InsertManyParams{Args: conformanceJobArgs{N: n}}
	}
	return out
}

// attachRiver attaches an insert-only River client to s, as the worker
// attaches its own, and returns a function listing the jobs in the
// database, in id order, read by River rather than by the store under
// test.
func attachRiver(t *testing.T, s store.Store) func(t *testing.T) []*rivertype.JobRow {
	t.Helper()
	list := func(t *testing.T, l func(context.Context, *river.JobListParams) (*river.JobListResult, error)) []*rivertype.JobRow {
		t.Helper()
		res, err := l(context.Background(), river.NewJobListParams())
		require.NoError(t, err)
		return res.Jobs
	}
	switch s := s.(type) {
	case *store.Postgres:
		c, err := river.NewClient(riverpgxv5.New(s.Pool), &river.Config{})
		require.NoError(t, err)
		s.AttachRiver(c)
		return func(t *testing.T) []*rivertype.JobRow { return list(t, c.JobList) }
	case *store.SQLite:
		c, err := river.NewClient(riversqlite.New(s.DB), &river.Config{})
		require.NoError(t, err)
		s.AttachRiver(c)
		return func(t *testing.T) []*rivertype.JobRow { return list(t, c.JobList) }
	}
	t.Fatalf("attachRiver: no River driver for a %T", s)
	return nil
}
