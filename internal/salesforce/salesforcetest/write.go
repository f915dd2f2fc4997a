package salesforcetest

import (
	"bytes"
	"encoding/json"
	"fmt"
	"maps"
	"net/http"
	"slices"
	"strings"
	"time"
	"unicode/utf8"
)

// Writes: Tasks through sObject Collections (composite/sobjects) and the
// single-record sobjects resource. Other objects are read-only here.

// maxCollection is the most records one sObject Collections request takes.
const maxCollection = 200

// saveResult is one entry of a collection response.
type saveResult struct {
	ID      string      `json:"id,omitempty"`
	Success bool        `json:"success"`
	Errors  []saveError `json:"errors"`
}

type saveError struct {
	StatusCode string   `json:"statusCode"`
	Message    string   `json:"message"`
	Fields     []string `json:"fields"`
}

func (e *saveError) apiError() []apiError {
	return []apiError{{Message: e.Message, ErrorCode: e.StatusCode, Fields: e.Fields}}
}

func saveErr(code string, fields []string, format string, args ...any) *saveError {
	if fields == nil {
		fields = []string{}
	}
	return &saveError{StatusCode: code, Message: fmt.Sprintf(format, args...), Fields: fields}
}

var taskPriorities = []string{"High", "Normal", "Low"}

// taskStatus returns the TaskStatus record of a status value, nil when the
// org has no such status. The caller holds s.mu.
func (s *Sim) taskStatus(v string) record {
	for _, r := range s.data["TaskStatus"] {
		if r["ApiName"] == v {
			return r
		}
	}
	return nil
}

// defaultStatus is the status a new Task takes: the org's default. The
// caller holds s.mu.
func (s *Sim) defaultStatus() string {
	for _, ts := range s.opts.TaskStatuses {
		if ts.IsDefault {
			return ts.APIName
		}
	}
	return s.opts.TaskStatuses[0].APIName
}

// closed reports whether status is one of the org's closed statuses, which
// set a Task's IsClosed. The caller holds s.mu.
func (s *Sim) closed(status any) bool {
	r := s.taskStatus(str(status))
	return r != nil && r["IsClosed"] == true
}

// change is a validated write waiting to be applied: a new Task when id is
// empty, an update of Task id otherwise.
type change struct {
	id     string
	fields record
}

// collection serves POST (create) and PATCH (update) on composite/sobjects.
func (s *Sim) collection(r *http.Request) response {
	var req struct {
		AllOrNone bool                         `json:"allOrNone"`
		Records   []map[string]json.RawMessage `json:"records"`
	}
	dec := json.NewDecoder(r.Body)
	if err := dec.Decode(&req); err != nil {
		return errorResponse(http.StatusBadRequest, "JSON_PARSER_ERROR", "Unexpected request body: %v", err)
	}
	if len(req.Records) > maxCollection {
		return errorResponse(http.StatusBadRequest, "EXCEEDED_ID_LIMIT",
			"record limit reached. cannot submit more than %d records into this call", maxCollection)
	}
	update := r.Method == http.MethodPatch
	changes := make([]change, len(req.Records))
	errs := make([]*saveError, len(req.Records))
	failed := false
	for i, rec := range req.Records {
		var typ struct {
			Type string `json:"type"`
		}
		if err := json.Unmarshal(rec["attributes"], &typ); err != nil || typ.Type == "" {
			return errorResponse(http.StatusBadRequest, "INVALID_TYPE",
				"In field: attributes - No type was specified in the attributes of record %d", i)
		}
		delete(rec, "attributes")
		id := ""
		if update {
			raw := rec["id"]
			if raw == nil {
				raw = rec["Id"]
			}
			delete(rec, "id")
			delete(rec, "Id")
			_ = json.Unmarshal(raw, &id)
		}
		changes[i], errs[i] = s.validate(typ.Type, id, update, rec)
		failed = failed || errs[i] != nil
	}
	results := make([]saveResult, len(changes))
	for i, c := range changes {
		switch {
		case errs[i] != nil:
			results[i] = saveResult{Errors: []saveError{*errs[i]}}
		case failed && req.AllOrNone:
			results[i] = saveResult{Errors: []saveError{*saveErr("ALL_OR_NONE_OPERATION_ROLLED_BACK", nil,
				"Record rolled back because not all records were valid and the request was using AllOrNone header")}}
		default:
			results[i] = saveResult{ID: s.apply(c), Success: true, Errors: []saveError{}}
		}
	}
	return response{http.StatusOK, results}
}

// createOne serves POST sobjects/{type}.
func (s *Sim) createOne(r *http.Request, typ string) response {
	var rec map[string]json.RawMessage
	if err := json.NewDecoder(r.Body).Decode(&rec); err != nil {
		return errorResponse(http.StatusBadRequest, "JSON_PARSER_ERROR", "Unexpected request body: %v", err)
	}
	delete(rec, "attributes")
	c, serr := s.validate(typ, "", false, rec)
	if serr != nil {
		return response{http.StatusBadRequest, serr.apiError()}
	}
	return response{http.StatusCreated, saveResult{ID: s.apply(c), Success: true, Errors: []saveError{}}}
}

// updateOne serves PATCH sobjects/{type}/{id}.
func (s *Sim) updateOne(r *http.Request, typ, id string) response {
	var rec map[string]json.RawMessage
	if err := json.NewDecoder(r.Body).Decode(&rec); err != nil {
		return errorResponse(http.StatusBadRequest, "JSON_PARSER_ERROR", "Unexpected request body: %v", err)
	}
	delete(rec, "attributes")
	if strings.EqualFold(typ, "Task") && s.data["Task"][id] == nil {
		return errorResponse(http.StatusNotFound, "NOT_FOUND", "The requested resource does not exist")
	}
	c, serr := s.validate(typ, id, true, rec)
	if serr != nil {
		return response{http.StatusBadRequest, serr.apiError()}
	}
	s.apply(c)
	return response{status: http.StatusNoContent}
}

// validate checks a Task create or update and returns the change to apply.
func (s *Sim) validate(typ, id string, update bool, rec map[string]json.RawMessage) (change, *saveError) {
	if !strings.EqualFold(typ, "Task") {
		if s.schema.object(typ) == nil {
			return change{}, saveErr("INVALID_TYPE", nil, "sObject type '%s' is not supported.", typ)
		}
		return change{}, saveErr("INSUFFICIENT_ACCESS_OR_READONLY", nil, "the simulator writes only Task records, not %s", typ)
	}
	if update {
		if id == "" {
			return change{}, saveErr("MISSING_ARGUMENT", nil, "Id not specified in an update call")
		}
		if s.data["Task"][id] == nil {
			return change{}, saveErr("INVALID_ID_FIELD", []string{"Id"}, "invalid cross reference id")
		}
	} else if rec["Id"] != nil || rec["id"] != nil {
		return change{}, saveErr("INVALID_FIELD", []string{"Id"}, "cannot specify Id in an insert call")
	}
	obj := s.schema.object("Task")
	fields := record{}
	for _, name := range slices.Sorted(maps.Keys(rec)) {
		raw := rec[name]
		f := obj.field(name)
		switch {
		case f == nil:
			return change{}, saveErr("INVALID_FIELD", []string{name}, "No such column '%s' on sobject of type Task", name)
		case f.name == "Id" || f.name == "IsClosed" || f.name == "SystemModstamp" || f.name == "AccountId" || f.name == "IsDeleted":
			return change{}, saveErr("INVALID_FIELD_FOR_INSERT_UPDATE", []string{f.name},
				"Unable to create/update fields: %s. Please check the security settings of this field and verify that it is read/write for your profile or permission set.", f.name)
		}
		v, err := decodeField(f, raw)
		if err != nil {
			return change{}, err
		}
		fields[f.name] = v
	}
	if err := s.checkTask(fields); err != nil {
		return change{}, err
	}
	return change{id: id, fields: fields}, nil
}

func decodeField(f *fieldDef, raw json.RawMessage) (any, *saveError) {
	if bytes.Equal(bytes.TrimSpace(raw), []byte("null")) {
		return nil, nil
	}
	var sv string
	if err := json.Unmarshal(raw, &sv); err != nil {
		return nil, saveErr("INVALID_TYPE_ON_FIELD_IN_RECORD", []string{f.name}, "%s: value not of required type: %s", f.name, raw)
	}
	switch f.typ {
	case typeDate:
		t, err := time.Parse(time.DateOnly, sv)
		if err != nil {
			return nil, saveErr("INVALID_TYPE_ON_FIELD_IN_RECORD", []string{f.name}, "%s: value not of required type: %s", f.name, sv)
		}
		return t, nil
	case typeString:
		max := 255
		if f.name == "Description" {
			max = 32000
		}
		if utf8.RuneCountInString(sv) > max {
			return nil, saveErr("STRING_TOO_LONG", []string{f.name}, "%s: data value too large (max length=%d)", f.name, max)
		}
	}
	return nullable(sv), nil
}

// checkTask validates the references and picklists of the fields written.
func (s *Sim) checkTask(f record) *saveError {
	if v, ok := f["Priority"]; ok && !slices.Contains(taskPriorities, str(v)) {
		return saveErr("INVALID_OR_NULL_FOR_RESTRICTED_PICKLIST", []string{"Priority"}, "Priority: bad value for restricted picklist field: %v", v)
	}
	if v, ok := f["Status"]; ok && s.taskStatus(str(v)) == nil {
		return saveErr("INVALID_OR_NULL_FOR_RESTRICTED_PICKLIST", []string{"Status"}, "Status: bad value for restricted picklist field: %v", v)
	}
	if v, ok := f["WhatId"]; ok && v != nil {
		if s.data.get("Account", str(v)) == nil && s.data.get("Opportunity", str(v)) == nil {
			return saveErr("FIELD_INTEGRITY_EXCEPTION", []string{"WhatId"}, "Related To ID: id value of incorrect type: %v", v)
		}
	}
	if v, ok := f["OwnerId"]; ok {
		u := s.data.get("User", str(v))
		switch {
		case u == nil:
			return saveErr("FIELD_INTEGRITY_EXCEPTION", []string{"OwnerId"}, "Assigned To ID: id value of incorrect type: %v", v)
		case u["IsActive"] != true:
			return saveErr("INACTIVE_OWNER_OR_USER", nil, "operation performed with inactive user [%v] as owner of task", v)
		}
	}
	return nil
}

// apply writes a validated change and returns the Task's Id.
func (s *Sim) apply(c change) string {
	tasks := s.data["Task"]
	if c.id != "" {
		r := tasks[c.id]
		for k, v := range c.fields {
			r[k] = v
		}
		r["IsClosed"] = s.closed(r["Status"])
		r["AccountId"] = s.taskAccount(r["WhatId"])
		r["SystemModstamp"] = s.bump(r["SystemModstamp"])
		s.stats.TasksUpdated++
		return c.id
	}
	s.nextTask++
	id := fmt.Sprintf("00T%015d", s.nextTask)
	r := record{"Id": id, "WhatId": nil, "OwnerId": s.defaultOwner(), "Subject": nil, "Description": nil,
		"Priority": "Normal", "Status": s.defaultStatus(), "ActivityDate": nil}
	for k, v := range c.fields {
		r[k] = v
	}
	if r["Priority"] == nil {
		r["Priority"] = "Normal"
	}
	if r["Status"] == nil {
		r["Status"] = s.defaultStatus()
	}
	r["IsClosed"] = s.closed(r["Status"])
	r["AccountId"] = s.taskAccount(r["WhatId"])
	r["IsDeleted"] = false
	r["SystemModstamp"] = stamp(s.opts.Now())
	tasks[id] = r
	s.stats.TasksCreated++
	return id
}

// defaultOwner is the integration user the API logs in as: the active user
// with the lowest Id.
func (s *Sim) defaultOwner() any {
	var best string
	for id, u := range s.data["User"] {
		if u["IsActive"] == true && (best == "" || id < best) {
			best = id
		}
	}
	return nullable(best)
}

// taskAccount is a Task's AccountId as Salesforce derives it from WhatId:
// the Account itself, or the Opportunity's account; null otherwise. The
// caller holds s.mu.
func (s *Sim) taskAccount(what any) any {
	id := str(what)
	if s.data.get("Account", id) != nil {
		return id
	}
	if o := s.data.get("Opportunity", id); o != nil {
		return o["AccountId"]
	}
	return nil
}
