package zendesktest_test

import (
	"context"
	"fmt"
	"time"

	"github.com/cxaudit/cxaudit/internal/simworld"
	"github.com/cxaudit/cxaudit/internal/zendesk"
	"github.com/cxaudit/cxaudit/internal/zendesk/zendesktest"
)

// Point the adapter at a simulated account, write a note back, and check
// what the account received.
func Example() {
	world := simworld.Generate(simworld.Options{Seed: 1, Accounts: 3, Tickets: 5, Now: time.Date(2024, 5, 1, 12, 0, 0, 0, time.UTC)})
	sim, srv := zendesktest.NewServer(zendesktest.Options{World: world, Email: "bot@example.com", APIToken: "t0ken"})
	defer srv.Close()

	client, err := zendesk.New(zendesk.Config{URL: srv.URL, Email: "bot@example.com", APIToken: "t0ken"})
	if err != nil {
		panic(err)
	}
	if _, err := client.UpdateTicket(context.Background(), 1, zendesk.TicketUpdate{
		NoteHTML: "<p>cxaudit: 1 finding</p>",
		Tags:     []string{"cxaudit_flagged"},
	}); err != nil {
		panic(err)
	}

	ticket, _ := sim.Ticket(1)
	note := ticket.Comments[len(ticket.Comments)-1]
	fmt.Println(note.Body, note.Public, note.AuthorID == sim.APIUserID(), ticket.HasTag("cxaudit_flagged"))
	fmt.Println(sim.Stats().ByEndpoint[zendesktest.EndpointUpdateTicket])
	// Output:
	// cxaudit: 1 finding false true true
	// 1
}
