package zendesktest

import (
	"cmp"
	"net/http"
	"slices"
	"strconv"
	"strings"

	"github.com/cxaudit/cxaudit/internal/cxaudit"
)

// EndpointExportTicketEvents is the time-based incremental ticket event
// export. The simulator makes one event (one ticket update) per comment;
// with include=comment_events its child_events carry the comment. A real
// account also has events without comments (status, tag and field
// changes), so it has more events, and pages, per comment than this.
const EndpointExportTicketEvents = "GET /api/v2/incremental/ticket_events.json"

// wireTicketEvent is one ticket update of the ticket event export.
type wireTicketEvent struct {
	ID          int64            `json:"id"`
	TicketID    int64            `json:"ticket_id"`
	Timestamp   int64            `json:"timestamp"`
	CreatedAt   string           `json:"created_at"`
	UpdaterID   int64            `json:"updater_id"`
	Via         string           `json:"via"`
	System      map[string]any   `json:"system"`
	EventType   string           `json:"event_type"`
	ChildEvents []wireChildEvent `json:"child_events"`
}

// wireChildEvent is a comment event of a ticket update (comment_events).
type wireChildEvent struct {
	wireComment
	EventType string `json:"event_type"`
	ViaRef    any    `json:"via_reference_id"`
}

type commentAt struct {
	ticketID int64
	c        cxaudit.Comment
}

// exportTicketEvents serves the ticket updates at or after start_time,
// oldest first, a page of per_page (1000 by default) updates, never
// splitting a second across pages.
func (s *Sim) exportTicketEvents(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	start, err := startTime(q)
	if err != nil {
		badRequest(w, "%v", err)
		return
	}
	size, err := s.perPage(q)
	if err != nil {
		badRequest(w, "%v", err)
		return
	}
	withComments := slices.Contains(strings.Split(q.Get("include"), ","), "comment_events")
	base := baseURL(r)

	s.mu.Lock()
	var all []commentAt
	for _, t := range s.tickets {
		for _, c := range t.Comments {
			if c.CreatedAt.Unix() >= start {
				all = append(all, commentAt{t.ID, c})
			}
		}
	}
	s.mu.Unlock()
	slices.SortFunc(all, func(a, b commentAt) int {
		return cmp.Or(cmp.Compare(a.c.CreatedAt.Unix(), b.c.CreatedAt.Unix()), cmp.Compare(a.c.ID, b.c.ID))
	})
	n := min(size, len(all))
	for n > 0 && n < len(all) && all[n].c.CreatedAt.Unix() == all[n-1].c.CreatedAt.Unix() {
		n++
	}
	page := all[:n]
	eos := n == len(all)
	end := start
	if n > 0 {
		end = page[n-1].c.CreatedAt.Unix()
	}
	if end == start && !eos {
		end++
	}
	resp := struct {
		TicketEvents []wireTicketEvent `json:"ticket_events"`
		NextPage     string            `json:"next_page"`
		Count        int               `json:"count"`
		EndTime      int64             `json:"end_time"`
		EndOfStream  bool              `json:"end_of_stream"`
	}{TicketEvents: make([]wireTicketEvent, 0, n), Count: n, EndTime: end, EndOfStream: eos,
		NextPage: base + r.URL.Path + "?start_time=" + strconv.FormatInt(end, 10) + "&include=comment_events"}
	for _, e := range page {
		ev := wireTicketEvent{ID: e.c.ID + 1_000_000_000, TicketID: e.ticketID, Timestamp: e.c.CreatedAt.Unix(),
			CreatedAt: ts(e.c.CreatedAt), UpdaterID: e.c.AuthorID, Via: "Web form", System: map[string]any{},
			EventType: "Audit", ChildEvents: []wireChildEvent{}}
		if withComments {
			ev.ChildEvents = append(ev.ChildEvents, wireChildEvent{wireComment: toWireComment(e.c, ""), EventType: "Comment"})
		}
		resp.TicketEvents = append(resp.TicketEvents, ev)
	}
	writeJSON(w, http.StatusOK, resp)
}
