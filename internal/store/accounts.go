package store

import (
	"context"
	"fmt"

	"github.com/cxaudit/cxaudit/internal/cxaudit"
)

// Salesforce accounts with their contacts, opportunities and contact relations.

func (q *queries) UpsertAccounts(ctx context.Context, accounts []cxaudit.Account) error {
	for _, a := range accounts {
		a.Contacts, a.Opportunities, a.OpenTasks, a.Duplicates, a.Organizations = nil, nil, nil, nil, nil
		data, err := marshal(a)
		if err != nil {
			return err
		}
		if _, err := q.c.exec(ctx, `INSERT INTO salesforce_account (id, domain, system_modstamp, data, name_key) VALUES ($1, $2, $3, $4, $5)
			ON CONFLICT (id) DO UPDATE SET domain = excluded.domain, system_modstamp = excluded.system_modstamp, data = excluded.data,
				name_key = excluded.name_key`,
			a.ID, a.Domain(), ms(a.SystemModstamp), data, cxaudit.NameKey(a.Name)); err != nil {
			return fmt.Errorf("upsert account %s: %w", a.ID, err)
		}
	}
	return nil
}

func (q *queries) UpsertContacts(ctx context.Context, contacts []cxaudit.Contact) error {
	for _, c := range contacts {
		data, err := marshal(c)
		if err != nil {
			return err
		}
		if _, err := q.c.exec(ctx, `INSERT INTO salesforce_contact (id, account_id, system_modstamp, data) VALUES ($1, $2, $3, $4)
			ON CONFLICT (id) DO UPDATE SET account_id = excluded.account_id, system_modstamp = excluded.system_modstamp, data = excluded.data`,
			c.ID, c.AccountID, ms(c.SystemModstamp), data); err != nil {
			return fmt.Errorf("upsert contact %s: %w", c.ID, err)
		}
	}
	return nil
}

func (q *queries) UpsertOpportunities(ctx context.Context, opps []cxaudit.Opportunity) error {
	for _, o := range opps {
		data, err := marshal(o)
		if err != nil {
			return err
		}
		if _, err := q.c.exec(ctx, `INSERT INTO salesforce_opportunity (id, account_id, system_modstamp, data) VALUES ($1, $2, $3, $4)
			ON CONFLICT (id) DO UPDATE SET account_id = excluded.account_id, system_modstamp = excluded.system_modstamp, data = excluded.data`,
			o.ID, o.AccountID, ms(o.SystemModstamp), data); err != nil {
			return fmt.Errorf("upsert opportunity %s: %w", o.ID, err)
		}
	}
	return nil
}

func (q *queries) Account(ctx context.Context, id string) (cxaudit.Account, error) {
	accs, err := queryDocs[cxaudit.Account](ctx, q, `SELECT data FROM salesforce_account WHERE id = $1`, id)
	if err != nil {
		return cxaudit.Account{}, err
	}
	if len(accs) == 0 {
		return cxaudit.Account{}, cxaudit.Errorf(cxaudit.ENOTFOUND, "account %s not found", id)
	}
	return q.withChildren(ctx, accs[0])
}

func (q *queries) withChildren(ctx context.Context, a cxaudit.Account) (cxaudit.Account, error) {
	var err error
	if a.Contacts, err = queryDocs[cxaudit.Contact](ctx, q, `SELECT data FROM salesforce_contact WHERE account_id = $1 ORDER BY id`, a.ID); err != nil {
		return a, err
	}
	if err := q.withRoles(ctx, []string{a.ID}, map[string][]cxaudit.Contact{a.ID: a.Contacts}); err != nil {
		return a, err
	}
	if a.Opportunities, err = queryDocs[cxaudit.Opportunity](ctx, q, `SELECT data FROM salesforce_opportunity WHERE account_id = $1 ORDER BY id`, a.ID); err != nil {
		return a, err
	}
	tasks, err := q.openTasks(ctx, []string{a.ID})
	if err != nil {
		return a, err
	}
	a.OpenTasks = tasks[a.ID]
	return a, q.fillLinks(ctx, []*cxaudit.Account{&a})
}

// withChildrenMany loads the contacts and opportunities of every account in
// accs, in id order as withChildren does.
func (q *queries) withChildrenMany(ctx context.Context, accs map[int64]cxaudit.Account) error {
	if len(accs) == 0 {
		return nil
	}
	seen := map[string]bool{}
	var ids []string
	for _, a := range accs {
		if !seen[a.ID] {
			seen[a.ID] = true
			ids = append(ids, a.ID)
		}
	}
	contacts := map[string][]cxaudit.Contact{}
	cs, err := queryDocs[cxaudit.Contact](ctx, q, `SELECT data FROM salesforce_contact WHERE account_id IN (`+placeholders(1, len(ids))+`) ORDER BY id`, anys(ids)...)
	if err != nil {
		return err
	}
	for _, c := range cs {
		contacts[c.AccountID] = append(contacts[c.AccountID], c)
	}
	if err := q.withRoles(ctx, ids, contacts); err != nil {
		return err
	}
	opps := map[string][]cxaudit.Opportunity{}
	os, err := queryDocs[cxaudit.Opportunity](ctx, q, `SELECT data FROM salesforce_opportunity WHERE account_id IN (`+placeholders(1, len(ids))+`) ORDER BY id`, anys(ids)...)
	if err != nil {
		return err
	}
	for _, o := range os {
		opps[o.AccountID] = append(opps[o.AccountID], o)
	}
	tasks, err := q.openTasks(ctx, ids)
	if err != nil {
		return err
	}
	byID := map[string]*cxaudit.Account{}
	var list []*cxaudit.Account
	for _, a := range accs {
		if byID[a.ID] == nil {
			a := a
			byID[a.ID] = &a
			list = append(list, &a)
		}
	}
	if err := q.fillLinks(ctx, list); err != nil {
		return err
	}
	for org, a := range accs {
		a.Contacts, a.Opportunities, a.OpenTasks = contacts[a.ID], opps[a.ID], tasks[a.ID]
		a.Duplicates, a.Organizations = byID[a.ID].Duplicates, byID[a.ID].Organizations
		accs[org] = a
	}
	return nil
}

func (q *queries) DeleteAccounts(ctx context.Context, ids []string) error {
	args := make([]any, len(ids))
	for i, id := range ids {
		args[i] = id
	}
	return q.deleteIn(ctx, "accounts", []string{
		`DELETE FROM salesforce_contact WHERE account_id IN (?)`,
		`DELETE FROM salesforce_opportunity WHERE account_id IN (?)`,
		`DELETE FROM salesforce_contact_relation WHERE account_id IN (?)`,
		`DELETE FROM salesforce_task WHERE account_id IN (?)`,
		`DELETE FROM salesforce_account WHERE id IN (?)`,
	}, args)
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

func (q *queries) DeleteContacts(ctx context.Context, ids []string) error {
	return q.deleteIn(ctx, "contacts", []string{`DELETE FROM salesforce_contact WHERE id IN (?)`}, anys(ids))
}

func (q *queries) DeleteOpportunities(ctx context.Context, ids []string) error {
	return q.deleteIn(ctx, "opportunities", []string{`DELETE FROM salesforce_opportunity WHERE id IN (?)`}, anys(ids))
}

func (q *queries) DeleteContactRelations(ctx context.Context, ids []string) error {
	return q.deleteIn(ctx, "contact relations", []string{`DELETE FROM salesforce_contact_relation WHERE id IN (?)`}, anys(ids))
}
