package store

import (
	"context"
	"fmt"
	"time"
)

// The tenant's own schema, as the sync read it from each system, and the
// records that fit cxaudit to it: contacts' roles (AccountContactRelation),
// and the users and organizations a ticket names.

// Schema documents, by the system that describes them.
const (
	SchemaSalesforce = "salesforce"
	SchemaZendesk    = "zendesk"
)

func (q *queries) PutSchema(ctx context.Context, source string, v any) error {
	data, err := marshal(v)
	if err != nil {
		return err
	}
	_, err = q.c.exec(ctx, `INSERT INTO tenant_schema (source, data, updated_at) VALUES ($1, $2, $3)
		ON CONFLICT (source) DO UPDATE SET data = excluded.data, updated_at = excluded.updated_at`,
		source, data, ms(time.Now()))
	if err != nil {
		return fmt.Errorf("store the %s schema: %w", source, err)
	}
	return nil
}

func (q *queries) GetSchema(ctx context.Context, source string, v any) (bool, error) {
	var data []byte
	err := q.queryOne(ctx, `SELECT data FROM tenant_schema WHERE source = $1`, []any{source}, &data)
	if err == errNotFound {
		return false, nil
	}
	if err != nil {
		return false, err
	}
	if err := unmarshal(data, v); err != nil {
		return false, fmt.Errorf("decode the stored %s schema: %w", source, err)
	}
	return true, nil
}
