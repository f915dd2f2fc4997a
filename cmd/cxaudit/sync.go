package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"strings"
	"sync"
	"time"

	"github.com/mattn/go-isatty"

	"github.com/cxaudit/cxaudit/internal/app"
	"github.com/cxaudit/cxaudit/internal/config"
	"github.com/cxaudit/cxaudit/internal/cxaudit"
	"github.com/cxaudit/cxaudit/internal/syncer"
)

func cmdSync(ctx context.Context, args []string, getenv func(string) string, stderr io.Writer) error {
	fs := newFlags("sync", `Usage: cxaudit sync --once [--progress auto|bar|log] [--no-migrate]

Syncs every configured source to the present once, without auditing or
writing back, and exits: the first backfill of a large tenant, run by hand.
Each page commits with its cursor, so an interrupted run (Ctrl-C, a kill,
a rate limit) resumes where it stopped when run again.

Progress is a bar on a terminal and a log line per stream every few
seconds otherwise.`, stderr)
	once := fs.Bool("once", false, "sync once and exit (required: the worker syncs periodically, see cxaudit run)")
	progress := fs.String("progress", "auto", "auto (a bar on a terminal, else log lines), bar or log")
	noMigrate := fs.Bool("no-migrate", false, "do not migrate the database on start")
	if err := parse(fs, args); err != nil {
		return err
	}
	if !*once {
		return usageError{errors.New("--once is required (the worker syncs periodically: cxaudit run)")}
	}
	cfg, err := config.FromEnv(getenv)
	if err != nil {
		return err
	}
	logger := newLogger(cfg, stderr)
	a, err := app.New(ctx, cfg, logger, app.Options{Migrate: !*noMigrate, Getenv: getenv})
	if err != nil {
		return err
	}
	defer a.Close()

	bar := *progress == "bar"
	if *progress == "auto" {
		f, ok := stderr.(*os.File)
		bar = ok && isatty.IsTerminal(f.Fd())
	}
	rep := &reporter{w: stderr, bar: bar, logger: logger, every: 5 * time.Second}
	svc := a.Services
	var errs []error
	if svc.ZendeskSync != nil {
		svc.ZendeskSync.ProgressFunc = chain(svc.ZendeskSync.ProgressFunc, rep.report)
		stats, err := svc.ZendeskSync.Sync(ctx)
		rep.finish()
		logger.Info("zendesk sync done", "pages", stats.Pages, "records", stats.Records, "error", err)
		errs = append(errs, syncError(cxaudit.SourceZendesk, err))
	}
	if svc.SalesforceSync != nil {
		svc.SalesforceSync.ProgressFunc = chain(svc.SalesforceSync.ProgressFunc, rep.report)
		stats, err := svc.SalesforceSync.Sync(ctx)
		rep.finish()
		logger.Info("salesforce sync done", "pages", stats.Pages, "records", stats.Records, "error", err)
		errs = append(errs, syncError(cxaudit.SourceSalesforce, err))
	}
	return errors.Join(errs...)
}

func syncError(src cxaudit.Source, err error) error {
	var rl *cxaudit.RateLimitError
	switch {
	case err == nil:
		return nil
	case errors.As(err, &rl):
		return fmt.Errorf("%s: rate limited: run again after %s; the sync resumes where it stopped", src, rl.RetryAfter.Round(time.Second))
	}
	return err
}

func chain(fns ...syncer.ProgressFunc) syncer.ProgressFunc {
	return func(p syncer.Progress) {
		for _, f := range fns {
			if f != nil {
				f(p)
			}
		}
	}
}

// reporter shows sync progress: a bar redrawn in place on a terminal, or a
// log line per stream at most every so often.
type reporter struct {
	w      io.Writer
	bar    bool
	logger *slog.Logger
	every  time.Duration

	mu      sync.Mutex
	last    map[string]time.Time
	started map[string]time.Time
	drawn   bool
}

func (r *reporter) report(p syncer.Progress) {
	r.mu.Lock()
	defer r.mu.Unlock()
	key := p.Source + "/" + p.Object
	now := time.Now()
	if r.started == nil {
		r.started, r.last = map[string]time.Time{}, map[string]time.Time{}
	}
	if _, ok := r.started[key]; !ok {
		r.started[key] = now
	}
	rate := float64(p.Records) / max(now.Sub(r.started[key]).Seconds(), 1e-3)
	frac := p.Fraction(now)
	if r.bar {
		const width = 30
		n := int(frac * width)
		fmt.Fprintf(r.w, "\r%-22s [%s%s] %3.0f%% of the time span  %d records  %.0f/s  at %s ", key,
			strings.Repeat("=", n), strings.Repeat(" ", width-n), 100*frac, p.Records, rate, p.Position.UTC().Format("2006-01-02 15:04"))
		r.drawn = true
		if p.Done {
			fmt.Fprintln(r.w)
			r.drawn = false
		}
		return
	}
	if p.Done || now.Sub(r.last[key]) >= r.every {
		r.last[key] = now
		r.logger.Info("sync progress", "source", p.Source, "object", p.Object, "records", p.Records,
			"time_covered_percent", int(100*frac), "position", p.Position.UTC(), "records_per_second", int(rate), "done", p.Done)
	}
}

func (r *reporter) finish() {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.drawn {
		fmt.Fprintln(r.w)
		r.drawn = false
	}
}
