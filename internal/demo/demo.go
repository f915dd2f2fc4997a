// Package demo runs cxaudit end to end against its own Zendesk and
// Salesforce simulators: `cxaudit sim` serves them, `cxaudit demo` runs full
// cycles against them on the embedded store and summarises what happened.
package demo

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/cxaudit/cxaudit/internal/app"
	"github.com/cxaudit/cxaudit/internal/audit"
	"github.com/cxaudit/cxaudit/internal/config"
	"github.com/cxaudit/cxaudit/internal/cxaudit"
	"github.com/cxaudit/cxaudit/internal/report"
	"github.com/cxaudit/cxaudit/internal/rules"
	"github.com/cxaudit/cxaudit/internal/salesforce/salesforcetest"
	"github.com/cxaudit/cxaudit/internal/simworld"
	"github.com/cxaudit/cxaudit/internal/store"
	"github.com/cxaudit/cxaudit/internal/zendesk/zendesktest"
	rulepack "github.com/cxaudit/cxaudit/rules"
)

// Simulator credentials: what `cxaudit sim` accepts and prints.
const (
	SimZendeskEmail    = "cxaudit-bot@acme.example.com"
	SimZendeskToken    = "sim-zendesk-token"
	SimSalesforceToken = "sim-salesforce-token"
)

// SimOptions size the simulated tenant.
type SimOptions struct {
	Seed     uint64
	Accounts int
	Tickets  int
	// ZendeskAddr and SalesforceAddr are listen addresses; "127.0.0.1:0"
	// picks free ports.
	ZendeskAddr, SalesforceAddr string
	// ZendeskRateLimit is requests per minute (0: the simulator's default).
	ZendeskRateLimit int
}

// Simulators are both simulators, serving.
type Simulators struct {
	World      *simworld.World
	Zendesk    *zendesktest.Sim
	Salesforce *salesforcetest.Sim
	ZendeskURL string
	// SalesforceURL is the instance URL.
	SalesforceURL string
	servers       []*http.Server
}

// StartSimulators generates a world and serves it.
func StartSimulators(opts SimOptions) (*Simulators, error) {
	w := simworld.Generate(simworld.Options{Seed: opts.Seed, Accounts: opts.Accounts, Tickets: opts.Tickets, TeamTasks: true, LinkProblems: true})
	return ServeWorld(w, opts)
}

// ServeWorld serves w from both simulators, on opts' addresses and with its
// Zendesk rate limit (its sizes and seed are w's business), with the
// credentials Env hands cxaudit. Tests that shape a world of their own
// start it with this.
func ServeWorld(w *simworld.World, opts SimOptions) (*Simulators, error) {
	if opts.ZendeskAddr == "" {
		opts.ZendeskAddr = "127.0.0.1:0"
	}
	if opts.SalesforceAddr == "" {
		opts.SalesforceAddr = "127.0.0.1:0"
	}
	s := &Simulators{
		World:      w,
		Zendesk:    zendesktest.New(zendesktest.Options{World: w, Email: SimZendeskEmail, APIToken: SimZendeskToken, RateLimit: opts.ZendeskRateLimit, UpdateRateLimit: opts.ZendeskRateLimit}),
		Salesforce: salesforcetest.New(salesforcetest.Options{World: w, AccessToken: SimSalesforceToken}),
	}
	var err error
	if s.ZendeskURL, err = s.serve(opts.ZendeskAddr, s.Zendesk); err != nil {
		return nil, fmt.Errorf("zendesk simulator: %w", err)
	}
	if s.SalesforceURL, err = s.serve(opts.SalesforceAddr, s.Salesforce); err != nil {
		s.Close()
		return nil, fmt.Errorf("salesforce simulator: %w", err)
	}
	return s, nil
}

func (s *Simulators) serve(addr string, h http.Handler) (string, error) {
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return "", err
	}
	srv := &http.Server{Handler: h, ReadHeaderTimeout: 10 * time.Second}
	s.servers = append(s.servers, srv)
	go func() { _ = srv.Serve(ln) }()
	return "http://" + ln.Addr().String(), nil
}

// Close stops both servers.
func (s *Simulators) Close() {
	for _, srv := range s.servers {
		_ = srv.Close()
	}
}

// Env is the environment that points cxaudit at the simulators.
func (s *Simulators) Env() []string {
	return []string{
		"ZENDESK_URL=" + s.ZendeskURL,
		"ZENDESK_EMAIL=" + SimZendeskEmail,
		"ZENDESK_API_TOKEN=" + SimZendeskToken,
		"SALESFORCE_INSTANCE_URL=" + s.SalesforceURL,
		"SALESFORCE_ACCESS_TOKEN=" + SimSalesforceToken,
	}
}

// WriteSimRules writes the default rule pack into dir, with the field map
// of the simulated tenant (simworld.FieldMapYAML) as its fields.yaml: the
// rules directory a user of that tenant would have.
func WriteSimRules(dir string) error {
	if err := rulepack.WriteTo(dir); err != nil {
		return fmt.Errorf("write the rule pack: %w", err)
	}
	return os.WriteFile(filepath.Join(dir, rules.FieldMapFile), simworld.FieldMapYAML, 0o644)
}

// Options configure a demo run.
type Options struct {
	// DatabaseURL is the store; empty means a fresh temporary SQLite file.
	DatabaseURL string
	// RulesDir is the rules directory; empty means the default pack with
	// the simulated tenant's field map (WriteSimRules).
	RulesDir string
	Seed     uint64
	Accounts int
	Tickets  int
	Logger   *slog.Logger
}

// Writes counts remote writes by kind, as the summary reports them.
type Writes struct {
	ZendeskNotes          int `json:"zendesk_notes"`
	ZendeskTagUpdates     int `json:"zendesk_tag_updates"`
	SalesforceTasks       int `json:"salesforce_tasks"`
	SalesforceTaskUpdates int `json:"salesforce_task_updates"`
}

func writesOf(m map[string]int) Writes {
	return Writes{
		ZendeskNotes: m[store.WriteZendeskNote], ZendeskTagUpdates: m[store.WriteZendeskTagUpdate],
		SalesforceTasks: m[store.WriteSalesforceTask], SalesforceTaskUpdates: m[store.WriteSalesforceTaskUpdate],
	}
}

// Total is the number of writes.
func (w Writes) Total() int {
	return w.ZendeskNotes + w.ZendeskTagUpdates + w.SalesforceTasks + w.SalesforceTaskUpdates
}

// Cycle is one cycle of the summary.
type Cycle struct {
	Writes          Writes  `json:"writes"`
	DurationSeconds float64 `json:"duration_seconds"`
}

// Summary is what the demo reports.
type Summary struct {
	Database string `json:"database"`
	Tenant   struct {
		Accounts int `json:"accounts"`
		Tickets  int `json:"tickets"`
	} `json:"tenant"`
	// Findings counts open findings by category (all five, zeros included).
	Findings map[string]int `json:"findings"`
	// FindingsBySeverity counts open findings by severity.
	FindingsBySeverity map[string]int `json:"findings_by_severity"`
	// FindingsByRule counts open findings by rule id.
	FindingsByRule map[string]int `json:"findings_by_rule"`
	Writes         Writes         `json:"writes"`
	// Simulators is what the simulators themselves saw: proof the writes
	// landed where agents would see them.
	Simulators struct {
		ZendeskNotesAdded      int `json:"zendesk_notes_added"`
		ZendeskTicketUpdates   int `json:"zendesk_ticket_updates"`
		SalesforceTasksCreated int `json:"salesforce_tasks_created"`
	} `json:"simulators"`
	DurationSeconds float64 `json:"duration_seconds"`
	SecondCycle     Cycle   `json:"second_cycle"`
	// RuleTitles names the rules of FindingsByRule.
	RuleTitles map[string]string `json:"rule_titles"`
	// SampleNote is one internal note as the agent sees it on the ticket;
	// SampleTask one Task as the account owner sees it.
	SampleNote *SampleNote `json:"sample_note,omitempty"`
	SampleTask *SampleTask `json:"sample_task,omitempty"`
	// Scorecard is the KPI scorecard of the last 7 days (cxaudit report).
	Scorecard     *report.Report `json:"scorecard,omitempty"`
	scorecardText string
}

// SampleNote is a note cxaudit wrote, read back from the simulator.
type SampleNote struct {
	TicketID int64    `json:"ticket_id"`
	Subject  string   `json:"subject"`
	Tags     []string `json:"tags"`
	Body     string   `json:"body"`
}

// SampleTask is a Task cxaudit wrote, read back from the simulator.
type SampleTask struct {
	AccountID   string `json:"account_id"`
	AccountName string `json:"account_name"`
	Owner       string `json:"owner"`
	Subject     string `json:"subject"`
	Priority    string `json:"priority"`
	Due         string `json:"due"`
	Description string `json:"description"`
}

// Run starts the simulators, runs two full cycles (the second must write
// nothing) and returns the summary.
func Run(ctx context.Context, opts Options) (*Summary, error) {
	if opts.Accounts == 0 {
		opts.Accounts = 300
	}
	if opts.Tickets == 0 {
		opts.Tickets = 3000
	}
	if opts.Logger == nil {
		opts.Logger = slog.New(slog.DiscardHandler)
	}
	sims, err := StartSimulators(SimOptions{Seed: opts.Seed, Accounts: opts.Accounts, Tickets: opts.Tickets, ZendeskRateLimit: 100000})
	if err != nil {
		return nil, err
	}
	defer sims.Close()

	tmp, err := os.MkdirTemp("", "cxaudit-demo-")
	if err != nil {
		return nil, err
	}
	defer os.RemoveAll(tmp)
	dbURL := opts.DatabaseURL
	if dbURL == "" {
		dbURL = filepath.Join(tmp, "cxaudit.db")
	}
	if opts.RulesDir == "" {
		opts.RulesDir = filepath.Join(tmp, "rules")
		if err := os.Mkdir(opts.RulesDir, 0o755); err != nil {
			return nil, err
		}
		if err := WriteSimRules(opts.RulesDir); err != nil {
			return nil, err
		}
	}
	// No write budget: the demo tenant's first cycle writes more than a
	// production hour's default allows, and the point is to see it all.
	env := map[string]string{"CXAUDIT_DATABASE_URL": dbURL, "CXAUDIT_RULES_DIR": opts.RulesDir,
		"CXAUDIT_ZENDESK_WRITE_BUDGET": "0", "CXAUDIT_SALESFORCE_WRITE_BUDGET": "0"}
	for _, kv := range sims.Env() {
		k, v, _ := strings.Cut(kv, "=")
		env[k] = v
	}
	cfg, err := config.FromEnv(func(k string) string { return env[k] })
	if err != nil {
		return nil, err
	}
	a, err := app.New(ctx, cfg, opts.Logger, app.Options{Migrate: true})
	if err != nil {
		return nil, err
	}
	defer a.Close()

	sum := &Summary{Database: describeDB(a.Store.Dialect(), dbURL, opts.DatabaseURL == "")}
	sum.Tenant.Accounts, sum.Tenant.Tickets = len(sims.World.Accounts), len(sims.World.Tickets)
	first, err := a.RunOnce(ctx)
	if err != nil {
		return nil, fmt.Errorf("first cycle: %w", err)
	}
	sum.Writes, sum.DurationSeconds = writesOf(first.Writes), first.Duration.Seconds()

	open, err := a.Store.ListFindings(ctx, store.FindingFilter{Status: cxaudit.FindingOpen})
	if err != nil {
		return nil, err
	}
	sum.Findings, sum.FindingsBySeverity, sum.FindingsByRule = map[string]int{}, map[string]int{}, map[string]int{}
	for _, c := range cxaudit.Categories {
		sum.Findings[string(c)] = 0
	}
	for _, f := range open {
		sum.Findings[string(f.Category)]++
		sum.FindingsBySeverity[string(f.Severity)]++
		sum.FindingsByRule[f.RuleID]++
	}

	second, err := a.RunOnce(ctx)
	if err != nil {
		return nil, fmt.Errorf("second cycle: %w", err)
	}
	sum.SecondCycle = Cycle{Writes: writesOf(second.Writes), DurationSeconds: second.Duration.Seconds()}

	zs, ss := sims.Zendesk.Stats(), sims.Salesforce.Stats()
	sum.Simulators.ZendeskNotesAdded, sum.Simulators.ZendeskTicketUpdates = zs.NotesAdded, zs.TicketUpdates
	sum.Simulators.SalesforceTasksCreated = ss.TasksCreated
	if err := sum.samples(ctx, a, sims, opts.RulesDir); err != nil {
		return nil, err
	}
	return sum, nil
}

// samples reads back one note and one Task from the simulators, names the
// rules, and computes the scorecard.
func (s *Summary) samples(ctx context.Context, a *app.App, sims *Simulators, rulesDir string) error {
	set, err := rules.LoadDir(rulesDir)
	if err != nil {
		return err
	}
	s.RuleTitles = map[string]string{}
	for id := range s.FindingsByRule {
		if r := set.Rule(id); r != nil {
			s.RuleTitles[id] = r.Title
		}
	}
	bot := sims.Zendesk.APIUserID()
	for _, wt := range sims.World.Tickets {
		t, ok := sims.Zendesk.Ticket(wt.ID)
		if !ok {
			continue
		}
		for _, c := range t.Comments {
			if c.AuthorID == bot && !c.Public {
				s.SampleNote = &SampleNote{TicketID: t.ID, Subject: t.Subject, Tags: t.Tags, Body: c.Body}
				break
			}
		}
		if s.SampleNote != nil {
			break
		}
	}
	if tasks := sims.Salesforce.Tasks(); len(tasks) > 0 {
		task := tasks[0]
		st := &SampleTask{AccountID: task.WhatID, Owner: task.OwnerID, Subject: task.Subject, Priority: task.Priority, Description: task.Description}
		for _, u := range sims.World.SalesforceUsers {
			if u.ID == task.OwnerID {
				st.Owner = u.Name + " (" + u.ID + ")"
			}
		}
		for _, acc := range sims.World.Accounts {
			if acc.ID == task.WhatID {
				st.AccountName = acc.Name
			}
		}
		if task.ActivityDate != nil {
			st.Due = task.ActivityDate.Format(time.DateOnly)
		}
		s.SampleTask = st
	}
	t, err := audit.LoadTenant(ctx, a.Store, set.FieldMap())
	if err != nil {
		return err
	}
	now := time.Now()
	if s.Scorecard, err = report.Compute(ctx, a.Store, report.Options{Since: now.AddDate(0, 0, -7), Now: now, Targets: set.Targets(), Tenant: t}); err != nil {
		return fmt.Errorf("scorecard: %w", err)
	}
	var b strings.Builder
	if err := s.Scorecard.WriteText(&b, "none"); err != nil {
		return err
	}
	s.scorecardText = b.String()
	return nil
}

func describeDB(dialect, url string, temp bool) string {
	if dialect == "postgres" {
		// Never the URL: it may hold a password.
		return "postgres"
	}
	if temp {
		return "sqlite (temporary file)"
	}
	return "sqlite " + url
}

// WriteJSON prints the summary as one JSON object.
func (s *Summary) WriteJSON(w io.Writer) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(s)
}

// WriteText prints the summary for a person.
func (s *Summary) WriteText(w io.Writer) error {
	tw := tabwriter.NewWriter(w, 2, 4, 2, ' ', 0)
	fmt.Fprintf(tw, "cxaudit demo: %d accounts, %d tickets, store: %s\n\n", s.Tenant.Accounts, s.Tenant.Tickets, s.Database)
	fmt.Fprintln(tw, "Open findings by category")
	for _, c := range cxaudit.Categories {
		fmt.Fprintf(tw, "  %s\t%d\n", c, s.Findings[string(c)])
	}
	fmt.Fprintln(tw, "\nOpen findings by severity")
	for _, sev := range cxaudit.Severities {
		fmt.Fprintf(tw, "  %s\t%d\n", sev, s.FindingsBySeverity[string(sev)])
	}
	fmt.Fprintln(tw, "\nOpen findings by rule")
	ids := make([]string, 0, len(s.FindingsByRule))
	for id := range s.FindingsByRule {
		ids = append(ids, id)
	}
	sort.Strings(ids)
	for _, id := range ids {
		fmt.Fprintf(tw, "  %s\t%d\t%s\n", id, s.FindingsByRule[id], s.RuleTitles[id])
	}
	fmt.Fprintf(tw, "\nFirst cycle (%.1fs): writes\n", s.DurationSeconds)
	writeWrites(tw, s.Writes)
	fmt.Fprintf(tw, "\nSecond cycle (%.1fs): writes (must all be 0)\n", s.SecondCycle.DurationSeconds)
	writeWrites(tw, s.SecondCycle.Writes)
	fmt.Fprintf(tw, "\nSeen by the simulators: %d Zendesk notes on %d ticket updates, %d Salesforce Tasks\n",
		s.Simulators.ZendeskNotesAdded, s.Simulators.ZendeskTicketUpdates, s.Simulators.SalesforceTasksCreated)
	if err := tw.Flush(); err != nil {
		return err
	}
	if n := s.SampleNote; n != nil {
		fmt.Fprintf(w, "\nA note as the agent sees it, on ticket #%d %q (tags: %s):\n\n%s\n", n.TicketID, n.Subject,
			strings.Join(n.Tags, ", "), indent(n.Body))
	}
	if t := s.SampleTask; t != nil {
		fmt.Fprintf(w, "\nA Task as the account owner sees it, on %s (%s), assigned to %s, priority %s, due %s:\n\n%s\n\n%s\n",
			t.AccountName, t.AccountID, t.Owner, t.Priority, t.Due, indent(t.Subject), indent(t.Description))
	}
	if s.scorecardText != "" {
		fmt.Fprintf(w, "\nThe scorecard of the last 7 days (cxaudit report):\n\n%s", s.scorecardText)
	}
	return nil
}

// indent indents every line of text by four spaces.
func indent(text string) string {
	lines := strings.Split(strings.TrimRight(text, "\n"), "\n")
	for i, l := range lines {
		lines[i] = "    " + l
	}
	return strings.Join(lines, "\n")
}

func writeWrites(w io.Writer, ws Writes) {
	for _, row := range []struct {
		name string
		n    int
	}{
		{"zendesk_notes", ws.ZendeskNotes}, {"zendesk_tag_updates", ws.ZendeskTagUpdates},
		{"salesforce_tasks", ws.SalesforceTasks}, {"salesforce_task_updates", ws.SalesforceTaskUpdates},
	} {
		fmt.Fprintf(w, "  %s\t%d\n", row.name, row.n)
	}
}
