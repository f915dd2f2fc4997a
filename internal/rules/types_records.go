package rules

import (
	"time"

	"github.com/google/cel-go/common/types"
	"github.com/google/cel-go/common/types/ref"

	"github.com/cxaudit/cxaudit/internal/cxaudit"
)

// (This file sorts after types.go: its init extends what types.go's
// init builds.)

// recordVal is the CEL value of a plain domain record of type T (one with
// no list to cache): one definition instead of a copied wrapper per type.
// Its fields are objectFields[name], whose getters receive the recordVal.
type recordVal[T any] struct {
	object
	name string
	typ  *types.Type
	p    *T
}

func newRecordType[T any](name string) func(*T) recordVal[T] {
	typ := types.NewObjectType(name)
	return func(p *T) recordVal[T] { return recordVal[T]{name: name, typ: typ, p: p} }
}

func (v recordVal[T]) ConvertToType(t ref.Type) ref.Val { return convertObject(v, t) }
func (v recordVal[T]) Equal(o ref.Val) ref.Val {
	w, ok := o.(recordVal[T])
	return types.Bool(ok && w.p == v.p)
}
func (v recordVal[T]) Type() ref.Type { return v.typ }
func (v recordVal[T]) Value() any     { return v }
func (v recordVal[T]) Get(name ref.Val) ref.Val {
	return getField(v.name, v, string(name.(types.String)))
}

// recordOf returns the record a field getter was handed.
func recordOf[T any](o any) *T { return o.(recordVal[T]).p }

// recordList is the CEL list of records.
func recordList[T any](wrap func(*T) recordVal[T], recs []T) ref.Val {
	vals := make([]ref.Val, len(recs))
	for i := range recs {
		vals[i] = wrap(&recs[i])
	}
	return types.NewRefValList(types.DefaultTypeAdapter, vals)
}

// Tasks: account.open_tasks.
const taskTypeName = "cxaudit.Task"

var (
	taskType = types.NewObjectType(taskTypeName)
	taskVal  = newRecordType[cxaudit.Task](taskTypeName)
)

func init() {
	tsk := recordOf[cxaudit.Task]
	dueGet, dueSet := optTime("task.due_date", func(o any) *time.Time { return tsk(o).ActivityDate })
	objectFields[taskTypeName] = map[string]*field{
		"id":         {typ: types.StringType, get: func(o any) ref.Val { return str(tsk(o).ID) }},
		"subject":    {typ: types.StringType, get: func(o any) ref.Val { return str(tsk(o).Subject) }},
		"owner_id":   {typ: types.StringType, get: func(o any) ref.Val { return str(tsk(o).OwnerID) }},
		"status":     {typ: types.StringType, get: func(o any) ref.Val { return str(tsk(o).Status) }},
		"priority":   {typ: types.StringType, get: func(o any) ref.Val { return str(tsk(o).Priority) }},
		"what_id":    {typ: types.StringType, get: func(o any) ref.Val { return str(tsk(o).WhatID) }},
		"due_date":   {typ: types.TimestampType, get: dueGet, isSet: dueSet},
		"by_cxaudit": {typ: types.BoolType, get: func(o any) ref.Val { return boolean(tsk(o).ByCxaudit()) }},
		// on_opportunity: the Task is on one of the account's opportunities
		// rather than on the account itself.
		"on_opportunity": {typ: types.BoolType, get: func(o any) ref.Val { t := tsk(o); return boolean(t.WhatID != "" && t.WhatID != t.AccountID) }},
	}
	objectFields[accountTypeName]["open_tasks"] = &field{typ: types.NewListType(taskType),
		get: func(o any) ref.Val { return recordList(taskVal, o.(*accountVal).a.OpenTasks) }}

	ref_ := recordOf[cxaudit.AccountRef]
	objectFields[linkTypeName] = map[string]*field{
		"id":       {typ: types.StringType, get: func(o any) ref.Val { return str(ref_(o).ID) }},
		"name":     {typ: types.StringType, get: func(o any) ref.Val { return str(ref_(o).Name) }},
		"domain":   {typ: types.StringType, get: func(o any) ref.Val { return str(ref_(o).Domain) }},
		"owner_id": {typ: types.StringType, get: func(o any) ref.Val { return str(ref_(o).OwnerID) }},
		"match":    {typ: types.StringType, get: func(o any) ref.Val { return str(ref_(o).Match) }},
	}
	links := types.NewListType(linkType)
	objectFields[accountTypeName]["duplicates"] = &field{typ: links,
		get: func(o any) ref.Val { return recordList(linkVal, o.(*accountVal).a.Duplicates) }}
	objectFields[accountTypeName]["organizations"] = &field{typ: links,
		get: func(o any) ref.Val { return recordList(linkVal, o.(*accountVal).a.Organizations) }}
	objectFields[organizationTypeName]["linked_accounts"] = &field{typ: links,
		get: func(o any) ref.Val { return recordList(linkVal, recordOf[cxaudit.Organization](o).LinkedAccounts) }}
	for _, fields := range []string{taskTypeName, linkTypeName, accountTypeName, organizationTypeName} {
		for name := range objectFields[fields] {
			fieldNames[name] = struct{}{}
		}
	}
}

// Links: account.duplicates, account.organizations,
// organization.linked_accounts.
const linkTypeName = "cxaudit.Link"

var (
	linkType = types.NewObjectType(linkTypeName)
	linkVal  = newRecordType[cxaudit.AccountRef](linkTypeName)
)
