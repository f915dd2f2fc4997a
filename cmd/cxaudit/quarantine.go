package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"text/tabwriter"
	"time"

	"github.com/cxaudit/cxaudit/internal/store"
)

func cmdQuarantine(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer) error {
	fs := newFlags("quarantine", `Usage: cxaudit quarantine list [--json] [--limit N] [--raw]

Lists the records Zendesk or Salesforce sent that could not be read (a
field of the wrong type, a malformed timestamp, comments that answer 404),
which the sync set aside to go on with the others: source, object, id,
what was wrong, when it was first and last seen, and how many passes
rejected it. A record leaves the quarantine when it is stored (its next
change comes whole) or deleted. The metric cxaudit_quarantined_records and
/readyz count them.`, stderr)
	asJSON := fs.Bool("json", false, "print the entries as one JSON array, the records as they came included")
	limit := fs.Int("limit", 100, "at most this many entries")
	raw := fs.Bool("raw", false, "print each record as it came under its line")
	if len(args) == 0 || args[0] != "list" {
		if len(args) > 0 && (args[0] == "-h" || args[0] == "--help") {
			fs.Usage()
			return flag.ErrHelp
		}
		return usageError{errors.New("want: cxaudit quarantine list")}
	}
	if err := parse(fs, args[1:]); err != nil {
		return err
	}
	if *limit < 1 {
		return usageError{fmt.Errorf("--limit %d: want at least 1", *limit)}
	}
	_, st, err := openStore(ctx, getenv)
	if err != nil {
		return err
	}
	defer st.Close()
	if _, err := store.Migrate(ctx, st); err != nil {
		return err
	}
	list, err := st.ListQuarantine(ctx, *limit)
	if err != nil {
		return err
	}
	if *asJSON {
		type entry struct {
			Source    string          `json:"source"`
			Object    string          `json:"object"`
			ID        string          `json:"id"`
			Reason    string          `json:"reason"`
			FirstSeen time.Time       `json:"first_seen"`
			LastSeen  time.Time       `json:"last_seen"`
			Attempts  int             `json:"attempts"`
			Raw       json.RawMessage `json:"raw,omitempty"`
		}
		out := make([]entry, 0, len(list))
		for _, q := range list {
			e := entry{Source: string(q.Source), Object: q.Object, ID: q.ID, Reason: q.Reason, FirstSeen: q.FirstSeen, LastSeen: q.LastSeen, Attempts: q.Attempts}
			if json.Valid(q.Raw) {
				e.Raw = q.Raw
			}
			out = append(out, e)
		}
		enc := json.NewEncoder(stdout)
		enc.SetIndent("", "  ")
		return enc.Encode(out)
	}
	if len(list) == 0 {
		fmt.Fprintln(stdout, "nothing in quarantine")
		return nil
	}
	tw := tabwriter.NewWriter(stdout, 2, 8, 2, ' ', 0)
	fmt.Fprintln(tw, "SOURCE\tOBJECT\tID\tFIRST SEEN\tLAST SEEN\tPASSES\tREASON")
	for _, q := range list {
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%d\t%s\n", q.Source, q.Object, q.ID,
			q.FirstSeen.Format(time.RFC3339), q.LastSeen.Format(time.RFC3339), q.Attempts, q.Reason)
		if *raw {
			fmt.Fprintf(tw, "\t%s\n", q.Raw)
		}
	}
	return tw.Flush()
}
