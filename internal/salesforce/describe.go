package salesforce

import (
	"context"
	"encoding/json"
	"time"

	"github.com/simpleforce/simpleforce"

	"github.com/cxaudit/cxaudit/internal/cxaudit"
	"github.com/cxaudit/cxaudit/internal/tenant"
)

// DescribedObjects are the objects Describe describes.
var DescribedObjects = []string{tenant.ObjectAccount, tenant.ObjectContact, tenant.ObjectOpportunity, tenant.ObjectContactRelation, tenant.ObjectTask}

// Describe reads what the org has: the fields of every object in
// DescribedObjects, with their types and picklist values (the sObject
// Describe resource,
// https://developer.salesforce.com/docs/atlas.en-us.api_rest.meta/api_rest/resources_sobject_describe.htm),
// and the Task Status and Priority picklists (the TaskStatus and
// TaskPriority objects, whose IsClosed, IsDefault and IsHighPriority say
// what each value means). Describe lists only the fields the integration
// user may read. An object the org does not have, or the user may not
// read, is described as Unavailable, not an error: the rules that need it
// are set aside and everything else runs.
func (c *Client) Describe(ctx context.Context) (*tenant.SalesforceSchema, error) {
	s := &tenant.SalesforceSchema{Objects: map[string]*tenant.Object{}, DescribedAt: time.Now().UTC()}
	for _, object := range DescribedObjects {
		obj, err := c.describe(ctx, object)
		if err != nil {
			return nil, err
		}
		s.Objects[object] = obj
	}
	var err error
	if s.TaskStatuses, err = c.taskStatuses(ctx); err != nil {
		return nil, err
	}
	if s.TaskPriorities, err = c.taskPriorities(ctx); err != nil {
		return nil, err
	}
	return s, nil
}

// unavailable reports whether err says the org has no such object, or the
// user may not see it, rather than that the call failed.
func unavailable(err error) bool {
	switch cxaudit.ErrorCode(err) {
	case cxaudit.ENOTFOUND, cxaudit.EINVALID:
		return true
	}
	return false
}

func (c *Client) describe(ctx context.Context, object string) (*tenant.Object, error) {
	op := "describe " + object
	var data []byte
	err := c.do(ctx, func(sf *simpleforce.Client) error {
		var err error
		data, err = sf.ApexREST("GET", c.apiPath("sobjects/"+object+"/describe"), nil)
		return err
	})
	if err != nil {
		err = c.fail(op, err)
		if unavailable(err) {
			return &tenant.Object{Name: object, Unavailable: err.Error()}, nil
		}
		return nil, err
	}
	var res struct {
		Name   string `json:"name"`
		Fields []struct {
			Name                string `json:"name"`
			Label               string `json:"label"`
			Type                string `json:"type"`
			Custom              bool   `json:"custom"`
			DeprecatedAndHidden bool   `json:"deprecatedAndHidden"`
			PicklistValues      []struct {
				Value  string `json:"value"`
				Active bool   `json:"active"`
			} `json:"picklistValues"`
		} `json:"fields"`
	}
	if err := json.Unmarshal(data, &res); err != nil {
		return nil, malformedf(op, "%v", err)
	}
	if res.Fields == nil {
		return nil, malformedf(op, "no fields listed")
	}
	obj := &tenant.Object{Name: object}
	for _, f := range res.Fields {
		if f.DeprecatedAndHidden || f.Name == "" {
			continue
		}
		tf := tenant.Field{Name: f.Name, Label: f.Label, Type: f.Type, Custom: f.Custom}
		for _, v := range f.PicklistValues {
			if v.Active {
				tf.Picklist = append(tf.Picklist, v.Value)
			}
		}
		obj.Fields = append(obj.Fields, tf)
	}
	return obj, nil
}

// taskStatuses reads the TaskStatus object, in sort order. An org that
// will not say (the object not readable) gives none: cxaudit then writes
// Salesforce's default statuses.
func (c *Client) taskStatuses(ctx context.Context) ([]tenant.TaskStatus, error) {
	var out []tenant.TaskStatus
	err := c.query(ctx, "read TaskStatus", "SELECT ApiName, IsClosed, IsDefault, SortOrder FROM TaskStatus ORDER BY SortOrder",
		func(recs []simpleforce.SObject) error {
			for _, r := range recs {
				so := &sobject{raw: r}
				ts := tenant.TaskStatus{APIName: so.requiredStr("ApiName"), IsClosed: so.boolean("IsClosed"), IsDefault: so.boolean("IsDefault")}
				if so.err != nil {
					return malformedf("read TaskStatus", "%v", so.err)
				}
				out = append(out, ts)
			}
			return nil
		})
	if err != nil && unavailable(err) {
		return nil, nil
	}
	return out, err
}

// taskPriorities reads the TaskPriority object, in sort order, like
// taskStatuses.
func (c *Client) taskPriorities(ctx context.Context) ([]tenant.TaskPriority, error) {
	var out []tenant.TaskPriority
	err := c.query(ctx, "read TaskPriority", "SELECT ApiName, IsDefault, IsHighPriority, SortOrder FROM TaskPriority ORDER BY SortOrder",
		func(recs []simpleforce.SObject) error {
			for _, r := range recs {
				so := &sobject{raw: r}
				tp := tenant.TaskPriority{APIName: so.requiredStr("ApiName"), IsDefault: so.boolean("IsDefault"), IsHighPriority: so.boolean("IsHighPriority")}
				if so.err != nil {
					return malformedf("read TaskPriority", "%v", so.err)
				}
				out = append(out, tp)
			}
			return nil
		})
	if err != nil && unavailable(err) {
		return nil, nil
	}
	return out, err
}
