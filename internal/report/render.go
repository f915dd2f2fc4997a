package report

import (
	"encoding/json"
	"fmt"
	"io"
	"strconv"
	"strings"
	"text/tabwriter"
	"time"
)

// FormatValue writes a KPI value as the scorecard shows it: a share as a
// percentage with one decimal ("66.7 %"), a score with two ("1.25"), and
// "—" when there is none (denominator 0).
func FormatValue(unit string, v *float64) string {
	if v == nil {
		return "—"
	}
	if unit == "score" {
		return strconv.FormatFloat(*v, 'f', 2, 64)
	}
	return strconv.FormatFloat(*v*100, 'f', 1, 64) + " %"
}

// FormatTarget writes a target ("≥ 95 %", "≤ 5 %", "≥ 4.5"), "—" for none.
func FormatTarget(unit string, b *Bound) string {
	if b == nil {
		return "—"
	}
	op := map[string]string{">=": "≥", "<=": "≤"}[b.Op]
	if unit == "score" {
		return op + " " + strconv.FormatFloat(b.Value, 'f', -1, 64)
	}
	return op + " " + strconv.FormatFloat(b.Value*100, 'f', -1, 64) + " %"
}

// FormatMet writes whether a figure meets its target: "yes", "no", or
// "n/a" without a value or a target.
func FormatMet(m *bool) string {
	switch {
	case m == nil:
		return "n/a"
	case *m:
		return "yes"
	}
	return "no"
}

// FormatNumber writes a numerator: whole numbers without decimals, a sum
// of scores with up to two.
func FormatNumber(v float64) string { return strconv.FormatFloat(v, 'f', -1, 64) }

// FormatCount writes numerator/denominator, or "no input" for a
// denominator of 0.
func FormatCount(f Figure) string {
	if f.Denominator == 0 {
		return "no input"
	}
	return FormatNumber(f.Numerator) + "/" + strconv.Itoa(f.Denominator)
}

func day(t time.Time) string { return t.UTC().Format("2006-01-02") }

// Dimensions a text report can break KPIs down by.
var Dimensions = []string{"priority", "group", "tier", "owner"}

// Slices returns the KPI's breakdown by dim (one of Dimensions).
func (k *KPI) Slices(dim string) []Slice {
	switch dim {
	case "priority":
		return k.ByPriority
	case "group":
		return k.ByGroup
	case "tier":
		return k.ByTier
	case "owner":
		return k.ByOwner
	}
	return nil
}

// WriteText writes the scorecard as a terminal table, each KPI followed by
// its figures by dim ("" for none), then the weekly trend.
func (r *Report) WriteText(w io.Writer, dim string) error {
	fmt.Fprintf(w, "cxaudit scorecard %s to %s (%d %s), targets: %s\n\n", r.Since.UTC().Format("2006-01-02 15:04"),
		r.Until.UTC().Format("2006-01-02 15:04 UTC"), len(r.Weeks), plural(len(r.Weeks), "week", "weeks"), r.Targets)
	tw := tabwriter.NewWriter(w, 2, 8, 2, ' ', 0)
	fmt.Fprintln(tw, "KPI\tvalue\ttarget\tmet\tnum/den\topen findings")
	for i := range r.KPIs {
		k := &r.KPIs[i]
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%d\n", k.Title, FormatValue(k.Unit, k.Value), FormatTarget(k.Unit, k.Target),
			FormatMet(k.Met), FormatCount(k.Figure), k.Findings.Open)
		for _, s := range k.Slices(dim) {
			fmt.Fprintf(tw, "  %s %s\t%s\t\t%s\t%s\t\n", dim, s.Key, FormatValue(k.Unit, s.Value), FormatMet(s.Met), FormatCount(s.Figure))
		}
	}
	if err := tw.Flush(); err != nil {
		return err
	}
	if len(r.Weeks) == 0 {
		return nil
	}
	fmt.Fprintln(w, "\nweekly (week starting)")
	tw = tabwriter.NewWriter(w, 2, 8, 2, ' ', 0)
	var head strings.Builder
	head.WriteString("KPI")
	for _, wk := range r.Weeks {
		head.WriteString("\t" + day(wk.Start))
	}
	fmt.Fprintln(tw, head.String())
	for i := range r.KPIs {
		k := &r.KPIs[i]
		var b strings.Builder
		b.WriteString(k.Name)
		for _, f := range k.Weekly {
			b.WriteString("\t" + FormatValue(k.Unit, f.Value))
			if f.Snapshot != "" {
				b.WriteString("*")
			}
		}
		fmt.Fprintln(tw, b.String())
	}
	if err := tw.Flush(); err != nil {
		return err
	}
	_, err := fmt.Fprintln(w, "\n— : no input in the period (denominator 0); * : from the week's last daily snapshot. --json for every breakdown, --html FILE for the page.")
	return err
}

// WriteJSON writes the scorecard as one JSON object.
func (r *Report) WriteJSON(w io.Writer) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(r)
}

func plural(n int, one, many string) string {
	if n == 1 {
		return one
	}
	return many
}
