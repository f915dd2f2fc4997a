package salesforcetest

import (
	"net/http"
	"strings"
)

// describeField is one entry of a describe result's fields.
type describeField struct {
	Name         string  `json:"name"`
	Label        string  `json:"label"`
	Type         string  `json:"type"`
	Custom       bool    `json:"custom"`
	Nillable     bool    `json:"nillable"`
	Filterable   bool    `json:"filterable"`
	RelationName *string `json:"relationshipName"`
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

// HideField removes a field from its object's describe result, as when the
// field was never created in the org or the integration user's field-level
// security hides it. Queries are unaffected.
func (s *Sim) HideField(object, field string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.hidden == nil {
		s.hidden = map[string]bool{}
	}
	s.hidden[strings.ToLower(object+"."+field)] = true
}

// describe serves GET sobjects/{object}/describe. The caller holds s.mu.
func (s *Sim) describe(object, version string) response {
	o := schema[strings.ToLower(object)]
	if o == nil {
		return errorResponse(http.StatusNotFound, "NOT_FOUND", "The requested resource does not exist")
	}
	res := describeResult{Name: o.name, Label: o.name, Queryable: true, Deletable: true,
		URLs: map[string]string{"describe": "/services/data/v" + version + "/sobjects/" + o.name + "/describe"}}
	for _, f := range o.fields {
		if s.hidden[strings.ToLower(o.name+"."+f.name)] {
			continue
		}
		df := describeField{Name: f.name, Label: strings.TrimSuffix(f.name, "__c"), Type: f.typ.String(),
			Custom: strings.HasSuffix(f.name, "__c"), Nillable: f.name != "Id", Filterable: true}
		if f.typ == typeID && f.name != "Id" {
			df.Type = "reference"
			for _, r := range o.rels {
				if r.via == f.name {
					name := r.name
					df.RelationName = &name
				}
			}
		}
		res.Fields = append(res.Fields, df)
	}
	return response{http.StatusOK, res}
}
