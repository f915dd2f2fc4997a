package storetest

import (
	"testing"

	"github.com/cxaudit/cxaudit/internal/store"
)

// Exercise runs the conformance suite against stores newStore opens. Every
// store implementation must pass it, on a real database. Its cases live in
// one file per concept, named after internal/store's own files
// (conformance_queue.go holds those of queue.go, and so on), so that a
// change to one of those files finds its cases next to it; what the cases
// share is in conformance_helpers.go.
func Exercise(t *testing.T, newStore func(t *testing.T) store.Store) {
	t.Helper()
	exerciseCursors(t, newStore)
	exerciseTickets(t, newStore)
	exerciseLinks(t, newStore)
	exerciseQueue(t, newStore)
	exerciseQuarantine(t, newStore)
	exerciseFindings(t, newStore)
	exerciseWritelog(t, newStore)
	exerciseText(t, newStore)
	exerciseLease(t, newStore)
	exerciseMigrate(t, newStore)
	exerciseSweep(t, newStore)
	exerciseReport(t, newStore)
	exerciseRiverjobs(t, newStore)
	exerciseSchema(t, newStore)
	exerciseZendeskPeople(t, newStore)
	exerciseAccounts(t, newStore)
	exerciseGauges(t, newStore)
}
