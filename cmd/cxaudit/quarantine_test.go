package main

import (
	"context"
	"encoding/json"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/cxaudit/cxaudit/internal/cxaudit"
	"github.com/cxaudit/cxaudit/internal/store"
	"github.com/cxaudit/cxaudit/internal/store/storetest"
)

// TestQuarantineList lists what the sync set aside, as a table and as
// JSON with the record as it came.
func TestQuarantineList(t *testing.T) {
	t.Parallel()
	path := storetest.NewSQLitePath(t)
	env := map[string]string{"CXAUDIT_DATABASE_URL": path}

	code, out, errOut := runCLI(t, env, "quarantine", "list")
	require.Equal(t, 0, code, errOut)
	require.Contains(t, out, "nothing in quarantine")

	st, err := store.Open(context.Background(), path)
	require.NoError(t, err)
	require.NoError(t, st.Quarantine(context.Background(), cxaudit.SourceSalesforce, []cxaudit.Rejected{
		{Object: "Opportunity", ID: "006X", Reason: "field Amount: want number, got string", Raw: []byte(`{"Id":"006X","Amount":"lots"}`)},
	}))
	st.Close()

	code, out, errOut = runCLI(t, env, "quarantine", "list")
	require.Equal(t, 0, code, errOut)
	require.Contains(t, out, "salesforce")
	require.Contains(t, out, "006X")
	require.Contains(t, out, "want number, got string")

	code, out, errOut = runCLI(t, env, "quarantine", "list", "--json")
	require.Equal(t, 0, code, errOut)
	var entries []struct {
		Source, Object, ID string
		Attempts           int
		Raw                map[string]any
	}
	require.NoError(t, json.Unmarshal([]byte(out), &entries))
	require.Len(t, entries, 1)
	require.Equal(t, "006X", entries[0].ID)
	require.Equal(t, "lots", entries[0].Raw["Amount"])
	require.Equal(t, 1, entries[0].Attempts)

	code, _, errOut = runCLI(t, env, "quarantine")
	require.Equal(t, 2, code)
	require.Contains(t, errOut, "quarantine list")
}
