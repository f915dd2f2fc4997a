package salesforce_test

import (
	"context"
	"fmt"
	"time"

	"github.com/cxaudit/cxaudit/internal/cxaudit"
	"github.com/cxaudit/cxaudit/internal/salesforce"
	"github.com/cxaudit/cxaudit/internal/salesforce/salesforcetest"
	"github.com/cxaudit/cxaudit/internal/simworld"
)

// Write a finding back as a Task exactly once: look for its marker first,
// create only when nothing carries it.
func Example() {
	now := time.Date(2024, 5, 1, 12, 0, 0, 0, time.UTC)
	world := simworld.Generate(simworld.Options{Seed: 1, Accounts: 3, Now: now})
	sim, srv := salesforcetest.NewServer(salesforcetest.Options{World: world, AccessToken: "token"})
	defer srv.Close()

	client, err := salesforce.New(salesforce.Config{InstanceURL: srv.URL, AccessToken: "token"})
	if err != nil {
		panic(err)
	}
	ctx := context.Background()
	acc := world.Accounts[0]
	marker := "[cxaudit:" + cxaudit.Fingerprint("crm.renewal_missing", cxaudit.EntityAccount, acc.ID) + "]"

	for range 2 { // a retried job runs twice
		found, err := client.FindTasks(ctx, []salesforce.TaskRef{{WhatID: acc.ID, SubjectPrefix: marker}})
		if err != nil {
			panic(err)
		}
		if len(found) > 0 {
			fmt.Println("already written:", found[0].ID)
			continue
		}
		res, err := client.CreateTasks(ctx, []cxaudit.Task{{
			WhatID: acc.ID, OwnerID: acc.OwnerID, Subject: marker + " Renewal date missing", Priority: "High",
		}})
		if err != nil {
			panic(err)
		}
		fmt.Println("created:", res[0].ID, res[0].Err)
	}
	fmt.Println("tasks in Salesforce:", len(sim.Tasks()))
	// Output:
	// created: 00T000000000000001 <nil>
	// already written: 00T000000000000001
	// tasks in Salesforce: 1
}
