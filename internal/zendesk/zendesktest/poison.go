package zendesktest

import (
	"encoding/json"
	"net/http"
	"slices"
)

// writePoisoned writes resp as writeJSON does, with the updated_at of
// every record under key whose id is in ids replaced by "not a time"
// (Faults.PoisonTickets and friends).
func writePoisoned(w http.ResponseWriter, resp any, key string, ids []int64) {
	if len(ids) == 0 {
		writeJSON(w, http.StatusOK, resp)
		return
	}
	b, err := json.Marshal(resp)
	if err != nil {
		writeJSON(w, http.StatusInternalServerError, map[string]string{"error": "InternalError"})
		return
	}
	var m map[string]any
	_ = json.Unmarshal(b, &m)
	recs, _ := m[key].([]any)
	for _, r := range recs {
		rec, _ := r.(map[string]any)
		if id, ok := rec["id"].(float64); ok && slices.Contains(ids, int64(id)) {
			rec["updated_at"] = "not a time"
		}
	}
	writeJSON(w, http.StatusOK, m)
}

// poison returns the poisoned ids of one export under the lock.
func (s *Sim) poison(get func(Faults) []int64) []int64 {
	s.mu.Lock()
	defer s.mu.Unlock()
	return slices.Clone(get(s.faults))
}
