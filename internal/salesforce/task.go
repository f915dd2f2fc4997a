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

// FindTasks returns the Tasks whose Subject contains any of the markers
// (case-insensitively, as SOQL LIKE matches), ordered by Id. Long marker
// lists are split over several queries.
func (c *Client) FindTasks(ctx context.Context, subjectMarkers []string) ([]cxaudit.Task, error) {
	const op = "find tasks"
	byID := map[string]cxaudit.Task{}
	for _, soql := range findTasksSOQL(subjectMarkers) {
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
// maxMarkerSOQL long. Empty and duplicate markers are skipped.
func findTasksSOQL(markers []string) []string {
	prefix := "SELECT " + taskFields + " FROM Task WHERE "
	const suffix = " ORDER BY Id"
	var (
		queries []string
		clauses []string
		size    int
		seen    = map[string]bool{}
	)
	flush := func() {
		if len(clauses) > 0 {
			queries = append(queries, prefix+strings.Join(clauses, " OR ")+suffix)
			clauses, size = nil, 0
		}
	}
	for _, m := range markers {
		if m == "" || seen[m] {
			continue
		}
		seen[m] = true
		clause := "Subject LIKE '%" + escapeLike(m) + "%'"
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
	return queries
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
