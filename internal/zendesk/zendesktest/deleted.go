package zendesktest

import (
	"cmp"
	"net/http"
	"net/url"
	"slices"
	"strconv"
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
	size := 100
	if v := q.Get("page[size]"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 {
			badRequest(w, "page[size] must be a positive integer")
			return
		}
		size = min(n, 100)
	}
	from := 0
	if v := q.Get("page[after]"); v != "" {
		p, err := decodePosition(v)
		if err != nil || p.key < 0 || p.key > int64(len(list)) {
			badRequest(w, "page[after] is invalid")
			return
		}
		from = int(p.key)
	}
	to := min(from+size, len(list))
	type meta struct {
		HasMore      bool   `json:"has_more"`
		AfterCursor  string `json:"after_cursor"`
		BeforeCursor string `json:"before_cursor"`
	}
	type links struct {
		Prev *string `json:"prev"`
		Next *string `json:"next"`
	}
	resp := struct {
		DeletedTickets []wireDeletedTicket `json:"deleted_tickets"`
		Meta           meta                `json:"meta"`
		Links          links               `json:"links"`
	}{DeletedTickets: slices.Clip(append([]wireDeletedTicket{}, list[from:to]...))}
	resp.Meta.HasMore = to < len(list)
	resp.Meta.AfterCursor = position{key: int64(to)}.encode()
	resp.Meta.BeforeCursor = position{key: int64(from)}.encode()
	if resp.Meta.HasMore {
		nq := url.Values{}
		for k, v := range q {
			nq[k] = v
		}
		nq.Set("page[after]", resp.Meta.AfterCursor)
		next := baseURL(r) + r.URL.Path + "?" + nq.Encode()
		resp.Links.Next = &next
	}
	writeJSON(w, http.StatusOK, resp)
}
