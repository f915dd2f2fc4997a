package store

import (
	"context"
	"errors"
	"time"
)

// The write log (pending → done, by target) and the remote writes made.

func (q *queries) GetWriteLog(ctx context.Context, target string) (WriteRecord, error) {
	r := WriteRecord{Target: target}
	var updated int64
	err := q.queryOne(ctx, `SELECT state, marker, remote_id, payload, updated_at FROM writeback_log WHERE target = $1`,
		[]any{target}, &r.State, &r.Marker, &r.RemoteID, &r.Payload, &updated)
	if errors.Is(err, errNotFound) {
		return WriteRecord{Target: target}, nil
	}
	r.UpdatedAt = fromMS(updated)
	return r, err
}

func (q *queries) PutWriteLog(ctx context.Context, r WriteRecord) error {
	if r.UpdatedAt.IsZero() {
		r.UpdatedAt = time.Now()
	}
	// The payload is a JSON document the write-back made: stored as
	// marshal stores documents.
	payload := string(storableJSON(r.Payload))
	if payload == "" {
		payload = "{}"
	}
	_, err := q.c.exec(ctx, `INSERT INTO writeback_log (target, state, marker, remote_id, payload, updated_at) VALUES ($1, $2, $3, $4, $5, $6)
		ON CONFLICT (target) DO UPDATE SET state = excluded.state, marker = excluded.marker, remote_id = excluded.remote_id,
			payload = excluded.payload, updated_at = excluded.updated_at`,
		r.Target, r.State, r.Marker, r.RemoteID, payload, ms(r.UpdatedAt))
	return err
}

func (q *queries) RecordWrite(ctx context.Context, e WriteEvent) error {
	if e.At.IsZero() {
		e.At = time.Now()
	}
	_, err := q.c.exec(ctx, `INSERT INTO write_event (system, kind, target, written_at) VALUES ($1, $2, $3, $4)`,
		string(e.System), e.Kind, e.Target, ms(e.At))
	return err
}

func (q *queries) CountWrites(ctx context.Context, since time.Time) (map[string]int, error) {
	out := map[string]int{}
	err := q.queryEach(ctx, `SELECT kind, COUNT(*) FROM write_event WHERE written_at >= $1 GROUP BY kind`, []any{ms(since)}, func(r rows) error {
		var kind string
		var n int
		if err := r.Scan(&kind, &n); err != nil {
			return err
		}
		out[kind] = n
		return nil
	})
	return out, err
}
