package tenant_test

import (
	"fmt"
	"os"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/cxaudit/cxaudit/internal/bizhours"
	"github.com/cxaudit/cxaudit/internal/cxaudit"
	"github.com/cxaudit/cxaudit/internal/tenant"
)

// org is a Salesforce org that names its fields its own way.
func org() *tenant.SalesforceSchema {
	return &tenant.SalesforceSchema{Objects: map[string]*tenant.Object{
		"Account": {Name: "Account", Fields: []tenant.Field{
			{Name: "Id", Type: "id"}, {Name: "Name", Type: "string"},
			{Name: "Type", Type: "picklist", Picklist: []string{"Prospect", "Customer - Direct", "Customer - Channel"}},
			{Name: "Industry", Type: "picklist"},
			{Name: "Contract_End_Date__c", Type: "date", Custom: true},
			{Name: "Customer_Health__c", Type: "picklist", Custom: true, Picklist: []string{"Green", "Red"}},
			{Name: "Health_Score__c", Type: "double", Custom: true},
			{Name: "Segment__c", Type: "picklist", Custom: true},
			{Name: "ARR__c", Type: "currency", Custom: true},
			{Name: "Go_Live__c", Type: "datetime", Custom: true},
			{Name: "Products__c", Type: "multipicklist", Custom: true},
			{Name: "Strategic__c", Type: "boolean", Custom: true},
			{Name: "BillingAddress", Type: "address"},
		}},
		"Contact": {Name: "Contact", Fields: []tenant.Field{{Name: "Id", Type: "id"}, {Name: "Title", Type: "string"},
			{Name: "Buying_Role__c", Type: "multipicklist", Custom: true}}},
		"Opportunity": {Name: "Opportunity", Fields: []tenant.Field{{Name: "Id", Type: "id"}, {Name: "StageName", Type: "picklist"},
			{Name: "Amount", Type: "currency"}, {Name: "CloseDate", Type: "date"},
			{Name: "Type", Type: "picklist", Picklist: []string{"New Customer", "Existing Customer - Replacement"}}}},
		"AccountContactRelation": {Name: "AccountContactRelation", Unavailable: "salesforce: describe: HTTP 404: NOT_FOUND"},
	}, TaskStatuses: []tenant.TaskStatus{{APIName: "Open", IsDefault: true}, {APIName: "Done", IsClosed: true}}}
}

func problems(t *tenant.Tenant) map[string]string {
	out := map[string]string{}
	for _, p := range t.Problems() {
		out[p.Ref] = p.Message
	}
	return out
}

func TestResolveNamesWhatTheOrgLacks(t *testing.T) {
	t.Parallel()
	tn := tenant.Resolve(nil, org(), nil) // no field map: cxaudit's default names
	ps := problems(tn)
	require.Contains(t, ps["Account.renewal_date"], "the org has no field Account.Renewal_Date__c")
	require.Contains(t, ps["Account.renewal_date"], "Contract_End_Date__c", "the one date field it has is suggested")
	require.Contains(t, ps["Account.health"], "Health__c")
	require.Contains(t, ps["Account.tier"], "Tier__c")
	require.Contains(t, ps["Opportunity.is_renewal"], `none of the values "Renewal"`)
	require.Contains(t, ps["Contact.role"], "AccountContactRelation cannot be read")
	require.Contains(t, ps["Contact.roles"], "AccountContactRelation cannot be read")
	require.NotContains(t, ps, "Account.is_customer", "Customer - Direct is a default customer type")
	require.NotContains(t, ps, "Account.type")
	for _, ref := range []string{"Account.renewal_date", "Account.tier", "Account.health"} {
		p, bad := tn.Check(ref)
		require.True(t, bad, ref)
		require.Contains(t, p.Fix, "rules/fields.yaml")
	}
	// Statuses the org has, not Salesforce's defaults.
	open, done := tn.TaskStatuses()
	require.Equal(t, "Open", open)
	require.Equal(t, "Done", done)
}

func TestResolveWithTheOrgsFieldMap(t *testing.T) {
	t.Parallel()
	fm := &tenant.FieldMap{
		Salesforce: map[string]map[string]string{
			"Account": {"renewal_date": "Contract_End_Date__c", "health": "Health_Score__c", "tier": "Segment__c"},
			"Contact": {"role": "Buying_Role__c"},
		},
		RenewalOpportunityTypes: []string{"existing customer - replacement"},
		Positions:               map[string]tenant.Position{"salesforce.Account.health": {File: "rules/fields.yaml", Line: 4, Column: 13}},
	}
	tn := tenant.Resolve(fm, org(), nil)
	ps := problems(tn)
	require.Len(t, ps, 1, "only the wrongly typed field: %v", ps)
	require.Contains(t, ps["Account.health"], "Account.Health_Score__c is a double field, but health needs text")
	p, _ := tn.Check("Account.health")
	require.Equal(t, "rules/fields.yaml:4:13", p.Where.String(), "the problem points at the entry")

	a := cxaudit.Account{ID: "001A", Raw: map[string]any{
		"Type": "Customer - Channel", "Contract_End_Date__c": "2026-03-31", "Health_Score__c": 71.5, "Segment__c": "Enterprise",
		"ARR__c": 120000.0, "Go_Live__c": "2025-05-01T12:30:00.000+0000", "Products__c": "API;Mobile", "Strategic__c": true,
		"Unknown__c": "kept as JSON gave it",
	}, Contacts: []cxaudit.Contact{{ID: "003A", Raw: map[string]any{"Title": "CTO", "Buying_Role__c": "Executive Sponsor;Decision Maker"}}},
		Opportunities: []cxaudit.Opportunity{{ID: "006A", Raw: map[string]any{"Type": "Existing Customer - Replacement", "Amount": 5000.0, "CloseDate": "2026-02-01"}}}}
	tn.Account(&a)
	require.Equal(t, "Customer - Channel", a.Type)
	require.True(t, a.IsCustomer)
	require.Equal(t, time.Date(2026, 3, 31, 0, 0, 0, 0, time.UTC), *a.RenewalDate)
	require.Equal(t, "Enterprise", a.Tier)
	require.Empty(t, a.Health, "a field of the wrong type is not read as health")
	require.Equal(t, 120000.0, a.Fields["ARR__c"])
	require.Equal(t, time.Date(2025, 5, 1, 12, 30, 0, 0, time.UTC), a.Fields["Go_Live__c"])
	require.Equal(t, []string{"API", "Mobile"}, a.Fields["Products__c"])
	require.Equal(t, true, a.Fields["Strategic__c"])
	require.Equal(t, 71.5, a.Fields["Health_Score__c"])
	require.Equal(t, "kept as JSON gave it", a.Fields["Unknown__c"])
	c := a.Contacts[0]
	require.Equal(t, "CTO", c.Title)
	require.Equal(t, []string{"Executive Sponsor", "Decision Maker"}, c.Roles, "roles from the field the map names")
	require.Equal(t, "Executive Sponsor", c.Role)
	o := a.Opportunities[0]
	require.True(t, o.IsRenewal, "the org's renewal type, matched without regard to case")
	require.Equal(t, 5000.0, o.Amount)
	require.Equal(t, time.Date(2026, 2, 1, 0, 0, 0, 0, time.UTC), *o.CloseDate)
}

func TestCheckCustomFields(t *testing.T) {
	t.Parallel()
	zd := &tenant.ZendeskSchema{
		TicketFields: []tenant.ZendeskField{
			{ID: 1, Title: "Subject", Type: "subject"},
			{ID: 360001, Title: "Product area", Type: "tagger"},
			{ID: 360002, Title: "Product Area", Type: "text"},
			{ID: 360003, Title: "Severity (customer)", Type: "tagger"},
		},
		OrganizationFields: []tenant.ZendeskField{{ID: 9, Key: "plan", Type: "dropdown"}},
		UserFields:         []tenant.ZendeskField{{ID: 8, Key: "vip", Type: "checkbox"}},
	}
	fm := &tenant.FieldMap{TicketFields: map[string]int64{"sev": 360003, "gone": 999}}
	tn := tenant.Resolve(fm, org(), zd)
	require.Equal(t, []string{"product_area", "product_area_360002", "sev"}, tn.TicketFieldNames(),
		"titles lower-cased and underscored; a title taken twice gets the id; the field map's name wins")
	for ref, want := range map[string]string{
		"Account.fields.ARR__c":             "",
		"Account.fields.arr__c":             "the org's field is ARR__c",
		"Account.fields.ARR_c":              "did you mean 'ARR__c'?",
		"Account.fields.BillingAddress":     "address field, which rules cannot read",
		"Ticket.fields.product_area":        "",
		"Ticket.fields.product_are":         "did you mean 'product_area'?",
		"Ticket.fields.gone":                "no custom ticket field 999",
		"Organization.fields.plan":          "",
		"Organization.fields.plans":         "did you mean 'plan'?",
		"User.fields.vip":                   "",
		"Opportunity.fields.Forecast__c":    "no field Opportunity.Forecast__c",
		"Account.renewal_date":              "no field Account.Renewal_Date__c",
		"Ticket.subject":                    "",
		"Organization.fields.plan.anything": "no organization field",
	} {
		p, bad := tn.Check(ref)
		if want == "" {
			require.False(t, bad, "%s: %s", ref, p.Message)
			continue
		}
		require.True(t, bad, ref)
		require.Contains(t, p.Message, want, ref)
	}
	// Against a schema not read yet, nothing is a problem.
	none := tenant.Resolve(nil, nil, nil)
	_, bad := none.Check("Account.fields.Anything__c")
	require.False(t, bad)
	_, bad = none.Check("Account.renewal_date")
	require.False(t, bad)
}

func TestZendeskValuesTyped(t *testing.T) {
	t.Parallel()
	zd := &tenant.ZendeskSchema{TicketFields: []tenant.ZendeskField{
		{ID: 1, Title: "Product area", Type: "tagger"}, {ID: 2, Title: "Seats", Type: "integer"},
		{ID: 3, Title: "Ratio", Type: "decimal"}, {ID: 4, Title: "Urgent?", Type: "checkbox"},
		{ID: 5, Title: "Versions", Type: "multiselect"}, {ID: 6, Title: "Incident date", Type: "date"},
		{ID: 7, Title: "Notes", Type: "textarea"},
	}, OrganizationFields: []tenant.ZendeskField{{Key: "seats", Type: "integer"}, {Key: "renews", Type: "date"}}}
	tn := tenant.Resolve(nil, nil, zd)
	tk := cxaudit.Ticket{CustomFields: []cxaudit.CustomFieldValue{
		{ID: 1, Value: "area_billing"}, {ID: 2, Value: "40"}, {ID: 3, Value: 0.25}, {ID: 4, Value: true},
		{ID: 5, Value: []any{"v1", "v2"}}, {ID: 6, Value: "2025-03-12"}, {ID: 7, Value: ""}, {ID: 99, Value: "gone"},
	}}
	tn.Ticket(&tk)
	require.Equal(t, cxaudit.Fields{
		"product_area": "area_billing", "seats": 40.0, "ratio": 0.25, "urgent": true,
		"versions": []string{"v1", "v2"}, "incident_date": time.Date(2025, 3, 12, 0, 0, 0, 0, time.UTC),
	}, tk.Fields, "an empty text is no value, and a field the account no longer has is left out")
	o := cxaudit.Organization{RawFields: map[string]any{"seats": 12.0, "renews": "2026-01-01", "free_text": "x"}}
	tn.Organization(&o)
	require.Equal(t, cxaudit.Fields{"seats": 12.0, "renews": time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC), "free_text": "x"}, o.Fields)
}

func TestSlug(t *testing.T) {
	t.Parallel()
	for in, want := range map[string]string{
		"Product area": "product_area", "  Severity (customer) ": "severity_customer", "ARR — €": "arr",
		"2nd line": "f_2nd_line", "***": "", "Über-Kunde": "ber_kunde",
	} {
		require.Equal(t, want, tenant.Slug(in), in)
	}
}

func TestCalendars(t *testing.T) {
	t.Parallel()
	zd := &tenant.ZendeskSchema{Schedules: []bizhours.Schedule{
		{ID: 10, Name: "EMEA support", TimeZone: "Berlin", Intervals: []bizhours.Interval{{Start: 1440 + 480, End: 1440 + 1080}}},
		{ID: 11, Name: "Americas", TimeZone: "Pacific Time (US & Canada)", Intervals: []bizhours.Interval{{Start: 1440 + 540, End: 1440 + 1020}}},
		{ID: 12, Name: "Broken", TimeZone: "Atlantis"},
	}}
	tn := tenant.Resolve(&tenant.FieldMap{GroupSchedules: map[int64]string{200: "americas", 201: "12", 202: "APAC"}}, nil, zd)
	require.Equal(t, "Europe/Berlin", tn.Calendar(0).Location().String(), "the account's first schedule by default")
	require.Equal(t, "America/Los_Angeles", tn.Calendar(200).Location().String(), "the group's, by name without regard to case")
	require.Equal(t, "Europe/Berlin", tn.Calendar(201).Location().String(), "a schedule that does not compile falls back")
	require.Equal(t, "Europe/Berlin", tn.Calendar(202).Location().String(), "an unknown schedule falls back")
	ps := problems(tn)
	require.Contains(t, ps["Schedule.12"], "Atlantis")
	require.Contains(t, ps["Schedule.groups.202"], `no schedule "APAC"`)
	require.Equal(t, bizhours.Default(), tenant.Resolve(nil, nil, &tenant.ZendeskSchema{}).Calendar(7), "no schedules: Monday to Friday, 09:00-17:00 UTC")
}

// TestMappablesDocumented keeps rules/README.md's table of the names the
// field map can set in step with the code.
func TestMappablesDocumented(t *testing.T) {
	t.Parallel()
	readme, err := os.ReadFile("../../rules/README.md")
	require.NoError(t, err)
	for _, m := range tenant.Mappables() {
		row := fmt.Sprintf("| %s | `%s` | `%s` |", m.Object, m.Name, m.Default)
		require.Contains(t, string(readme), row, "rules/README.md documents %s.%s", m.Object, m.Name)
	}
}
