package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"slices"
	"strings"
	"time"

	"github.com/cxaudit/cxaudit/internal/audit"
	"github.com/cxaudit/cxaudit/internal/config"
	"github.com/cxaudit/cxaudit/internal/report"
	"github.com/cxaudit/cxaudit/internal/rules"
	"github.com/cxaudit/cxaudit/internal/store"
)

const reportHelp = `Usage: cxaudit report [--since DURATION] [--until TIME] [--by DIM] [--json | --html FILE] [--rules DIR]

Prints the KPI scorecard of the store in CXAUDIT_DATABASE_URL: first-response
and SLA compliance, backlog older than its threshold, P1/P2 update cadence,
escalation packet quality and rate, reopen rate, and CRM coverage (active
owners, renewal dates, executive sponsors on strategic accounts, linked
organizations). Every KPI has its numerator, denominator, value, target (from
targets.yaml in the rules directory, else the defaults) and the count of open
findings that explain its misses. The period is split into weeks for the
trend. A KPI without input in the period shows — (denominator 0).

--json prints the same as one JSON object, with every breakdown (priority,
group, organization tier, account owner) and the open findings; --html FILE
writes a self-contained page (inline CSS and SVG, nothing fetched) that the
worker also serves at /report.`

func cmdReport(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer) error {
	fs := newFlags("report", reportHelp, stderr)
	since := fs.Duration("since", 7*24*time.Hour, "the period: from this long ago until now, in weeks from its start (like 168h, 720h)")
	by := fs.String("by", "priority", "the breakdown the table shows under each KPI: "+strings.Join(report.Dimensions, ", ")+" or none")
	asJSON := fs.Bool("json", false, "print the scorecard as one JSON object")
	htmlFile := fs.String("html", "", "write the scorecard as a self-contained HTML page to `FILE`")
	until := fs.String("until", "", "the end of the period, as 2006-01-02 or 2006-01-02T15:04:05Z (default now)")
	rulesDir := fs.String("rules", "", "the rules directory whose targets.yaml and fields.yaml apply (default $CXAUDIT_RULES_DIR, else ./rules)")
	if err := parse(fs, args); err != nil {
		return err
	}
	if fs.NArg() > 0 {
		return usageError{fmt.Errorf("unexpected argument %q", fs.Arg(0))}
	}
	if *since <= 0 {
		return usageError{fmt.Errorf("--since %s: give a positive duration, like 168h for a week", *since)}
	}
	if *by != "none" && !slices.Contains(report.Dimensions, *by) {
		return usageError{fmt.Errorf("--by %q: want %s or none", *by, strings.Join(report.Dimensions, ", "))}
	}
	if *asJSON && *htmlFile != "" {
		return usageError{errors.New("give one of --json and --html")}
	}
	end := time.Now()
	if *until != "" {
		t, err := time.Parse(time.RFC3339, *until)
		if err != nil {
			t, err = time.Parse(time.DateOnly, *until)
		}
		if err != nil {
			return usageError{fmt.Errorf("--until %q: write a date (2006-01-02) or a time (2006-01-02T15:04:05Z)", *until)}
		}
		end = t
	}
	cfg, err := config.FromEnv(getenv)
	if err != nil {
		return err
	}
	dir := *rulesDir
	if dir == "" {
		dir = cfg.RulesDir
	}
	url := cfg.DatabaseURL.Reveal()
	if !strings.Contains(url, "://") && !strings.Contains(url, "=") && !strings.HasPrefix(url, "file:") {
		// An SQLite path: opening a missing one would create an empty store.
		if _, err := os.Stat(url); err != nil {
			return fmt.Errorf("no store at %s (CXAUDIT_DATABASE_URL): run cxaudit migrate and a sync first", url)
		}
	}
	st, err := store.Open(ctx, url)
	if err != nil {
		return err
	}
	defer st.Close()
	r, err := buildReport(ctx, st, dir, end.Add(-*since), end)
	if err != nil {
		if msg := err.Error(); strings.Contains(msg, "no such table") || strings.Contains(msg, "does not exist (SQLSTATE 42P01)") {
			return fmt.Errorf("%w: the store lacks cxaudit's latest tables; run cxaudit migrate", err)
		}
		return err
	}
	switch {
	case *asJSON:
		return r.WriteJSON(stdout)
	case *htmlFile != "":
		f, err := os.Create(*htmlFile)
		if err != nil {
			return err
		}
		if err := r.WriteHTML(f); err != nil {
			f.Close()
			return fmt.Errorf("write %s: %w", *htmlFile, err)
		}
		if err := f.Close(); err != nil {
			return fmt.Errorf("write %s: %w", *htmlFile, err)
		}
		fmt.Fprintf(stdout, "report: wrote %s\n", *htmlFile)
		return nil
	}
	if *by == "none" {
		*by = ""
	}
	return r.WriteText(stdout, *by)
}

// buildReport computes the scorecard with the targets and field map of
// the rules in dir.
func buildReport(ctx context.Context, st store.Store, dir string, since, now time.Time) (*report.Report, error) {
	set, err := rules.LoadDir(dir)
	if err != nil {
		return nil, fmt.Errorf("rules in %s do not load (cxaudit rules check %s): %w", dir, dir, err)
	}
	t, err := audit.LoadTenant(ctx, st, set.FieldMap())
	if err != nil {
		return nil, fmt.Errorf("read the tenant's schema: %w", err)
	}
	return report.Compute(ctx, st, report.Options{Since: since, Now: now, Targets: set.Targets(), Tenant: t})
}
