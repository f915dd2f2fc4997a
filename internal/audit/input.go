package audit

import (
	"context"
	"fmt"
	"slices"
	"strconv"
	"time"

	"github.com/cxaudit/cxaudit/internal/cxaudit"
	"github.com/cxaudit/cxaudit/internal/rules"
	"github.com/cxaudit/cxaudit/internal/store"
	"github.com/cxaudit/cxaudit/internal/tenant"
)

// Reader is what the rules read of the store: the tenant's schemas, the
// agents, the synced records and the links between them. The audit and
// `rules preview` load their inputs through it; store.Querier satisfies
// it.
type Reader interface {
	GetSchema(ctx context.Context, source string, v any) (bool, error)
	AgentIDs(ctx context.Context) (map[int64]bool, error)
	TicketsByID(ctx context.Context, ids []int64) ([]cxaudit.Ticket, error)
	UsersByID(ctx context.Context, ids []int64) ([]cxaudit.User, error)
	Organization(ctx context.Context, id int64) (cxaudit.Organization, error)
	OrganizationsByID(ctx context.Context, ids []int64) ([]cxaudit.Organization, error)
	Account(ctx context.Context, id string) (cxaudit.Account, error)
	AccountForOrganization(ctx context.Context, org cxaudit.Organization) (cxaudit.Account, error)
	AccountsForOrganizations(ctx context.Context, orgs []cxaudit.Organization) (map[int64]cxaudit.Account, error)
	OrganizationForAccount(ctx context.Context, acc cxaudit.Account) (cxaudit.Organization, error)
	TicketsForOrganizations(ctx context.Context, orgIDs []int64, since time.Time, withComments bool) (map[int64][]cxaudit.Ticket, error)
}

var _ Reader = store.Querier(nil)

// loader reads what the rules read about a batch of entities, the same way
// for the audit and for `rules preview`: records come typed by the
// tenant's schema and field map, comments marked by whether an agent wrote
// them, and cxaudit's own tags hidden.
type loader struct {
	q       Reader
	agents  map[int64]bool
	managed map[string]bool
	now     time.Time
	tenant  *tenant.Tenant
	// links, when set, keeps organizations with their linked accounts
	// from batch to batch (the sweep).
	links *links
}

// newLoader reads what every batch shares: the agents. t types the
// records.
func newLoader(ctx context.Context, q Reader, set *rules.Set, now time.Time, t *tenant.Tenant) (*loader, error) {
	agents, err := q.AgentIDs(ctx)
	if err != nil {
		return nil, err
	}
	return &loader{q: q, agents: agents, managed: set.ManagedTags(), now: now, tenant: t}, nil
}

// LoadTenant resolves the field map fm against the schemas the sync
// stored.
func LoadTenant(ctx context.Context, q Reader, fm *tenant.FieldMap) (*tenant.Tenant, error) {
	var sf tenant.SalesforceSchema
	var zd tenant.ZendeskSchema
	sfOK, err := q.GetSchema(ctx, store.SchemaSalesforce, &sf)
	if err != nil {
		return nil, err
	}
	zdOK, err := q.GetSchema(ctx, store.SchemaZendesk, &zd)
	if err != nil {
		return nil, err
	}
	var sfp *tenant.SalesforceSchema
	var zdp *tenant.ZendeskSchema
	if sfOK {
		sfp = &sf
	}
	if zdOK {
		zdp = &zd
	}
	return tenant.Resolve(fm, sfp, zdp), nil
}

// load reads the inputs of keys: found[i] is false when the entity is gone
// (or, for a ticket, deleted), and then its findings all resolve. Tickets,
// their organizations, linked accounts and requesters are read in a few
// batch queries; organizations and accounts one by one. Ticket windows
// (`tickets`) are not read here: see windowOrg.
func (l *loader) load(ctx context.Context, keys []store.EntityKey) ([]rules.Input, []bool, error) {
	ins := make([]rules.Input, len(keys))
	found := make([]bool, len(keys))
	var ticketIDs []int64
	for i, key := range keys {
		ins[i].Now, ins[i].Calendar = l.now, l.tenant.Calendar(0)
		if key.Kind != cxaudit.EntityTicket {
			continue
		}
		id, err := strconv.ParseInt(key.ID, 10, 64)
		if err != nil {
			return nil, nil, fmt.Errorf("audit %s %s: %w", key.Kind, key.ID, err)
		}
		ticketIDs = append(ticketIDs, id)
	}
	if len(ticketIDs) > 0 {
		tickets, err := l.q.TicketsByID(ctx, ticketIDs)
		if err != nil {
			return nil, nil, err
		}
		if err := l.tickets(ctx, keys, tickets, ins, found); err != nil {
			return nil, nil, err
		}
	}
	for i, key := range keys {
		var err error
		switch key.Kind {
		case cxaudit.EntityTicket:
			continue
		case cxaudit.EntityOrganization:
			found[i], err = l.organization(ctx, key.ID, &ins[i])
		case cxaudit.EntityAccount:
			found[i], err = l.account(ctx, key.ID, &ins[i])
		default:
			err = fmt.Errorf("unknown entity kind %q", key.Kind)
		}
		if err != nil {
			return nil, nil, fmt.Errorf("audit %s %s: %w", key.Kind, key.ID, err)
		}
	}
	return ins, found, nil
}

// organization reads an organization and its linked account into in.
func (l *loader) organization(ctx context.Context, key string, in *rules.Input) (bool, error) {
	id, err := strconv.ParseInt(key, 10, 64)
	if err != nil {
		return false, err
	}
	org, err := l.q.Organization(ctx, id)
	if cxaudit.ErrorCode(err) == cxaudit.ENOTFOUND {
		return false, nil
	} else if err != nil {
		return false, err
	}
	l.tenant.Organization(&org)
	in.Organization = &org
	acc, err := l.q.AccountForOrganization(ctx, org)
	switch {
	case err == nil:
		l.tenant.Account(&acc)
		in.Account = &acc
	case cxaudit.ErrorCode(err) != cxaudit.ENOTFOUND:
		return false, err
	}
	return true, nil
}

// account reads an account and its linked organization into in.
func (l *loader) account(ctx context.Context, id string, in *rules.Input) (bool, error) {
	acc, err := l.q.Account(ctx, id)
	if cxaudit.ErrorCode(err) == cxaudit.ENOTFOUND {
		return false, nil
	} else if err != nil {
		return false, err
	}
	l.tenant.Account(&acc)
	in.Account = &acc
	org, err := l.q.OrganizationForAccount(ctx, acc)
	switch {
	case err == nil:
		l.tenant.Organization(&org)
		in.Organization = &org
	case cxaudit.ErrorCode(err) != cxaudit.ENOTFOUND:
		return false, err
	}
	return true, nil
}

// tickets fills in ins and found for the ticket keys among keys from
// tickets, with their organizations, linked accounts and requesters, read
// in a few queries (organizations taken from l.links when it has them); a
// key whose ticket is missing or deleted is left not found.
func (l *loader) tickets(ctx context.Context, keys []store.EntityKey, tickets []cxaudit.Ticket, ins []rules.Input, found []bool) error {
	cache := l.links
	if cache == nil {
		cache = &links{}
	}
	byID := make(map[string]*cxaudit.Ticket, len(tickets))
	want := map[int64]bool{}
	var orgIDs, requesterIDs []int64
	for i := range tickets {
		t := &tickets[i]
		byID[strconv.FormatInt(t.ID, 10)] = t
		if t.OrganizationID != 0 && !want[t.OrganizationID] && cache.get(t.OrganizationID) == nil {
			want[t.OrganizationID] = true
			orgIDs = append(orgIDs, t.OrganizationID)
		}
		if t.RequesterID != 0 {
			requesterIDs = append(requesterIDs, t.RequesterID)
		}
	}
	orgs, err := l.q.OrganizationsByID(ctx, orgIDs)
	if err != nil {
		return err
	}
	accs, err := l.q.AccountsForOrganizations(ctx, orgs)
	if err != nil {
		return err
	}
	for i := range orgs {
		l.tenant.Organization(&orgs[i])
		lk := &link{org: orgs[i]}
		if acc, ok := accs[orgs[i].ID]; ok {
			l.tenant.Account(&acc)
			lk.acc = &acc
		}
		cache.put(lk)
	}
	slices.Sort(requesterIDs)
	users, err := l.q.UsersByID(ctx, slices.Compact(requesterIDs))
	if err != nil {
		return err
	}
	requesters := make(map[int64]*cxaudit.User, len(users))
	for i := range users {
		l.tenant.User(&users[i])
		requesters[users[i].ID] = &users[i]
	}
	for i, key := range keys {
		ins[i].Now = l.now
		if key.Kind != cxaudit.EntityTicket {
			continue
		}
		t, ok := byID[key.ID]
		if !ok || t.Status == cxaudit.StatusDeleted {
			continue
		}
		prepareTicket(t, l.agents, l.managed, l.tenant)
		ins[i].Ticket, found[i] = t, true
		ins[i].Calendar = l.tenant.Calendar(t.GroupID)
		ins[i].Requester = requesters[t.RequesterID]
		if lk := cache.get(t.OrganizationID); lk != nil {
			ins[i].Organization, ins[i].Account = &lk.org, lk.acc
		}
	}
	return nil
}

// prepareTicket makes a stored ticket what rules see: each comment marked
// by whether an agent wrote it (cxaudit's own notes never count), the tags
// cxaudit manages hidden (its own write-back must not change what the
// rules find), and its custom fields typed.
func prepareTicket(t *cxaudit.Ticket, agents map[int64]bool, managed map[string]bool, tn *tenant.Tenant) {
	for j := range t.Comments {
		c := &t.Comments[j]
		c.ByAgent = agents[c.AuthorID] && !c.ByCXAudit
	}
	t.Tags = slices.DeleteFunc(t.Tags, func(tag string) bool { return managed[tag] })
	tn.Ticket(t)
}

// LoadInputs loads what the rules of set read for each key, as the audit
// does: found[i] is false when the entity is gone (or, for a ticket,
// deleted), and then its findings all resolve. The ticket windows of
// organizations and accounts are read in one query. `rules preview` uses it
// to see what the audit would.
func LoadInputs(ctx context.Context, q Reader, set *rules.Set, keys []store.EntityKey, now time.Time) ([]rules.Input, []bool, error) {
	t, err := LoadTenant(ctx, q, set.FieldMap())
	if err != nil {
		return nil, nil, err
	}
	l, err := newLoader(ctx, q, set, now, t)
	if err != nil {
		return nil, nil, err
	}
	ins, found, err := l.load(ctx, keys)
	if err != nil {
		return nil, nil, err
	}
	var orgIDs []int64
	seen := map[int64]bool{}
	for i, key := range keys {
		if org, ok := windowOrg(set, key, ins[i], found[i]); ok && !seen[org] {
			seen[org] = true
			orgIDs = append(orgIDs, org)
		}
	}
	windows, err := q.TicketsForOrganizations(ctx, orgIDs, now.Add(-rules.TicketWindow), windowComments(set))
	if err != nil {
		return nil, nil, err
	}
	for _, ts := range windows {
		for i := range ts {
			prepareTicket(&ts[i], l.agents, l.managed, l.tenant)
		}
	}
	for i, key := range keys {
		if org, ok := windowOrg(set, key, ins[i], found[i]); ok {
			ins[i].Tickets = windows[org]
		}
	}
	return ins, found, nil
}
