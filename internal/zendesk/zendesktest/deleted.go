package zendesktest

import (
	"cmp"
	"net/http"
	"slices"
	"time"
)

// EndpointDeletedTickets lists soft-deleted tickets.
const EndpointDeletedTickets = "GET /api/v2/deleted_tickets.json"

type wireDeletedTicket struct {
	ID            int64     `json:"id"`
	Subject       string    `json:"subject"`
	DeletedAt     time.Time `json:"deleted_at"`
	PreviousState string    `json:"previous_state"`
	Actor         struct {
		ID   int64  `json:"id"`
		Name string `json:"name"`
	} `json:"actor"`
}

// deletedTickets serves GET /api/v2/deleted_tickets.json: sort_by
// (deleted_at, id), sort_order (asc, desc) and cursor pagination
// (page[size] up to 100, page[after]).
func (s *Sim) deletedTickets(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	s.mu.Lock()
	var list []wireDeletedTicket
	for _, t := range s.tickets {
		if t.deleted {
			d := wireDeletedTicket{ID: t.ID, Subject: t.Subject, DeletedAt: t.deletedAt, PreviousState: string(t.Status)}
			d.Actor.ID = s.apiUser
			list = append(list, d)
		}
	}
	s.mu.Unlock()
	byTime := q.Get("sort_by") != "id"
	slices.SortFunc(list, func(a, b wireDeletedTicket) int {
		if byTime {
			if c := a.DeletedAt.Compare(b.DeletedAt); c != 0 {
				return c
			}
		}
		return cmp.Compare(a.ID, b.ID)
	})
	if q.Get("sort_order") == "desc" {
		slices.Reverse(list)
	}
	writeOffsetPage(w, r, "deleted_tickets", list)
}
