package store_test

import (
	"testing"

	"github.com/cxaudit/cxaudit/internal/store"
	"github.com/cxaudit/cxaudit/internal/store/storetest"
)

func TestPostgresConformance(t *testing.T) {
	t.Parallel()
	storetest.Exercise(t, func(t *testing.T) store.Store { return storetest.NewPostgres(t) })
}

func TestSQLiteConformance(t *testing.T) {
	t.Parallel()
	storetest.Exercise(t, func(t *testing.T) store.Store { return storetest.NewSQLite(t) })
}
