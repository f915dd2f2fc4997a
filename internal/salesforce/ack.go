package salesforce

import (
	"context"
	"time"

	"github.com/simpleforce/simpleforce"

	"github.com/cxaudit/cxaudit/internal/cxaudit"
)

// ClosedTasks returns closed Tasks whose Subject contains marker (cxaudit's
// Tasks carry "cxaudit:<fingerprint>") and that changed at or after since:
// the Tasks account owners completed, which acknowledges their findings.
func (c *Client) ClosedTasks(ctx context.Context, marker string, since time.Time) ([]cxaudit.Task, error) {
	const op = "closed tasks"
	soql := "SELECT " + taskFields + " FROM Task WHERE IsClosed = true AND Subject LIKE '%" + escapeLike(marker) + "%'"
	if !since.IsZero() {
		soql += " AND SystemModstamp >= " + since.UTC().Truncate(time.Second).Format("2006-01-02T15:04:05Z")
	}
	soql += " ORDER BY SystemModstamp, Id"
	var out []cxaudit.Task
	err := c.query(ctx, op, soql, func(recs []simpleforce.SObject) error {
		for i, r := range recs {
			so := &sobject{raw: r}
			t := decodeTask(so)
			if so.err != nil {
				return malformedf(op, "record %d (%s): %v", i, so.id(), so.err)
			}
			out = append(out, t)
		}
		return nil
	})
	return out, err
}
