// Command cxaudit is the cxaudit worker and its tools: it syncs Zendesk and
// Salesforce, audits them with the rules in rules/, and writes findings back
// where agents and account owners work.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/signal"
	"regexp"
	"strings"
	"syscall"
	"time"

	"github.com/cxaudit/cxaudit/internal/app"
	"github.com/cxaudit/cxaudit/internal/config"
	"github.com/cxaudit/cxaudit/internal/demo"
	"github.com/cxaudit/cxaudit/internal/preview"
	"github.com/cxaudit/cxaudit/internal/rules"
	"github.com/cxaudit/cxaudit/internal/store"
)

const usage = `cxaudit audits Zendesk and Salesforce with rules CS ops own, and writes
findings back as Zendesk internal notes and tags and Salesforce Tasks.

Usage:
  cxaudit <command> [flags]

Commands:
  run           the worker: River jobs, periodic sync and audit, /healthz /readyz /metrics
  run --once    one full cycle (sync, audit, write back), then exit
  sync --once   sync every source to the present (a backfill), with progress, then exit
  migrate       apply database migrations (cxaudit's and River's)
  sim           serve the Zendesk and Salesforce simulators with seeded data
  rules check   compile rule files and print every error
  rules test    run the rule tests (*_test.yaml) beside the rules
  rules preview what a rule change would open and resolve on the synced data
  demo          the whole cycle against the simulators on the embedded store
  quarantine list  records a source sent that could not be read, set aside
  report        the KPI scorecard (--json, --html FILE) of the synced data and findings
  webhooks      print or set up the Zendesk webhook and trigger (changes audited within seconds)

Configuration comes from the environment; see README.md. Every command
takes --help.
`

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	os.Exit(run(ctx, os.Args[1:], os.Getenv, os.Stdout, os.Stderr))
}

// run executes the command in args and returns the exit code: 0 success,
// 1 failure, 2 usage error, 3 a `run --once` that did not finish within
// its --timeout.
func run(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer) int {
	if len(args) == 0 || args[0] == "-h" || args[0] == "--help" || args[0] == "help" {
		fmt.Fprint(stdout, usage)
		if len(args) == 0 {
			return 2
		}
		return 0
	}
	cmd, rest := args[0], args[1:]
	var err error
	switch cmd {
	case "run":
		err = cmdRun(ctx, rest, getenv, stderr)
	case "sync":
		err = cmdSync(ctx, rest, getenv, stderr)
	case "migrate":
		err = cmdMigrate(ctx, rest, getenv, stdout, stderr)
	case "sim":
		err = cmdSim(ctx, rest, stdout, stderr)
	case "rules":
		err = cmdRules(ctx, rest, getenv, stdout, stderr)
	case "demo":
		err = cmdDemo(ctx, rest, getenv, stdout, stderr)
	case "quarantine":
		err = cmdQuarantine(ctx, rest, getenv, stdout, stderr)
	case "report":
		err = cmdReport(ctx, rest, getenv, stdout, stderr)
	case "webhooks":
		err = cmdWebhooks(ctx, rest, getenv, stdout, stderr)
	default:
		fmt.Fprintf(stderr, "cxaudit: unknown command %q\n\n%s", cmd, usage)
		return 2
	}
	switch {
	case err == nil:
		return 0
	case errors.Is(err, flag.ErrHelp):
		return 0
	case errors.As(err, new(usageError)):
		fmt.Fprintf(stderr, "cxaudit %s: %v\n", cmd, err)
		return 2
	case errors.Is(err, errTestsFailed):
		return 1
	case errors.Is(err, errTimedOut):
		fmt.Fprintf(stderr, "cxaudit %s: %v\n", cmd, err)
		return 3
	default:
		fmt.Fprintf(stderr, "cxaudit %s: %v\n", cmd, err)
		return 1
	}
}

type usageError struct{ error }

// errTimedOut is a `run --once` cut short by its --timeout.
var errTimedOut = errors.New("timed out")

func newFlags(name, help string, stderr io.Writer) *flag.FlagSet {
	fs := flag.NewFlagSet("cxaudit "+name, flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.Usage = func() {
		fmt.Fprintf(fs.Output(), "%s\n\nFlags:\n", strings.TrimSpace(help))
		fs.PrintDefaults()
	}
	return fs
}

func parse(fs *flag.FlagSet, args []string) error {
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return err
		}
		return usageError{err}
	}
	return nil
}

func newLogger(cfg config.Config, w io.Writer) *slog.Logger {
	opts := &slog.HandlerOptions{Level: cfg.LogLevel}
	if cfg.LogFormat == "text" {
		return slog.New(slog.NewTextHandler(w, opts))
	}
	return slog.New(slog.NewJSONHandler(w, opts))
}

func cmdRun(ctx context.Context, args []string, getenv func(string) string, stderr io.Writer) error {
	fs := newFlags("run", `Usage: cxaudit run [--once [--timeout DURATION]] [--no-migrate] [--grace DURATION]

Runs the worker. It migrates the database first unless --no-migrate, then
works River jobs: sync each configured source every CXAUDIT_SYNC_INTERVAL,
sweep time-based rules every CXAUDIT_SWEEP_INTERVAL, audit and write back.
It serves /healthz, /readyz and /metrics on CXAUDIT_LISTEN_ADDR. Several
replicas on one PostgreSQL share the work; periodic jobs run on the leader.

With --once it runs one full cycle (sync every source, audit, write back),
waits for the queue to drain and exits: 0 on success, 1 if a job failed,
3 if the cycle did not finish within --timeout (a job snoozed by a rate
limit, or stuck on a full disk); a later run resumes where it stopped.`, stderr)
	once := fs.Bool("once", false, "run one full cycle and exit")
	timeout := fs.Duration("timeout", time.Hour, "with --once, how long the cycle may take before it gives up (exit status 3); 0 waits as long as it takes")
	noMigrate := fs.Bool("no-migrate", false, "do not migrate the database on start")
	grace := fs.Duration("grace", 25*time.Second, "on SIGTERM, how long running jobs may take to finish before they are cancelled")
	if err := parse(fs, args); err != nil {
		return err
	}
	cfg, err := config.FromEnv(getenv)
	if err != nil {
		return err
	}
	logger := newLogger(cfg, stderr)
	a, err := app.New(ctx, cfg, logger, app.Options{Migrate: !*noMigrate, Periodic: !*once, Getenv: getenv})
	if err != nil {
		return err
	}
	defer a.Close()
	if *once {
		cycleCtx := ctx
		if *timeout > 0 {
			var cancel context.CancelFunc
			cycleCtx, cancel = context.WithTimeoutCause(ctx, *timeout, errTimedOut)
			defer cancel()
		}
		res, err := a.RunOnce(cycleCtx)
		logger.Info("cycle finished", "duration", res.Duration.String(), "writes", res.Writes, "failed_jobs", res.FailedJobs)
		if err != nil && errors.Is(context.Cause(cycleCtx), errTimedOut) {
			return fmt.Errorf("%w: the cycle did not finish within %s (--timeout): %w", errTimedOut, *timeout, err)
		}
		return err
	}
	return a.Run(ctx, *grace)
}

func cmdMigrate(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer) error {
	fs := newFlags("migrate", `Usage: cxaudit migrate

Applies cxaudit's migrations (migrations/) and River's to the database in
CXAUDIT_DATABASE_URL. Safe to run from several replicas at once.`, stderr)
	if err := parse(fs, args); err != nil {
		return err
	}
	_, st, err := openStore(ctx, getenv)
	if err != nil {
		return err
	}
	defer st.Close()
	res, err := store.Migrate(ctx, st)
	if err != nil {
		return err
	}
	fmt.Fprintf(stdout, "migrated %s: %d cxaudit migrations, %d River migrations applied\n", st.Dialect(), len(res.App), len(res.River))
	return nil
}

func cmdSim(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := newFlags("sim", `Usage: cxaudit sim [flags]

Serves the Zendesk and Salesforce simulators with seeded data until
interrupted. Its org names its fields its own way, as a real one does: it
writes the rule pack with the field map a user of that org writes
(fields.yaml) into --rules-dir, and prints the environment that points
cxaudit at the simulators and those rules:

  cxaudit sim > sim.env &      # wait for the lines, then
  . ./sim.env
  cxaudit run --once`, stderr)
	rulesDir := fs.String("rules-dir", "", "where to write the rules and field map for the simulated tenant (default: a new temporary directory)")
	zAddr := fs.String("zendesk-addr", "127.0.0.1:8081", "Zendesk simulator listen address")
	sAddr := fs.String("salesforce-addr", "127.0.0.1:8082", "Salesforce simulator listen address")
	accounts := fs.Int("accounts", 300, "accounts (and organizations) to generate")
	tickets := fs.Int("tickets", 3000, "tickets to generate")
	seed := fs.Uint64("seed", 42, "seed of the generated data")
	rate := fs.Int("zendesk-rate-limit", 0, "Zendesk requests per minute (0: the simulator's default, 700)")
	if err := parse(fs, args); err != nil {
		return err
	}
	sims, err := demo.StartSimulators(demo.SimOptions{Seed: *seed, Accounts: *accounts, Tickets: *tickets,
		ZendeskAddr: *zAddr, SalesforceAddr: *sAddr, ZendeskRateLimit: *rate})
	if err != nil {
		return err
	}
	defer sims.Close()
	dir := *rulesDir
	if dir == "" {
		if dir, err = os.MkdirTemp("", "cxaudit-sim-rules-"); err != nil {
			return err
		}
	} else if err := os.MkdirAll(dir, 0o755); err != nil {
		return err
	}
	if err := demo.WriteSimRules(dir); err != nil {
		return err
	}
	fmt.Fprintf(stderr, "simulators serving %d accounts and %d tickets; rules and field map in %s; Ctrl-C stops them\n", *accounts, *tickets, dir)
	for _, kv := range sims.Env() {
		fmt.Fprintf(stdout, "export %s\n", kv)
	}
	fmt.Fprintf(stdout, "export CXAUDIT_RULES_DIR=%s\n", dir)
	<-ctx.Done()
	return nil
}

const rulesHelp = `Usage: cxaudit rules <check|test|preview> [flags] DIR

  check DIR     compile every rule file in DIR (default ./rules) and print
                every error with its file, line and column; exits 1 when any
                rule is broken
  test DIR      run the rule tests (*_test.yaml) in DIR against its rules;
                exits 0 when all pass, 1 when one fails, 2 when the rules or
                a test file cannot be loaded
  preview DIR   evaluate DIR's rules against the data already synced (the
                store in CXAUDIT_DATABASE_URL) and print, per rule, how many
                findings would open, stay and resolve; writes nothing

Run "cxaudit rules <subcommand> --help" for its flags.`

func cmdRules(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer) error {
	if len(args) == 0 || args[0] == "-h" || args[0] == "--help" {
		fmt.Fprintln(stdout, rulesHelp)
		if len(args) == 0 {
			return usageError{errors.New("missing subcommand (check, test or preview)")}
		}
		return nil
	}
	switch args[0] {
	case "check":
		return cmdRulesCheck(ctx, args[1:], getenv, stdout, stderr)
	case "test":
		return cmdRulesTest(args[1:], stdout, stderr)
	case "preview":
		return cmdRulesPreview(ctx, args[1:], getenv, stdout, stderr)
	}
	return usageError{fmt.Errorf("unknown subcommand %q (want check, test or preview)", args[0])}
}

func rulesDirArg(fs *flag.FlagSet) string {
	if fs.NArg() > 0 {
		return fs.Arg(0)
	}
	return "./rules"
}

// errTestsFailed makes `rules test` exit 1 without printing more than the
// report did.
var errTestsFailed = errors.New("rule tests failed")

func cmdRulesTest(args []string, stdout, stderr io.Writer) error {
	fs := newFlags("rules test", `Usage: cxaudit rules test [--run REGEX] [--junit FILE] [DIR]

Loads the rules in DIR (default ./rules) and runs the tests in its
*_test.yaml files: each test lists fixture tickets, organizations and
accounts, a pinned now, and the findings each rule must raise. A failed
test prints what was expected (exp:) beside what the rules produced (got:).

Exit status: 0 all tests pass, 1 a test failed, 2 usage error or rules or
tests that cannot be loaded.`, stderr)
	run := fs.String("run", "", "run only the tests whose name matches this regular expression")
	junit := fs.String("junit", "", "also write the results as JUnit XML to this file")
	if err := parse(fs, args); err != nil {
		return err
	}
	var opts rules.TestOptions
	if *run != "" {
		re, err := regexp.Compile(*run)
		if err != nil {
			return usageError{fmt.Errorf("--run: %w", err)}
		}
		opts.Run = re
	}
	rep, err := rules.RunTests(rulesDirArg(fs), opts)
	if err != nil {
		var le *rules.LoadError
		if errors.As(err, &le) {
			for _, e := range le.Errors {
				fmt.Fprintln(stdout, e.Error())
			}
			return usageError{fmt.Errorf("%d %s loading rules and tests", len(le.Errors), map[bool]string{true: "error", false: "errors"}[len(le.Errors) == 1])}
		}
		return usageError{err}
	}
	rep.WriteText(stdout)
	if *junit != "" {
		f, err := os.Create(*junit)
		if err != nil {
			return err
		}
		if err := rep.WriteJUnit(f); err != nil {
			f.Close()
			return err
		}
		if err := f.Close(); err != nil {
			return err
		}
	}
	if rep.Failed() > 0 {
		return errTestsFailed
	}
	return nil
}

func cmdDemo(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer) error {
	fs := newFlags("demo", `Usage: cxaudit demo [--json] [--database-url URL]

Starts the Zendesk and Salesforce simulators in-process with a seeded
tenant, runs a full cycle (sync, audit, write back) on the embedded SQLite
store (a fresh temporary file unless --database-url is given), then a second
cycle that must write nothing, and prints a summary.`, stderr)
	asJSON := fs.Bool("json", false, "print the summary as one JSON object")
	dbURL := fs.String("database-url", "", "store to use (postgres://… or an SQLite path); default a temporary SQLite file")
	rulesDir := fs.String("rules", "", "rules directory (default $CXAUDIT_RULES_DIR, else the built-in rule pack with the simulated tenant's field map)")
	accounts := fs.Int("accounts", 300, "accounts to generate")
	tickets := fs.Int("tickets", 3000, "tickets to generate")
	seed := fs.Uint64("seed", 42, "seed of the generated data")
	verbose := fs.Bool("v", false, "log what the worker does (to stderr)")
	if err := parse(fs, args); err != nil {
		return err
	}
	dir := *rulesDir
	if dir == "" {
		dir = getenv("CXAUDIT_RULES_DIR")
	}
	level := slog.LevelWarn
	if *verbose {
		level = slog.LevelInfo
	}
	logger := slog.New(slog.NewTextHandler(stderr, &slog.HandlerOptions{Level: level}))
	if !*asJSON {
		fmt.Fprintf(stderr, "cxaudit demo: simulating %d accounts and %d tickets; running two cycles…\n", *accounts, *tickets)
	}
	sum, err := demo.Run(ctx, demo.Options{DatabaseURL: *dbURL, RulesDir: dir, Seed: *seed, Accounts: *accounts, Tickets: *tickets, Logger: logger})
	if err != nil {
		return err
	}
	if *asJSON {
		return sum.WriteJSON(stdout)
	}
	return sum.WriteText(stdout)
}

func cmdRulesPreview(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer) error {
	fs := newFlags("rules preview", `Usage: cxaudit rules preview [--examples N] [DIR]

Evaluates the rules in DIR (default ./rules) against the data already synced
into the store in CXAUDIT_DATABASE_URL, and prints per rule how many
findings would open, stay open (and of those, change their text) and
resolve compared with the findings open now, with example entities. Rules
never seen in the store are marked (new); rules with open findings but
missing from DIR are marked (removed). For each rule it gives the notes and
Tasks its changes would write, examples (the ticket's subject or the
account's name, and the message), and the other rules that fire on the same
entities; then what the whole change writes and how long the write budgets
(CXAUDIT_ZENDESK_WRITE_BUDGET, CXAUDIT_SALESFORCE_WRITE_BUDGET) need for it.
It reads the store and writes nothing: review a rule change with it before
you ship the change; --markdown prints it for the pull request.`, stderr)
	examples := fs.Int("examples", 3, "example entities to list per rule and change")
	asJSON := fs.Bool("json", false, "print the preview as one JSON object")
	asMarkdown := fs.Bool("markdown", false, "print the preview as Markdown, for a pull request")
	if err := parse(fs, args); err != nil {
		return err
	}
	dir := rulesDirArg(fs)
	set, err := rules.LoadDir(dir)
	if err != nil {
		var le *rules.LoadError
		if errors.As(err, &le) {
			for _, e := range le.Errors {
				fmt.Fprintln(stdout, e.Error())
			}
		}
		return usageError{fmt.Errorf("rules in %s do not load; fix them first (cxaudit rules check %s)", dir, dir)}
	}
	cfg, st, err := openStore(ctx, getenv)
	if err != nil {
		return err
	}
	defer st.Close()
	if *asJSON && *asMarkdown {
		return usageError{errors.New("give one of --json and --markdown")}
	}
	rep, err := preview.Run(ctx, preview.Options{Store: st, Rules: set, Examples: *examples,
		ZendeskBudget: cfg.ZendeskWriteBudget, SalesforceBudget: cfg.SalesforceWriteBudget})
	if err != nil {
		return err
	}
	switch {
	case *asJSON:
		return rep.WriteJSON(stdout)
	case *asMarkdown:
		return rep.WriteMarkdown(stdout)
	}
	return rep.WriteText(stdout)
}

// openStore reads the configuration from getenv and opens the store in
// CXAUDIT_DATABASE_URL, for the commands that work on the store alone.
func openStore(ctx context.Context, getenv func(string) string) (config.Config, store.Store, error) {
	cfg, err := config.FromEnv(getenv)
	if err != nil {
		return cfg, nil, err
	}
	st, err := store.Open(ctx, cfg.DatabaseURL.Reveal())
	return cfg, st, err
}
