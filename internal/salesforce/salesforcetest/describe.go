package salesforcetest

import (
	"net/http"
	"strings"
)

// describeField is one entry of a describe result's fields, as the sObject
// Describe resource writes it
// (https://developer.salesforce.com/docs/atlas.en-us.api_rest.meta/api_rest/resources_sobject_describe.htm):
// type in lower case (id, reference, string, picklist, multipicklist,
// currency, datetime, …), picklist values with their active flag.
type describeField struct {
	Name                string          `json:"name"`
	Label               string          `json:"label"`
	Type                string          `json:"type"`
	Custom              bool            `json:"custom"`
	Nillable            bool            `json:"nillable"`
	Filterable          bool            `json:"filterable"`
	DeprecatedAndHidden bool            `json:"deprecatedAndHidden"`
	RelationName        *string         `json:"relationshipName"`
	PicklistValues      []picklistValue `json:"picklistValues"`
}

type picklistValue struct {
	Active       bool   `json:"active"`
	DefaultValue bool   `json:"defaultValue"`
	Label        string `json:"label"`
	Value        string `json:"value"`
}

type describeResult struct {
	Name      string            `json:"name"`
	Label     string            `json:"label"`
	Custom    bool              `json:"custom"`
	Queryable bool              `json:"queryable"`
	Deletable bool              `json:"deletable"`
	Fields    []describeField   `json:"fields"`
	URLs      map[string]string `json:"urls"`
}

// HideField hides a field from the integration user, as when the field was
// never created in the org or field-level security hides it: describe
// leaves it out, and a query that selects or filters on it fails with
// INVALID_FIELD, as Salesforce answers for a field the user cannot see.
func (s *Sim) HideField(object, field string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.hidden == nil {
		s.hidden = map[string]bool{}
	}
	s.hidden[strings.ToLower(object+"."+field)] = true
}

// UnhideField undoes HideField, as when field-level security is granted.
func (s *Sim) UnhideField(object, field string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	delete(s.hidden, strings.ToLower(object+"."+field))
}

// HideObject hides a whole object from the integration user, as when the
// org has not enabled it or the user's profile may not read it: describe
// answers 404 NOT_FOUND and a query of it fails with INVALID_TYPE.
func (s *Sim) HideObject(object string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.hidden == nil {
		s.hidden = map[string]bool{}
	}
	s.hidden[strings.ToLower(object)] = true
}

// visible returns the schema as the integration user sees it. The caller
// holds s.mu.
func (s *Sim) visible() schemaDef {
	if len(s.hidden) == 0 {
		return s.schema
	}
	out := schemaDef{}
	for key, o := range s.schema {
		if s.hidden[key] {
			continue
		}
		v := &objectDef{name: o.name, rels: o.rels}
		for _, f := range o.fields {
			if !s.hidden[strings.ToLower(o.name+"."+f.name)] {
				v.add(f)
			}
		}
		out[key] = v
	}
	return out
}

// describe serves GET sobjects/{object}/describe. The caller holds s.mu.
func (s *Sim) describe(object, version string) response {
	o := s.visible().object(object)
	if o == nil {
		return errorResponse(http.StatusNotFound, "NOT_FOUND", "The requested resource does not exist")
	}
	res := describeResult{Name: o.name, Label: o.name, Queryable: true, Deletable: true,
		URLs: map[string]string{"describe": "/services/data/v" + version + "/sobjects/" + o.name + "/describe"}}
	for _, f := range o.fields {
		df := describeField{Name: f.name, Label: strings.ReplaceAll(strings.TrimSuffix(f.name, "__c"), "_", " "), Type: f.desc,
			Custom: strings.HasSuffix(f.name, "__c"), Nillable: f.name != "Id", Filterable: true, PicklistValues: []picklistValue{}}
		if f.desc == "reference" {
			for _, r := range o.rels {
				if r.via == f.name {
					name := r.name
					df.RelationName = &name
				}
			}
		}
		for _, v := range f.picklist {
			df.PicklistValues = append(df.PicklistValues, picklistValue{Active: true, Label: v, Value: v})
		}
		res.Fields = append(res.Fields, df)
	}
	return response{http.StatusOK, res}
}
