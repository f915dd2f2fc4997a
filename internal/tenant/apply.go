package tenant

import (
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/cxaudit/cxaudit/internal/cxaudit"
)

// This file types the records the audit loads: the fields cxaudit reads
// under its own names are filled from the org's fields the field map
// names, and every custom field is typed for rules.

// Account fills a's mapped fields (type, industry, tier, health,
// renewal_date), is_customer and Fields from a.Raw, and its contacts' and
// opportunities' likewise. A mapped field with a problem (see Check) stays
// empty: the rules that read it do not run. A record stored without Raw
// (synced before cxaudit kept it) keeps the fields it was stored with.
func (t *Tenant) Account(a *cxaudit.Account) {
	if a.Raw != nil {
		a.Fields = t.salesforceFields(ObjectAccount, a.Raw)
		a.Type = t.text(ObjectAccount, "type", a.Raw)
		a.Industry = t.text(ObjectAccount, "industry", a.Raw)
		a.Tier = t.text(ObjectAccount, "tier", a.Raw)
		a.Health = t.text(ObjectAccount, "health", a.Raw)
		a.RenewalDate = t.date(ObjectAccount, "renewal_date", a.Raw)
	}
	a.IsCustomer = oneOf(a.Type, t.customerTypes)
	for i := range a.Contacts {
		t.Contact(&a.Contacts[i])
	}
	for i := range a.Opportunities {
		t.Opportunity(&a.Opportunities[i])
	}
}

// Contact fills c's title, roles and Fields from c.Raw. Its roles come from
// the Contact field the field map names, else from its
// AccountContactRelation (the store hands them over in c.Roles).
func (t *Tenant) Contact(c *cxaudit.Contact) {
	if c.Raw != nil {
		c.Fields = t.salesforceFields(ObjectContact, c.Raw)
		c.Title = t.text(ObjectContact, "title", c.Raw)
		if api, typ, ok := t.field(ObjectContact, "role"); ok && api != "" {
			c.Roles = nil
			switch v := salesforceValue(typ, c.Raw[api]).(type) {
			case []string:
				c.Roles = v
			case string:
				c.Roles = splitRoles(v)
			}
		}
	}
	c.Role = ""
	if len(c.Roles) > 0 {
		c.Role = c.Roles[0]
	}
}

// splitRoles reads roles kept in text: separated by semicolons (as a
// multi-select picklist keeps them) or commas.
func splitRoles(s string) []string {
	var out []string
	for _, p := range strings.FieldsFunc(s, func(r rune) bool { return r == ';' || r == ',' }) {
		if p = strings.TrimSpace(p); p != "" {
			out = append(out, p)
		}
	}
	return out
}

// Opportunity fills o's mapped fields, is_renewal and Fields from o.Raw.
func (t *Tenant) Opportunity(o *cxaudit.Opportunity) {
	if o.Raw != nil {
		o.Fields = t.salesforceFields(ObjectOpportunity, o.Raw)
		o.Type = t.text(ObjectOpportunity, "type", o.Raw)
		o.StageName = t.text(ObjectOpportunity, "stage_name", o.Raw)
		if api, typ, ok := t.field(ObjectOpportunity, "amount"); ok {
			o.Amount, _ = salesforceValue(typ, o.Raw[api]).(float64)
		}
		o.CloseDate = t.date(ObjectOpportunity, "close_date", o.Raw)
	}
	o.IsRenewal = oneOf(o.Type, t.renewalTypes)
}

// field returns the API name and type of the org's field behind cxaudit's
// name, and whether it may be read: before the org was described the
// mapped (or default) name is read as the JSON says, after it only a field
// describe lists with a type that fits.
func (t *Tenant) field(object, name string) (api, typ string, ok bool) {
	if t.sf == nil {
		api, _ = t.fm.SalesforceField(object, name)
		return api, "", true
	}
	f := t.sfMap[object][name]
	if f == nil {
		return "", "", false
	}
	return f.Name, f.Type, true
}

func (t *Tenant) text(object, name string, raw map[string]any) string {
	api, typ, ok := t.field(object, name)
	if !ok {
		return ""
	}
	s, _ := salesforceValue(typ, raw[api]).(string)
	return s
}

func (t *Tenant) date(object, name string, raw map[string]any) *time.Time {
	api, typ, ok := t.field(object, name)
	if !ok {
		return nil
	}
	if typ == "" {
		typ = "date"
	}
	if v, ok := salesforceValue(typ, raw[api]).(time.Time); ok {
		return &v
	}
	return nil
}

// salesforceFields types every value of raw by the object's describe.
func (t *Tenant) salesforceFields(object string, raw map[string]any) cxaudit.Fields {
	var obj *Object
	if t.sf != nil {
		obj = t.sf.Objects[object]
	}
	out := make(cxaudit.Fields, len(raw))
	for name, v := range raw {
		typ := ""
		if f := obj.Field(name); f != nil {
			typ = f.Type
		}
		if tv := salesforceValue(typ, v); tv != nil {
			out[name] = tv
		}
	}
	return out
}

// Salesforce writes datetimes as 2024-05-01T12:00:00.000+0000.
var dateTimeLayouts = []string{"2006-01-02T15:04:05.000-0700", time.RFC3339Nano, time.DateOnly}

// salesforceValue types one value as the REST API writes a field of type
// typ: date and dateTime → time.Time; double, currency, percent, int and
// long → float64; boolean → bool; multipicklist → []string; anything else
// → string. typ "" (no describe at hand) keeps what JSON gave. nil means
// no value (null, or text that does not fit the type).
func salesforceValue(typ string, v any) any {
	if v == nil {
		return nil
	}
	switch typ {
	case "":
		switch v.(type) {
		case string, float64, bool:
			return v
		}
		return nil
	case "date", "datetime":
		s, ok := v.(string)
		if !ok {
			return nil
		}
		for _, layout := range dateTimeLayouts {
			if tv, err := time.Parse(layout, s); err == nil {
				return tv.UTC()
			}
		}
		return nil
	case "double", "currency", "percent", "int", "long":
		return number(v)
	case "boolean":
		b, ok := v.(bool)
		if !ok {
			return nil
		}
		return b
	case "multipicklist":
		s, ok := v.(string)
		if !ok || s == "" {
			return nil
		}
		return strings.Split(s, ";")
	}
	switch v := v.(type) {
	case string:
		return v
	case float64, bool:
		return fmt.Sprint(v)
	}
	return nil
}

// number reads a JSON number, or a number written as text.
func number(v any) any {
	switch v := v.(type) {
	case float64:
		return v
	case string:
		if f, err := strconv.ParseFloat(strings.TrimSpace(v), 64); err == nil {
			return f
		}
	}
	return nil
}

func oneOf(v string, vals []string) bool {
	if v == "" {
		return false
	}
	for _, w := range vals {
		if strings.EqualFold(v, w) {
			return true
		}
	}
	return false
}

// Ticket fills tk.Fields from its custom field values, named and typed by
// the account's ticket fields. Values of fields the account no longer has
// are left out.
func (t *Tenant) Ticket(tk *cxaudit.Ticket) {
	tk.Fields = nil
	if len(tk.CustomFields) == 0 {
		return
	}
	out := make(cxaudit.Fields, len(tk.CustomFields))
	for _, cf := range tk.CustomFields {
		f := t.ticketByID[cf.ID]
		if f == nil {
			continue
		}
		if v := zendeskValue(f.Type, cf.Value); v != nil {
			out[f.name] = v
		}
	}
	tk.Fields = out
}

// Organization fills o.Fields from its organization_fields, typed by the
// account's organization fields.
func (t *Tenant) Organization(o *cxaudit.Organization) {
	o.Fields = keyedFields(t.orgByKey, o.RawFields)
}

// User fills u.Fields from its user_fields, typed by the account's user
// fields.
func (t *Tenant) User(u *cxaudit.User) {
	u.Fields = keyedFields(t.userByKey, u.RawFields)
}

func keyedFields(byKey map[string]*ZendeskField, raw map[string]any) cxaudit.Fields {
	if len(raw) == 0 {
		return nil
	}
	out := make(cxaudit.Fields, len(raw))
	for k, v := range raw {
		typ := ""
		if f := byKey[k]; f != nil {
			typ = f.Type
		}
		if tv := zendeskValue(typ, v); tv != nil {
			out[k] = tv
		}
	}
	return out
}

// zendeskValue types one custom field value as Zendesk sends a field of
// type typ (https://developer.zendesk.com/api-reference/ticketing/tickets/ticket_fields/):
// text, textarea, regexp, partialcreditcard, lookup, and the value of a
// dropdown (tagger, dropdown) → string; multiselect → []string; checkbox →
// bool; integer and decimal (sent as numbers or text) → float64; date
// (YYYY-MM-DD) → time.Time at midnight UTC. typ "" (no schema at hand)
// keeps what JSON gave. nil means no value.
func zendeskValue(typ string, v any) any {
	if v == nil {
		return nil
	}
	switch typ {
	case "checkbox":
		b, ok := v.(bool)
		if !ok {
			return nil
		}
		return b
	case "integer", "decimal":
		return number(v)
	case "date":
		s, ok := v.(string)
		if !ok {
			return nil
		}
		if d, err := time.Parse(time.DateOnly, s); err == nil {
			return d
		}
		if d, err := time.Parse(time.RFC3339, s); err == nil {
			return d.UTC()
		}
		return nil
	case "multiselect":
		list, ok := v.([]any)
		if !ok {
			return nil
		}
		out := make([]string, 0, len(list))
		for _, e := range list {
			if s, ok := e.(string); ok {
				out = append(out, s)
			}
		}
		return out
	case "":
		switch v := v.(type) {
		case string:
			if v == "" {
				return nil
			}
			return v
		case float64, bool:
			return v
		case []any:
			return zendeskValue("multiselect", v)
		}
		return nil
	}
	switch v := v.(type) {
	case string:
		if v == "" {
			return nil
		}
		return v
	case float64:
		return strconv.FormatFloat(v, 'f', -1, 64)
	case bool:
		return strconv.FormatBool(v)
	}
	return nil
}
