package salesforce_test

import (
	"context"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/cxaudit/cxaudit/internal/cxaudit"
	"github.com/cxaudit/cxaudit/internal/salesforce/salesforcetest"
)

func TestCheckFields(t *testing.T) {
	t.Parallel()
	b := setup(t, salesforcetest.Options{})
	require.NoError(t, b.client.CheckFields(context.Background()))
	require.Equal(t, 1, b.sim.Stats().ByEndpoint["GET /sobjects/Account/describe"])
	require.NoError(t, b.client.CheckFields(context.Background()))
	require.Equal(t, 1, b.sim.Stats().ByEndpoint["GET /sobjects/Account/describe"], "checked once per client")
}

func TestCheckFieldsNamesTheMissingField(t *testing.T) {
	t.Parallel()
	b := setup(t, salesforcetest.Options{})
	b.sim.HideField("Account", "Tier__c")
	b.sim.HideField("Opportunity", "StageName")
	err := b.client.CheckFields(context.Background())
	require.Error(t, err)
	require.Equal(t, cxaudit.EINVALID, cxaudit.ErrorCode(err))
	require.Contains(t, err.Error(), "Account.Tier__c")
	require.Contains(t, err.Error(), "Opportunity.StageName")
	require.NotContains(t, err.Error(), "Health__c")
}
