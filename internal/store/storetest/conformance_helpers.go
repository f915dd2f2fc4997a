package storetest

import (
	"time"

	"github.com/cxaudit/cxaudit/internal/cxaudit"
	"github.com/cxaudit/cxaudit/internal/store"
)

// now is the suite's clock: every case stores times relative to it, so
// that what it reads back compares equal.
var now = time.Date(2026, 11, 2, 10, 0, 0, 0, time.UTC)

func ticketIDs(ts []cxaudit.Ticket) []int64 {
	out := make([]int64, len(ts))
	for i, t := range ts {
		out[i] = t.ID
	}
	return out
}

func ticket(id int64, at time.Time) cxaudit.Ticket {
	return cxaudit.Ticket{ID: id, Subject: "s", Status: cxaudit.StatusOpen, Priority: cxaudit.PriorityNormal, CreatedAt: at, UpdatedAt: at, Tags: []string{"x"}}
}

func keysOnly(entries []store.QueueEntry) []store.EntityKey {
	out := make([]store.EntityKey, len(entries))
	for i, e := range entries {
		out[i] = e.Key
	}
	return out
}
