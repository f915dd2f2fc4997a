package simworld

import (
	_ "embed"
	"fmt"
	"math/rand/v2"
	"strings"
	"time"

	"github.com/cxaudit/cxaudit/internal/cxaudit"
)

// The simulated tenant's own schema. A real org never names its fields the
// way cxaudit's defaults do, so neither does this one: its renewal date is
// Contract_End_Date__c, its health score Customer_Health__c and its tier
// Segment__c; its Account and Opportunity Type picklists are Salesforce's
// defaults (no "Customer", no "Renewal"); contacts' roles live on the
// AccountContactRelation; and the Zendesk account has custom ticket,
// organization and user fields. FieldMapYAML is the rules/fields.yaml a
// user writes for it.

// FieldMapYAML is the field map of the simulated tenant.
//
//go:embed fields.yaml
var FieldMapYAML []byte

// SalesforceField is a field of the simulated org beyond the standard
// ones, with its describe type and, for picklists, its values.
type SalesforceField struct {
	Object, Name, Type string
	Picklist           []string
}

// ZendeskField is a custom ticket, organization or user field of the
// simulated account. Organization and user fields have a Key; dropdowns
// and multi-selects their option values.
type ZendeskField struct {
	ID      int64
	Key     string
	Title   string
	Type    string
	Options []string
}

// The org's picklists, as a new org has them (Salesforce's defaults).
var (
	AccountTypes = []string{"Prospect", "Customer - Direct", "Customer - Channel", "Channel Partner / Reseller",
		"Installation Partner", "Technology Partner", "Other"}
	OpportunityTypes  = []string{"Existing Customer - Upgrade", "Existing Customer - Replacement", "Existing Customer - Downgrade", "New Customer"}
	OpportunityStages = []string{"Prospecting", "Qualification", "Needs Analysis", "Value Proposition", "Id. Decision Makers",
		"Perception Analysis", "Proposal/Price Quote", "Negotiation", "Negotiation/Review", "Closed Won", "Closed Lost"}
	Industries = []string{"Agriculture", "Banking", "Education", "Energy", "Finance", "Healthcare", "Manufacturing", "Media",
		"Retail", "Technology", "Telecommunications"}
	ContactRoles = []string{"Business User", "Decision Maker", "Economic Buyer", "Economic Decision Maker", "Evaluator",
		"Executive Sponsor", "Influencer", "Technical Buyer", "Other"}
)

// salesforceFields are the org's custom fields. The first three hold what
// cxaudit reads as renewal_date, health and tier.
var salesforceFields = []SalesforceField{
	{Object: "Account", Name: "Contract_End_Date__c", Type: "date"},
	{Object: "Account", Name: "Customer_Health__c", Type: "picklist", Picklist: []string{"Green", "Yellow", "Red"}},
	{Object: "Account", Name: "Segment__c", Type: "picklist", Picklist: []string{"Enterprise", "Growth", "Standard"}},
	{Object: "Account", Name: "ARR__c", Type: "currency"},
	{Object: "Account", Name: "Region__c", Type: "picklist", Picklist: []string{"EMEA", "AMER", "APAC"}},
	{Object: "Account", Name: "Strategic__c", Type: "boolean"},
	{Object: "Account", Name: "Products__c", Type: "multipicklist", Picklist: []string{"Analytics", "Platform", "Mobile", "API"}},
	{Object: "Opportunity", Name: "Forecast_Notes__c", Type: "textarea"},
}

// Where the org keeps what cxaudit reads by default under other names.
const (
	RenewalDateField = "Contract_End_Date__c"
	HealthField      = "Customer_Health__c"
	TierField        = "Segment__c"
)

// RenewalOpportunityType is the Opportunity Type the org's renewals have.
const RenewalOpportunityType = "Existing Customer - Replacement"

// Ids of the simulated account's custom ticket fields.
const (
	TicketFieldProductArea = int64(360010000001)
	TicketFieldSeverity    = int64(360010000002)
	TicketFieldImpact      = int64(360010000003)
	TicketFieldReproduced  = int64(360010000004)
	TicketFieldVersions    = int64(360010000005)
	TicketFieldIncidentDay = int64(360010000006)
)

var productAreas = []string{"billing", "api", "sso", "reporting", "mobile", "integrations"}

var ticketFields = []ZendeskField{
	{ID: TicketFieldProductArea, Title: "Product area", Type: "tagger", Options: prefixed("area_", productAreas)},
	{ID: TicketFieldSeverity, Title: "Severity", Type: "tagger", Options: []string{"sev_1", "sev_2", "sev_3", "sev_4"}},
	{ID: TicketFieldImpact, Title: "Customer impact (users)", Type: "integer"},
	{ID: TicketFieldReproduced, Title: "Reproduced by support", Type: "checkbox"},
	{ID: TicketFieldVersions, Title: "Affected versions", Type: "multiselect", Options: []string{"v4_10", "v4_11", "v4_12"}},
	{ID: TicketFieldIncidentDay, Title: "Incident date", Type: "date"},
}

var organizationFields = []ZendeskField{
	{ID: 360020000001, Key: "plan", Title: "Plan", Type: "dropdown", Options: []string{"plan_enterprise", "plan_growth", "plan_standard"}},
	{ID: 360020000002, Key: "csm_email", Title: "CSM email", Type: "text"},
	{ID: 360020000003, Key: "seats", Title: "Seats", Type: "integer"},
}

var userFields = []ZendeskField{
	{ID: 360030000001, Key: "vip", Title: "VIP", Type: "checkbox"},
	{ID: 360030000002, Key: "preferred_language", Title: "Preferred language", Type: "text"},
}

func prefixed(p string, vals []string) []string {
	out := make([]string, len(vals))
	for i, v := range vals {
		out[i] = p + v
	}
	return out
}

// fitTenant gives a generated world the tenant's own schema and values. It
// draws from its own generator, so that every draw Generate makes, and
// with them every record it made, stays as it was.
func fitTenant(w *World, seed uint64) {
	r := rand.New(rand.NewPCG(seed^0x7e4a_47, seed+0x5eed))
	w.SalesforceFields = salesforceFields
	w.TicketFields, w.OrganizationFields, w.UserFields = ticketFields, organizationFields, userFields

	for i := range w.Accounts {
		a := &w.Accounts[i]
		a.Type = weighted(r, []string{"Customer - Direct", "Customer - Channel"}, []int{85, 15})
		a.Industry = pick(r, Industries)
		a.Raw = map[string]any{
			"ARR__c":    float64(10000 * (1 + r.IntN(200))),
			"Region__c": pick(r, []string{"EMEA", "AMER", "APAC"}),
		}
		if a.Tier == "Enterprise" {
			a.Raw["Strategic__c"] = r.IntN(100) < 60
		}
		var products []string
		for _, p := range []string{"Analytics", "Platform", "Mobile", "API"} {
			if r.IntN(100) < 40 {
				products = append(products, p)
			}
		}
		if len(products) > 0 {
			a.Raw["Products__c"] = strings.Join(products, ";")
		}
		for j := range a.Opportunities {
			o := &a.Opportunities[j]
			o.Type = weighted(r, []string{RenewalOpportunityType, "Existing Customer - Upgrade", "New Customer"}, []int{60, 30, 10})
			o.StageName = map[string]string{"Prospecting": "Prospecting", "Negotiation": "Negotiation/Review",
				"Closed Won": "Closed Won", "Closed Lost": "Closed Lost"}[o.StageName]
		}
		for j := range a.Contacts {
			c := &a.Contacts[j]
			c.Roles = map[string][]string{
				"VP Engineering": {"Executive Sponsor", "Decision Maker"}, "CTO": {"Executive Sponsor"},
				"IT Manager": {"Technical Buyer"}, "Support Lead": {"Business User"}, "Developer": {"Evaluator"},
			}[c.Title]
		}
	}

	// Agents: a third have not been edited for months, as real agents'
	// profiles are not (a sync that reads only recent users misses them).
	for i := range w.Users {
		u := &w.Users[i]
		if u.IsAgent() && r.IntN(3) == 0 {
			u.UpdatedAt = w.Now.AddDate(0, 0, -120-r.IntN(600))
		}
		if !u.IsAgent() && r.IntN(10) == 0 {
			u.RawFields = map[string]any{"vip": true, "preferred_language": pick(r, []string{"en", "de", "fr"})}
		}
	}
	for i := range w.Organizations {
		o := &w.Organizations[i]
		// A quarter of the customers were set up years ago and their
		// organizations not edited since: a sync that reads only recent
		// organizations loses their tickets' account links.
		if r.IntN(4) == 0 {
			o.CreatedAt = w.Now.AddDate(0, 0, -400-r.IntN(900))
			o.UpdatedAt = o.CreatedAt.Add(time.Duration(r.IntN(30*24)) * time.Hour)
		}
		o.RawFields = map[string]any{
			"plan":  pick(r, organizationFields[0].Options),
			"seats": float64(10 * (1 + r.IntN(100))),
		}
		if r.IntN(100) < 70 {
			o.RawFields["csm_email"] = fmt.Sprintf("csm%d@vendor.example.com", 1+r.IntN(8))
		}
	}
	for i := range w.Tickets {
		t := &w.Tickets[i]
		var cf []cxaudit.CustomFieldValue
		// The product-area dropdown mirrors the ticket's area tag; Zendesk
		// adds a dropdown's option value as a tag too.
		for _, tag := range t.Tags {
			for _, a := range productAreas {
				if tag == a {
					cf = append(cf, cxaudit.CustomFieldValue{ID: TicketFieldProductArea, Value: "area_" + a})
				}
			}
		}
		if t.Priority == cxaudit.PriorityUrgent || t.Priority == cxaudit.PriorityHigh {
			sev := "sev_2"
			if t.HasTag("sev1") {
				sev = "sev_1"
			}
			if r.IntN(100) < 70 {
				cf = append(cf, cxaudit.CustomFieldValue{ID: TicketFieldSeverity, Value: sev})
			}
		}
		if t.HasTag("escalated") {
			cf = append(cf,
				cxaudit.CustomFieldValue{ID: TicketFieldImpact, Value: float64(1 + r.IntN(500))},
				cxaudit.CustomFieldValue{ID: TicketFieldReproduced, Value: r.IntN(2) == 0},
				cxaudit.CustomFieldValue{ID: TicketFieldVersions, Value: []any{pick(r, []string{"v4_10", "v4_11", "v4_12"})}},
				cxaudit.CustomFieldValue{ID: TicketFieldIncidentDay, Value: t.CreatedAt.Format(time.DateOnly)},
			)
		}
		t.CustomFields = cf
	}
}
