package salesforce_test

import (
	"context"
	"net/http"
	"strconv"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/cxaudit/cxaudit/internal/cxaudit"
	"github.com/cxaudit/cxaudit/internal/salesforce"
	"github.com/cxaudit/cxaudit/internal/salesforce/salesforcetest"
	"github.com/cxaudit/cxaudit/internal/tenant"
)

func TestDescribeReadsTheOrgsOwnSchema(t *testing.T) {
	t.Parallel()
	b := setup(t, salesforcetest.Options{})
	s, err := b.client.Describe(context.Background())
	require.NoError(t, err)

	acc := s.Objects[tenant.ObjectAccount]
	require.Empty(t, acc.Unavailable)
	require.Nil(t, acc.Field("Renewal_Date__c"), "the org names its renewal date its own way")
	end := acc.Field("Contract_End_Date__c")
	require.NotNil(t, end)
	require.Equal(t, "date", end.Type)
	require.True(t, end.Custom)
	health := acc.Field("Customer_Health__c")
	require.Equal(t, "picklist", health.Type)
	require.Equal(t, []string{"Green", "Yellow", "Red"}, health.Picklist)
	require.Equal(t, "currency", acc.Field("ARR__c").Type)
	require.Equal(t, "multipicklist", acc.Field("Products__c").Type)
	require.Equal(t, "address", acc.Field("BillingAddress").Type, "compound fields are listed")
	require.Contains(t, acc.Field("Type").Picklist, "Customer - Direct")

	rel := s.Objects[tenant.ObjectContactRelation]
	require.Empty(t, rel.Unavailable)
	require.Equal(t, "multipicklist", rel.Field("Roles").Type)
	require.Contains(t, rel.Field("Roles").Picklist, "Executive Sponsor")

	require.Equal(t, []tenant.TaskStatus{
		{APIName: "Not Started", IsDefault: true}, {APIName: "In Progress"}, {APIName: "Completed", IsClosed: true},
		{APIName: "Waiting on someone else"}, {APIName: "Deferred"},
	}, s.TaskStatuses)
	require.Equal(t, []tenant.TaskPriority{{APIName: "High", IsHighPriority: true}, {APIName: "Normal", IsDefault: true}, {APIName: "Low"}},
		s.TaskPriorities)
}

func TestDescribeWhatTheUserCannotSee(t *testing.T) {
	t.Parallel()
	b := setup(t, salesforcetest.Options{})
	b.sim.HideField("Account", "Segment__c")
	b.sim.HideObject("AccountContactRelation")
	s, err := b.client.Describe(context.Background())
	require.NoError(t, err, "a field or object the integration user cannot read is not an error")
	require.Nil(t, s.Objects[tenant.ObjectAccount].Field("Segment__c"))
	require.Contains(t, s.Objects[tenant.ObjectContactRelation].Unavailable, "NOT_FOUND")

	// What describe leaves out, queries refuse as Salesforce does.
	fields, _ := salesforce.SelectFields(s.Objects[tenant.ObjectAccount], nil)
	require.NotContains(t, fields, "Segment__c")
	require.NotContains(t, fields, "BillingAddress", "compound fields are read through their components")
	require.Contains(t, fields, "BillingCity")
	require.NoError(t, b.client.Accounts(context.Background(), worldNow.AddDate(-10, 0, 0), fields, func([]cxaudit.Account, []cxaudit.Rejected) error { return nil }))
	err = b.client.Accounts(context.Background(), worldNow.AddDate(-10, 0, 0), []string{"Segment__c"}, func([]cxaudit.Account, []cxaudit.Rejected) error { return nil })
	require.Equal(t, cxaudit.EINVALID, cxaudit.ErrorCode(err))
	require.Contains(t, err.Error(), "INVALID_FIELD")
}

func TestDescribeFailsOnAnOutage(t *testing.T) {
	t.Parallel()
	b := setup(t, salesforcetest.Options{})
	b.sim.FailNext(10, http.StatusServiceUnavailable)
	_, err := b.client.Describe(context.Background())
	require.Equal(t, cxaudit.EUNAVAILABLE, cxaudit.ErrorCode(err), "an outage is not a missing object")
}

func TestSelectFieldsOfAWideObject(t *testing.T) {
	t.Parallel()
	obj := &tenant.Object{Name: tenant.ObjectAccount}
	for i := range 800 {
		obj.Fields = append(obj.Fields, tenant.Field{Name: "Custom_Field_Number_" + strings.Repeat("x", i%5) + string(rune('a'+i%26)) + "_" + strconv.Itoa(i) + "__c", Type: "string"})
	}
	obj.Fields = append(obj.Fields, tenant.Field{Name: "Id", Type: "id"}, tenant.Field{Name: "Contract_End__c", Type: "date"})
	fields, full := salesforce.SelectFields(obj, []string{"contract_end__c", "Missing__c", "Id"})
	require.False(t, full, "800 fields do not fit in one query's URL")
	require.Equal(t, []string{"Contract_End__c"}, fields, "the wanted fields the object has, as the org spells them, fixed ones left to the fixed list")
}
