package store

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/cxaudit/cxaudit/internal/cxaudit"
)

// Sync cursors: where each source's stream stands.

// CursorOverlap is how far before a timestamp cursor the next read starts
// by default. Records are committed in timestamp order (SystemModstamp,
// deleted_at), but a transaction that commits late can carry an older
// stamp; the overlap catches it, and upserts by id absorb the repeats.
const CursorOverlap = 5 * time.Minute

// Since reads c as a timestamp cursor (RFC 3339, the newest change a read
// applied) and returns where the next read starts: overlap before it. An
// empty cursor gives the zero time: a first read reads everything.
func (c Cursor) Since(overlap time.Duration) (time.Time, error) {
	if c.Value == "" {
		return time.Time{}, nil
	}
	t, err := time.Parse(time.RFC3339Nano, c.Value)
	if err != nil {
		return time.Time{}, fmt.Errorf("cursor %q is not a timestamp: %w", c.Value, err)
	}
	return t.Add(-overlap), nil
}

func (q *queries) GetCursor(ctx context.Context, source cxaudit.Source, object string) (Cursor, error) {
	var c Cursor
	var completed, updated int64
	err := q.queryOne(ctx, `SELECT cursor, completed_at, updated_at FROM sync_cursor WHERE source = $1 AND object = $2`,
		[]any{string(source), object}, &c.Value, &completed, &updated)
	if errors.Is(err, errNotFound) {
		return Cursor{}, nil
	}
	c.CompletedAt, c.UpdatedAt = fromMS(completed), fromMS(updated)
	return c, err
}

func (q *queries) PutCursor(ctx context.Context, source cxaudit.Source, object string, c Cursor) error {
	if c.UpdatedAt.IsZero() {
		c.UpdatedAt = time.Now()
	}
	_, err := q.c.exec(ctx, `INSERT INTO sync_cursor (source, object, cursor, completed_at, updated_at) VALUES ($1, $2, $3, $4, $5)
		ON CONFLICT (source, object) DO UPDATE SET cursor = excluded.cursor, completed_at = excluded.completed_at, updated_at = excluded.updated_at`,
		string(source), object, c.Value, ms(c.CompletedAt), ms(c.UpdatedAt))
	return err
}
