package rules

import (
	"fmt"
	"reflect"
	"sort"
	"time"

	"github.com/google/cel-go/common/types"
	"github.com/google/cel-go/common/types/ref"

	"github.com/cxaudit/cxaudit/internal/bizhours"
	"github.com/cxaudit/cxaudit/internal/cxaudit"
	"github.com/cxaudit/cxaudit/internal/tenant"
)

// The CEL object types rules see. Each wraps a domain record without copying
// it; field values are converted only when an expression reads them.
const (
	ticketTypeName       = "cxaudit.Ticket"
	commentTypeName      = "cxaudit.Comment"
	metricsTypeName      = "cxaudit.TicketMetrics"
	organizationTypeName = "cxaudit.Organization"
	accountTypeName      = "cxaudit.Account"
	contactTypeName      = "cxaudit.Contact"
	opportunityTypeName  = "cxaudit.Opportunity"
	userTypeName         = "cxaudit.User"
	// scheduleTypeName is the opaque type of the hidden variable holding
	// the record's business-hours calendar.
	scheduleTypeName = "cxaudit.Schedule"
)

var (
	ticketType       = types.NewObjectType(ticketTypeName)
	commentType      = types.NewObjectType(commentTypeName)
	metricsType      = types.NewObjectType(metricsTypeName)
	organizationType = types.NewObjectType(organizationTypeName)
	accountType      = types.NewObjectType(accountTypeName)
	contactType      = types.NewObjectType(contactTypeName)
	opportunityType  = types.NewObjectType(opportunityTypeName)
	userType         = types.NewObjectType(userTypeName)

	// The plain records, one generic CEL value (types_records.go).
	commentRec      = newRecordType[cxaudit.Comment](commentTypeName)
	organizationRec = newRecordType[cxaudit.Organization](organizationTypeName)
	userRec         = newRecordType[cxaudit.User](userTypeName)
	contactRec      = newRecordType[cxaudit.Contact](contactTypeName)
	opportunityRec  = newRecordType[cxaudit.Opportunity](opportunityTypeName)

	stringList = types.NewListType(types.StringType)
	// fieldsMap is the type of every record's `fields`: custom fields by
	// name, each typed as the tenant's schema says (string, double, bool,
	// timestamp or list of strings).
	fieldsMap = types.NewMapType(types.StringType, types.DynType)
)

// tenantObjects maps the CEL object types whose fields come from the
// tenant's schema to the names package tenant gives them in refs.
var tenantObjects = map[string]string{
	ticketTypeName: tenant.ObjectTicket, organizationTypeName: tenant.ObjectOrganization, userTypeName: tenant.ObjectUser,
	accountTypeName: tenant.ObjectAccount, contactTypeName: tenant.ObjectContact, opportunityTypeName: tenant.ObjectOpportunity,
}

// fieldsVal turns a record's typed custom fields into a CEL map.
func fieldsVal(f cxaudit.Fields) ref.Val {
	if f == nil {
		f = cxaudit.Fields{}
	}
	return types.NewStringInterfaceMap(types.DefaultTypeAdapter, f)
}

// field describes one field of an object type: its CEL type, how to read it
// and, for fields that may be absent, whether it is set (CEL's has()).
type field struct {
	typ   *types.Type
	get   func(obj any) ref.Val
	isSet func(obj any) bool // nil: always set
}

// objectFields maps a type name to its fields. It is filled once in init and
// only read afterwards.
var objectFields = map[string]map[string]*field{}

func str(s string) ref.Val          { return types.String(s) }
func integer(i int64) ref.Val       { return types.Int(i) }
func boolean(b bool) ref.Val        { return types.Bool(b) }
func timestamp(t time.Time) ref.Val { return types.Timestamp{Time: t} }
func strList(s []string) ref.Val    { return types.NewStringList(types.DefaultTypeAdapter, s) }

// optTime returns a getter and a presence test for a nullable timestamp.
// Reading an unset one is an evaluation error naming the guard to use.
func optTime(path string, f func(obj any) *time.Time) (func(any) ref.Val, func(any) bool) {
	get := func(obj any) ref.Val {
		if t := f(obj); t != nil {
			return timestamp(*t)
		}
		return types.NewErr("%s is not set (guard it with has(%s))", path, path)
	}
	return get, func(obj any) bool { return f(obj) != nil }
}

// minutes returns a nullable minute count as an int, -1 when unset.
func minutes(m *int64) ref.Val {
	if m == nil {
		return types.Int(-1)
	}
	return types.Int(*m)
}

func init() {
	tk := func(o any) *cxaudit.Ticket { return o.(*ticketVal).t }
	objectFields[ticketTypeName] = map[string]*field{
		"id":              {typ: types.IntType, get: func(o any) ref.Val { return integer(tk(o).ID) }},
		"subject":         {typ: types.StringType, get: func(o any) ref.Val { return str(tk(o).Subject) }},
		"description":     {typ: types.StringType, get: func(o any) ref.Val { return str(tk(o).Description) }},
		"status":          {typ: types.StringType, get: func(o any) ref.Val { return str(tk(o).Status) }},
		"priority":        {typ: types.StringType, get: func(o any) ref.Val { return str(tk(o).Priority) }},
		"type":            {typ: types.StringType, get: func(o any) ref.Val { return str(tk(o).Type) }},
		"tags":            {typ: stringList, get: func(o any) ref.Val { return strList(tk(o).Tags) }},
		"requester_id":    {typ: types.IntType, get: func(o any) ref.Val { return integer(tk(o).RequesterID) }},
		"assignee_id":     {typ: types.IntType, get: func(o any) ref.Val { return integer(tk(o).AssigneeID) }},
		"group_id":        {typ: types.IntType, get: func(o any) ref.Val { return integer(tk(o).GroupID) }},
		"organization_id": {typ: types.IntType, get: func(o any) ref.Val { return integer(tk(o).OrganizationID) }},
		"created_at":      {typ: types.TimestampType, get: func(o any) ref.Val { return timestamp(tk(o).CreatedAt) }},
		"updated_at":      {typ: types.TimestampType, get: func(o any) ref.Val { return timestamp(tk(o).UpdatedAt) }},
		"metrics": {typ: metricsType,
			get:   func(o any) ref.Val { return metricsVal{tk(o).Metrics} },
			isSet: func(o any) bool { return tk(o).Metrics != nil }},
		"comments": {typ: types.NewListType(commentType), get: func(o any) ref.Val { return o.(*ticketVal).commentList() }},
		"open":     {typ: types.BoolType, get: func(o any) ref.Val { return boolean(tk(o).Open()) }},
		"p_level":  {typ: types.StringType, get: func(o any) ref.Val { return str(pLevel(tk(o).Priority)) }},
		"fields":   {typ: fieldsMap, get: func(o any) ref.Val { return fieldsVal(tk(o).Fields) }},
	}

	cm := func(o any) *cxaudit.Comment { return recordOf[cxaudit.Comment](o) }
	objectFields[commentTypeName] = map[string]*field{
		"id":         {typ: types.IntType, get: func(o any) ref.Val { return integer(cm(o).ID) }},
		"author_id":  {typ: types.IntType, get: func(o any) ref.Val { return integer(cm(o).AuthorID) }},
		"public":     {typ: types.BoolType, get: func(o any) ref.Val { return boolean(cm(o).Public) }},
		"body":       {typ: types.StringType, get: func(o any) ref.Val { return str(cm(o).Body) }},
		"created_at": {typ: types.TimestampType, get: func(o any) ref.Val { return timestamp(cm(o).CreatedAt) }},
		"by_agent":   {typ: types.BoolType, get: func(o any) ref.Val { return boolean(cm(o).ByAgent) }},
		"by_cxaudit": {typ: types.BoolType, get: func(o any) ref.Val { return boolean(cm(o).ByCXAudit) }},
	}

	var zeroMetrics cxaudit.TicketMetrics
	mt := func(o any) *cxaudit.TicketMetrics {
		if m := o.(metricsVal).m; m != nil {
			return m
		}
		return &zeroMetrics
	}
	mtime := func(name string, f func(m *cxaudit.TicketMetrics) *time.Time) *field {
		get, isSet := optTime("ticket.metrics."+name, func(o any) *time.Time { return f(mt(o)) })
		return &field{typ: types.TimestampType, get: get, isSet: isSet}
	}
	objectFields[metricsTypeName] = map[string]*field{
		"reply_time_minutes":                {typ: types.IntType, get: func(o any) ref.Val { return minutes(mt(o).ReplyTimeCalendarMinutes) }},
		"reply_time_calendar_minutes":       {typ: types.IntType, get: func(o any) ref.Val { return minutes(mt(o).ReplyTimeCalendarMinutes) }},
		"reply_time_business_minutes":       {typ: types.IntType, get: func(o any) ref.Val { return minutes(mt(o).ReplyTimeBusinessMinutes) }},
		"first_resolution_calendar_minutes": {typ: types.IntType, get: func(o any) ref.Val { return minutes(mt(o).FirstResolutionCalendarMinutes) }},
		"replied":                           {typ: types.BoolType, get: func(o any) ref.Val { return boolean(mt(o).ReplyTimeCalendarMinutes != nil) }},
		"reopens":                           {typ: types.IntType, get: func(o any) ref.Val { return integer(mt(o).Reopens) }},
		"replies":                           {typ: types.IntType, get: func(o any) ref.Val { return integer(mt(o).Replies) }},
		"assigned_at":                       mtime("assigned_at", func(m *cxaudit.TicketMetrics) *time.Time { return m.AssignedAt }),
		"solved_at":                         mtime("solved_at", func(m *cxaudit.TicketMetrics) *time.Time { return m.SolvedAt }),
		"latest_comment_added_at":           mtime("latest_comment_added_at", func(m *cxaudit.TicketMetrics) *time.Time { return m.LatestCommentAddedAt }),
		"status_updated_at":                 mtime("status_updated_at", func(m *cxaudit.TicketMetrics) *time.Time { return m.StatusUpdatedAt }),
	}

	og := func(o any) *cxaudit.Organization { return recordOf[cxaudit.Organization](o) }
	objectFields[organizationTypeName] = map[string]*field{
		"id":           {typ: types.IntType, get: func(o any) ref.Val { return integer(og(o).ID) }},
		"name":         {typ: types.StringType, get: func(o any) ref.Val { return str(og(o).Name) }},
		"external_id":  {typ: types.StringType, get: func(o any) ref.Val { return str(og(o).ExternalID) }},
		"domain_names": {typ: stringList, get: func(o any) ref.Val { return strList(og(o).DomainNames) }},
		"tags":         {typ: stringList, get: func(o any) ref.Val { return strList(og(o).Tags) }},
		"created_at":   {typ: types.TimestampType, get: func(o any) ref.Val { return timestamp(og(o).CreatedAt) }},
		"updated_at":   {typ: types.TimestampType, get: func(o any) ref.Val { return timestamp(og(o).UpdatedAt) }},
		"linked":       {typ: types.BoolType, get: func(o any) ref.Val { return boolean(og(o).ExternalID != "") }},
		"fields":       {typ: fieldsMap, get: func(o any) ref.Val { return fieldsVal(og(o).Fields) }},
	}

	us := func(o any) *cxaudit.User { return recordOf[cxaudit.User](o) }
	objectFields[userTypeName] = map[string]*field{
		"id":              {typ: types.IntType, get: func(o any) ref.Val { return integer(us(o).ID) }},
		"name":            {typ: types.StringType, get: func(o any) ref.Val { return str(us(o).Name) }},
		"email":           {typ: types.StringType, get: func(o any) ref.Val { return str(us(o).Email) }},
		"role":            {typ: types.StringType, get: func(o any) ref.Val { return str(us(o).Role) }},
		"organization_id": {typ: types.IntType, get: func(o any) ref.Val { return integer(us(o).OrganizationID) }},
		"is_agent":        {typ: types.BoolType, get: func(o any) ref.Val { return boolean(us(o).IsAgent()) }},
		"fields":          {typ: fieldsMap, get: func(o any) ref.Val { return fieldsVal(us(o).Fields) }},
	}

	ac := func(o any) *cxaudit.Account { return o.(*accountVal).a }
	renewalGet, renewalSet := optTime("account.renewal_date", func(o any) *time.Time { return ac(o).RenewalDate })
	objectFields[accountTypeName] = map[string]*field{
		"id":              {typ: types.StringType, get: func(o any) ref.Val { return str(ac(o).ID) }},
		"name":            {typ: types.StringType, get: func(o any) ref.Val { return str(ac(o).Name) }},
		"owner_id":        {typ: types.StringType, get: func(o any) ref.Val { return str(ac(o).OwnerID) }},
		"owner_active":    {typ: types.BoolType, get: func(o any) ref.Val { return boolean(ac(o).OwnerActive) }},
		"owner_name":      {typ: types.StringType, get: func(o any) ref.Val { return str(ac(o).OwnerName) }},
		"website":         {typ: types.StringType, get: func(o any) ref.Val { return str(ac(o).Website) }},
		"domain":          {typ: types.StringType, get: func(o any) ref.Val { return str(ac(o).Domain()) }},
		"type":            {typ: types.StringType, get: func(o any) ref.Val { return str(ac(o).Type) }},
		"industry":        {typ: types.StringType, get: func(o any) ref.Val { return str(ac(o).Industry) }},
		"tier":            {typ: types.StringType, get: func(o any) ref.Val { return str(ac(o).Tier) }},
		"health":          {typ: types.StringType, get: func(o any) ref.Val { return str(ac(o).Health) }},
		"renewal_date":    {typ: types.TimestampType, get: renewalGet, isSet: renewalSet},
		"system_modstamp": {typ: types.TimestampType, get: func(o any) ref.Val { return timestamp(ac(o).SystemModstamp) }},
		"contacts":        {typ: types.NewListType(contactType), get: func(o any) ref.Val { return o.(*accountVal).contactList() }},
		"opportunities":   {typ: types.NewListType(opportunityType), get: func(o any) ref.Val { return o.(*accountVal).opportunityList() }},
		"is_customer":     {typ: types.BoolType, get: func(o any) ref.Val { return boolean(ac(o).IsCustomer) }},
		"fields":          {typ: fieldsMap, get: func(o any) ref.Val { return fieldsVal(ac(o).Fields) }},
	}

	ct := func(o any) *cxaudit.Contact { return recordOf[cxaudit.Contact](o) }
	objectFields[contactTypeName] = map[string]*field{
		"id":              {typ: types.StringType, get: func(o any) ref.Val { return str(ct(o).ID) }},
		"account_id":      {typ: types.StringType, get: func(o any) ref.Val { return str(ct(o).AccountID) }},
		"name":            {typ: types.StringType, get: func(o any) ref.Val { return str(ct(o).Name) }},
		"email":           {typ: types.StringType, get: func(o any) ref.Val { return str(ct(o).Email) }},
		"title":           {typ: types.StringType, get: func(o any) ref.Val { return str(ct(o).Title) }},
		"role":            {typ: types.StringType, get: func(o any) ref.Val { return str(ct(o).Role) }},
		"roles":           {typ: stringList, get: func(o any) ref.Val { return strList(ct(o).Roles) }},
		"system_modstamp": {typ: types.TimestampType, get: func(o any) ref.Val { return timestamp(ct(o).SystemModstamp) }},
		"fields":          {typ: fieldsMap, get: func(o any) ref.Val { return fieldsVal(ct(o).Fields) }},
	}

	op := func(o any) *cxaudit.Opportunity { return recordOf[cxaudit.Opportunity](o) }
	closeGet, closeSet := optTime("opportunity.close_date", func(o any) *time.Time { return op(o).CloseDate })
	objectFields[opportunityTypeName] = map[string]*field{
		"id":              {typ: types.StringType, get: func(o any) ref.Val { return str(op(o).ID) }},
		"account_id":      {typ: types.StringType, get: func(o any) ref.Val { return str(op(o).AccountID) }},
		"name":            {typ: types.StringType, get: func(o any) ref.Val { return str(op(o).Name) }},
		"stage_name":      {typ: types.StringType, get: func(o any) ref.Val { return str(op(o).StageName) }},
		"type":            {typ: types.StringType, get: func(o any) ref.Val { return str(op(o).Type) }},
		"amount":          {typ: types.DoubleType, get: func(o any) ref.Val { return types.Double(op(o).Amount) }},
		"close_date":      {typ: types.TimestampType, get: closeGet, isSet: closeSet},
		"is_closed":       {typ: types.BoolType, get: func(o any) ref.Val { return boolean(op(o).IsClosed) }},
		"is_won":          {typ: types.BoolType, get: func(o any) ref.Val { return boolean(op(o).IsWon) }},
		"is_renewal":      {typ: types.BoolType, get: func(o any) ref.Val { return boolean(op(o).IsRenewal) }},
		"system_modstamp": {typ: types.TimestampType, get: func(o any) ref.Val { return timestamp(op(o).SystemModstamp) }},
		"fields":          {typ: fieldsMap, get: func(o any) ref.Val { return fieldsVal(op(o).Fields) }},
	}

	objectFields[scheduleTypeName] = map[string]*field{}

	for _, fields := range objectFields {
		for name := range fields {
			fieldNames[name] = struct{}{}
		}
	}
}

// fieldNames holds every field name of every object type, for "did you
// mean" hints.
var fieldNames = map[string]struct{}{}

// pLevel maps a Zendesk priority to the P-level support teams speak of.
func pLevel(priority string) string {
	switch priority {
	case cxaudit.PriorityUrgent:
		return "P1"
	case cxaudit.PriorityHigh:
		return "P2"
	case cxaudit.PriorityNormal:
		return "P3"
	case cxaudit.PriorityLow:
		return "P4"
	}
	return ""
}

// provider resolves the object types above for the type checker and the
// interpreter, and defers everything else to CEL's registry.
type provider struct {
	*types.Registry
}

func (p provider) FindStructType(name string) (*types.Type, bool) {
	if _, ok := objectFields[name]; ok {
		return types.NewTypeTypeWithParam(types.NewObjectType(name)), true
	}
	return p.Registry.FindStructType(name)
}

func (p provider) FindStructFieldNames(name string) ([]string, bool) {
	fields, ok := objectFields[name]
	if !ok {
		return p.Registry.FindStructFieldNames(name)
	}
	names := make([]string, 0, len(fields))
	for n := range fields {
		names = append(names, n)
	}
	sort.Strings(names)
	return names, true
}

func (p provider) FindStructFieldType(name, fieldName string) (*types.FieldType, bool) {
	fields, ok := objectFields[name]
	if !ok {
		return p.Registry.FindStructFieldType(name, fieldName)
	}
	f, ok := fields[fieldName]
	if !ok {
		return nil, false
	}
	isSet := f.isSet
	if isSet == nil {
		isSet = func(any) bool { return true }
	}
	get := f.get
	return &types.FieldType{
		Type:    f.typ,
		IsSet:   isSet,
		GetFrom: func(obj any) (any, error) { return get(obj), nil },
	}, true
}

// object implements the parts of ref.Val all object values share. The
// embedding type passes itself as self.
type object struct{}

func (object) ConvertToNative(t reflect.Type) (any, error) {
	return nil, fmt.Errorf("cxaudit objects cannot be converted to %v", t)
}

// getField reads a field of an object value outside the fieldQualifier fast
// path (for instance through a dyn-typed expression).
func getField(typeName string, obj any, name string) ref.Val {
	f, ok := objectFields[typeName][name]
	if !ok {
		return types.NewErr("no such field '%s' on %s", name, typeName)
	}
	return f.get(obj)
}

// ticketVal wraps a ticket. It caches what is costly to build (the comment
// list, the escalation analysis) for the duration of one Evaluate call.
type ticketVal struct {
	object
	t        *cxaudit.Ticket
	comments ref.Val
	esc      *escalation
}

func (v *ticketVal) ConvertToType(t ref.Type) ref.Val { return convertObject(v, t) }
func (v *ticketVal) Equal(o ref.Val) ref.Val {
	w, ok := o.(*ticketVal)
	return types.Bool(ok && w.t == v.t)
}
func (v *ticketVal) Type() ref.Type { return ticketType }
func (v *ticketVal) Value() any     { return v }
func (v *ticketVal) Get(name ref.Val) ref.Val {
	return getField(ticketTypeName, v, string(name.(types.String)))
}
func (v *ticketVal) IsSet(name ref.Val) ref.Val { return isSetField(ticketTypeName, v, name) }
func (v *ticketVal) commentList() ref.Val {
	if v.comments == nil {
		vals := make([]ref.Val, len(v.t.Comments))
		for i := range v.t.Comments {
			vals[i] = commentRec(&v.t.Comments[i])
		}
		v.comments = types.NewRefValList(types.DefaultTypeAdapter, vals)
	}
	return v.comments
}

type metricsVal struct {
	m *cxaudit.TicketMetrics
}

func (v metricsVal) ConvertToNative(t reflect.Type) (any, error) { return object{}.ConvertToNative(t) }
func (v metricsVal) ConvertToType(t ref.Type) ref.Val            { return convertObject(v, t) }
func (v metricsVal) Equal(o ref.Val) ref.Val {
	w, ok := o.(metricsVal)
	return types.Bool(ok && w.m == v.m)
}
func (v metricsVal) Type() ref.Type { return metricsType }
func (v metricsVal) Value() any     { return v }
func (v metricsVal) Get(name ref.Val) ref.Val {
	return getField(metricsTypeName, v, string(name.(types.String)))
}

// scheduleVal holds a business-hours calendar, which rules never read but
// through business_hours_between.
type scheduleVal struct {
	object
	c *bizhours.Calendar
}

func (v scheduleVal) ConvertToType(t ref.Type) ref.Val { return convertObject(v, t) }
func (v scheduleVal) Equal(o ref.Val) ref.Val {
	w, ok := o.(scheduleVal)
	return types.Bool(ok && w.c == v.c)
}
func (v scheduleVal) Type() ref.Type { return types.NewObjectType(scheduleTypeName) }
func (v scheduleVal) Value() any     { return v }

type accountVal struct {
	object
	a             *cxaudit.Account
	contacts      ref.Val
	opportunities ref.Val
}

func (v *accountVal) ConvertToType(t ref.Type) ref.Val { return convertObject(v, t) }
func (v *accountVal) Equal(o ref.Val) ref.Val {
	w, ok := o.(*accountVal)
	return types.Bool(ok && w.a == v.a)
}
func (v *accountVal) Type() ref.Type { return accountType }
func (v *accountVal) Value() any     { return v }
func (v *accountVal) Get(name ref.Val) ref.Val {
	return getField(accountTypeName, v, string(name.(types.String)))
}
func (v *accountVal) contactList() ref.Val {
	if v.contacts == nil {
		vals := make([]ref.Val, len(v.a.Contacts))
		for i := range v.a.Contacts {
			vals[i] = contactRec(&v.a.Contacts[i])
		}
		v.contacts = types.NewRefValList(types.DefaultTypeAdapter, vals)
	}
	return v.contacts
}
func (v *accountVal) opportunityList() ref.Val {
	if v.opportunities == nil {
		vals := make([]ref.Val, len(v.a.Opportunities))
		for i := range v.a.Opportunities {
			vals[i] = opportunityRec(&v.a.Opportunities[i])
		}
		v.opportunities = types.NewRefValList(types.DefaultTypeAdapter, vals)
	}
	return v.opportunities
}

func convertObject(v ref.Val, t ref.Type) ref.Val {
	switch t {
	case v.Type():
		return v
	case types.TypeType:
		return v.Type().(*types.Type)
	}
	return types.NewErr("type conversion error from '%s' to '%s'", v.Type().TypeName(), t.TypeName())
}

func isSetField(typeName string, obj any, name ref.Val) ref.Val {
	s, ok := name.(types.String)
	if !ok {
		return types.NewErr("no such field")
	}
	f, ok := objectFields[typeName][string(s)]
	if !ok {
		return types.NewErr("no such field '%s' on %s", s, typeName)
	}
	return types.Bool(f.isSet == nil || f.isSet(obj))
}
