package salesforcetest

import (
	"encoding/json"
	"fmt"
	"maps"
	"net/http"
	"slices"
	"strings"
	"time"
)

// This file holds the faults that act on the data rather than on one
// response: records changing while a backfill pages (Faults.ChangeEvery).

// changed are the objects Faults.ChangeEvery edits, each when it is
// queried.
var changed = []string{"Account", "Contact", "Opportunity"}

// rowHead is what the faults read of a rendered record.
type rowHead struct {
	Attributes struct{ Type string } `json:"attributes"`
}

// maybeChange counts query requests and, every Faults.ChangeEvery-th, edits
// a record first. The caller holds s.mu.
func (s *Sim) maybeChange(r *http.Request) {
	if s.faults.ChangeEvery <= 0 || r.Method != http.MethodGet {
		return
	}
	m := pathRE.FindStringSubmatch(r.URL.Path)
	if m == nil {
		return
	}
	object := s.queriedObject(r, strings.TrimSuffix(m[2], "/"))
	if !slices.Contains(changed, object) {
		return
	}
	s.queryCount++
	if s.queryCount%s.faults.ChangeEvery != 0 {
		return
	}
	kind := s.stats.Changes % 3
	// The boundary: the newest SystemModstamp of the object, deleted
	// records included. No sync's cursor is past it.
	var boundary time.Time
	for _, rec := range s.data[object] {
		if t, _ := rec["SystemModstamp"].(time.Time); t.After(boundary) {
			boundary = t
		}
	}
	target := boundary
	if kind == 2 {
		target = boundary.Add(-time.Second)
	}
	// The candidates, in Id order for determinism: live records whose
	// SystemModstamp can move to target without going back.
	var ids []string
	for _, id := range slices.Sorted(maps.Keys(s.data[object])) {
		rec := s.data[object][id]
		prev, _ := rec["SystemModstamp"].(time.Time)
		if rec["IsDeleted"] == true || kind > 0 && !prev.Before(target) {
			continue
		}
		ids = append(ids, id)
	}
	if len(ids) == 0 {
		return
	}
	rec := s.data[object][ids[s.rng.IntN(len(ids))]]
	s.stats.Changes++
	name, _, _ := strings.Cut(str(rec["Name"]), " (changed ")
	rec["Name"] = fmt.Sprintf("%s (changed %d)", name, s.stats.Changes)
	if kind == 0 {
		rec["SystemModstamp"] = s.bump(rec["SystemModstamp"])
	} else {
		rec["SystemModstamp"] = target
	}
}

// queriedObject names the object a query request reads: the FROM of its
// SOQL, or the type of the records behind its nextRecordsUrl. It is ""
// for anything else, queryAll included. The caller holds s.mu.
func (s *Sim) queriedObject(r *http.Request, rest string) string {
	if rest == "query" {
		q, err := parse(r.URL.Query().Get("q"))
		if err != nil || s.schema.object(q.object.name) == nil {
			return ""
		}
		return s.schema.object(q.object.name).name
	}
	locator, ok := strings.CutPrefix(rest, "query/")
	id, _, _ := strings.Cut(locator, "-")
	if rows := s.cursors[id]; ok && len(rows) > 0 {
		var rec rowHead
		if json.Unmarshal(rows[0], &rec) == nil {
			return rec.Attributes.Type
		}
	}
	return ""
}
