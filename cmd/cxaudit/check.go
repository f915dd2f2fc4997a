package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"strings"

	"github.com/cxaudit/cxaudit/internal/audit"
	"github.com/cxaudit/cxaudit/internal/cxaudit"
	"github.com/cxaudit/cxaudit/internal/rules"
	"github.com/cxaudit/cxaudit/internal/store"
)

const rulesCheckHelp = `Usage: cxaudit rules check [--database URL] [DIR]

Compiles every rule file in DIR (default ./rules) and its field map
(fields.yaml), and prints every error with its file, line and column.

With a synced store at hand (--database, or CXAUDIT_DATABASE_URL), it also
checks the rules and the field map against the tenant's own schema, as the
sync last read it: a custom field a rule reads (account.fields.X,
ticket.fields.X, …) that the tenant does not have, with the name it was
most likely meant to be, and a field the field map names that the org
lacks or that has another type. Without one it checks syntax and types
only. Exits 1 when anything is wrong.`

func cmdRulesCheck(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer) error {
	fs := newFlags("rules check", rulesCheckHelp, stderr)
	dbURL := fs.String("database", "", "the synced store to check the rules against (default $CXAUDIT_DATABASE_URL; none: syntax and types only)")
	if err := parse(fs, args); err != nil {
		return err
	}
	dir := rulesDirArg(fs)
	if err := rules.Check(dir, stdout); err != nil {
		return errors.New("rules have errors")
	}
	url := *dbURL
	if url == "" {
		url = getenv("CXAUDIT_DATABASE_URL")
	}
	if url == "" {
		fmt.Fprintln(stdout, "rules: no store given (--database or CXAUDIT_DATABASE_URL): checked syntax and types, not the tenant's fields")
		return nil
	}
	return checkAgainstTenant(ctx, dir, url, stdout)
}

// checkAgainstTenant checks the rules of dir against the schema the sync
// stored in the store at url. It never creates a store.
func checkAgainstTenant(ctx context.Context, dir, url string, stdout io.Writer) error {
	if !strings.Contains(url, "://") && !strings.Contains(url, "=") {
		if _, err := os.Stat(url); err != nil {
			fmt.Fprintf(stdout, "rules: no store at %s (sync once first): checked syntax and types, not the tenant's fields\n", url)
			return nil
		}
	}
	set, err := rules.LoadDir(dir)
	if err != nil {
		return err
	}
	st, err := store.Open(ctx, url)
	if err != nil {
		return fmt.Errorf("open the store to check against: %w", err)
	}
	defer st.Close()
	t, err := audit.LoadTenant(ctx, st, set.FieldMap())
	if err != nil {
		fmt.Fprintf(stdout, "rules: the store has no synced schema yet (%v): checked syntax and types, not the tenant's fields\n", err)
		return nil
	}
	errs := set.CheckTenant(t)
	for _, e := range errs {
		fmt.Fprintln(stdout, e.Error())
	}
	var against []string
	for _, src := range []string{"zendesk", "salesforce"} {
		if t.Known(cxaudit.Source(src)) {
			against = append(against, src)
		}
	}
	if len(against) == 0 {
		fmt.Fprintln(stdout, "rules: the store has no synced schema yet (sync once first): checked syntax and types, not the tenant's fields")
		return nil
	}
	if len(errs) > 0 {
		fmt.Fprintf(stdout, "rules: %d %s against the %s schema\n", len(errs), map[bool]string{true: "error", false: "errors"}[len(errs) == 1], strings.Join(against, " and "))
		return errors.New("rules do not fit the tenant")
	}
	fmt.Fprintf(stdout, "rules: every field the rules read is in the %s schema\n", strings.Join(against, " and "))
	return nil
}
