package salesforce

import (
	"context"
	"strings"
	"time"

	"github.com/simpleforce/simpleforce"

	"github.com/cxaudit/cxaudit/internal/cxaudit"
)

// ClosedTasks returns closed Tasks whose Subject starts with one of
// subjectPrefixes (cxaudit's Tasks start with their marker) and that
// changed at or after since: the Tasks account owners completed, which
// acknowledges their findings. The prefixes match as LIKE 'prefix%',
// which can use the Subject index, not as a scan for a substring.
func (c *Client) ClosedTasks(ctx context.Context, subjectPrefixes []string, since time.Time) ([]cxaudit.Task, error) {
	const op = "closed tasks"
	if len(subjectPrefixes) == 0 {
		return nil, nil
	}
	likes := make([]string, len(subjectPrefixes))
	for i, p := range subjectPrefixes {
		likes[i] = "Subject LIKE '" + escapeLike(p) + "%'"
	}
	soql := "SELECT " + taskFields + " FROM Task WHERE IsClosed = true AND (" + strings.Join(likes, " OR ") + ")"
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
