package rules

import (
	"fmt"
	"maps"
	"slices"
	"strconv"
	"strings"

	"gopkg.in/yaml.v3"

	"github.com/cxaudit/cxaudit/internal/cxaudit"
)

// TargetsFile holds the targets of the KPI scorecard (`cxaudit report`) in
// the rules directory. It holds no rules; without it the scorecard uses
// DefaultTargets. rules/README.md documents it.
const TargetsFile = "targets.yaml"

func isTargetsFile(name string) bool { return name == TargetsFile || name == "targets.yml" }

// The KPIs of the scorecard, in the order it shows them.
const (
	KPIFirstResponse     = "first_response"
	KPISLA               = "sla"
	KPIBacklogAge        = "backlog_age"
	KPIUpdateCadence     = "update_cadence"
	KPIEscalationQuality = "escalation_quality"
	KPIEscalationRate    = "escalation_rate"
	KPIReopenRate        = "reopen_rate"
	KPIOwnerActive       = "crm_owner_active"
	KPIRenewalDate       = "crm_renewal_date"
	KPIExecSponsor       = "crm_exec_sponsor"
	KPIOrgLinked         = "crm_org_linked"
)

// KPIs lists every KPI name in scorecard order.
var KPIs = []string{KPIFirstResponse, KPISLA, KPIBacklogAge, KPIUpdateCadence, KPIEscalationQuality,
	KPIEscalationRate, KPIReopenRate, KPIOwnerActive, KPIRenewalDate, KPIExecSponsor, KPIOrgLinked}

// kpiParams are the settings each KPI takes besides min, max and rules.
var kpiParams = map[string][]string{
	KPIFirstResponse:     {"minutes"},
	KPISLA:               {"priorities"},
	KPIBacklogAge:        {"days", "priorities"},
	KPIUpdateCadence:     {"hours"},
	KPIEscalationQuality: {"tag"},
	KPIEscalationRate:    {"tag"},
	KPIReopenRate:        nil,
	KPIOwnerActive:       nil,
	KPIRenewalDate:       nil,
	KPIExecSponsor:       {"tiers", "roles"},
	KPIOrgLinked:         nil,
}

// Target is what one KPI is held to. Min or Max (or neither: the KPI is
// shown without a target) bounds its value: a share from 0 to 1, or for
// escalation_quality an average score out of 5.
type Target struct {
	KPI string   `json:"kpi"`
	Min *float64 `json:"min,omitempty"`
	Max *float64 `json:"max,omitempty"`
	// Minutes (first_response) and Hours (update_cadence) by Zendesk
	// priority (urgent, high, normal, low); a priority not listed is not
	// measured.
	Minutes map[string]float64 `json:"minutes,omitempty"`
	Hours   map[string]float64 `json:"hours,omitempty"`
	// Days and Priorities: backlog_age counts open tickets of Priorities
	// older than Days; sla measures the tickets of Priorities.
	Days       float64  `json:"days,omitempty"`
	Priorities []string `json:"priorities,omitempty"`
	// Tag marks an escalated ticket (escalation_quality, escalation_rate).
	Tag string `json:"tag,omitempty"`
	// Tiers and Roles: crm_exec_sponsor counts the accounts of Tiers with a
	// contact in one of Roles.
	Tiers []string `json:"tiers,omitempty"`
	Roles []string `json:"roles,omitempty"`
	// Rules are the ids of the rules whose open findings explain a miss.
	Rules []string `json:"rules,omitempty"`
}

// Met reports whether value meets the target; ok is false when the KPI
// has none.
func (t *Target) Met(value float64) (met, ok bool) {
	switch {
	case t.Min != nil:
		return value >= *t.Min-1e-9, true
	case t.Max != nil:
		return value <= *t.Max+1e-9, true
	}
	return false, false
}

// Targets are the scorecard's targets, by KPI name.
type Targets struct {
	// File is where they were read from; "" for the defaults.
	File string             `json:"file,omitempty"`
	KPI  map[string]*Target `json:"kpis"`
}

// Get returns the target of kpi (never nil for a name of KPIs).
func (t *Targets) Get(kpi string) *Target { return t.KPI[kpi] }

func fptr(v float64) *float64 { return &v }

// DefaultTargets are the figures of ../shared/DOMAIN.md and issue 14:
// first response P1 < 15 min, P2 < 1 h, P3 < 4 h; SLA compliance on the
// priority queues ≥ 95 %; P2/P3 open more than 14 days; P1/P2 update
// cadence (1 h, 4 h) met on 100 %; escalation packets ≥ 4.5 / 5; reopen
// rate ≤ 5 %; every account with an active owner, every customer account
// with a renewal date, an executive sponsor on ≥ 70 % of strategic
// (Enterprise) accounts, every organization linked to its account.
func DefaultTargets() *Targets {
	return &Targets{KPI: map[string]*Target{
		KPIFirstResponse: {KPI: KPIFirstResponse, Min: fptr(0.95),
			Minutes: map[string]float64{cxaudit.PriorityUrgent: 15, cxaudit.PriorityHigh: 60, cxaudit.PriorityNormal: 240},
			Rules:   []string{"backlog.first_response_missed", "backlog.first_response_late", "backlog.p1_unanswered_business_hours"}},
		KPISLA: {KPI: KPISLA, Min: fptr(0.95), Priorities: []string{cxaudit.PriorityUrgent, cxaudit.PriorityHigh},
			Rules: []string{"backlog.first_response_missed", "backlog.p1_p2_update_overdue"}},
		KPIBacklogAge: {KPI: KPIBacklogAge, Max: fptr(0.10), Days: 14,
			Priorities: []string{cxaudit.PriorityHigh, cxaudit.PriorityNormal}, Rules: []string{"backlog.p2_p3_stale"}},
		KPIUpdateCadence: {KPI: KPIUpdateCadence, Min: fptr(1),
			Hours: map[string]float64{cxaudit.PriorityUrgent: 1, cxaudit.PriorityHigh: 4},
			Rules: []string{"backlog.p1_p2_update_overdue"}},
		KPIEscalationQuality: {KPI: KPIEscalationQuality, Min: fptr(4.5), Tag: "escalated",
			Rules: []string{"escalation.incomplete_packet", "escalation.no_request_id"}},
		KPIEscalationRate: {KPI: KPIEscalationRate, Tag: "escalated"},
		KPIReopenRate:     {KPI: KPIReopenRate, Max: fptr(0.05), Rules: []string{"backlog.reopened_repeatedly"}},
		KPIOwnerActive:    {KPI: KPIOwnerActive, Min: fptr(1), Rules: []string{"crm.account_owner_inactive"}},
		KPIRenewalDate:    {KPI: KPIRenewalDate, Min: fptr(1), Rules: []string{"crm.renewal_date_missing"}},
		KPIExecSponsor: {KPI: KPIExecSponsor, Min: fptr(0.70), Tiers: []string{"Enterprise"},
			Roles: []string{"Executive Sponsor"}, Rules: []string{"crm.enterprise_no_stakeholders"}},
		KPIOrgLinked: {KPI: KPIOrgLinked, Min: fptr(1), Rules: []string{"crm.organization_unlinked"}},
	}}
}

// pLevels maps the P-levels support teams speak of to Zendesk priorities.
var pLevels = map[string]string{"P1": cxaudit.PriorityUrgent, "P2": cxaudit.PriorityHigh, "P3": cxaudit.PriorityNormal, "P4": cxaudit.PriorityLow}

// PLevel returns the P-level of a Zendesk priority ("P1" for urgent), or
// "none".
func PLevel(priority string) string {
	for p, z := range pLevels {
		if z == priority {
			return p
		}
	}
	return "none"
}

// ParseTargets parses the contents of a targets file; name is used in
// errors only. A KPI the file leaves out keeps its default; a setting a
// KPI leaves out keeps its default too.
func ParseTargets(name string, data []byte) (*Targets, error) {
	l := &loader{seen: map[string]*Rule{}}
	t, _ := l.loadTargets(name, data)
	if len(l.errs) > 0 {
		le := &LoadError{Errors: l.errs}
		le.sort()
		return nil, le
	}
	return t, nil
}

// targetRuleRef is a rule id a target names, where it names it.
type targetRuleRef struct {
	id   string
	node *yaml.Node
	path string
}

func (l *loader) loadTargets(name string, data []byte) (*Targets, []targetRuleRef) {
	f := &fileLoader{loader: l, name: name}
	t := DefaultTargets()
	t.File = name
	var refs []targetRuleRef
	var doc yaml.Node
	if err := safeUnmarshal(data, &doc); err != nil {
		l.errs = append(l.errs, yamlError(name, data, err))
		return t, nil
	}
	if doc.Kind == 0 || len(doc.Content) == 0 {
		return t, nil
	}
	root := resolve(doc.Content[0])
	if isNull(root) {
		return t, nil
	}
	top := f.mapping(root, "$", []string{"kpis"})
	kn, ok := top["kpis"]
	if !ok || isNull(kn) {
		return t, nil
	}
	if kn.Kind == yaml.MappingNode {
		for i := 0; i+1 < len(kn.Content); i += 2 {
			if k := kn.Content[i]; k.Kind == yaml.ScalarNode && !slices.Contains(KPIs, k.Value) {
				f.errorf(k, "$.kpis", "unknown KPI '%s'%s (the scorecard has: %s)", k.Value,
					didYouMean(nearest(k.Value, KPIs)), strings.Join(KPIs, ", "))
			}
		}
	}
	for kpi, vn := range f.mapping(kn, "$.kpis", nil) {
		if !slices.Contains(KPIs, kpi) || isNull(vn) {
			continue
		}
		p := "$.kpis." + kpi
		tg := t.KPI[kpi]
		known := append([]string{"min", "max", "rules"}, kpiParams[kpi]...)
		m := f.mapping(vn, p, known)
		share := kpi != KPIEscalationQuality
		bound := func(key string) *float64 {
			n, ok := m[key]
			if !ok {
				return nil
			}
			if isNull(n) {
				return nil
			}
			v, ok := f.number(n, p+"."+key)
			if !ok {
				return nil
			}
			switch {
			case share && (v < 0 || v > 1):
				f.errorf(n, p+"."+key, "%s is a share from 0 to 1 (write 0.95 for 95 %%), got %s", kpi, n.Value)
				return nil
			case !share && (v < 0 || v > 5):
				f.errorf(n, p+"."+key, "%s is an average score out of 5, from 0 to 5, got %s", kpi, n.Value)
				return nil
			}
			return &v
		}
		_, hasMin := m["min"]
		_, hasMax := m["max"]
		if hasMin && hasMax {
			f.errorf(vn, p, "give one of min and max, not both")
		}
		if hasMin || hasMax {
			tg.Min, tg.Max = bound("min"), bound("max")
		}
		if n, ok := m["rules"]; ok {
			tg.Rules = nil
			if !isNull(n) && !(n.Kind == yaml.SequenceNode && len(n.Content) == 0) {
				ids := f.stringList(n, p+".rules")
				for i, id := range ids {
					refs = append(refs, targetRuleRef{id: id, node: n.Content[i], path: fmt.Sprintf("%s.rules[%d]", p, i)})
				}
				tg.Rules = ids
			}
		}
		if n, ok := m["minutes"]; ok {
			tg.Minutes = f.byPriority(n, p+".minutes")
		}
		if n, ok := m["hours"]; ok {
			tg.Hours = f.byPriority(n, p+".hours")
		}
		if n, ok := m["days"]; ok {
			if v, ok := f.number(n, p+".days"); ok {
				if v <= 0 {
					f.errorf(n, p+".days", "expected a number of days above 0, got %s", n.Value)
				}
				tg.Days = v
			}
		}
		if n, ok := m["priorities"]; ok {
			var ps []string
			for i, s := range f.stringList(n, p+".priorities") {
				if z, ok := f.priority(n.Content[i], fmt.Sprintf("%s.priorities[%d]", p, i), s); ok {
					ps = append(ps, z)
				}
			}
			tg.Priorities = ps
		}
		if n, ok := m["tag"]; ok {
			if s, ok := f.scalar(n, p+".tag"); ok {
				if strings.TrimSpace(s) == "" {
					f.errorf(n, p+".tag", "name the tag that marks an escalated ticket, like escalated")
				}
				tg.Tag = s
			}
		}
		if n, ok := m["tiers"]; ok {
			tg.Tiers = f.stringList(n, p+".tiers")
		}
		if n, ok := m["roles"]; ok {
			tg.Roles = f.stringList(n, p+".roles")
		}
	}
	return t, refs
}

// number reads a number.
func (f *fileLoader) number(n *yaml.Node, path string) (float64, bool) {
	s, ok := f.scalar(n, path)
	if !ok {
		return 0, false
	}
	v, err := strconv.ParseFloat(s, 64)
	if err != nil || n.Tag == "!!str" {
		hint := ""
		if strings.HasSuffix(strings.TrimSpace(s), "%") {
			hint = " (write a share as a number from 0 to 1: 0.95 for 95 %)"
		}
		f.errorf(n, path, "expected a number, got %q%s", s, hint)
		return 0, false
	}
	return v, true
}

// priority reads a P-level (P1–P4) or a Zendesk priority and returns the
// Zendesk priority.
func (f *fileLoader) priority(n *yaml.Node, path, s string) (string, bool) {
	if z, ok := pLevels[strings.ToUpper(s)]; ok {
		return z, true
	}
	if slices.Contains(slices.Collect(maps.Values(pLevels)), s) {
		return s, true
	}
	f.errorf(n, path, "unknown priority %q: write P1, P2, P3 or P4 (or Zendesk's urgent, high, normal, low)", s)
	return "", false
}

// byPriority reads a mapping of priority to a positive number.
func (f *fileLoader) byPriority(n *yaml.Node, path string) map[string]float64 {
	out := map[string]float64{}
	for key, vn := range f.mapping(n, path, nil) {
		p := path + "." + key
		z, ok := f.priority(vn, p, key)
		if !ok {
			continue
		}
		v, ok := f.number(vn, p)
		if !ok {
			continue
		}
		if v <= 0 {
			f.errorf(vn, p, "expected a number above 0, got %s", vn.Value)
			continue
		}
		out[z] = v
	}
	return out
}

// checkTargetRules reports the rule ids a targets file names that no rule
// has.
func (l *loader) checkTargetRules(name string, refs []targetRuleRef) {
	if len(refs) == 0 {
		return
	}
	ids := make([]string, 0, len(l.rules))
	for _, r := range l.rules {
		ids = append(ids, r.ID)
	}
	f := &fileLoader{loader: l, name: name}
	for _, ref := range refs {
		if !slices.Contains(ids, ref.id) {
			f.errorf(ref.node, ref.path, "no rule has the id %q%s", ref.id, didYouMean(nearest(ref.id, ids)))
		}
	}
}
