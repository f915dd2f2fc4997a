package store

import (
	"context"
	"fmt"
	"strings"
	"time"

	"github.com/cxaudit/cxaudit/internal/cxaudit"
)

// The quarantine: records a source sent that could not be read. See
// migrations/*/0011_quarantine.sql.

func (q *queries) Quarantine(ctx context.Context, source cxaudit.Source, recs []cxaudit.Rejected) error {
	now := time.Now().UnixNano()
	for _, r := range recs {
		raw := strings.ToValidUTF8(string(r.Raw), "\uFFFD")
		if _, err := q.c.exec(ctx, `INSERT INTO quarantine (source, object, record_id, reason, raw, first_seen, last_seen, attempts)
			VALUES ($1, $2, $3, $4, $5, $6, $6, 1)
			ON CONFLICT (source, object, record_id) DO UPDATE SET reason = excluded.reason, raw = excluded.raw,
				last_seen = excluded.last_seen, attempts = quarantine.attempts + 1`,
			string(source), r.Object, r.ID, strings.ToValidUTF8(r.Reason, "\uFFFD"), raw, now); err != nil {
			return fmt.Errorf("quarantine %s %s %s: %w", source, r.Object, r.ID, err)
		}
	}
	return nil
}

func (q *queries) Unquarantine(ctx context.Context, source cxaudit.Source, object string, ids []string) error {
	for start := 0; start < len(ids); start += queueChunk {
		chunk := ids[start:min(start+queueChunk, len(ids))]
		var in strings.Builder
		args := []any{string(source), object}
		for i, id := range chunk {
			if i > 0 {
				in.WriteString(", ")
			}
			fmt.Fprintf(&in, "$%d", i+3)
			args = append(args, id)
		}
		if _, err := q.c.exec(ctx, `DELETE FROM quarantine WHERE source = $1 AND object = $2 AND record_id IN (`+in.String()+`)`, args...); err != nil {
			return fmt.Errorf("clear quarantine of %d %s %s: %w", len(chunk), source, object, err)
		}
	}
	return nil
}

func (q *queries) ListQuarantine(ctx context.Context, limit int) ([]cxaudit.Quarantined, error) {
	var out []cxaudit.Quarantined
	err := q.queryEach(ctx, `SELECT source, object, record_id, reason, raw, first_seen, last_seen, attempts FROM quarantine
		ORDER BY source, object, first_seen, record_id LIMIT $1`, []any{limit}, func(r rows) error {
		var e cxaudit.Quarantined
		var source, raw string
		var first, last int64
		if err := r.Scan(&source, &e.Object, &e.ID, &e.Reason, &raw, &first, &last, &e.Attempts); err != nil {
			return err
		}
		e.Source, e.Raw = cxaudit.Source(source), []byte(raw)
		e.FirstSeen, e.LastSeen = time.Unix(0, first).UTC(), time.Unix(0, last).UTC()
		out = append(out, e)
		return nil
	})
	return out, err
}

func (q *queries) CountQuarantine(ctx context.Context) (map[QuarantineKey]int, error) {
	out := map[QuarantineKey]int{}
	err := q.queryEach(ctx, `SELECT source, object, COUNT(*) FROM quarantine GROUP BY source, object`, nil, func(r rows) error {
		var k QuarantineKey
		var source string
		var n int
		if err := r.Scan(&source, &k.Object, &n); err != nil {
			return err
		}
		k.Source = cxaudit.Source(source)
		out[k] = n
		return nil
	})
	return out, err
}

// QuarantineKey is a stream of a source, as the quarantine counts it.
type QuarantineKey struct {
	Source cxaudit.Source
	Object string
}
