package report_test

import (
	"bytes"
	"context"
	"encoding/json"
	"html"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/cxaudit/cxaudit/internal/report"
	"github.com/cxaudit/cxaudit/internal/store/storetest"
)

// chromium returns the headless browser the page test drives: $CHROMIUM,
// else chromium on the PATH (Debian's package, which .ci/run installs). It
// fails the test when there is none: the page is not checked otherwise.
func chromium(t *testing.T) string {
	t.Helper()
	if p := os.Getenv("CHROMIUM"); p != "" {
		return p
	}
	for _, name := range []string{"chromium", "chromium-browser"} {
		if p, err := exec.LookPath(name); err == nil {
			return p
		}
	}
	t.Fatal("Chromium is required for the scorecard's browser test and was not found (apt-get install chromium, or set CHROMIUM); .ci/run installs it")
	return ""
}

// artifactDir is where the test keeps what a person may want to look at:
// $TEST_ARTIFACTS when set (.ci/run sets it), else the test's artifact
// directory (kept with go test -artifacts).
func artifactDir(t *testing.T) string {
	t.Helper()
	if d := os.Getenv("TEST_ARTIFACTS"); d != "" {
		d = filepath.Join(d, t.Name())
		require.NoError(t, os.MkdirAll(d, 0o755))
		return d
	}
	return t.ArtifactDir()
}

func runChromium(t *testing.T, bin string, args ...string) []byte {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 90*time.Second)
	defer cancel()
	base := []string{"--headless", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage", "--no-first-run",
		"--disable-extensions", "--disable-background-networking", "--user-data-dir=" + t.TempDir()}
	cmd := exec.CommandContext(ctx, bin, append(base, args...)...)
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	require.NoError(t, cmd.Run(), "%s %v: %s", bin, args, stderr.String())
	return stdout.Bytes()
}

var (
	rowRe  = regexp.MustCompile(`(?s)<tr id="kpi-([a-z_]+)" data-kpi="[a-z_]+">(.*?)</tr>`)
	cellRe = regexp.MustCompile(`(?s)<td class="(value|target|met|numerator|denominator)[^"]*"[^>]*>(.*?)</td>`)
	valRe  = regexp.MustCompile(`data-value="([^"]*)"`)
	openRe = regexp.MustCompile(`<section id="findings-([a-z_]+)" class="kpi-findings" data-kpi="[a-z_]+" data-open="(\d+)">`)
	itemRe = regexp.MustCompile(`<li id="finding-([^"]+)">`)
)

// TestScorecardInChromium loads the HTML scorecard in headless Chromium and
// checks that the figures the browser shows are the --json figures, KPI
// by KPI, and that each KPI's open findings are on the page; it keeps a
// screenshot of the page.
func TestScorecardInChromium(t *testing.T) {
	t.Parallel()
	bin := chromium(t)
	st := storetest.NewSQLite(t)
	Seed(t, st)
	r, err := report.Compute(context.Background(), st, report.Options{Since: since, Now: now})
	require.NoError(t, err)

	// The figures as --json gives them.
	var js bytes.Buffer
	require.NoError(t, r.WriteJSON(&js))
	var want report.Report
	require.NoError(t, json.Unmarshal(js.Bytes(), &want))

	dir := artifactDir(t)
	page := filepath.Join(dir, "scorecard.html")
	var b bytes.Buffer
	require.NoError(t, r.WriteHTML(&b))
	require.NoError(t, os.WriteFile(page, b.Bytes(), 0o644))
	url := "file://" + page

	dom := string(runChromium(t, bin, "--dump-dom", url))
	require.Contains(t, dom, "<h1>cxaudit scorecard</h1>", "Chromium rendered the page")
	rows := rowRe.FindAllStringSubmatch(dom, -1)
	require.Len(t, rows, len(want.KPIs), "one row per KPI in the DOM")
	for i, row := range rows {
		k := want.KPIs[i]
		require.Equal(t, k.Name, row[1], "row %d", i)
		cells := map[string]string{}
		for _, c := range cellRe.FindAllStringSubmatch(row[2], -1) {
			cells[c[1]] = html.UnescapeString(strings.TrimSpace(c[2]))
		}
		require.Equal(t, report.FormatNumber(k.Numerator), cells["numerator"], "%s numerator", k.Name)
		require.Equal(t, strconv.Itoa(k.Denominator), cells["denominator"], "%s denominator", k.Name)
		require.Equal(t, report.FormatValue(k.Unit, k.Value), cells["value"], "%s value", k.Name)
		require.Equal(t, report.FormatTarget(k.Unit, k.Target), cells["target"], "%s target", k.Name)
		require.Equal(t, report.FormatMet(k.Met), cells["met"], "%s met", k.Name)
		raw := valRe.FindStringSubmatch(row[2])
		require.NotNil(t, raw, "%s data-value", k.Name)
		if k.Value == nil {
			require.Empty(t, raw[1], "%s has no value", k.Name)
		} else {
			v, err := strconv.ParseFloat(raw[1], 64)
			require.NoError(t, err)
			require.Equal(t, *k.Value, v, "%s exact value", k.Name)
		}
	}
	opens := openRe.FindAllStringSubmatch(dom, -1)
	require.Len(t, opens, len(want.KPIs))
	for i, o := range opens {
		require.Equal(t, want.KPIs[i].Name, o[1])
		require.Equal(t, strconv.Itoa(want.KPIs[i].Findings.Open), o[2], "%s open findings", o[1])
	}
	var items []string
	for _, m := range itemRe.FindAllStringSubmatch(dom, -1) {
		items = append(items, m[1])
	}
	require.Contains(t, items, "fp-frt-2", "the open finding is linked from its KPIs")
	require.NotContains(t, items, "fp-frt-4", "a resolved finding is not")

	shot := filepath.Join(dir, "scorecard.png")
	runChromium(t, bin, "--hide-scrollbars", "--window-size=1280,2400", "--screenshot="+shot, url)
	png, err := os.ReadFile(shot)
	require.NoError(t, err)
	require.True(t, bytes.HasPrefix(png, []byte("\x89PNG\r\n\x1a\n")), "a PNG screenshot")
	require.Greater(t, len(png), 10_000, "the screenshot shows something")
	t.Logf("screenshot of the scorecard: %s (page %s)", shot, page)
}
