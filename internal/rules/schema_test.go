package rules

import (
	"encoding/json"
	"fmt"
	"maps"
	"math"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"sort"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"gopkg.in/yaml.v3"

	"github.com/cxaudit/cxaudit/internal/tenant"

	"github.com/cxaudit/cxaudit/internal/cxaudit"
)

// The JSON schemas in rules/ let editors validate rule and test files as
// people type (yaml-language-server reads the modeline on their first
// line). These tests keep the schemas in step with the loader: every default
// file validates, the bad files the loader rejects for shape are rejected by
// the schema too, and the schema's enums and fields are the loader's.
//
// The schemas use a small part of JSON Schema (type, properties, required,
// additionalProperties, items, enum, pattern, minLength, minimum, maximum,
// local $ref), which schemaValidator below implements; that spares the
// module a validator dependency for one test.

func loadSchema(t *testing.T, name string) map[string]any {
	t.Helper()
	data, err := os.ReadFile(filepath.Join("../../rules", name))
	require.NoError(t, err)
	var s map[string]any
	require.NoError(t, json.Unmarshal(data, &s))
	return s
}

func yamlDoc(t *testing.T, path string) any {
	t.Helper()
	data, err := os.ReadFile(path)
	require.NoError(t, err)
	var v any
	require.NoError(t, yaml.Unmarshal(data, &v))
	// Round-trip through JSON: timestamps become strings, as editors see them.
	b, err := json.Marshal(v)
	require.NoError(t, err)
	var out any
	require.NoError(t, json.Unmarshal(b, &out))
	return out
}

func TestRuleFilesMatchSchema(t *testing.T) {
	t.Parallel()
	v := schemaValidator{root: loadSchema(t, "rules.schema.json")}
	files, err := filepath.Glob("../../rules/*.yaml")
	require.NoError(t, err)
	n := 0
	for _, f := range files {
		if !isRuleFile(filepath.Base(f)) {
			continue
		}
		n++
		data, err := os.ReadFile(f)
		require.NoError(t, err)
		require.True(t, strings.HasPrefix(string(data), "# yaml-language-server: $schema=rules.schema.json\n"), "%s: no schema modeline", f)
		require.Empty(t, v.validate(yamlDoc(t, f)), f)
	}
	require.Equal(t, 5, n)
}

func TestRuleTestFilesMatchSchema(t *testing.T) {
	t.Parallel()
	v := schemaValidator{root: loadSchema(t, "rules_test.schema.json")}
	files, err := filepath.Glob("../../rules/*_test.yaml")
	require.NoError(t, err)
	require.NotEmpty(t, files)
	for _, f := range files {
		require.Empty(t, v.validate(yamlDoc(t, f)), f)
	}
	require.NotEmpty(t, v.validate(map[string]any{"tests": []any{map[string]any{"name": "a", "expect": []any{}, "tickets": []any{
		map[string]any{"id": 1.0, "created_at": "yesterday"}}}}}))
}

func TestBadRuleFilesFailSchema(t *testing.T) {
	t.Parallel()
	v := schemaValidator{root: loadSchema(t, "rules.schema.json")}
	// The .bad.yaml files whose problem is one of shape; the others (CEL
	// errors, duplicate ids, invalid YAML) only `rules check` can find.
	tests := map[string]string{
		"unknown_key.bad.yaml":    "unknown field",
		"bad_enums.bad.yaml":      "not one of",
		"missing_fields.bad.yaml": "missing required field",
		"not_a_list.bad.yaml":     "expected array",
		"bad_actions.bad.yaml":    "",
	}
	for name, want := range tests {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			errs := v.validate(yamlDoc(t, filepath.Join("../../testdata/rules", name)))
			require.NotEmpty(t, errs)
			if want != "" {
				require.Contains(t, strings.Join(errs, "\n"), want)
			}
		})
	}
}

// TestSchemaMatchesLoader keeps the schema's fields and enums equal to what
// the loader accepts.
func TestSchemaMatchesLoader(t *testing.T) {
	t.Parallel()
	s := loadSchema(t, "rules.schema.json")
	rule := s["$defs"].(map[string]any)["rule"].(map[string]any)
	props := rule["properties"].(map[string]any)
	keys := make([]string, 0, len(props))
	for k := range props {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	want := slices.Clone(ruleFields)
	sort.Strings(want)
	require.Equal(t, want, keys)
	enum := func(field string) []string {
		var out []string
		for _, v := range props[field].(map[string]any)["enum"].([]any) {
			out = append(out, v.(string))
		}
		return out
	}
	require.Equal(t, toStrings(cxaudit.Categories), enum("category"))
	require.Equal(t, toStrings(cxaudit.Severities), enum("severity"))
	require.Equal(t, idRe.String(), props["id"].(map[string]any)["pattern"])
}

// schemaValidator checks a decoded JSON value against the subset of JSON
// Schema the rule schemas use, returning every violation with its path.
type schemaValidator struct {
	root map[string]any
}

func (v schemaValidator) validate(doc any) []string {
	var errs []string
	v.check(v.root, doc, "$", &errs)
	return errs
}

func (v schemaValidator) check(schema map[string]any, val any, path string, errs *[]string) {
	if ref, ok := schema["$ref"].(string); ok {
		s := v.root
		for _, part := range strings.Split(strings.TrimPrefix(ref, "#/"), "/") {
			s = s[part].(map[string]any)
		}
		v.check(s, val, path, errs)
		return
	}
	fail := func(format string, args ...any) { *errs = append(*errs, path+": "+fmt.Sprintf(format, args...)) }
	if t, ok := schema["type"]; ok {
		var types []string
		switch t := t.(type) {
		case string:
			types = []string{t}
		case []any:
			for _, x := range t {
				types = append(types, x.(string))
			}
		}
		if !slices.ContainsFunc(types, func(ty string) bool { return jsonType(val, ty) }) {
			fail("expected %s, got %T", strings.Join(types, " or "), val)
			return
		}
	}
	if enum, ok := schema["enum"].([]any); ok && !slices.Contains(enum, val) {
		fail("%v is not one of %v", val, enum)
	}
	switch val := val.(type) {
	case string:
		if p, ok := schema["pattern"].(string); ok && !regexp.MustCompile(p).MatchString(val) {
			fail("%q does not match %s", val, p)
		}
		if n, ok := schema["minLength"].(float64); ok && float64(len(val)) < n {
			fail("shorter than %v", n)
		}
	case float64:
		if n, ok := schema["minimum"].(float64); ok && val < n {
			fail("%v is below %v", val, n)
		}
		if n, ok := schema["maximum"].(float64); ok && val > n {
			fail("%v is above %v", val, n)
		}
	case []any:
		if items, ok := schema["items"].(map[string]any); ok {
			for i, x := range val {
				v.check(items, x, fmt.Sprintf("%s[%d]", path, i), errs)
			}
		}
	case map[string]any:
		props, _ := schema["properties"].(map[string]any)
		for _, r := range asStrings(schema["required"]) {
			if _, ok := val[r]; !ok {
				fail("missing required field '%s'", r)
			}
		}
		keys := make([]string, 0, len(val))
		for k := range val {
			keys = append(keys, k)
		}
		sort.Strings(keys)
		for _, k := range keys {
			ps, ok := props[k].(map[string]any)
			if !ok {
				switch ap := schema["additionalProperties"].(type) {
				case bool:
					if !ap {
						fail("unknown field '%s'", k)
					}
				case map[string]any:
					v.check(ap, val[k], path+"."+k, errs)
				}
				continue
			}
			v.check(ps, val[k], path+"."+k, errs)
		}
	}
}

func asStrings(v any) []string {
	var out []string
	l, _ := v.([]any)
	for _, x := range l {
		out = append(out, x.(string))
	}
	return out
}

func jsonType(v any, t string) bool {
	switch t {
	case "null":
		return v == nil
	case "string":
		_, ok := v.(string)
		return ok
	case "boolean":
		_, ok := v.(bool)
		return ok
	case "number":
		_, ok := v.(float64)
		return ok
	case "integer":
		f, ok := v.(float64)
		return ok && f == math.Trunc(f)
	case "array":
		_, ok := v.([]any)
		return ok
	case "object":
		_, ok := v.(map[string]any)
		return ok
	}
	return false
}

func TestFieldMapsMatchSchema(t *testing.T) {
	t.Parallel()
	v := schemaValidator{root: loadSchema(t, "fields.schema.json")}
	for _, f := range []string{"../../rules/fields.yaml", "../simworld/fields.yaml"} {
		require.Empty(t, v.validate(yamlDoc(t, f)), f)
	}
	for _, bad := range []map[string]any{
		{"salesforce": map[string]any{"Account": map[string]any{"renewal": "X__c"}}},
		{"salesforce": map[string]any{"Account": map[string]any{"renewal_date": "not a name"}}},
		{"zendesk": map[string]any{"ticket_fields": map[string]any{"product_area": "area"}}},
	} {
		require.NotEmpty(t, v.validate(bad), "%v", bad)
	}
	// The schema names every mappable field, and no other.
	s := loadSchema(t, "fields.schema.json")
	sf := s["properties"].(map[string]any)["salesforce"].(map[string]any)["properties"].(map[string]any)
	for _, object := range []string{"Account", "Contact", "Opportunity"} {
		props := sf[object].(map[string]any)["properties"].(map[string]any)
		var names []string
		for n := range props {
			names = append(names, n)
		}
		require.ElementsMatch(t, tenant.MappableNames(object), names, object)
	}
}

func TestTargetsFileMatchesSchema(t *testing.T) {
	t.Parallel()
	v := schemaValidator{root: loadSchema(t, "targets.schema.json")}
	data, err := os.ReadFile("../../rules/targets.yaml")
	require.NoError(t, err)
	require.True(t, strings.HasPrefix(string(data), "# yaml-language-server: $schema=targets.schema.json\n"))
	require.Empty(t, v.validate(yamlDoc(t, "../../rules/targets.yaml")))
	// The schema names the loader's KPIs.
	props := v.root["properties"].(map[string]any)["kpis"].(map[string]any)["properties"].(map[string]any)
	require.ElementsMatch(t, KPIs, slices.Collect(maps.Keys(props)))
	// And rejects what the loader rejects for shape.
	require.NotEmpty(t, v.validate(map[string]any{"kpis": map[string]any{"sla": map[string]any{"min": 95.0}}}))
	require.NotEmpty(t, v.validate(map[string]any{"kpis": map[string]any{"first_respons": map[string]any{}}}))
}
