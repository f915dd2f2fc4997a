package zendesk

import (
	"bytes"
	"encoding/json"
	"fmt"

	"github.com/cxaudit/cxaudit/internal/cxaudit"
)

// decodeEach decodes the records of one page one by one: a record that
// does not decode (a malformed timestamp, a field of the wrong type) is
// returned as rejected, for the sync to quarantine, and the rest of the
// page is read. Only a page whose envelope does not decode is malformed
// as a whole (and retried).
func decodeEach[T any](object string, raws []json.RawMessage) ([]T, []cxaudit.Rejected) {
	out := make([]T, 0, len(raws))
	var rejected []cxaudit.Rejected
	for _, raw := range raws {
		var v T
		if err := json.Unmarshal(raw, &v); err != nil {
			rejected = append(rejected, Reject(object, raw, err.Error()))
			continue
		}
		out = append(out, v)
	}
	return out, rejected
}

// Reject builds the quarantine entry of a record: its id as the record
// has it, or the digest of the record when even the id cannot be read.
func Reject(object string, raw []byte, reason string) cxaudit.Rejected {
	var head struct {
		ID json.RawMessage `json:"id"`
	}
	id := ""
	if json.Unmarshal(raw, &head) == nil && len(head.ID) > 0 && !bytes.Equal(head.ID, []byte("null")) {
		var n json.Number
		if json.Unmarshal(head.ID, &n) == nil {
			id = n.String()
		} else {
			id = string(head.ID)
		}
	}
	return cxaudit.NewRejected(object, id, reason, raw)
}

// RejectTicket is the quarantine entry of a ticket whose page was read
// but which cannot be stored (its comments answer 404 while the ticket is
// there).
func RejectTicket(t cxaudit.Ticket, reason string) cxaudit.Rejected {
	raw, err := json.Marshal(t)
	if err != nil {
		raw = []byte(fmt.Sprintf(`{"id":%d}`, t.ID))
	}
	return cxaudit.NewRejected("tickets", fmt.Sprint(t.ID), reason, raw)
}
