package salesforce

import (
	"bytes"
	"context"
	"encoding/json"
	"maps"
	"net/http"
	"slices"
	"strings"
	"time"

	"github.com/simpleforce/simpleforce"

	"github.com/cxaudit/cxaudit/internal/cxaudit"
)

// Task write-back. Writes are never retried blindly (remote retries only
// 429s on writes): after an error the caller looks for what may already
// exist with FindTasks before writing again.

// BatchSize is the most records one sObject Collections request carries.
const BatchSize = 200

// maxMarkerSOQL bounds the length of one FindTasks query: its SOQL
// travels in the URL, which Salesforce caps at 16,384 characters.
const maxMarkerSOQL = 4000

// Result is the outcome of writing one Task.
type Result struct {
	// ID is the Task's Id; empty when the write failed.
	ID string
	// Err is the record's error, nil on success.
	Err error
}

// TaskRef names a Task to look for: the record it is on (WhatId) and how
// its Subject starts (cxaudit's marker).
type TaskRef struct {
	WhatID        string
	SubjectPrefix string
}

// FindTasks returns the Tasks on each ref's record whose Subject starts
// with its prefix (case-insensitively, as SOQL LIKE matches), ordered by
// Id. The WhatId filter keeps the query selective (an indexed field)
// instead of scanning the org's Task table, usually its largest; a
// prefix LIKE can use the Subject index too. Long lists are split over
// several queries.
func (c *Client) FindTasks(ctx context.Context, refs []TaskRef) ([]cxaudit.Task, error) {
	const op = "find tasks"
	queries, err := findTasksSOQL(refs)
	if err != nil {
		return nil, err
	}
	byID := map[string]cxaudit.Task{}
	for _, soql := range queries {
		err := c.query(ctx, op, soql, func(recs []simpleforce.SObject) error {
			for i, r := range recs {
				so := &sobject{raw: r}
				t := decodeTask(so)
				if so.err != nil {
					return malformedf(op, "record %d (%s): %v", i, so.id(), so.err)
				}
				byID[t.ID] = t
			}
			return nil
		})
		if err != nil {
			return nil, err
		}
	}
	tasks := make([]cxaudit.Task, 0, len(byID))
	for _, id := range slices.Sorted(maps.Keys(byID)) {
		tasks = append(tasks, byID[id])
	}
	return tasks, nil
}

// findTasksSOQL builds the queries for FindTasks, each at most about
// maxMarkerSOQL long. Refs without a prefix, and repeated ones, are
// skipped; a WhatId that is no Salesforce Id is refused.
func findTasksSOQL(refs []TaskRef) ([]string, error) {
	prefix := "SELECT " + taskFields + " FROM Task WHERE "
	const suffix = " ORDER BY Id"
	var (
		queries []string
		clauses []string
		size    int
		seen    = map[TaskRef]bool{}
	)
	flush := func() {
		if len(clauses) > 0 {
			queries = append(queries, prefix+strings.Join(clauses, " OR ")+suffix)
			clauses, size = nil, 0
		}
	}
	for _, r := range refs {
		if r.SubjectPrefix == "" || seen[r] {
			continue
		}
		if !isID(r.WhatID) {
			return nil, cxaudit.Errorf(cxaudit.EINVALID, "salesforce: find tasks: WhatId %q is not a Salesforce Id", r.WhatID)
		}
		seen[r] = true
		clause := "(WhatId = '" + r.WhatID + "' AND Subject LIKE '" + escapeLike(r.SubjectPrefix) + "%')"
		if size > 0 && len(prefix)+size+len(" OR ")+len(clause)+len(suffix) > maxMarkerSOQL {
			flush()
		}
		if size > 0 {
			size += len(" OR ")
		}
		clauses = append(clauses, clause)
		size += len(clause)
	}
	flush()
	return queries, nil
}

// isID reports whether s has the form of a Salesforce record Id: 15 or 18
// letters and digits.
func isID(s string) bool {
	if len(s) != 15 && len(s) != 18 {
		return false
	}
	for _, c := range s {
		if !('0' <= c && c <= '9' || 'a' <= c && c <= 'z' || 'A' <= c && c <= 'Z') {
			return false
		}
	}
	return true
}

// escapeLike quotes s for use inside a SOQL LIKE string: quotes and
// backslashes are escaped, and so are the wildcards % and _.
func escapeLike(s string) string {
	var b strings.Builder
	for _, r := range s {
		switch r {
		case '\\', '\'', '%', '_':
			b.WriteByte('\\')
			b.WriteRune(r)
		case '\n':
			b.WriteString(`\n`)
		case '\r':
			b.WriteString(`\r`)
		case '\t':
			b.WriteString(`\t`)
		default:
			b.WriteRune(r)
		}
	}
	return b.String()
}

// taskRecord is a Task as sObject Collections takes it. Empty fields are
// left out: on create they take Salesforce's defaults, on update they stay
// unchanged.
type taskRecord struct {
	Attributes   taskAttributes `json:"attributes"`
	ID           string         `json:"id,omitempty"`
	WhatID       string         `json:"WhatId,omitempty"`
	OwnerID      string         `json:"OwnerId,omitempty"`
	Subject      string         `json:"Subject,omitempty"`
	Description  string         `json:"Description,omitempty"`
	Priority     string         `json:"Priority,omitempty"`
	Status       string         `json:"Status,omitempty"`
	ActivityDate string         `json:"ActivityDate,omitempty"`
}

type taskAttributes struct {
	Type string `json:"type"`
}

func activityDate(t *time.Time) string {
	if t == nil {
		return ""
	}
	return t.Format(time.DateOnly)
}

// CreateTasks creates tasks through sObject Collections, BatchSize at a
// time with allOrNone=false, and returns one Result per task, in order.
// A task that already has an Id is not sent.
//
// The error is for a whole batch (network, 5xx, rate limit); the results
// then cover the batches before it. The failed batch may have been created
// anyway: find its tasks with FindTasks before creating them again.
func (c *Client) CreateTasks(ctx context.Context, tasks []cxaudit.Task) ([]Result, error) {
	return c.writeTasks(ctx, "create tasks", http.MethodPost, tasks, func(t cxaudit.Task) (taskRecord, error) {
		if t.ID != "" {
			return taskRecord{}, cxaudit.Errorf(cxaudit.EINVALID, "salesforce: create tasks: task already has Id %s", t.ID)
		}
		return taskRecord{
			Attributes: taskAttributes{"Task"}, WhatID: t.WhatID, OwnerID: t.OwnerID, Subject: t.Subject,
			Description: t.Description, Priority: t.Priority, Status: t.Status, ActivityDate: activityDate(t.ActivityDate),
		}, nil
	})
}

// UpdateTasks updates tasks by Id through sObject Collections: Status,
// Subject, Description, Priority and ActivityDate, those that are set. It
// returns one Result per task, in order; errors are as for CreateTasks.
func (c *Client) UpdateTasks(ctx context.Context, tasks []cxaudit.Task) ([]Result, error) {
	return c.writeTasks(ctx, "update tasks", http.MethodPatch, tasks, func(t cxaudit.Task) (taskRecord, error) {
		if t.ID == "" {
			return taskRecord{}, cxaudit.Errorf(cxaudit.EINVALID, "salesforce: update tasks: task has no Id")
		}
		return taskRecord{
			Attributes: taskAttributes{"Task"}, ID: t.ID, Subject: t.Subject, Description: t.Description,
			Priority: t.Priority, Status: t.Status, ActivityDate: activityDate(t.ActivityDate),
		}, nil
	})
}

func (c *Client) writeTasks(ctx context.Context, op, method string, tasks []cxaudit.Task,
	build func(cxaudit.Task) (taskRecord, error),
) ([]Result, error) {
	results := make([]Result, 0, len(tasks))
	for start := 0; start < len(tasks); start += BatchSize {
		batch := tasks[start:min(start+BatchSize, len(tasks))]
		out := make([]Result, len(batch))
		var (
			records []taskRecord
			sent    []int // index in batch of each record sent
		)
		for i, t := range batch {
			r, err := build(t)
			if err != nil {
				out[i].Err = err
				continue
			}
			records = append(records, r)
			sent = append(sent, i)
		}
		if len(records) > 0 {
			saved, err := c.collection(ctx, op, method, records)
			if err != nil {
				return results, err
			}
			for j, s := range saved {
				i := sent[j]
				if s.Success && (s.ID != "" || method == http.MethodPatch) {
					out[i].ID = s.ID
					if out[i].ID == "" {
						out[i].ID = batch[i].ID
					}
					continue
				}
				out[i].Err = recordError(op, s.Errors)
			}
			c.logger.DebugContext(ctx, "salesforce write", "op", op, "records", len(records))
		}
		results = append(results, out...)
	}
	return results, nil
}

type saveResult struct {
	ID      string      `json:"id"`
	Success bool        `json:"success"`
	Errors  []saveError `json:"errors"`
}

// collection sends one sObject Collections request.
func (c *Client) collection(ctx context.Context, op, method string, records []taskRecord) ([]saveResult, error) {
	body, err := json.Marshal(struct {
		AllOrNone bool         `json:"allOrNone"`
		Records   []taskRecord `json:"records"`
	}{false, records})
	if err != nil {
		return nil, cxaudit.Errorf(cxaudit.EINTERNAL, "salesforce: %s: encode request: %v", op, err)
	}
	var data []byte
	err = c.do(ctx, func(sf *simpleforce.Client) error {
		var err error
		data, err = sf.ApexREST(method, c.apiPath("composite/sobjects"), bytes.NewReader(body))
		return err
	})
	if err != nil {
		return nil, c.fail(op, err)
	}
	var saved []saveResult
	if err := json.Unmarshal(data, &saved); err != nil {
		return nil, malformedf(op, "%v", err)
	}
	if len(saved) != len(records) {
		return nil, malformedf(op, "%d results for %d records", len(saved), len(records))
	}
	return saved, nil
}
