package salesforce

import (
	"context"
	"encoding/json"
	"strings"

	"github.com/simpleforce/simpleforce"

	"github.com/cxaudit/cxaudit/internal/cxaudit"
)

// queriedFields lists, by object, the fields the incremental reads select
// (relationship fields such as Owner.IsActive are checked through their
// lookup field, OwnerId).
func queriedFields() map[string][]string {
	out := map[string][]string{}
	for object, list := range map[string]string{"Account": accountFields, "Contact": contactFields, "Opportunity": opportunityFields} {
		for f := range strings.SplitSeq(list, ",") {
			f = strings.TrimSpace(f)
			if strings.Contains(f, ".") {
				continue
			}
			out[object] = append(out[object], f)
		}
	}
	return out
}

// CheckFields describes Account, Contact and Opportunity and checks that
// every field the reads select exists and is visible to the integration
// user, custom fields (Renewal_Date__c, Health__c, Tier__c) included. A
// missing field is an EINVALID error that names it and its object; all
// missing fields are named at once. It succeeds once per Client and is
// not repeated after that.
func (c *Client) CheckFields(ctx context.Context) error {
	c.checkMu.Lock()
	defer c.checkMu.Unlock()
	if c.checked {
		return nil
	}
	var missing []string
	for _, object := range []string{"Account", "Contact", "Opportunity"} {
		op := "describe " + object
		var data []byte
		err := c.do(ctx, func(sf *simpleforce.Client) error {
			var err error
			data, err = sf.ApexREST("GET", c.apiPath("sobjects/"+object+"/describe"), nil)
			return err
		})
		if err != nil {
			return c.fail(op, err)
		}
		var res struct {
			Fields []struct {
				Name string `json:"name"`
			} `json:"fields"`
		}
		if err := json.Unmarshal(data, &res); err != nil {
			return malformedf(op, "%v", err)
		}
		have := map[string]bool{}
		for _, f := range res.Fields {
			have[strings.ToLower(f.Name)] = true
		}
		for _, f := range queriedFields()[object] {
			if !have[strings.ToLower(f)] {
				missing = append(missing, object+"."+f)
			}
		}
	}
	if len(missing) > 0 {
		return cxaudit.Errorf(cxaudit.EINVALID, "salesforce: the org lacks field(s) cxaudit reads: %s (describe does not list them: create the field on the object, or grant the integration user field-level read access)", strings.Join(missing, ", "))
	}
	c.checked = true
	return nil
}
