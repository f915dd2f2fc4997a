// Package tenant fits cxaudit to one tenant's own schema.
//
// No two tenants name their fields alike: one Salesforce org keeps the
// renewal date in Contract_End_Date__c, another in Renewal_Date__c; one
// Zendesk account has a "Product area" dropdown, another a "Severity"
// field. Three things meet here:
//
//   - the field map CS ops write in rules/fields.yaml (FieldMap), which says
//     which field of this org holds what cxaudit calls renewal_date, health
//     or tier, and what the Zendesk custom ticket fields are called in rules;
//   - the schemas the sync reads from the systems themselves
//     (SalesforceSchema from describe, ZendeskSchema from the ticket,
//     organization and user fields);
//   - what follows from both (Tenant): the domain fields of accounts,
//     contacts and opportunities filled from the org's own fields, every
//     custom field typed for rules, and the problems — a mapped field the
//     org lacks or that has another type, a picklist without the values
//     the field map expects — that disable exactly the rules that read it.
//
// Records are stored as the systems sent them (Account.Raw,
// Ticket.CustomFields, Organization.RawFields) and typed here when the audit
// loads them, so an edited field map applies at once, without a new sync.
package tenant

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"slices"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/cxaudit/cxaudit/internal/bizhours"
	"github.com/cxaudit/cxaudit/internal/cxaudit"
	"github.com/cxaudit/cxaudit/internal/hint"
)

// Salesforce objects cxaudit reads.
const (
	ObjectAccount         = "Account"
	ObjectContact         = "Contact"
	ObjectOpportunity     = "Opportunity"
	ObjectContactRelation = "AccountContactRelation"
	// ObjectTask holds the account teams' Tasks (account.open_tasks).
	ObjectTask = "Task"
)

// Zendesk records whose custom fields rules read, as reference prefixes
// (see Ref).
const (
	ObjectTicket       = "Ticket"
	ObjectOrganization = "Organization"
	ObjectUser         = "User"
)

// kind is what a mapped field must hold.
type kind int

const (
	kindText   kind = iota // text, picklist, email, url, phone, id, reference
	kindDate               // date or dateTime
	kindNumber             // double, currency, percent, int, long
	kindRoles              // a multi-select picklist, a picklist or text
)

func (k kind) String() string {
	return [...]string{"text", "a date", "a number", "roles (a multi-select picklist, a picklist or text)"}[k]
}

// accepts reports whether a field of Salesforce type t can hold k.
func (k kind) accepts(t string) bool {
	switch k {
	case kindText:
		return slices.Contains([]string{"string", "picklist", "textarea", "email", "url", "phone", "combobox", "id", "reference", "encryptedstring"}, t)
	case kindDate:
		return t == "date" || t == "datetime"
	case kindNumber:
		return slices.Contains([]string{"double", "currency", "percent", "int", "long"}, t)
	case kindRoles:
		return slices.Contains([]string{"multipicklist", "picklist", "string", "textarea"}, t)
	}
	return false
}

// mappable is a field cxaudit reads under its own name, which the field map
// can point at another field of the org.
type mappable struct {
	name string // cxaudit's name: what rules read (account.renewal_date)
	def  string // the field read when the map says nothing; "" for Contact.role, read from AccountContactRelation.Roles
	kind kind
	what string // for rules/README.md and errors
}

// mappables lists, by Salesforce object, every name the field map can set.
// rules/README.md documents them; TestMappablesDocumented keeps it so.
var mappables = map[string][]mappable{
	ObjectAccount: {
		{"type", "Type", kindText, "the account type (Customer, Prospect, …)"},
		{"industry", "Industry", kindText, "the industry"},
		{"tier", "Tier__c", kindText, "the customer tier or segment (Enterprise, Growth, …)"},
		{"health", "Health__c", kindText, "the health score as text (Green, Yellow, Red)"},
		{"renewal_date", "Renewal_Date__c", kindDate, "the next renewal or contract end date"},
	},
	ObjectContact: {
		{"title", "Title", kindText, "the job title"},
		{"role", "", kindRoles, "the contact's roles on the account (default: AccountContactRelation.Roles)"},
	},
	ObjectOpportunity: {
		{"type", "Type", kindText, "the opportunity type (New Customer, Renewal, …)"},
		{"stage_name", "StageName", kindText, "the stage"},
		{"amount", "Amount", kindNumber, "the amount"},
		{"close_date", "CloseDate", kindDate, "the close date"},
	},
}

// Mappable describes one name of the field map, for documentation.
type Mappable struct {
	Object, Name, Default, Kind, What string
}

// Mappables lists every name fields.yaml can map, by object and name.
func Mappables() []Mappable {
	var out []Mappable
	for _, obj := range []string{ObjectAccount, ObjectContact, ObjectOpportunity} {
		for _, m := range mappables[obj] {
			def := m.def
			if def == "" {
				def = ObjectContactRelation + ".Roles"
			}
			out = append(out, Mappable{Object: obj, Name: m.name, Default: def, Kind: m.kind.String(), What: m.what})
		}
	}
	return out
}

func findMappable(object, name string) *mappable {
	for i, m := range mappables[object] {
		if m.name == name {
			return &mappables[object][i]
		}
	}
	return nil
}

// MappableNames returns the names the field map can set on object.
func MappableNames(object string) []string {
	var out []string
	for _, m := range mappables[object] {
		out = append(out, m.name)
	}
	return out
}

// Defaults of the field map's value lists.
var (
	// DefaultCustomerAccountTypes are Account Type values that mean a
	// customer: the value cxaudit's simulator and many orgs use, and the two
	// of Salesforce's default Type picklist.
	DefaultCustomerAccountTypes = []string{"Customer", "Customer - Direct", "Customer - Channel"}
	// DefaultRenewalOpportunityTypes are Opportunity Type values that make
	// a renewal. Salesforce's default picklist has no renewal value
	// (New Customer, Existing Customer - Upgrade/Replacement/Downgrade), so
	// most orgs add one or say in fields.yaml which of theirs it is.
	DefaultRenewalOpportunityTypes = []string{"Renewal"}
)

// FieldMap is rules/fields.yaml: how this tenant names what cxaudit reads.
// The zero value maps nothing, and every default applies.
type FieldMap struct {
	// Salesforce maps cxaudit's names to this org's API names, by object
	// (Account, Contact, Opportunity): "renewal_date" → "Contract_End_Date__c".
	Salesforce map[string]map[string]string
	// CustomerAccountTypes are the Account Type values of customers
	// (account.is_customer); nil means DefaultCustomerAccountTypes.
	CustomerAccountTypes []string
	// RenewalOpportunityTypes are the Opportunity Type values of renewals
	// (opportunity.is_renewal); nil means DefaultRenewalOpportunityTypes.
	RenewalOpportunityTypes []string
	// TaskStatusOpen and TaskStatusCompleted choose the Task statuses
	// cxaudit writes; empty means the org's own (its default open status,
	// its first closed one).
	TaskStatusOpen, TaskStatusCompleted string
	// TicketFields names Zendesk custom ticket fields for rules: the name
	// (ticket.fields.<name>) → the field id. Fields not named here are
	// named after their title.
	TicketFields map[string]int64
	// DefaultSchedule and GroupSchedules choose the business-hours schedule
	// (its name or id) a ticket's business_hours_between counts in: the
	// one named for the ticket's group, else DefaultSchedule, else the
	// account's first schedule.
	DefaultSchedule string
	GroupSchedules  map[int64]string
	// Positions says where entries were written, by path:
	// "salesforce.Account.renewal_date", "zendesk.ticket_fields.product_area".
	Positions map[string]Position
	// Version is a hash of the map's content ("" for the zero map).
	Version string
}

// Seal computes the map's Version from its content. The loader calls it.
func (m *FieldMap) Seal() {
	cp := *m
	cp.Positions, cp.Version = nil, ""
	b, _ := json.Marshal(cp) // maps marshal sorted: stable
	if string(b) == string(mustJSON(FieldMap{})) {
		m.Version = ""
		return
	}
	h := sha256.Sum256(b)
	m.Version = hex.EncodeToString(h[:6])
}

func mustJSON(v any) []byte {
	b, _ := json.Marshal(v)
	return b
}

// Position is where a field map entry was written.
type Position struct {
	File         string
	Line, Column int
}

func (p Position) String() string {
	if p.File == "" {
		return ""
	}
	return fmt.Sprintf("%s:%d:%d", p.File, p.Line, p.Column)
}

func (m *FieldMap) where(path string) Position {
	if m == nil {
		return Position{}
	}
	return m.Positions[path]
}

// SalesforceField returns the org's API name for cxaudit's name on object,
// and whether the field map set it (else it is the default).
func (m *FieldMap) SalesforceField(object, name string) (string, bool) {
	if m != nil {
		if f, ok := m.Salesforce[object][name]; ok {
			return f, true
		}
	}
	if mp := findMappable(object, name); mp != nil {
		return mp.def, false
	}
	return "", false
}

func (m *FieldMap) customerTypes() []string {
	if m == nil || m.CustomerAccountTypes == nil {
		return DefaultCustomerAccountTypes
	}
	return m.CustomerAccountTypes
}

func (m *FieldMap) renewalTypes() []string {
	if m == nil || m.RenewalOpportunityTypes == nil {
		return DefaultRenewalOpportunityTypes
	}
	return m.RenewalOpportunityTypes
}

// SalesforceSchema is what describe says of the org, stored by the sync.
type SalesforceSchema struct {
	// Objects by name: Account, Contact, Opportunity,
	// AccountContactRelation.
	Objects map[string]*Object `json:"objects"`
	// TaskStatuses and TaskPriorities are the org's Task picklists (the
	// TaskStatus and TaskPriority objects), in their sort order; empty
	// when the org would not say.
	TaskStatuses   []TaskStatus   `json:"task_statuses,omitempty"`
	TaskPriorities []TaskPriority `json:"task_priorities,omitempty"`
	DescribedAt    time.Time      `json:"described_at"`
}

// Object is one described sObject. Resolve indexes it; do not change it
// after.
type Object struct {
	Name   string  `json:"name"`
	Fields []Field `json:"fields,omitempty"`
	// Unavailable says why the object could not be described (not
	// enabled in this org, or the integration user may not read it); ""
	// when it was.
	Unavailable string `json:"unavailable,omitempty"`

	byName map[string]*Field // lower-case name → field, built on first use
}

// Field is one field of a described object.
type Field struct {
	Name   string `json:"name"`
	Label  string `json:"label,omitempty"`
	Type   string `json:"type"`
	Custom bool   `json:"custom,omitempty"`
	// Picklist holds the active values of a picklist or multi-select
	// picklist.
	Picklist []string `json:"picklist,omitempty"`
}

// Field returns the object's field named name, ignoring case (API names
// are case-insensitive), or nil.
func (o *Object) Field(name string) *Field {
	if o == nil {
		return nil
	}
	if o.byName == nil {
		o.index()
	}
	return o.byName[strings.ToLower(name)]
}

func (o *Object) index() {
	o.byName = make(map[string]*Field, len(o.Fields))
	for i := range o.Fields {
		o.byName[strings.ToLower(o.Fields[i].Name)] = &o.Fields[i]
	}
}

// FieldNames returns the names of the object's fields.
func (o *Object) FieldNames() []string {
	if o == nil {
		return nil
	}
	out := make([]string, len(o.Fields))
	for i, f := range o.Fields {
		out[i] = f.Name
	}
	return out
}

// Queryable reports whether a field of type t can be selected in a plain
// SOQL query and read as one value. Compound fields (address, location)
// are read through their components, which describe lists too; base64
// bodies are read one record at a time.
func Queryable(t string) bool {
	switch t {
	case "address", "location", "base64", "complexvalue", "anyType", "json":
		return false
	}
	return true
}

// TaskStatus is one value of the org's Task Status picklist.
type TaskStatus struct {
	APIName   string `json:"api_name"`
	IsClosed  bool   `json:"is_closed"`
	IsDefault bool   `json:"is_default"`
}

// TaskPriority is one value of the org's Task Priority picklist.
type TaskPriority struct {
	APIName        string `json:"api_name"`
	IsDefault      bool   `json:"is_default"`
	IsHighPriority bool   `json:"is_high_priority"`
}

// ZendeskSchema is what the Zendesk account says of its custom fields,
// stored by the sync.
type ZendeskSchema struct {
	TicketFields       []ZendeskField `json:"ticket_fields,omitempty"`
	OrganizationFields []ZendeskField `json:"organization_fields,omitempty"`
	UserFields         []ZendeskField `json:"user_fields,omitempty"`
	// Schedules are the account's business-hours schedules, with their
	// holidays; none when its plan has no business hours.
	Schedules []bizhours.Schedule `json:"schedules,omitempty"`
	FetchedAt time.Time           `json:"fetched_at"`
}

// ZendeskField is one custom ticket, organization or user field.
type ZendeskField struct {
	ID int64 `json:"id"`
	// Key names organization and user fields (their values come keyed by
	// it); ticket fields have none.
	Key    string `json:"key,omitempty"`
	Title  string `json:"title"`
	Type   string `json:"type"`
	Active bool   `json:"active"`
}

// zendeskCustomTypes are the types of Zendesk's custom fields; the system
// fields that /api/v2/ticket_fields lists too (subject, status, priority,
// group, assignee, …) have other types and are not custom fields.
var zendeskCustomTypes = map[string]bool{
	"text": true, "textarea": true, "checkbox": true, "date": true, "integer": true, "decimal": true,
	"regexp": true, "partialcreditcard": true, "multiselect": true, "tagger": true, "dropdown": true, "lookup": true,
}

// Problem is something the tenant lacks that a rule may need: a field the
// field map or a rule names that the org does not have (or the
// integration user cannot see), one of another type, or a picklist
// without the values the field map expects.
type Problem struct {
	Source cxaudit.Source
	// Ref is what rules read that the problem breaks (see Ref).
	Ref string
	// Message says what is wrong, Fix what to do about it.
	Message, Fix string
	// Where is the field map entry behind it, when there is one.
	Where Position
}

func (p Problem) String() string {
	s := p.Message
	if w := p.Where.String(); w != "" {
		s = w + ": " + s
	}
	if p.Fix != "" {
		s += " (" + p.Fix + ")"
	}
	return s
}

// A Ref names something rules read from a tenant's records, by the type
// rules see and the field: "Account.renewal_date", "Contact.role",
// "Opportunity.is_renewal", and custom fields as "Account.fields.ARR__c",
// "Ticket.fields.product_area", "Organization.fields.plan",
// "User.fields.vip". Package rules finds them in compiled expressions.
func Ref(object, field string) string { return object + "." + field }

// FieldRef is Ref for a custom field.
func FieldRef(object, name string) string { return object + ".fields." + name }

// Tenant is a field map resolved against the schemas: it answers what
// rules may read and types the records the audit loads. It is immutable
// and safe for concurrent use.
type Tenant struct {
	fm *FieldMap
	sf *SalesforceSchema
	zd *ZendeskSchema

	sfMap    map[string]map[string]*Field // object → cxaudit name → the org's field; nil entry: unresolved
	problems map[string]Problem           // by Ref
	list     []Problem

	customerTypes, renewalTypes []string

	ticketByID    map[int64]*namedField
	ticketByName  map[string]*namedField
	orgByKey      map[string]*ZendeskField
	userByKey     map[string]*ZendeskField
	ticketNames   []string
	version       string
	statusOpen    string
	statusDone    string
	priorityByKey map[string]string

	defaultCal *bizhours.Calendar
	groupCal   map[int64]*bizhours.Calendar
}

type namedField struct {
	ZendeskField
	name string
}

// Resolve resolves fm (nil: the defaults) against the schemas the sync
// stored; a nil schema is one not read yet, against which nothing is
// checked.
func Resolve(fm *FieldMap, sf *SalesforceSchema, zd *ZendeskSchema) *Tenant {
	if fm == nil {
		fm = &FieldMap{}
	}
	t := &Tenant{fm: fm, sf: sf, zd: zd, problems: map[string]Problem{}, sfMap: map[string]map[string]*Field{}}
	if sf != nil {
		// Indexed now: the Tenant is read from many goroutines.
		for _, o := range sf.Objects {
			o.index()
		}
	}
	t.resolveSalesforce()
	t.resolveZendesk()
	t.resolveSchedules()
	sort.Slice(t.list, func(i, j int) bool { return t.list[i].Ref < t.list[j].Ref })
	h := sha256.New()
	fmt.Fprintf(h, "%s\x00%s\x00%s", fm.Version, stamp(sf), stampZ(zd))
	t.version = hex.EncodeToString(h.Sum(nil)[:6])
	return t
}

func stamp(s *SalesforceSchema) string {
	if s == nil {
		return ""
	}
	return string(mustJSON(s))
}

func stampZ(s *ZendeskSchema) string {
	if s == nil {
		return ""
	}
	return string(mustJSON(s))
}

func (t *Tenant) add(p Problem) {
	if _, dup := t.problems[p.Ref]; dup {
		return
	}
	t.problems[p.Ref] = p
	t.list = append(t.list, p)
}

func (t *Tenant) resolveSalesforce() {
	// account.open_tasks needs Task to be readable: without it every
	// account would look as if its team had nothing open.
	if t.sf != nil {
		if task := t.sf.Objects[ObjectTask]; task == nil || task.Unavailable != "" {
			why := "Task was not described"
			if task != nil {
				why = "Task cannot be read: " + task.Unavailable
			}
			t.problems[Ref(ObjectAccount, "open_tasks")] = Problem{Source: cxaudit.SourceSalesforce, Ref: Ref(ObjectAccount, "open_tasks"),
				Message: why + ", so account.open_tasks is unknown",
				Fix:     "grant the integration user read access to Task"}
		}
	}
	for _, object := range []string{ObjectAccount, ObjectContact, ObjectOpportunity} {
		t.sfMap[object] = map[string]*Field{}
		var obj *Object
		if t.sf != nil {
			obj = t.sf.Objects[object]
		}
		for _, m := range mappables[object] {
			api, mapped := t.fm.SalesforceField(object, m.name)
			var where Position
			if mapped {
				where = t.fm.where("salesforce." + object + "." + m.name)
			}
			if t.sf == nil {
				continue
			}
			if api == "" { // Contact.role: AccountContactRelation.Roles
				rel := t.sf.Objects[ObjectContactRelation]
				if rel == nil || rel.Unavailable != "" || rel.Field("Roles") == nil {
					why := "the org has no AccountContactRelation.Roles"
					if rel != nil && rel.Unavailable != "" {
						why = "AccountContactRelation cannot be read: " + rel.Unavailable
					}
					t.addBoth(object, m.name, Problem{Source: cxaudit.SourceSalesforce, Message: why + ", where contact roles are kept",
						Fix: "map Contact.role in rules/fields.yaml to the Contact field that holds roles, or grant the integration user read access to AccountContactRelation"})
				}
				continue
			}
			f := obj.Field(api)
			switch {
			case obj == nil || obj.Unavailable != "":
				t.addBoth(object, m.name, Problem{Source: cxaudit.SourceSalesforce, Where: where,
					Message: fmt.Sprintf("%s cannot be described, so %s.%s (%s) cannot be read", object, object, api, m.name),
					Fix:     "grant the integration user read access to " + object})
			case f == nil:
				t.addBoth(object, m.name, Problem{Source: cxaudit.SourceSalesforce, Where: where,
					Message: fmt.Sprintf("the org has no field %s.%s for %s (%s)%s", object, api, m.name, m.what,
						suggest(api, customFieldsLike(obj, m.kind), m.kind)),
					Fix: fmt.Sprintf("map %s.%s in rules/fields.yaml to this org's field, or grant the integration user field-level read access to %s", object, m.name, api)})
			case !m.kind.accepts(f.Type):
				t.addBoth(object, m.name, Problem{Source: cxaudit.SourceSalesforce, Where: where,
					Message: fmt.Sprintf("%s.%s is a %s field, but %s needs %s", object, f.Name, f.Type, m.name, m.kind),
					Fix:     fmt.Sprintf("map %s.%s in rules/fields.yaml to a field of that kind", object, m.name)})
			default:
				t.sfMap[object][m.name] = f
			}
		}
	}
	t.customerTypes = t.values(ObjectAccount, "is_customer", "customer_account_types", t.fm.customerTypes())
	t.renewalTypes = t.values(ObjectOpportunity, "is_renewal", "opportunity_renewal_types", t.fm.renewalTypes())
	t.resolveTasks()
}

// addBoth records a problem with a mapped name; a role problem breaks both
// role and roles, a type problem the flags derived from the type.
func (t *Tenant) addBoth(object, name string, p Problem) {
	p.Ref = Ref(object, name)
	t.add(p)
	switch {
	case object == ObjectContact && name == "role":
		p.Ref = Ref(object, "roles")
		t.add(p)
	case object == ObjectAccount && name == "type":
		p.Ref = Ref(object, "is_customer")
		t.add(p)
	case object == ObjectOpportunity && name == "type":
		p.Ref = Ref(object, "is_renewal")
		t.add(p)
	}
}

// values checks a value list of the field map against the picklist of the
// object's type field, and returns the values to match: those the org
// has, as the org spells them.
func (t *Tenant) values(object, flag, key string, want []string) []string {
	f := t.sfMap[object]["type"]
	if f == nil || len(f.Picklist) == 0 {
		return want
	}
	var have []string
	for _, w := range want {
		for _, v := range f.Picklist {
			if strings.EqualFold(v, w) {
				have = append(have, v)
			}
		}
	}
	if len(have) == 0 {
		t.add(Problem{Source: cxaudit.SourceSalesforce, Ref: Ref(object, flag), Where: t.fm.where("salesforce." + key),
			Message: fmt.Sprintf("%s.%s has none of the values %s (it has %s)", object, f.Name, quoteList(want), quoteList(f.Picklist)),
			Fix:     fmt.Sprintf("list this org's values under salesforce.%s in rules/fields.yaml", key)})
	}
	return have
}

func (t *Tenant) resolveTasks() {
	if t.sf == nil {
		return
	}
	for _, s := range t.sf.TaskStatuses {
		if t.statusOpen == "" && !s.IsClosed && s.IsDefault {
			t.statusOpen = s.APIName
		}
	}
	for _, s := range t.sf.TaskStatuses {
		if t.statusOpen == "" && !s.IsClosed {
			t.statusOpen = s.APIName
		}
		if t.statusDone == "" && s.IsClosed {
			t.statusDone = s.APIName
		}
	}
	check := func(want, key string, closed bool, into *string) {
		if want == "" {
			return
		}
		for _, s := range t.sf.TaskStatuses {
			if strings.EqualFold(s.APIName, want) && s.IsClosed == closed {
				*into = s.APIName
				return
			}
		}
		if len(t.sf.TaskStatuses) == 0 {
			*into = want
			return
		}
		var names []string
		for _, s := range t.sf.TaskStatuses {
			if s.IsClosed == closed {
				names = append(names, s.APIName)
			}
		}
		state := map[bool]string{true: "closed", false: "open"}[closed]
		t.list = append(t.list, Problem{Source: cxaudit.SourceSalesforce, Ref: "Task.status", Where: t.fm.where("salesforce.task_status." + key),
			Message: fmt.Sprintf("the org has no %s Task status %q (its %s statuses: %s); cxaudit uses %q", state, want, state, quoteList(names), *into),
			Fix:     "name one of them under salesforce.task_status in rules/fields.yaml"})
	}
	check(t.fm.TaskStatusOpen, "open", false, &t.statusOpen)
	check(t.fm.TaskStatusCompleted, "completed", true, &t.statusDone)
	t.priorityByKey = map[string]string{}
	var def, high, low string
	for _, p := range t.sf.TaskPriorities {
		t.priorityByKey[strings.ToLower(p.APIName)] = p.APIName
		if p.IsDefault && def == "" {
			def = p.APIName
		}
		if p.IsHighPriority && high == "" {
			high = p.APIName
		}
		if !p.IsHighPriority && !p.IsDefault {
			low = p.APIName // the last in sort order
		}
	}
	for key, v := range map[string]string{"high": high, "normal": def, "low": low} {
		if _, ok := t.priorityByKey[key]; !ok && v != "" {
			t.priorityByKey[key] = v
		}
	}
}

// TaskStatuses returns the Task statuses cxaudit writes: a new Task's and a
// completed one's. Before the org was described they are Salesforce's
// defaults.
func (t *Tenant) TaskStatuses() (open, completed string) {
	open, completed = t.statusOpen, t.statusDone
	if open == "" {
		open = cmpOr(t.fm.TaskStatusOpen, "Not Started")
	}
	if completed == "" {
		completed = cmpOr(t.fm.TaskStatusCompleted, "Completed")
	}
	return open, completed
}

// TaskPriority returns the org's Task priority for one of cxaudit's (High,
// Normal, Low): the same value when the org has it, else its high-priority
// value, its default, or its lowest one.
func (t *Tenant) TaskPriority(p string) string {
	if v, ok := t.priorityByKey[strings.ToLower(p)]; ok {
		return v
	}
	return p
}

func cmpOr(a, b string) string {
	if a != "" {
		return a
	}
	return b
}

func (t *Tenant) resolveZendesk() {
	t.ticketByID, t.ticketByName = map[int64]*namedField{}, map[string]*namedField{}
	t.orgByKey, t.userByKey = map[string]*ZendeskField{}, map[string]*ZendeskField{}
	if t.zd == nil {
		return
	}
	named := map[int64]string{}
	for name, id := range t.fm.TicketFields {
		named[id] = name
	}
	var custom []ZendeskField
	for _, f := range t.zd.TicketFields {
		if zendeskCustomTypes[f.Type] {
			custom = append(custom, f)
		}
	}
	// Names the field map gives first, then titles in id order: a title
	// that two fields share names the first, the second gets its id too.
	for i := range custom {
		if name, ok := named[custom[i].ID]; ok {
			nf := &namedField{custom[i], name}
			t.ticketByID[nf.ID], t.ticketByName[name] = nf, nf
		}
	}
	for i := range custom {
		f := custom[i]
		if _, done := t.ticketByID[f.ID]; done {
			continue
		}
		name := Slug(f.Title)
		if name == "" {
			name = fmt.Sprintf("field_%d", f.ID)
		}
		if _, taken := t.ticketByName[name]; taken {
			name = fmt.Sprintf("%s_%d", name, f.ID)
		}
		nf := &namedField{f, name}
		t.ticketByID[f.ID], t.ticketByName[name] = nf, nf
	}
	for name, id := range t.fm.TicketFields {
		if _, ok := t.ticketByID[id]; !ok {
			t.add(Problem{Source: cxaudit.SourceZendesk, Ref: FieldRef(ObjectTicket, name), Where: t.fm.where("zendesk.ticket_fields." + name),
				Message: fmt.Sprintf("the Zendesk account has no custom ticket field %d (named %s in the field map)", id, name),
				Fix:     "check the id in Admin Center > Objects and rules > Tickets > Fields"})
		}
	}
	for name := range t.ticketByName {
		t.ticketNames = append(t.ticketNames, name)
	}
	sort.Strings(t.ticketNames)
	for i := range t.zd.OrganizationFields {
		f := &t.zd.OrganizationFields[i]
		t.orgByKey[f.Key] = f
	}
	for i := range t.zd.UserFields {
		f := &t.zd.UserFields[i]
		t.userByKey[f.Key] = f
	}
}

// resolveSchedules compiles the account's schedules and chooses which
// each group's tickets count business hours in: the one the field map
// names for the group, else its default, else the account's first. A
// schedule that does not compile (a time zone cxaudit does not know) is a
// problem, and its tickets count in the fallback.
func (t *Tenant) resolveSchedules() {
	t.defaultCal, t.groupCal = bizhours.Default(), map[int64]*bizhours.Calendar{}
	if t.zd == nil || len(t.zd.Schedules) == 0 {
		return
	}
	cals := map[string]*bizhours.Calendar{}
	var first *bizhours.Calendar
	for _, sc := range t.zd.Schedules {
		cal, err := sc.Calendar()
		if err != nil {
			t.add(Problem{Source: cxaudit.SourceZendesk, Ref: fmt.Sprintf("Schedule.%d", sc.ID),
				Message: err.Error() + "; its tickets count business hours Monday to Friday, 09:00 to 17:00 UTC",
				Fix:     "fix the schedule in Admin Center > Objects and rules > Business rules > Schedules"})
			continue
		}
		cals[strings.ToLower(sc.Name)], cals[strconv.FormatInt(sc.ID, 10)] = cal, cal
		if first == nil {
			first = cal
		}
	}
	pick := func(name string, path string) *bizhours.Calendar {
		if cal := cals[strings.ToLower(strings.TrimSpace(name))]; cal != nil {
			return cal
		}
		names := make([]string, 0, len(t.zd.Schedules))
		for _, sc := range t.zd.Schedules {
			names = append(names, sc.Name)
		}
		t.add(Problem{Source: cxaudit.SourceZendesk, Ref: "Schedule." + path, Where: t.fm.where("zendesk.schedules." + path),
			Message: fmt.Sprintf("the Zendesk account has no schedule %q%s", name, didYouMean(name, names)),
			Fix:     "name one of its schedules, by name or id: " + strings.Join(names, ", ")})
		return nil
	}
	if first != nil {
		t.defaultCal = first
	}
	if name := t.fm.DefaultSchedule; name != "" {
		if cal := pick(name, "default"); cal != nil {
			t.defaultCal = cal
		}
	}
	for group, name := range t.fm.GroupSchedules {
		if cal := pick(name, "groups."+strconv.FormatInt(group, 10)); cal != nil {
			t.groupCal[group] = cal
		}
	}
}

// Calendar returns the business-hours calendar the tickets of group count
// in (group 0: no group, and organization and account rules).
func (t *Tenant) Calendar(group int64) *bizhours.Calendar {
	if cal, ok := t.groupCal[group]; ok {
		return cal
	}
	return t.defaultCal
}

// Slug names a Zendesk field after its title: lower case, every run of
// other characters than letters and digits turned into "_" ("Product
// area" → product_area).
func Slug(title string) string {
	var b strings.Builder
	under := false
	for _, r := range strings.ToLower(title) {
		if r >= 'a' && r <= 'z' || r >= '0' && r <= '9' {
			if under && b.Len() > 0 {
				b.WriteByte('_')
			}
			under = false
			b.WriteRune(r)
			continue
		}
		under = true
	}
	s := b.String()
	if s != "" && s[0] >= '0' && s[0] <= '9' {
		s = "f_" + s
	}
	return s
}

// Version changes whenever the field map or a schema changes.
func (t *Tenant) Version() string { return t.version }

// FieldMap returns the field map the tenant was resolved with.
func (t *Tenant) FieldMap() *FieldMap { return t.fm }

// Known reports whether the schema of source has been read.
func (t *Tenant) Known(source cxaudit.Source) bool {
	if source == cxaudit.SourceSalesforce {
		return t.sf != nil
	}
	return t.zd != nil
}

// Problems lists every problem found, by Ref.
func (t *Tenant) Problems() []Problem { return t.list }

// Check reports the problem, if any, that keeps rules from reading ref.
// Against a schema not read yet nothing is a problem.
func (t *Tenant) Check(ref string) (Problem, bool) {
	if p, ok := t.problems[ref]; ok {
		return p, true
	}
	object, name, custom := splitRef(ref)
	if !custom {
		return Problem{}, false
	}
	switch object {
	case ObjectAccount, ObjectContact, ObjectOpportunity:
		if t.sf == nil {
			return Problem{}, false
		}
		obj := t.sf.Objects[object]
		f := obj.Field(name)
		if f != nil && f.Name == name && Queryable(f.Type) {
			return Problem{}, false
		}
		p := Problem{Source: cxaudit.SourceSalesforce, Ref: ref,
			Fix: "check the field's API name in Setup > Object Manager > " + object + " > Fields & Relationships, or grant the integration user field-level read access to it"}
		switch {
		case f != nil && f.Name != name:
			p.Message = fmt.Sprintf("%s.fields.%s: the org's field is %s (API names in rules are case-sensitive)", lower(object), name, f.Name)
		case f != nil:
			p.Message = fmt.Sprintf("%s.fields.%s is a %s field, which rules cannot read", lower(object), name, f.Type)
		default:
			p.Message = fmt.Sprintf("the org has no field %s.%s (read as %s.fields.%s)%s", object, name, lower(object), name, didYouMean(name, obj.FieldNames()))
		}
		return p, true
	case ObjectTicket:
		if t.zd == nil || t.ticketByName[name] != nil {
			return Problem{}, false
		}
		return Problem{Source: cxaudit.SourceZendesk, Ref: ref,
			Message: fmt.Sprintf("the Zendesk account has no custom ticket field named %s%s", name, didYouMean(name, t.ticketNames)),
			Fix:     "name the field in rules/fields.yaml (zendesk.ticket_fields: {" + name + ": <field id>}), or use the name cxaudit gives its title"}, true
	case ObjectOrganization, ObjectUser:
		byKey := t.orgByKey
		what := "organization"
		if object == ObjectUser {
			byKey, what = t.userByKey, "user"
		}
		if t.zd == nil || byKey[name] != nil {
			return Problem{}, false
		}
		keys := make([]string, 0, len(byKey))
		for k := range byKey {
			keys = append(keys, k)
		}
		return Problem{Source: cxaudit.SourceZendesk, Ref: ref,
			Message: fmt.Sprintf("the Zendesk account has no %s field with key %s%s", what, name, didYouMean(name, keys)),
			Fix:     "use the field's key, as Admin Center > People > Configuration > " + what + " fields shows it"}, true
	}
	return Problem{}, false
}

// splitRef splits "Account.fields.ARR__c" into Account, ARR__c, true and
// "Account.renewal_date" into Account, renewal_date, false.
func splitRef(ref string) (object, name string, custom bool) {
	object, rest, _ := strings.Cut(ref, ".")
	if n, ok := strings.CutPrefix(rest, "fields."); ok {
		return object, n, true
	}
	return object, rest, false
}

func lower(object string) string {
	switch object {
	case ObjectAccount:
		return "account"
	case ObjectContact:
		return "contact"
	case ObjectOpportunity:
		return "opportunity"
	case ObjectTicket:
		return "ticket"
	case ObjectOrganization:
		return "organization"
	case ObjectUser:
		return "requester"
	}
	return strings.ToLower(object)
}

// TicketFieldNames lists the names rules read the account's custom ticket
// fields by.
func (t *Tenant) TicketFieldNames() []string { return t.ticketNames }

// customFieldsLike lists the object's custom fields that could hold k, for
// hints.
func customFieldsLike(obj *Object, k kind) []string {
	var out []string
	for _, f := range obj.Fields {
		if f.Custom && k.accepts(f.Type) {
			out = append(out, f.Name)
		}
	}
	return out
}

func quoteList(vals []string) string {
	q := make([]string, len(vals))
	for i, v := range vals {
		q[i] = fmt.Sprintf("%q", v)
	}
	return strings.Join(q, ", ")
}

// suggest names the field meant, or else lists the few custom fields that
// could hold what is needed.
func suggest(name string, candidates []string, k kind) string {
	if s := didYouMean(name, candidates); s != "" {
		return s
	}
	if len(candidates) > 0 && len(candidates) <= 5 {
		return fmt.Sprintf("; its custom fields that could hold %s: %s", k, strings.Join(candidates, ", "))
	}
	return ""
}

func didYouMean(name string, candidates []string) string {
	return hint.DidYouMean(hint.Nearest(name, candidates))
}
