package store

import (
	"context"
	"fmt"
	"time"

	"github.com/cxaudit/cxaudit/internal/cxaudit"
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

func (q *queries) UpsertContactRelations(ctx context.Context, rels []cxaudit.ContactRelation) error {
	for _, r := range rels {
		data, err := marshal(r)
		if err != nil {
			return err
		}
		if _, err := q.c.exec(ctx, `INSERT INTO salesforce_contact_relation (id, account_id, contact_id, system_modstamp, data)
			VALUES ($1, $2, $3, $4, $5)
			ON CONFLICT (id) DO UPDATE SET account_id = excluded.account_id, contact_id = excluded.contact_id,
				system_modstamp = excluded.system_modstamp, data = excluded.data`,
			r.ID, r.AccountID, r.ContactID, ms(r.SystemModstamp), data); err != nil {
			return fmt.Errorf("upsert contact relation %s: %w", r.ID, err)
		}
	}
	return nil
}

// withRoles sets the Roles of the contacts of the accounts in accs from
// their active AccountContactRelations on those accounts.
func (q *queries) withRoles(ctx context.Context, accountIDs []string, contacts map[string][]cxaudit.Contact) error {
	if len(accountIDs) == 0 {
		return nil
	}
	rels, err := queryDocs[cxaudit.ContactRelation](ctx, q, `SELECT data FROM salesforce_contact_relation
		WHERE account_id IN (`+placeholders(1, len(accountIDs))+`) ORDER BY account_id, contact_id, id`, anys(accountIDs)...)
	if err != nil {
		return err
	}
	type key struct{ account, contact string }
	roles := map[key][]string{}
	for _, r := range rels {
		if r.IsActive {
			k := key{r.AccountID, r.ContactID}
			roles[k] = append(roles[k], r.Roles...)
		}
	}
	for acc, cs := range contacts {
		for i := range cs {
			cs[i].Roles = roles[key{acc, cs[i].ID}]
		}
	}
	return nil
}

func (q *queries) UsersByID(ctx context.Context, ids []int64) ([]cxaudit.User, error) {
	if len(ids) == 0 {
		return nil, nil
	}
	return queryDocs[cxaudit.User](ctx, q, `SELECT data FROM zendesk_user WHERE id IN (`+placeholders(1, len(ids))+`) ORDER BY id`, anys(ids)...)
}

func (q *queries) MissingOrganizations(ctx context.Context, ids []int64) ([]int64, error) {
	return q.missing(ctx, "zendesk_organization", ids)
}

func (q *queries) MissingUsers(ctx context.Context, ids []int64) ([]int64, error) {
	return q.missing(ctx, "zendesk_user", ids)
}

// missing returns those of ids (distinct, non-zero) that table has no row
// for, in the order given.
func (q *queries) missing(ctx context.Context, table string, ids []int64) ([]int64, error) {
	want := map[int64]bool{}
	var list []int64
	for _, id := range ids {
		if id != 0 && !want[id] {
			want[id] = true
			list = append(list, id)
		}
	}
	for start := 0; start < len(list); start += deleteBatch {
		chunk := list[start:min(start+deleteBatch, len(list))]
		err := q.queryEach(ctx, `SELECT id FROM `+table+` WHERE id IN (`+placeholders(1, len(chunk))+`)`, anys(chunk), func(r rows) error {
			var id int64
			if err := r.Scan(&id); err != nil {
				return err
			}
			delete(want, id)
			return nil
		})
		if err != nil {
			return nil, err
		}
	}
	var out []int64
	for _, id := range list {
		if want[id] {
			out = append(out, id)
		}
	}
	return out, nil
}

func (q *queries) DeleteContacts(ctx context.Context, ids []string) error {
	return q.deleteIn(ctx, "contacts", []string{`DELETE FROM salesforce_contact WHERE id IN (?)`}, anys(ids))
}

func (q *queries) DeleteOpportunities(ctx context.Context, ids []string) error {
	return q.deleteIn(ctx, "opportunities", []string{`DELETE FROM salesforce_opportunity WHERE id IN (?)`}, anys(ids))
}

func (q *queries) DeleteContactRelations(ctx context.Context, ids []string) error {
	return q.deleteIn(ctx, "contact relations", []string{`DELETE FROM salesforce_contact_relation WHERE id IN (?)`}, anys(ids))
}
