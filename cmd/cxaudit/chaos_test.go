package main

import (
	"bytes"
	"context"
	"flag"
	"fmt"
	"math/rand/v2"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/cxaudit/cxaudit/internal/apptest"
	"github.com/cxaudit/cxaudit/internal/cxaudit"
	"github.com/cxaudit/cxaudit/internal/salesforce/salesforcetest"
	"github.com/cxaudit/cxaudit/internal/simworld"
	"github.com/cxaudit/cxaudit/internal/store"
	"github.com/cxaudit/cxaudit/internal/store/storetest"
	"github.com/cxaudit/cxaudit/internal/writeback"
	"github.com/cxaudit/cxaudit/internal/zendesk/zendesktest"
)

var (
	chaosKills   = flag.Int("chaos.kills", 20, "TestWritebackChaos: how many times to SIGKILL cxaudit (raise it for a longer run)")
	chaosTickets = flag.Int("chaos.tickets", 3200, "TestWritebackChaos: tickets in the simulated tenant")
	chaosSeed    = flag.Uint64("chaos.seed", 0, "TestWritebackChaos: seed of the kill times and faults (0: from the clock, printed)")
)

// chaos sits in front of a simulator and, while on, fails requests the ways
// real APIs do: a 5xx before doing anything, a write applied whose answer
// is lost, a 429 with Retry-After, and a response slower than the client's
// timeout (after the request was applied).
type chaos struct {
	on   atomic.Bool
	mu   sync.Mutex
	rng  *rand.Rand
	seen atomic.Int64
}

func (c *chaos) roll() float64 {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.rng.Float64()
}

func (c *chaos) wrap(h http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if !c.on.Load() {
			h.ServeHTTP(w, r)
			return
		}
		write := r.Method != http.MethodGet
		switch p := c.roll(); {
		case p < 0.03:
			c.seen.Add(1)
			http.Error(w, `{"error":"injected"}`, http.StatusInternalServerError)
		case p < 0.06 && write:
			c.seen.Add(1)
			h.ServeHTTP(httptest.NewRecorder(), r) // applied…
			http.Error(w, `{"error":"injected: answer lost"}`, http.StatusBadGateway)
		case p < 0.08:
			c.seen.Add(1)
			w.Header().Set("Retry-After", "1")
			http.Error(w, `{"error":"injected: rate limited"}`, http.StatusTooManyRequests)
		case p < 0.09:
			c.seen.Add(1)
			rec := httptest.NewRecorder()
			h.ServeHTTP(rec, r)                 // applied…
			time.Sleep(1500 * time.Millisecond) // …but the client (1s timeout) gives up
			for k, v := range rec.Header() {
				w.Header()[k] = v
			}
			w.WriteHeader(rec.Code)
			_, _ = w.Write(rec.Body.Bytes())
		default:
			h.ServeHTTP(w, r)
		}
	})
}

// TestWritebackChaos SIGKILLs a real `cxaudit run --once` at random points
// of a cycle that writes thousands of findings, while the simulators inject
// 5xx errors, lost answers, timeouts and 429s; then lets a clean run finish
// and checks, in the simulators as agents would see them, that every
// finding was written exactly once and none is missing.
//
// The default run kills 20 times; -chaos.kills=200 runs longer.
func TestWritebackChaos(t *testing.T) {
	t.Parallel()
	seed := *chaosSeed
	if seed == 0 {
		seed = uint64(time.Now().UnixNano())
	}
	t.Logf("chaos seed %d (rerun with -chaos.seed=%d)", seed, seed)
	rng := rand.New(rand.NewPCG(seed, seed>>1))

	bin := cxauditBinary(t)
	world := simworld.Generate(simworld.Options{Seed: 21, Accounts: 250, Tickets: *chaosTickets})
	// Update Ticket's own limits are lifted too: at 300 a minute, the
	// thousands of findings here would take half an hour to write; the
	// limits have their own tests in internal/writeback.
	zsim := zendesktest.New(zendesktest.Options{World: world, RateLimit: 1_000_000, UpdateRateLimit: 1_000_000, TicketUpdateLimit: 1_000_000})
	ssim := salesforcetest.New(salesforcetest.Options{World: world, AccessToken: "chaos-token"})
	ch := &chaos{rng: rand.New(rand.NewPCG(seed^0xabcdef, seed))}
	zsrv := httptest.NewServer(ch.wrap(zsim))
	t.Cleanup(zsrv.Close)
	ssrv := httptest.NewServer(ch.wrap(ssim))
	t.Cleanup(ssrv.Close)

	dbURL := storetest.NewPostgresSchema(t)
	rulesDir := apptest.RulesDir(t)
	env := append(os.Environ(),
		"CXAUDIT_DATABASE_URL="+dbURL, "CXAUDIT_RULES_DIR="+rulesDir,
		"ZENDESK_URL="+zsrv.URL, "ZENDESK_EMAIL="+zendesktest.DefaultEmail, "ZENDESK_API_TOKEN="+zendesktest.DefaultAPIToken,
		"SALESFORCE_INSTANCE_URL="+ssrv.URL, "SALESFORCE_ACCESS_TOKEN=chaos-token",
		"CXAUDIT_HTTP_TIMEOUT=1s", "CXAUDIT_WORKER_LEASE_TTL=2s",
		"CXAUDIT_ZENDESK_WRITE_BUDGET=0", "CXAUDIT_SALESFORCE_WRITE_BUDGET=0",
		"ZENDESK_RATE_LIMIT=100000", "ZENDESK_EXPORT_RATE_LIMIT=100000",
		"CXAUDIT_BACKFILL_DAYS=3650", "CXAUDIT_LOG_LEVEL=info", "CXAUDIT_LOG_FORMAT=json",
	)
	// Every run's log, to show what happened to a ticket that fails.
	var logs []*bytes.Buffer
	start := func() (*exec.Cmd, *bytes.Buffer) {
		cmd := exec.Command(bin, "run", "--once")
		cmd.Env = env
		out := &bytes.Buffer{}
		cmd.Stdout, cmd.Stderr = out, out
		require.NoError(t, cmd.Start())
		logs = append(logs, out)
		return cmd, out
	}
	about := func(entity string) string {
		var b strings.Builder
		for i, l := range logs {
			for _, line := range strings.Split(l.String(), "\n") {
				if strings.Contains(line, `"`+entity+`"`) {
					fmt.Fprintf(&b, "run %d: %s\n", i, line)
				}
			}
		}
		return b.String()
	}

	// The tenant's backfill runs first, undisturbed: a first sync of
	// thousands of tickets takes longer than the kill windows below, and
	// what is under test here is the cycle that writes findings back (the
	// sync's own crash test is TestSyncSurvivesSIGKILL).
	backfill := exec.Command(bin, "sync", "--once")
	backfill.Env = env
	backfillOut, err := backfill.CombinedOutput()
	require.NoError(t, err, "backfill: %s", tail(string(backfillOut), 20))

	// Chaos: kill at random points until enough kills landed mid-cycle.
	ch.on.Store(true)
	kills, finished, midWrite := 0, 0, 0
	for attempt := 0; kills < *chaosKills; attempt++ {
		require.Less(t, attempt, 4**chaosKills, "the cycle keeps finishing before it can be killed")
		writes := func() int { return zsim.Stats().TicketUpdates + ssim.Stats().TasksCreated }
		before := writes()
		cmd, _ := start()
		done := make(chan error, 1)
		go func() { done <- cmd.Wait() }()
		// Every other kill lands at a random point of the cycle; the others
		// wait until findings are being written and strike soon after.
		var kill <-chan time.Time
		if attempt%2 == 0 {
			kill = time.After(time.Duration(200+rng.IntN(6000)) * time.Millisecond)
		} else {
			k := make(chan time.Time, 1)
			kill = k
			after := time.Duration(rng.IntN(400)) * time.Millisecond
			go func() {
				deadline := time.Now().Add(20 * time.Second)
				for writes() == before && time.Now().Before(deadline) {
					time.Sleep(10 * time.Millisecond)
				}
				time.Sleep(after)
				k <- time.Now()
			}()
		}
		select {
		case <-done:
			finished++
		case <-kill:
			require.NoError(t, cmd.Process.Signal(syscall.SIGKILL))
			<-done
			kills++
			if writes() > before {
				midWrite++
			}
		}
	}
	ch.on.Store(false)
	t.Logf("%d kills (%d in the middle of writing back), %d runs finished under chaos, %d faults injected",
		kills, midWrite, finished, ch.seen.Load())
	require.GreaterOrEqual(t, midWrite, min(3, kills/4), "kills landed while findings were being written")

	// A clean run finishes the cycle; another writes nothing.
	var writes map[string]int
	for i := 0; ; i++ {
		require.Less(t, i, 5, "no clean run finished")
		cmd, out := start()
		if err := cmd.Wait(); err != nil {
			t.Logf("clean run %d: %v\n%s", i, err, tail(out.String(), 20))
			continue
		}
		writes = cycleWrites(t, out.String())
		break
	}
	t.Logf("final clean run wrote %v", writes)
	cmd, out := start()
	require.NoError(t, cmd.Wait(), out.String())
	require.Empty(t, cycleWrites(t, out.String()), "a run after the cycle writes nothing")

	// Compare what agents see with what cxaudit found.
	ctx := context.Background()
	st, err := store.OpenPostgres(ctx, dbURL)
	require.NoError(t, err)
	defer st.Close()
	open, err := st.ListFindings(ctx, store.FindingFilter{Status: cxaudit.FindingOpen})
	require.NoError(t, err)
	require.GreaterOrEqual(t, len(open), 2000, "the cycle writes at least 2,000 findings")
	dirty, err := st.DirtyEntities(ctx, cxaudit.EntityTicket, "", 10)
	require.NoError(t, err)
	require.Empty(t, dirty, "nothing left unwritten")

	noted := map[int64][]cxaudit.Finding{}
	tasks := map[string]int{}
	for _, task := range ssim.Tasks() {
		tasks[task.Subject]++
	}
	var taskFindings int
	for _, f := range open {
		switch {
		case f.EntityKind == cxaudit.EntityTicket && f.Actions.ZendeskNote:
			id, err := strconv.ParseInt(f.EntityID, 10, 64)
			require.NoError(t, err)
			noted[id] = append(noted[id], f)
		case f.EntityKind == cxaudit.EntityAccount && f.Actions.SalesforceTask != nil:
			taskFindings++
			var n int
			for subject, c := range tasks {
				if strings.Contains(subject, writeback.TaskMarker(f.Fingerprint)) {
					n += c
				}
			}
			require.Equal(t, 1, n, "finding %s (%s) has exactly one Task", f.Fingerprint, f.RuleID)
		}
	}
	require.Equal(t, taskFindings, len(ssim.Tasks()), "no Task without a finding")
	for _, tk := range world.Tickets {
		cur, ok := zsim.Ticket(tk.ID)
		require.True(t, ok)
		var notes []string
		for _, c := range cur.Comments {
			if c.AuthorID == zsim.APIUserID() {
				notes = append(notes, c.Body)
			}
		}
		fs := noted[tk.ID]
		if len(fs) == 0 {
			require.Empty(t, notes, "ticket %d has no findings and no note", tk.ID)
			continue
		}
		require.Len(t, notes, 1, "ticket %d: exactly one cxaudit note; its log lines:\n%s", tk.ID, about(strconv.FormatInt(tk.ID, 10)))
		for _, f := range fs {
			// Each finding is one item, headed by its title; the footer
			// names its rule once.
			mentions := regexp.MustCompile(`(?m)^\[[A-Z]+\] `+regexp.QuoteMeta(f.Title)+`$`).FindAllString(notes[0], -1)
			require.Len(t, mentions, 1, "ticket %d: finding %s in the note once:\n%s", tk.ID, f.RuleID, notes[0])
			ids := regexp.MustCompile(`(?m)^rules: .*\b`+regexp.QuoteMeta(f.RuleID)+`\b.* · cxaudit:`).FindAllString(notes[0], -1)
			require.Len(t, ids, 1, "ticket %d: rule %s in the note's footer:\n%s", tk.ID, f.RuleID, notes[0])
			for _, tag := range f.Actions.ZendeskTags {
				require.Contains(t, cur.Tags, tag, "ticket %d", tk.ID)
			}
		}
	}
}

func tail(s string, n int) string {
	lines := strings.Split(strings.TrimSpace(s), "\n")
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	return fmt.Sprint(strings.Join(lines, "\n"))
}
