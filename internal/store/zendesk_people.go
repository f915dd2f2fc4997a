package store

import (
	"context"
	"fmt"
	"strings"

	"github.com/cxaudit/cxaudit/internal/cxaudit"
)

// Zendesk organizations and users.

func (q *queries) UpsertOrganizations(ctx context.Context, orgs []cxaudit.Organization) error {
	for _, o := range orgs {
		o.LinkedAccounts = nil // found beside it when read, not its own
		data, err := marshal(o)
		if err != nil {
			return err
		}
		if _, err := q.c.exec(ctx, `INSERT INTO zendesk_organization (id, external_id, updated_at, data) VALUES ($1, $2, $3, $4)
			ON CONFLICT (id) DO UPDATE SET external_id = excluded.external_id, updated_at = excluded.updated_at, data = excluded.data`,
			o.ID, strings.TrimSpace(o.ExternalID), ms(o.UpdatedAt), data); err != nil {
			return fmt.Errorf("upsert organization %d: %w", o.ID, err)
		}
		if _, err := q.c.exec(ctx, `DELETE FROM zendesk_organization_domain WHERE organization_id = $1`, o.ID); err != nil {
			return err
		}
		for _, d := range o.DomainNames {
			if d = cxaudit.NormalizeDomain(d); d == "" {
				continue
			}
			if _, err := q.c.exec(ctx, `INSERT INTO zendesk_organization_domain (domain, organization_id) VALUES ($1, $2) ON CONFLICT DO NOTHING`, d, o.ID); err != nil {
				return err
			}
		}
	}
	return nil
}

func (q *queries) UpsertUsers(ctx context.Context, users []cxaudit.User) error {
	for _, u := range users {
		data, err := marshal(u)
		if err != nil {
			return err
		}
		if _, err := q.c.exec(ctx, `INSERT INTO zendesk_user (id, role, updated_at, data) VALUES ($1, $2, $3, $4)
			ON CONFLICT (id) DO UPDATE SET role = excluded.role, updated_at = excluded.updated_at, data = excluded.data`,
			u.ID, u.Role, ms(u.UpdatedAt), data); err != nil {
			return fmt.Errorf("upsert user %d: %w", u.ID, err)
		}
	}
	return nil
}

func (q *queries) Organization(ctx context.Context, id int64) (cxaudit.Organization, error) {
	orgs, err := queryDocs[cxaudit.Organization](ctx, q, `SELECT data FROM zendesk_organization WHERE id = $1`, id)
	if err != nil {
		return cxaudit.Organization{}, err
	}
	if len(orgs) == 0 {
		return cxaudit.Organization{}, cxaudit.Errorf(cxaudit.ENOTFOUND, "organization %d not found", id)
	}
	return orgs[0], q.linkedAccountsOf(ctx, orgs)
}

func (q *queries) AgentIDs(ctx context.Context) (map[int64]bool, error) {
	ids := map[int64]bool{}
	err := q.queryEach(ctx, `SELECT id FROM zendesk_user WHERE role IN ('agent', 'admin')`, nil, func(r rows) error {
		var id int64
		if err := r.Scan(&id); err != nil {
			return err
		}
		ids[id] = true
		return nil
	})
	return ids, err
}

func (q *queries) OrganizationsByID(ctx context.Context, ids []int64) ([]cxaudit.Organization, error) {
	if len(ids) == 0 {
		return nil, nil
	}
	orgs, err := queryDocs[cxaudit.Organization](ctx, q, `SELECT data FROM zendesk_organization WHERE id IN (`+placeholders(1, len(ids))+`) ORDER BY id`, anys(ids)...)
	if err != nil {
		return nil, err
	}
	return orgs, q.linkedAccountsOf(ctx, orgs)
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
