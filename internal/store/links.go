package store

import (
	"cmp"
	"context"
	"slices"
	"strconv"
	"strings"

	"github.com/cxaudit/cxaudit/internal/cxaudit"
)

// Duplicate accounts and link health: what an account or organization is
// tied to besides its own link, found through indexes (the account domain
// and name key, the organization external_id and domain), never by
// comparing every pair. (The "<> ''" beside each join lets both databases
// use the partial indexes.) See migrations/*/0014_account_name_key.sql.

// duplicatesOf returns, by account id, the other accounts sharing a
// website domain or a name key with each of ids, each once (a domain
// match wins), in id order.
func (q *queries) duplicatesOf(ctx context.Context, ids []string) (map[string][]cxaudit.AccountRef, error) {
	out := map[string][]cxaudit.AccountRef{}
	seen := map[[2]string]bool{}
	for start := 0; start < len(ids); start += deleteBatch {
		chunk := ids[start:min(start+deleteBatch, len(ids))]
		in := placeholders(1, len(chunk))
		err := q.queryEach(ctx, `SELECT a.id, 'domain', b.data FROM salesforce_account a
				JOIN salesforce_account b ON b.domain = a.domain AND b.domain <> '' AND b.id <> a.id
				WHERE a.id IN (`+in+`) AND a.domain <> ''
			UNION ALL SELECT a.id, 'name', b.data FROM salesforce_account a
				JOIN salesforce_account b ON b.name_key = a.name_key AND b.name_key <> '' AND b.id <> a.id
				WHERE a.id IN (`+in+`) AND a.name_key <> ''`, anys(chunk), func(r rows) error {
			var id, match string
			var data []byte
			if err := r.Scan(&id, &match, &data); err != nil {
				return err
			}
			var b cxaudit.Account
			if err := unmarshal(data, &b); err != nil {
				return err
			}
			if seen[[2]string{id, b.ID}] {
				if match == "domain" { // reported as a name match first
					for i := range out[id] {
						if out[id][i].ID == b.ID {
							out[id][i].Match = match
						}
					}
				}
				return nil
			}
			seen[[2]string{id, b.ID}] = true
			out[id] = append(out[id], cxaudit.AccountRef{ID: b.ID, Name: b.Name, Domain: b.Domain(), OwnerID: b.OwnerID, Match: match})
			return nil
		})
		if err != nil {
			return nil, err
		}
	}
	for id := range out {
		slices.SortFunc(out[id], func(a, b cxaudit.AccountRef) int { return cmp.Compare(a.ID, b.ID) })
	}
	return out, nil
}

// organizationsOf returns, by account id, the Zendesk organizations linked
// to each account: by external_id, else by a shared domain; in id order.
func (q *queries) organizationsOf(ctx context.Context, accs []cxaudit.Account) (map[string][]cxaudit.AccountRef, error) {
	out := map[string][]cxaudit.AccountRef{}
	seen := map[string]map[int64]bool{}
	add := func(acc string, o cxaudit.Organization, match string) {
		if seen[acc] == nil {
			seen[acc] = map[int64]bool{}
		}
		if seen[acc][o.ID] {
			return
		}
		seen[acc][o.ID] = true
		out[acc] = append(out[acc], cxaudit.AccountRef{ID: strconv.FormatInt(o.ID, 10), Name: o.Name, Match: match})
	}
	var ids, domains []string
	byDomain := map[string][]string{}
	for _, a := range accs {
		ids = append(ids, a.ID)
		if d := a.Domain(); d != "" {
			if len(byDomain[d]) == 0 {
				domains = append(domains, d)
			}
			byDomain[d] = append(byDomain[d], a.ID)
		}
	}
	for start := 0; start < len(ids); start += deleteBatch {
		chunk := ids[start:min(start+deleteBatch, len(ids))]
		orgs, err := queryDocs[cxaudit.Organization](ctx, q, `SELECT data FROM zendesk_organization WHERE external_id IN (`+placeholders(1, len(chunk))+`)`, anys(chunk)...)
		if err != nil {
			return nil, err
		}
		for _, o := range orgs {
			add(o.ExternalID, o, "external_id")
		}
	}
	for start := 0; start < len(domains); start += deleteBatch {
		chunk := domains[start:min(start+deleteBatch, len(domains))]
		err := q.queryEach(ctx, `SELECT d.domain, o.data FROM zendesk_organization_domain d
			JOIN zendesk_organization o ON o.id = d.organization_id WHERE d.domain IN (`+placeholders(1, len(chunk))+`)`, anys(chunk), func(r rows) error {
			var domain string
			var data []byte
			if err := r.Scan(&domain, &data); err != nil {
				return err
			}
			var o cxaudit.Organization
			if err := unmarshal(data, &o); err != nil {
				return err
			}
			for _, acc := range byDomain[domain] {
				add(acc, o, "domain")
			}
			return nil
		})
		if err != nil {
			return nil, err
		}
	}
	for id := range out {
		slices.SortFunc(out[id], func(a, b cxaudit.AccountRef) int { return cmp.Compare(a.ID, b.ID) })
	}
	return out, nil
}

// linkedAccountsOf fills the LinkedAccounts of orgs: the account their
// external_id names, and those sharing one of their domains.
func (q *queries) linkedAccountsOf(ctx context.Context, orgs []cxaudit.Organization) error {
	if len(orgs) == 0 {
		return nil
	}
	seen := map[int64]map[string]bool{}
	at := map[int64]int{}
	add := func(org int64, a cxaudit.Account, match string) {
		if seen[org] == nil {
			seen[org] = map[string]bool{}
		}
		if seen[org][a.ID] {
			return
		}
		seen[org][a.ID] = true
		i := at[org]
		orgs[i].LinkedAccounts = append(orgs[i].LinkedAccounts, cxaudit.AccountRef{ID: a.ID, Name: a.Name, Domain: a.Domain(), OwnerID: a.OwnerID, Match: match})
	}
	var ext []string
	for i, o := range orgs {
		at[o.ID] = i
		orgs[i].LinkedAccounts = nil
		if o.ExternalID != "" {
			ext = append(ext, o.ExternalID)
		}
	}
	if len(ext) > 0 {
		accs, err := queryDocs[cxaudit.Account](ctx, q, `SELECT data FROM salesforce_account WHERE id IN (`+placeholders(1, len(ext))+`)`, anys(ext)...)
		if err != nil {
			return err
		}
		byID := map[string]cxaudit.Account{}
		for _, a := range accs {
			byID[a.ID] = a
		}
		for _, o := range orgs {
			if a, ok := byID[o.ExternalID]; ok {
				add(o.ID, a, "external_id")
			}
		}
	}
	ids := make([]any, len(orgs))
	for i, o := range orgs {
		ids[i] = o.ID
	}
	err := q.queryEach(ctx, `SELECT d.organization_id, a.data FROM zendesk_organization_domain d
		JOIN salesforce_account a ON a.domain = d.domain WHERE d.organization_id IN (`+placeholders(1, len(ids))+`) ORDER BY a.id`, ids, func(r rows) error {
		var org int64
		var data []byte
		if err := r.Scan(&org, &data); err != nil {
			return err
		}
		var a cxaudit.Account
		if err := unmarshal(data, &a); err != nil {
			return err
		}
		add(org, a, "domain")
		return nil
	})
	return err
}

// fillLinks sets the Duplicates and Organizations of accs.
func (q *queries) fillLinks(ctx context.Context, accs []*cxaudit.Account) error {
	if len(accs) == 0 {
		return nil
	}
	ids := make([]string, len(accs))
	plain := make([]cxaudit.Account, len(accs))
	for i, a := range accs {
		ids[i], plain[i] = a.ID, *a
	}
	dups, err := q.duplicatesOf(ctx, ids)
	if err != nil {
		return err
	}
	orgs, err := q.organizationsOf(ctx, plain)
	if err != nil {
		return err
	}
	for _, a := range accs {
		a.Duplicates, a.Organizations = dups[a.ID], orgs[a.ID]
	}
	return nil
}

// AccountsSharingKeys returns the ids of the accounts that share a website
// domain or a name key with one of ids (ids themselves left out): the
// accounts whose duplicates change when those change. The sync queues them
// for audit before and after it stores a page.
func (q *queries) AccountsSharingKeys(ctx context.Context, ids []string) ([]string, error) {
	var out []string
	seen := map[string]bool{}
	for _, id := range ids {
		seen[id] = true
	}
	dups, err := q.duplicatesOf(ctx, ids)
	if err != nil {
		return nil, err
	}
	for _, refs := range dups {
		for _, r := range refs {
			if !seen[r.ID] {
				seen[r.ID] = true
				out = append(out, r.ID)
			}
		}
	}
	slices.Sort(out)
	return out, nil
}

// FillAccountKeys computes the name key of accounts stored before it
// existed (name_key NULL), a thousand at a time, and returns how many.
func (q *queries) FillAccountKeys(ctx context.Context) (int, error) {
	n := 0
	for {
		accs, err := queryDocs[cxaudit.Account](ctx, q, `SELECT data FROM salesforce_account WHERE name_key IS NULL ORDER BY id LIMIT 1000`)
		if err != nil || len(accs) == 0 {
			return n, err
		}
		for _, a := range accs {
			if _, err := q.c.exec(ctx, `UPDATE salesforce_account SET name_key = $2 WHERE id = $1`, a.ID, cxaudit.NameKey(a.Name)); err != nil {
				return n, err
			}
		}
		n += len(accs)
	}
}

func (q *queries) AccountForOrganization(ctx context.Context, org cxaudit.Organization) (cxaudit.Account, error) {
	if id := strings.TrimSpace(org.ExternalID); id != "" {
		a, err := q.Account(ctx, id)
		if cxaudit.ErrorCode(err) != cxaudit.ENOTFOUND {
			return a, err
		}
	}
	accs, err := queryDocs[cxaudit.Account](ctx, q, `SELECT a.data FROM salesforce_account a
		JOIN zendesk_organization_domain d ON d.domain = a.domain WHERE d.organization_id = $1 ORDER BY a.id LIMIT 1`, org.ID)
	if err != nil {
		return cxaudit.Account{}, err
	}
	if len(accs) == 0 {
		return cxaudit.Account{}, cxaudit.Errorf(cxaudit.ENOTFOUND, "organization %d is linked to no account", org.ID)
	}
	return q.withChildren(ctx, accs[0])
}

func (q *queries) OrganizationForAccount(ctx context.Context, acc cxaudit.Account) (cxaudit.Organization, error) {
	orgs, err := queryDocs[cxaudit.Organization](ctx, q, `SELECT data FROM zendesk_organization WHERE external_id = $1 ORDER BY id LIMIT 1`, acc.ID)
	if err == nil && len(orgs) == 0 && acc.Domain() != "" {
		orgs, err = queryDocs[cxaudit.Organization](ctx, q, `SELECT o.data FROM zendesk_organization o
			JOIN zendesk_organization_domain d ON d.organization_id = o.id WHERE d.domain = $1 AND o.external_id = '' ORDER BY o.id LIMIT 1`, acc.Domain())
	}
	if err != nil {
		return cxaudit.Organization{}, err
	}
	if len(orgs) == 0 {
		return cxaudit.Organization{}, cxaudit.Errorf(cxaudit.ENOTFOUND, "account %s is linked to no organization", acc.ID)
	}
	return orgs[0], nil
}

func (q *queries) AccountsForOrganizations(ctx context.Context, orgs []cxaudit.Organization) (map[int64]cxaudit.Account, error) {
	out := make(map[int64]cxaudit.Account, len(orgs))
	if len(orgs) == 0 {
		return out, nil
	}
	// By external_id = Account Id first.
	var extIDs []string
	for _, o := range orgs {
		if id := strings.TrimSpace(o.ExternalID); id != "" {
			extIDs = append(extIDs, id)
		}
	}
	byID := map[string]cxaudit.Account{}
	if len(extIDs) > 0 {
		accs, err := queryDocs[cxaudit.Account](ctx, q, `SELECT data FROM salesforce_account WHERE id IN (`+placeholders(1, len(extIDs))+`)`, anys(extIDs)...)
		if err != nil {
			return nil, err
		}
		for _, a := range accs {
			byID[a.ID] = a
		}
	}
	var byDomain []int64
	for _, o := range orgs {
		if a, ok := byID[strings.TrimSpace(o.ExternalID)]; ok && strings.TrimSpace(o.ExternalID) != "" {
			out[o.ID] = a
		} else {
			byDomain = append(byDomain, o.ID)
		}
	}
	// Else by a shared website domain, the lowest account id.
	if len(byDomain) > 0 {
		err := q.queryEach(ctx, `SELECT d.organization_id, a.data FROM salesforce_account a
			JOIN zendesk_organization_domain d ON d.domain = a.domain WHERE d.organization_id IN (`+placeholders(1, len(byDomain))+`)
			ORDER BY d.organization_id, a.id`, anys(byDomain), func(r rows) error {
			var orgID int64
			var data []byte
			if err := r.Scan(&orgID, &data); err != nil {
				return err
			}
			if _, done := out[orgID]; done {
				return nil
			}
			var a cxaudit.Account
			if err := unmarshal(data, &a); err != nil {
				return err
			}
			out[orgID] = a
			return nil
		})
		if err != nil {
			return nil, err
		}
	}
	return out, q.withChildrenMany(ctx, out)
}
