package rules

import (
	"cmp"
	"fmt"
	"maps"
	"regexp"
	"slices"
	"strconv"
	"strings"

	"gopkg.in/yaml.v3"

	"github.com/cxaudit/cxaudit/internal/tenant"
)

// FieldMapFile is the tenant's field map in the rules directory: how this
// Salesforce org and Zendesk account name what cxaudit reads. It lives
// with the rules (reviewed, deployed and reloaded with them) but holds no
// rules. rules/README.md documents it.
const FieldMapFile = "fields.yaml"

// isFieldMapFile reports whether a file in the rules directory is the
// field map.
func isFieldMapFile(name string) bool { return name == FieldMapFile || name == "fields.yml" }

var (
	apiNameRe   = regexp.MustCompile(`^[A-Za-z][A-Za-z0-9_]*$`)
	fieldNameRe = regexp.MustCompile(`^[a-z][a-z0-9_]*$`)
)

// ParseFieldMap parses the contents of a field map; name is used in
// errors only.
func ParseFieldMap(name string, data []byte) (*tenant.FieldMap, error) {
	l := &loader{seen: map[string]*Rule{}}
	l.loadFieldMap(name, data)
	if len(l.errs) > 0 {
		le := &LoadError{Errors: l.errs}
		le.sort()
		return nil, le
	}
	return l.fieldMap, nil
}

// loadFieldMap parses the field map strictly, every problem at its line
// and column, and adds it to the loader.
func (l *loader) loadFieldMap(name string, data []byte) {
	f := &fileLoader{loader: l, name: name}
	fm := &tenant.FieldMap{Positions: map[string]tenant.Position{}}
	l.fieldMap = fm
	var doc yaml.Node
	if err := safeUnmarshal(data, &doc); err != nil {
		l.errs = append(l.errs, yamlError(name, data, err))
		return
	}
	if doc.Kind == 0 || len(doc.Content) == 0 {
		fm.Seal()
		return
	}
	root := resolve(doc.Content[0])
	if root.Kind == yaml.ScalarNode && root.Tag == "!!null" {
		fm.Seal()
		return
	}
	at := func(n *yaml.Node) tenant.Position { return tenant.Position{File: name, Line: n.Line, Column: n.Column} }
	top := f.mapping(root, "$", []string{"salesforce", "zendesk"})
	if sn, ok := top["salesforce"]; ok && !isNull(sn) {
		objects := []string{tenant.ObjectAccount, tenant.ObjectContact, tenant.ObjectOpportunity}
		keys := append(slices.Clone(objects), "customer_account_types", "opportunity_renewal_types", "task_status")
		sf := f.mapping(sn, "$.salesforce", keys)
		for _, object := range objects {
			on, ok := sf[object]
			if !ok || isNull(on) {
				continue
			}
			p := "$.salesforce." + object
			names := tenant.MappableNames(object)
			if on.Kind == yaml.MappingNode {
				for i := 0; i+1 < len(on.Content); i += 2 {
					if k := on.Content[i]; k.Kind == yaml.ScalarNode && !slices.Contains(names, k.Value) {
						f.errorf(k, p, "unknown field '%s'%s (cxaudit maps these %s fields: %s)", k.Value,
							didYouMean(nearest(k.Value, names)), object, strings.Join(names, ", "))
					}
				}
			}
			for field, vn := range f.mapping(on, p, nil) {
				if !slices.Contains(names, field) {
					continue
				}
				api, ok := f.scalar(vn, p+"."+field)
				switch {
				case !ok:
				case !apiNameRe.MatchString(api):
					f.errorf(vn, p+"."+field, "invalid field API name %q: write the field's API name as Setup > Object Manager shows it, like Contract_End_Date__c", api)
				default:
					if fm.Salesforce == nil {
						fm.Salesforce = map[string]map[string]string{}
					}
					if fm.Salesforce[object] == nil {
						fm.Salesforce[object] = map[string]string{}
					}
					fm.Salesforce[object][field] = api
					fm.Positions["salesforce."+object+"."+field] = at(vn)
				}
			}
		}
		if n, ok := sf["customer_account_types"]; ok {
			fm.CustomerAccountTypes = f.stringList(n, "$.salesforce.customer_account_types")
			fm.Positions["salesforce.customer_account_types"] = at(n)
		}
		if n, ok := sf["opportunity_renewal_types"]; ok {
			fm.RenewalOpportunityTypes = f.stringList(n, "$.salesforce.opportunity_renewal_types")
			fm.Positions["salesforce.opportunity_renewal_types"] = at(n)
		}
		if n, ok := sf["task_status"]; ok && !isNull(n) {
			ts := f.mapping(n, "$.salesforce.task_status", []string{"open", "completed"})
			if v, ok := ts["open"]; ok {
				fm.TaskStatusOpen, _ = f.scalar(v, "$.salesforce.task_status.open")
				fm.Positions["salesforce.task_status.open"] = at(v)
			}
			if v, ok := ts["completed"]; ok {
				fm.TaskStatusCompleted, _ = f.scalar(v, "$.salesforce.task_status.completed")
				fm.Positions["salesforce.task_status.completed"] = at(v)
			}
		}
	}
	if zn, ok := top["zendesk"]; ok && !isNull(zn) {
		zd := f.mapping(zn, "$.zendesk", []string{"ticket_fields", "schedules"})
		if tn, ok := zd["ticket_fields"]; ok && !isNull(tn) {
			seen := map[int64]string{}
			fields := f.mapping(tn, "$.zendesk.ticket_fields", nil)
			// In the file's order: the second name of an id is the one in error.
			names := slices.SortedFunc(maps.Keys(fields), func(a, b string) int {
				return cmp.Or(cmp.Compare(fields[a].Line, fields[b].Line), cmp.Compare(fields[a].Column, fields[b].Column))
			})
			for _, field := range names {
				vn := fields[field]
				p := "$.zendesk.ticket_fields." + field
				if !fieldNameRe.MatchString(field) {
					f.errorf(vn, p, "invalid field name %q: rules read it as ticket.fields.%s, so use lower-case letters, digits and '_', starting with a letter", field, field)
					continue
				}
				id, ok := f.id(vn, p, "the custom ticket field's id")
				if !ok {
					continue
				}
				if prev, dup := seen[id]; dup {
					f.errorf(vn, p, "ticket field %d is already named %s", id, prev)
					continue
				}
				seen[id] = field
				if fm.TicketFields == nil {
					fm.TicketFields = map[string]int64{}
				}
				fm.TicketFields[field] = id
				fm.Positions["zendesk.ticket_fields."+field] = at(vn)
			}
		}
		if sn, ok := zd["schedules"]; ok && !isNull(sn) {
			sc := f.mapping(sn, "$.zendesk.schedules", []string{"default", "groups"})
			if v, ok := sc["default"]; ok {
				fm.DefaultSchedule, _ = f.scalar(v, "$.zendesk.schedules.default")
				fm.Positions["zendesk.schedules.default"] = at(v)
			}
			if gn, ok := sc["groups"]; ok && !isNull(gn) {
				for group, vn := range f.mapping(gn, "$.zendesk.schedules.groups", nil) {
					p := "$.zendesk.schedules.groups." + group
					id, err := strconv.ParseInt(group, 10, 64)
					if err != nil || id <= 0 {
						f.errorf(vn, p, "invalid group %q: write the group's id (a number), as Admin Center > People > Groups shows it", group)
						continue
					}
					s, ok := f.scalar(vn, p)
					if !ok || s == "" {
						f.errorf(vn, p, "name the schedule (its name or id) group %d works in", id)
						continue
					}
					if fm.GroupSchedules == nil {
						fm.GroupSchedules = map[int64]string{}
					}
					fm.GroupSchedules[id] = s
					fm.Positions["zendesk.schedules.groups."+group] = at(vn)
				}
			}
		}
	}
	fm.Seal()
}

func isNull(n *yaml.Node) bool { return n.Kind == yaml.ScalarNode && n.Tag == "!!null" }

// stringList reads a non-empty list of text values.
func (f *fileLoader) stringList(n *yaml.Node, path string) []string {
	if n.Kind != yaml.SequenceNode {
		f.errorf(n, path, "expected a list of values, like [Renewal, \"Existing Customer - Upgrade\"], got %s", kindName(n))
		return nil
	}
	if len(n.Content) == 0 {
		f.errorf(n, path, "expected at least one value: leave the entry out for cxaudit's defaults")
		return nil
	}
	out := []string{}
	for i, e := range n.Content {
		if s, ok := f.scalar(resolve(e), fmt.Sprintf("%s[%d]", path, i)); ok && strings.TrimSpace(s) != "" {
			out = append(out, s)
		} else if ok {
			f.errorf(e, fmt.Sprintf("%s[%d]", path, i), "empty value")
		}
	}
	return out
}

// id reads a positive whole number.
func (f *fileLoader) id(n *yaml.Node, path, what string) (int64, bool) {
	s, ok := f.scalar(n, path)
	if !ok {
		return 0, false
	}
	id, err := strconv.ParseInt(s, 10, 64)
	if err != nil || id <= 0 || n.Tag == "!!str" && n.Style != 0 {
		f.errorf(n, path, "expected %s (a positive whole number), got %q", what, s)
		return 0, false
	}
	return id, true
}
