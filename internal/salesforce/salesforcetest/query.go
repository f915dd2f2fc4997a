package salesforcetest

import (
	"bytes"
	"cmp"
	"encoding/json"
	"fmt"
	"slices"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/cxaudit/cxaudit/internal/simworld"
)

// This file holds the simulator's schema, its generic record store, and
// the evaluation of parsed queries against them.

type fieldType int

const (
	typeID fieldType = iota
	typeString
	typeBool
	typeNumber
	typeDate
	typeDateTime
)

func (t fieldType) String() string {
	return [...]string{"id", "string", "boolean", "double", "date", "dateTime"}[t]
}

// accepts reports whether a literal of kind k can be compared with a field
// of type t.
func (t fieldType) accepts(k litKind) bool {
	switch t {
	case typeID, typeString:
		return k == litString
	case typeBool:
		return k == litBool
	case typeNumber:
		return k == litNumber
	case typeDate:
		return k == litDate
	case typeDateTime:
		return k == litDateTime
	}
	return false
}

type fieldDef struct {
	name string
	typ  fieldType
	// desc is the type describe reports (string, picklist, currency, …);
	// typ is how SOQL compares it.
	desc     string
	picklist []string
}

// relDef is a lookup relationship: Account.Owner follows OwnerId to a User.
type relDef struct {
	name   string // Owner
	target string // User
	via    string // OwnerId
}

type objectDef struct {
	name   string
	fields []fieldDef
	byName map[string]*fieldDef // lower-case name → field
	rels   map[string]*relDef   // lower-case name → relationship
}

func (o *objectDef) field(name string) *fieldDef { return o.byName[strings.ToLower(name)] }

func (o *objectDef) add(f fieldDef) {
	o.fields = append(o.fields, f)
	o.byName = map[string]*fieldDef{}
	for i := range o.fields {
		o.byName[strings.ToLower(o.fields[i].name)] = &o.fields[i]
	}
}

func newObject(name string, rels []relDef, fields ...fieldDef) *objectDef {
	o := &objectDef{name: name, rels: map[string]*relDef{}}
	for _, f := range fields {
		o.add(f)
	}
	for i := range rels {
		o.rels[strings.ToLower(rels[i].name)] = &rels[i]
	}
	return o
}

// schemaDef is every object a simulator serves, by lower-case name.
type schemaDef map[string]*objectDef

func (sc schemaDef) object(name string) *objectDef { return sc[strings.ToLower(name)] }

// descTypes maps a describe type to how SOQL compares it.
var descTypes = map[string]fieldType{
	"id": typeID, "reference": typeID, "string": typeString, "picklist": typeString, "multipicklist": typeString,
	"textarea": typeString, "url": typeString, "email": typeString, "phone": typeString, "combobox": typeString,
	"boolean": typeBool, "double": typeNumber, "currency": typeNumber, "percent": typeNumber, "int": typeNumber,
	"date": typeDate, "datetime": typeDateTime, "address": typeString,
}

// fd is a field of describe type desc.
func fd(name, desc string, picklist ...string) fieldDef {
	return fieldDef{name: name, typ: descTypes[desc], desc: desc, picklist: picklist}
}

// newSchema returns the objects of an org as Salesforce creates them, with
// its standard fields and picklists
// (https://developer.salesforce.com/docs/atlas.en-us.object_reference.meta/object_reference/sforce_api_objects_account.htm
// and the pages of the other objects), plus the org's custom fields.
func newSchema(custom []simworld.SalesforceField) schemaDef {
	objs := []*objectDef{
		newObject("Account", []relDef{{"Owner", "User", "OwnerId"}},
			fd("Id", "id"), fd("IsDeleted", "boolean"), fd("Name", "string"), fd("Type", "picklist", simworld.AccountTypes...),
			fd("BillingCity", "string"), fd("BillingCountry", "string"), fd("BillingAddress", "address"),
			fd("Website", "url"), fd("Industry", "picklist", simworld.Industries...), fd("AnnualRevenue", "currency"),
			fd("NumberOfEmployees", "int"), fd("Description", "textarea"), fd("OwnerId", "reference"),
			fd("CreatedDate", "datetime"), fd("LastModifiedDate", "datetime"), fd("SystemModstamp", "datetime")),
		newObject("Contact", []relDef{{"Account", "Account", "AccountId"}},
			fd("Id", "id"), fd("IsDeleted", "boolean"), fd("AccountId", "reference"), fd("FirstName", "string"),
			fd("LastName", "string"), fd("Name", "string"), fd("Email", "email"), fd("Phone", "phone"),
			fd("Title", "string"), fd("CreatedDate", "datetime"), fd("SystemModstamp", "datetime")),
		newObject("Opportunity", []relDef{{"Account", "Account", "AccountId"}},
			fd("Id", "id"), fd("IsDeleted", "boolean"), fd("AccountId", "reference"), fd("Name", "string"),
			fd("StageName", "picklist", simworld.OpportunityStages...), fd("Amount", "currency"), fd("Probability", "percent"),
			fd("CloseDate", "date"), fd("Type", "picklist", simworld.OpportunityTypes...), fd("IsClosed", "boolean"),
			fd("IsWon", "boolean"), fd("CreatedDate", "datetime"), fd("SystemModstamp", "datetime")),
		// AccountContactRelation (API 37.0 and later) holds the roles a
		// contact plays on an account, in a multi-select picklist:
		// https://developer.salesforce.com/docs/atlas.en-us.object_reference.meta/object_reference/sforce_api_objects_accountcontactrelation.htm
		newObject("AccountContactRelation", []relDef{{"Account", "Account", "AccountId"}, {"Contact", "Contact", "ContactId"}},
			fd("Id", "id"), fd("IsDeleted", "boolean"), fd("AccountId", "reference"), fd("ContactId", "reference"),
			fd("Roles", "multipicklist", simworld.ContactRoles...), fd("IsDirect", "boolean"), fd("IsActive", "boolean"),
			fd("StartDate", "date"), fd("EndDate", "date"), fd("SystemModstamp", "datetime")),
		// Task's AccountId is read-only and derived from WhatId: an
		// Account's own Id, an Opportunity's AccountId
		// (https://developer.salesforce.com/docs/atlas.en-us.object_reference.meta/object_reference/sforce_api_objects_task.htm).
		newObject("Task", []relDef{{"Owner", "User", "OwnerId"}, {"Account", "Account", "AccountId"}},
			fd("Id", "id"), fd("IsDeleted", "boolean"), fd("WhatId", "reference"), fd("AccountId", "reference"),
			fd("OwnerId", "reference"), fd("Subject", "combobox"),
			fd("Description", "textarea"), fd("Priority", "picklist"), fd("Status", "picklist"),
			fd("ActivityDate", "date"), fd("IsClosed", "boolean"), fd("SystemModstamp", "datetime")),
		// TaskStatus and TaskPriority are the Task picklists' values with
		// what they mean (IsClosed, IsDefault, IsHighPriority):
		// https://developer.salesforce.com/docs/atlas.en-us.object_reference.meta/object_reference/sforce_api_objects_taskstatus.htm
		newObject("TaskStatus", nil, fd("Id", "id"), fd("ApiName", "string"), fd("MasterLabel", "string"),
			fd("IsClosed", "boolean"), fd("IsDefault", "boolean"), fd("SortOrder", "int")),
		newObject("TaskPriority", nil, fd("Id", "id"), fd("ApiName", "string"), fd("MasterLabel", "string"),
			fd("IsDefault", "boolean"), fd("IsHighPriority", "boolean"), fd("SortOrder", "int")),
		newObject("User", nil, fd("Id", "id"), fd("Name", "string"), fd("IsActive", "boolean")),
	}
	sc := schemaDef{}
	for _, o := range objs {
		sc[strings.ToLower(o.name)] = o
	}
	for _, c := range custom {
		if o := sc.object(c.Object); o != nil {
			o.add(fd(c.Name, c.Type, c.Picklist...))
		}
	}
	return sc
}

// record is one stored row: canonical field name → value. Values are nil,
// string, float64, bool or time.Time (UTC; midnight for dates).
type record map[string]any

// store holds every record by object name and Id.
type store map[string]map[string]record

func (s store) get(object, id string) record {
	if id == "" {
		return nil
	}
	return s[object][id]
}

// column is a selected, filtered or sorted field, possibly through one
// relationship.
type column struct {
	rel   *relDef // nil for a field of the queried object
	field *fieldDef
}

func (c column) get(s store, r record) any {
	if c.rel != nil {
		id, _ := r[c.rel.via].(string)
		if r = s.get(c.rel.target, id); r == nil {
			return nil
		}
	}
	return r[c.field.name]
}

// plan is a compiled query, ready to run against a store.
type plan struct {
	obj   *objectDef
	cols  []column
	where func(record) bool
	order []sortKey
	limit int
	// all includes deleted records (IsDeleted = true), as queryAll does.
	all bool
}

type sortKey struct {
	col        column
	desc       bool
	nullsFirst bool
}

// compile resolves the names of q against the schema and type-checks its
// conditions.
func compile(soql string, q *selectStmt, sc schemaDef, s store) (*plan, error) {
	obj := sc.object(q.object.name)
	if obj == nil {
		return nil, &queryError{code: "INVALID_TYPE", msg: pointAt(soql, q.object.pos, fmt.Sprintf(
			"sObject type '%s' is not supported. If you are attempting to use a custom object, be sure to append the '__c' after the entity name. Please reference your WSDL or the describe call for the appropriate names.",
			q.object.name))}
	}
	p := &plan{obj: obj, limit: q.limit}
	seen := map[string]bool{}
	for _, f := range q.fields {
		col, err := resolve(soql, sc, obj, f)
		if err != nil {
			return nil, err
		}
		key := strings.ToLower(f.name)
		if seen[key] {
			return nil, malformed(soql, f.pos, "duplicate field selected: %s", f.name)
		}
		seen[key] = true
		p.cols = append(p.cols, col)
	}
	if q.where != nil {
		w, err := compileExpr(soql, sc, obj, s, q.where)
		if err != nil {
			return nil, err
		}
		p.where = w
	}
	for _, o := range q.orderBy {
		col, err := resolve(soql, sc, obj, o.field)
		if err != nil {
			return nil, err
		}
		p.order = append(p.order, sortKey{col: col, desc: o.desc, nullsFirst: o.nullsFirst})
	}
	return p, nil
}

func resolve(soql string, sc schemaDef, obj *objectDef, n nameRef) (column, error) {
	relName, fieldName, ok := strings.Cut(n.name, ".")
	if !ok {
		if f := obj.field(n.name); f != nil {
			return column{field: f}, nil
		}
		return column{}, invalidField(soql, n, n.name, obj.name)
	}
	rel := obj.rels[strings.ToLower(relName)]
	if rel == nil {
		return column{}, &queryError{code: "INVALID_FIELD", msg: pointAt(soql, n.pos, fmt.Sprintf(
			"Didn't understand relationship '%s' in field path. If you are attempting to use a custom relationship, be sure to append the '__r' after the custom relationship name. Please reference your WSDL or the describe call for the appropriate names.",
			relName))}
	}
	f := sc.object(rel.target).field(fieldName)
	if f == nil || strings.Contains(fieldName, ".") {
		return column{}, invalidField(soql, n, n.name, obj.name)
	}
	return column{rel: rel, field: f}, nil
}

func invalidField(soql string, n nameRef, field, object string) error {
	return &queryError{code: "INVALID_FIELD", msg: pointAt(soql, n.pos, fmt.Sprintf(
		"No such column '%s' on entity '%s'. If you are attempting to use a custom field, be sure to append the '__c' after the custom field name. Please reference your WSDL or the describe call for the appropriate names.",
		field, object))}
}

func compileExpr(soql string, sc schemaDef, obj *objectDef, s store, e expr) (func(record) bool, error) {
	switch e := e.(type) {
	case andExpr, orExpr:
		var l, r expr
		if a, ok := e.(andExpr); ok {
			l, r = a.l, a.r
		} else {
			o := e.(orExpr)
			l, r = o.l, o.r
		}
		lf, err := compileExpr(soql, sc, obj, s, l)
		if err != nil {
			return nil, err
		}
		rf, err := compileExpr(soql, sc, obj, s, r)
		if err != nil {
			return nil, err
		}
		if _, ok := e.(andExpr); ok {
			return func(rec record) bool { return lf(rec) && rf(rec) }, nil
		}
		return func(rec record) bool { return lf(rec) || rf(rec) }, nil
	case notExpr:
		f, err := compileExpr(soql, sc, obj, s, e.e)
		if err != nil {
			return nil, err
		}
		return func(rec record) bool { return !f(rec) }, nil
	case condExpr:
		return compileCond(soql, sc, obj, s, e)
	}
	panic(fmt.Sprintf("salesforcetest: unknown expression %T", e))
}

func compileCond(soql string, sc schemaDef, obj *objectDef, s store, c condExpr) (func(record) bool, error) {
	col, err := resolve(soql, sc, obj, c.field)
	if err != nil {
		return nil, err
	}
	typ := col.field.typ
	for _, lit := range c.lits {
		if lit.kind == litNull {
			if c.op != "=" && c.op != "!=" && c.op != "IN" && c.op != "NOTIN" {
				return nil, &queryError{code: "INVALID_QUERY_FILTER_OPERATOR", msg: pointAt(soql, lit.pos,
					fmt.Sprintf("invalid operator on null value for field '%s'", c.field.name))}
			}
			continue
		}
		if !typ.accepts(lit.kind) {
			hint := "should not be enclosed in quotes"
			if typ == typeID || typ == typeString {
				hint = "should be enclosed in quotes"
			}
			return nil, malformed(soql, lit.pos, "value of filter criterion for field '%s' must be of type %s and %s", c.field.name, typ, hint)
		}
	}
	get := func(rec record) any { return col.get(s, rec) }
	switch c.op {
	case "LIKE":
		if typ != typeString && typ != typeID {
			return nil, &queryError{code: "INVALID_QUERY_FILTER_OPERATOR", msg: pointAt(soql, c.field.pos,
				fmt.Sprintf("invalid operator on field '%s': LIKE needs a text field", c.field.name))}
		}
		pat := compileLike(c.lits[0].raw)
		return func(rec record) bool {
			v, ok := get(rec).(string)
			return ok && pat.match(strings.ToLower(v))
		}, nil
	case "IN", "NOTIN":
		in := func(rec record) bool {
			v := get(rec)
			for _, lit := range c.lits {
				if equal(v, lit) {
					return true
				}
			}
			return false
		}
		if c.op == "NOTIN" {
			return func(rec record) bool { return !in(rec) }, nil
		}
		return in, nil
	case "=":
		return func(rec record) bool { return equal(get(rec), c.lits[0]) }, nil
	case "!=":
		return func(rec record) bool { return !equal(get(rec), c.lits[0]) }, nil
	}
	if typ == typeBool {
		return nil, &queryError{code: "INVALID_QUERY_FILTER_OPERATOR", msg: pointAt(soql, c.field.pos,
			fmt.Sprintf("invalid operator on boolean field '%s'", c.field.name))}
	}
	lit := c.lits[0]
	want := map[string]func(int) bool{
		"<": func(n int) bool { return n < 0 }, "<=": func(n int) bool { return n <= 0 },
		">": func(n int) bool { return n > 0 }, ">=": func(n int) bool { return n >= 0 },
	}[c.op]
	return func(rec record) bool {
		v := get(rec)
		return v != nil && want(compareValues(v, literalValue(lit)))
	}, nil
}

// literalValue turns a literal into the value representation records use.
func literalValue(l literal) any {
	switch l.kind {
	case litString:
		return l.s
	case litNumber:
		return l.n
	case litBool:
		return l.b
	case litDate, litDateTime:
		return l.t
	}
	return nil
}

func equal(v any, l literal) bool {
	if l.kind == litNull || v == nil {
		return l.kind == litNull && v == nil
	}
	return compareValues(v, literalValue(l)) == 0
}

// compareValues orders two non-nil values of the same type. Text compares
// case-insensitively, as SOQL does.
func compareValues(a, b any) int {
	switch a := a.(type) {
	case string:
		b, _ := b.(string)
		return strings.Compare(strings.ToLower(a), strings.ToLower(b))
	case float64:
		b, _ := b.(float64)
		return cmp.Compare(a, b)
	case bool:
		b, _ := b.(bool)
		switch {
		case a == b:
			return 0
		case !a:
			return -1
		}
		return 1
	case time.Time:
		b, _ := b.(time.Time)
		return a.Compare(b)
	}
	return 0
}

// likePattern is a LIKE pattern: runes to match, with -1 for "_" (any one
// character) and -2 for "%" (any run of characters). Matching ignores case.
type likePattern []rune

func compileLike(raw string) likePattern {
	var p likePattern
	for i := 0; i < len(raw); {
		r, n := utf8.DecodeRuneInString(raw[i:])
		i += n
		switch r {
		case '%':
			p = append(p, -2)
		case '_':
			p = append(p, -1)
		case '\\':
			if i < len(raw) {
				e, n := utf8.DecodeRuneInString(raw[i:])
				i += n
				switch e {
				case 'n':
					e = '\n'
				case 't':
					e = '\t'
				case 'r':
					e = '\r'
				}
				p = append(p, []rune(strings.ToLower(string(e)))...)
			}
		default:
			p = append(p, []rune(strings.ToLower(string(r)))...)
		}
	}
	return p
}

// match reports whether s (already lower-cased) matches the pattern.
func (p likePattern) match(s string) bool {
	text := []rune(s)
	// Iterative wildcard matching with backtracking to the last "%".
	pi, ti, star, mark := 0, 0, -1, 0
	for ti < len(text) {
		switch {
		case pi < len(p) && (p[pi] == -1 || p[pi] == text[ti]):
			pi++
			ti++
		case pi < len(p) && p[pi] == -2:
			star, mark = pi, ti
			pi++
		case star >= 0:
			pi = star + 1
			mark++
			ti = mark
		default:
			return false
		}
	}
	for pi < len(p) && p[pi] == -2 {
		pi++
	}
	return pi == len(p)
}

// run evaluates the plan and renders the matching records.
func (p *plan) run(s store, version string) []json.RawMessage {
	ids := make([]string, 0, len(s[p.obj.name]))
	for id, rec := range s[p.obj.name] {
		if rec["IsDeleted"] == true && !p.all {
			continue
		}
		if p.where == nil || p.where(rec) {
			ids = append(ids, id)
		}
	}
	slices.Sort(ids)
	slices.SortStableFunc(ids, func(a, b string) int {
		ra, rb := s[p.obj.name][a], s[p.obj.name][b]
		for _, k := range p.order {
			va, vb := k.col.get(s, ra), k.col.get(s, rb)
			var c int
			switch {
			case va == nil && vb == nil:
				c = 0
			case va == nil || vb == nil:
				c = 1
				if (va == nil) == k.nullsFirst {
					c = -1
				}
				return c
			default:
				c = compareValues(va, vb)
				if k.desc {
					c = -c
				}
			}
			if c != 0 {
				return c
			}
		}
		return 0
	})
	if p.limit >= 0 && len(ids) > p.limit {
		ids = ids[:p.limit]
	}
	out := make([]json.RawMessage, len(ids))
	for i, id := range ids {
		out[i] = p.render(s, s[p.obj.name][id], version)
	}
	return out
}

// render writes one record as the REST API does: attributes first, then
// the selected fields in order, relationship fields nested under the
// relationship's name.
func (p *plan) render(s store, rec record, version string) json.RawMessage {
	obj := object{{"attributes", attributes(p.obj.name, rec["Id"], version)}}
	nested := map[string]int{} // relationship name → index in obj
	for _, c := range p.cols {
		if c.rel == nil {
			obj = append(obj, kv{c.field.name, wireValue(c.field.typ, rec[c.field.name])})
			continue
		}
		i, ok := nested[c.rel.name]
		if !ok {
			id, _ := rec[c.rel.via].(string)
			var v any // null when the lookup is empty
			if target := s.get(c.rel.target, id); target != nil {
				v = object{{"attributes", attributes(c.rel.target, id, version)}}
			}
			obj = append(obj, kv{c.rel.name, v})
			i = len(obj) - 1
			nested[c.rel.name] = i
		}
		if sub, ok := obj[i].v.(object); ok {
			id, _ := rec[c.rel.via].(string)
			target := s.get(c.rel.target, id)
			obj[i].v = append(sub, kv{c.field.name, wireValue(c.field.typ, target[c.field.name])})
		}
	}
	b, err := json.Marshal(obj)
	if err != nil {
		panic(err) // values are strings, numbers, booleans and nulls
	}
	return b
}

func attributes(typ string, id any, version string) object {
	return object{{"type", typ}, {"url", fmt.Sprintf("/services/data/v%s/sobjects/%s/%v", version, typ, id)}}
}

// Salesforce's datetime format.
const dateTimeLayout = "2006-01-02T15:04:05.000-0700"

// wireValue renders a stored value as the REST API writes it.
func wireValue(t fieldType, v any) any {
	tv, ok := v.(time.Time)
	switch {
	case !ok:
		return v
	case t == typeDate:
		return tv.UTC().Format(time.DateOnly)
	}
	return tv.UTC().Format(dateTimeLayout)
}

// object is a JSON object that keeps its keys in order.
type object []kv

type kv struct {
	k string
	v any
}

func (o object) MarshalJSON() ([]byte, error) {
	var b bytes.Buffer
	b.WriteByte('{')
	for i, f := range o {
		if i > 0 {
			b.WriteByte(',')
		}
		k, _ := json.Marshal(f.k)
		b.Write(k)
		b.WriteByte(':')
		v, err := json.Marshal(f.v)
		if err != nil {
			return nil, err
		}
		b.Write(v)
	}
	b.WriteByte('}')
	return b.Bytes(), nil
}
