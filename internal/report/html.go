package report

import (
	"html/template"
	"io"
	"strconv"
	"strings"
)

// The HTML page is self-contained: inline CSS and inline SVG, no script,
// no font or image fetched, so it opens from a file, a mail attachment or
// behind the worker's authentication alike. Every figure sits in an
// element a test (and a person) can find: the KPI's row has
// data-kpi="<name>", its cells the classes value, target, met, numerator
// and denominator.

// trend is the SVG of a KPI's weekly values.
type trend struct {
	W, H   int
	Points string // polyline points of the weeks with a value
	Dots   []dot
	Target *float64 // y of the target line
	Labels []label
}

type dot struct {
	X, Y  float64
	Title string
}

type label struct {
	X    float64
	Text string
}

// bars is the SVG of a KPI's values by priority.
type bars struct {
	W, H int
	Bars []bar
}

type bar struct {
	X, Y, W, H float64
	LX, TY     float64 // the labels' centre and the value's baseline
	Key, Text  string
	Met        string // yes, no or n/a: the bar's colour
}

const chartW, chartH, pad = 260, 90, 14

func (k *KPI) scale() float64 {
	if k.Unit == "score" {
		return 5
	}
	return 1
}

func (k *KPI) y(v float64) float64 {
	return float64(pad) + (1-min(v/k.scale(), 1))*float64(chartH-2*pad)
}

// Trend lays out the weekly trend of k over weeks.
func (k *KPI) Trend(weeks []Week) trend {
	t := trend{W: chartW, H: chartH}
	n := len(k.Weekly)
	step := float64(chartW-2*pad) / float64(max(n-1, 1))
	var pts []string
	for i, f := range k.Weekly {
		x := float64(pad) + float64(i)*step
		if n == 1 {
			x = chartW / 2
		}
		if i < len(weeks) && (i == 0 || i == n-1 || n <= 6) {
			t.Labels = append(t.Labels, label{X: x, Text: weeks[i].Start.UTC().Format("01-02")})
		}
		if f.Value == nil {
			continue
		}
		y := k.y(*f.Value)
		pts = append(pts, strconv.FormatFloat(x, 'f', 1, 64)+","+strconv.FormatFloat(y, 'f', 1, 64))
		title := FormatValue(k.Unit, f.Value) + " (" + FormatCount(f) + ")"
		if i < len(weeks) {
			title = "week of " + day(weeks[i].Start) + ": " + title
		}
		if f.Snapshot != "" {
			title += ", from the snapshot of " + f.Snapshot
		}
		t.Dots = append(t.Dots, dot{X: x, Y: y, Title: title})
	}
	t.Points = strings.Join(pts, " ")
	if k.Target != nil {
		y := k.y(k.Target.Value)
		t.Target = &y
	}
	return t
}

// Bars lays out k's values by priority.
func (k *KPI) Bars() bars {
	b := bars{W: chartW, H: chartH}
	n := len(k.ByPriority)
	if n == 0 {
		return b
	}
	slot := float64(chartW-2*pad) / float64(n)
	for i, s := range k.ByPriority {
		v := 0.0
		if s.Value != nil {
			v = *s.Value
		}
		y := k.y(v)
		x := float64(pad) + float64(i)*slot
		b.Bars = append(b.Bars, bar{X: x + slot*0.15, Y: y, W: slot * 0.7, H: float64(chartH-pad) - y,
			LX: x + slot/2, TY: max(y-2, 9), Key: s.Key, Text: FormatValue(k.Unit, s.Value), Met: FormatMet(s.Met)})
	}
	return b
}

var page = template.Must(template.New("report").Funcs(template.FuncMap{
	"value":  FormatValue,
	"target": FormatTarget,
	"met":    FormatMet,
	"num":    FormatNumber,
	"count":  FormatCount,
	"day":    day,
	"raw": func(v *float64) string {
		if v == nil {
			return ""
		}
		return strconv.FormatFloat(*v, 'f', -1, 64)
	},
	"f1":  func(v float64) string { return strconv.FormatFloat(v, 'f', 1, 64) },
	"sub": func(a, b int) int { return a - b },
	"div": func(a, b int) int { return a / b },
}).Parse(`<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>cxaudit scorecard {{day .Since}} to {{day .Until}}</title>
<style>
body { font: 14px/1.4 system-ui, -apple-system, "Segoe UI", sans-serif; color: #1d2330; margin: 24px; background: #f6f7f9; }
h1 { font-size: 20px; margin: 0 0 4px; }
h2 { font-size: 16px; margin: 28px 0 8px; }
.sub { color: #5b6472; margin-bottom: 16px; }
table { border-collapse: collapse; background: #fff; box-shadow: 0 1px 2px rgba(0,0,0,.08); }
th, td { padding: 6px 10px; border-bottom: 1px solid #e5e7eb; text-align: left; vertical-align: top; }
th { background: #eef0f3; font-weight: 600; }
td.value, td.numerator, td.denominator, td.target { text-align: right; font-variant-numeric: tabular-nums; }
.met-yes { color: #116329; font-weight: 600; }
.met-no { color: #b42318; font-weight: 600; }
.met-na { color: #5b6472; }
.cards { display: grid; grid-template-columns: repeat(auto-fill, minmax(300px, 1fr)); gap: 12px; }
.card { background: #fff; padding: 12px; box-shadow: 0 1px 2px rgba(0,0,0,.08); }
.card h3 { font-size: 14px; margin: 0 0 6px; }
.measures { color: #5b6472; font-size: 12px; }
svg text { font-size: 10px; fill: #5b6472; }
svg .line { fill: none; stroke: #2f6feb; stroke-width: 2; }
svg .dot { fill: #2f6feb; }
svg .goal { stroke: #b42318; stroke-dasharray: 4 3; }
svg .bar-yes { fill: #2da44e; } svg .bar-no { fill: #d1242f; } svg .bar-na { fill: #8c959f; }
ul.findings { background: #fff; padding: 8px 8px 8px 28px; margin: 0; }
.fp { font-family: ui-monospace, monospace; font-size: 12px; color: #5b6472; }
a { color: #0b57d0; }
</style>
</head>
<body>
<h1>cxaudit scorecard</h1>
<div class="sub">{{.Since.UTC.Format "2006-01-02 15:04"}} to {{.Until.UTC.Format "2006-01-02 15:04 UTC"}} · {{len .Weeks}} week(s) · targets: {{.Targets}} · — means no input in the period (denominator 0)</div>
<table id="scorecard">
<thead><tr><th>KPI</th><th>value</th><th>target</th><th>met</th><th>numerator</th><th>denominator</th><th>open findings</th></tr></thead>
<tbody>
{{range .KPIs}}<tr id="kpi-{{.Name}}" data-kpi="{{.Name}}">
<td><a href="#card-{{.Name}}">{{.Title}}</a></td>
<td class="value" data-value="{{raw .Value}}">{{value .Unit .Value}}</td>
<td class="target">{{target .Unit .Target}}</td>
<td class="met met-{{if eq (met .Met) "n/a"}}na{{else}}{{met .Met}}{{end}}">{{met .Met}}</td>
<td class="numerator">{{num .Numerator}}</td>
<td class="denominator">{{.Denominator}}</td>
<td class="findings"><a href="#findings-{{.Name}}">{{.Findings.Open}} open</a></td>
</tr>
{{end}}</tbody>
</table>

<h2>Trend by week and figures by priority</h2>
<div class="cards">
{{$weeks := .Weeks}}{{range .KPIs}}{{$u := .Unit}}<div class="card" id="card-{{.Name}}">
<h3>{{.Title}}: {{value .Unit .Value}} <span class="met-{{if eq (met .Met) "n/a"}}na{{else}}{{met .Met}}{{end}}">({{met .Met}})</span></h3>
<div class="measures">{{.Measures}}. Target {{target .Unit .Target}}.</div>
{{with .Trend $weeks}}{{$t := .}}<svg class="trend" width="{{.W}}" height="{{.H}}" viewBox="0 0 {{.W}} {{.H}}" role="img" aria-label="weekly trend">
<line x1="0" y1="{{sub .H 14}}" x2="{{.W}}" y2="{{sub .H 14}}" stroke="#d0d7de"/>
{{with .Target}}<line class="goal" x1="0" y1="{{f1 .}}" x2="{{$t.W}}" y2="{{f1 .}}"/>{{end}}
{{if .Points}}<polyline class="line" points="{{.Points}}"/>{{end}}
{{range .Dots}}<circle class="dot" cx="{{f1 .X}}" cy="{{f1 .Y}}" r="3"><title>{{.Title}}</title></circle>{{end}}
{{range .Labels}}<text x="{{f1 .X}}" y="{{$t.H}}" text-anchor="middle">{{.Text}}</text>{{end}}
{{if not .Dots}}<text x="{{div .W 2}}" y="{{div .H 2}}" text-anchor="middle">no input</text>{{end}}
</svg>{{end}}
{{with .Bars}}{{$b := .}}{{if .Bars}}<svg class="bars" width="{{.W}}" height="{{.H}}" viewBox="0 0 {{.W}} {{.H}}" role="img" aria-label="by priority">
{{range .Bars}}<rect class="bar-{{if eq .Met "n/a"}}na{{else}}{{.Met}}{{end}}" x="{{f1 .X}}" y="{{f1 .Y}}" width="{{f1 .W}}" height="{{f1 .H}}"><title>{{.Key}}: {{.Text}}</title></rect>
<text x="{{f1 .LX}}" y="{{f1 .TY}}" text-anchor="middle">{{.Text}}</text><text x="{{f1 .LX}}" y="{{$b.H}}" text-anchor="middle">{{.Key}}</text>{{end}}
</svg>{{end}}{{end}}
{{if .ByPriority}}<table class="slices"><tr><th>priority</th><th>value</th><th>num/den</th><th>met</th></tr>
{{range .ByPriority}}<tr><td>{{.Key}}</td><td class="value">{{value $u .Value}}</td><td>{{count .Figure}}</td><td>{{met .Met}}</td></tr>{{end}}
</table>{{end}}
</div>
{{end}}</div>

<h2>Breakdowns</h2>
{{range .KPIs}}{{$k := .}}{{if or .ByGroup .ByTier .ByOwner}}<details><summary>{{.Title}}</summary>
<table class="slices"><tr><th>dimension</th><th>key</th><th>value</th><th>num/den</th><th>met</th></tr>
{{range .ByGroup}}<tr><td>group</td><td>{{.Key}}</td><td class="value">{{value $k.Unit .Value}}</td><td>{{count .Figure}}</td><td>{{met .Met}}</td></tr>{{end}}
{{range .ByTier}}<tr><td>tier</td><td>{{.Key}}</td><td class="value">{{value $k.Unit .Value}}</td><td>{{count .Figure}}</td><td>{{met .Met}}</td></tr>{{end}}
{{range .ByOwner}}<tr><td>owner</td><td>{{.Key}}</td><td class="value">{{value $k.Unit .Value}}</td><td>{{count .Figure}}</td><td>{{met .Met}}</td></tr>{{end}}
</table></details>
{{end}}{{end}}

<h2>Open findings behind each KPI</h2>
{{range .KPIs}}<section id="findings-{{.Name}}" class="kpi-findings" data-kpi="{{.Name}}" data-open="{{.Findings.Open}}">
<h3>{{.Title}}: {{.Findings.Open}} open{{if .Findings.Rules}} (rules {{range $i, $r := .Findings.Rules}}{{if $i}}, {{end}}{{$r}}{{end}}){{else}} (no rule named in the targets){{end}}</h3>
{{if .Findings.Items}}<ul class="findings">
{{range .Findings.Items}}<li id="finding-{{.Fingerprint}}"><strong>{{.Title}}</strong> · {{.EntityKind}} {{.EntityID}} · {{.Severity}}: {{.Message}} <span class="fp">{{.RuleID}} {{.Fingerprint}}</span></li>
{{end}}</ul>{{if gt .Findings.Open (len .Findings.Items)}}<p>and {{sub .Findings.Open (len .Findings.Items)}} more (cxaudit lists {{len .Findings.Items}}).</p>{{end}}{{end}}
</section>
{{end}}
</body>
</html>
`))

// WriteHTML writes the scorecard as one self-contained HTML page.
func (r *Report) WriteHTML(w io.Writer) error { return page.Execute(w, r) }
