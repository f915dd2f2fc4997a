package zendesk

import (
	"context"
	"encoding/json"
	"errors"
	"net/url"
	"strconv"
	"strings"

	"github.com/cxaudit/cxaudit/internal/cxaudit"
	"github.com/cxaudit/cxaudit/internal/tenant"
)

// Schema reads the account's custom fields: ticket fields (GET
// /api/v2/ticket_fields,
// https://developer.zendesk.com/api-reference/ticketing/tickets/ticket_fields/),
// organization fields (GET /api/v2/organization_fields,
// https://developer.zendesk.com/api-reference/ticketing/organizations/organization_fields/)
// and user fields (GET /api/v2/user_fields,
// https://developer.zendesk.com/api-reference/ticketing/users/user_fields/),
// each through cursor pagination of at most 100 a page. The ticket fields
// include the system fields (subject, status, …); package tenant keeps the
// custom ones.
func (c *Client) Schema(ctx context.Context) (*tenant.ZendeskSchema, error) {
	s := &tenant.ZendeskSchema{}
	var err error
	if s.TicketFields, err = c.listFields(ctx, "list ticket fields", "/ticket_fields.json", "ticket_fields"); err != nil {
		return nil, err
	}
	if s.OrganizationFields, err = c.listFields(ctx, "list organization fields", "/organization_fields.json", "organization_fields"); err != nil {
		return nil, err
	}
	if s.UserFields, err = c.listFields(ctx, "list user fields", "/user_fields.json", "user_fields"); err != nil {
		return nil, err
	}
	return s, nil
}

// listPageSize is the largest page the list endpoints serve.
const listPageSize = 100

// wireField is a ticket, organization or user field.
type wireField struct {
	ID     int64  `json:"id"`
	Key    string `json:"key"`
	Title  string `json:"title"`
	Type   string `json:"type"`
	Active bool   `json:"active"`
}

// cursorMeta is the meta of a cursor-paginated list
// (https://developer.zendesk.com/api-reference/introduction/pagination/).
type cursorMeta struct {
	Meta struct {
		HasMore     bool   `json:"has_more"`
		AfterCursor string `json:"after_cursor"`
	} `json:"meta"`
}

func (c *Client) listFields(ctx context.Context, op, path, key string) ([]tenant.ZendeskField, error) {
	var out []tenant.ZendeskField
	err := c.paginate(ctx, op, path, url.Values{}, key, func(items []wireField) error {
		for _, f := range items {
			if f.ID == 0 || f.Type == "" {
				return malformed(op, errors.New("a field without id or type"))
			}
			out = append(out, tenant.ZendeskField{ID: f.ID, Key: f.Key, Title: f.Title, Type: f.Type, Active: f.Active})
		}
		return nil
	})
	return out, err
}

// paginate reads every page of a cursor-paginated list whose items are
// under key, calling fn with each page's.
func paginate[T any](ctx context.Context, c *Client, op, path string, q url.Values, key string, fn func([]T) error) error {
	q.Set("page[size]", strconv.Itoa(listPageSize))
	after := ""
	for {
		if after != "" {
			q.Set("page[after]", after)
		}
		var page map[string]json.RawMessage
		if err := c.get(ctx, op, path+"?"+q.Encode(), &page); err != nil {
			return err
		}
		raw, ok := page[key]
		if !ok {
			return malformed(op, errors.New("no "+key+" in the response"))
		}
		var items []T
		if err := c.decode(op, raw, &items); err != nil {
			return err
		}
		if err := fn(items); err != nil {
			return err
		}
		var meta cursorMeta
		if m, ok := page["meta"]; ok {
			if err := c.decode(op, m, &meta.Meta); err != nil {
				return err
			}
		}
		if items == nil && meta.Meta.HasMore {
			return malformed(op, errors.New("a page without "+key+" that says it has more"))
		}
		if !meta.Meta.HasMore {
			return nil
		}
		if meta.Meta.AfterCursor == "" || meta.Meta.AfterCursor == after {
			return malformed(op, errors.New("has_more without a new after_cursor"))
		}
		after = meta.Meta.AfterCursor
	}
}

// paginate is the method form of the generic paginate.
func (c *Client) paginate(ctx context.Context, op, path string, q url.Values, key string, fn func([]wireField) error) error {
	return paginate(ctx, c, op, path, q, key, fn)
}

// showManyChunk is how many ids one show_many request may name.
const showManyChunk = 100

// Organizations returns the organizations with the given ids that exist
// (GET /api/v2/organizations/show_many?ids=…, at most 100 a request:
// https://developer.zendesk.com/api-reference/ticketing/organizations/organizations/#show-many-organizations).
// A ticket can name an organization no export has brought yet (one not
// edited since the export's start): the sync fetches it this way.
func (c *Client) Organizations(ctx context.Context, ids []int64) ([]cxaudit.Organization, error) {
	const op = "show organizations"
	var out []cxaudit.Organization
	for chunk := range chunks(ids, showManyChunk) {
		var resp struct {
			Organizations []wireOrganization `json:"organizations"`
		}
		if err := c.get(ctx, op, "/organizations/show_many.json?ids="+joinIDs(chunk), &resp); err != nil {
			return nil, err
		}
		if resp.Organizations == nil {
			return nil, malformed(op, errors.New("organizations missing"))
		}
		for i := range resp.Organizations {
			out = append(out, resp.Organizations[i].domain())
		}
	}
	return out, nil
}

// Users returns the users with the given ids that exist (GET
// /api/v2/users/show_many?ids=…, at most 100 a request:
// https://developer.zendesk.com/api-reference/ticketing/users/users/#show-many-users).
func (c *Client) Users(ctx context.Context, ids []int64) ([]cxaudit.User, error) {
	const op = "show users"
	var out []cxaudit.User
	for chunk := range chunks(ids, showManyChunk) {
		var resp struct {
			Users []wireUser `json:"users"`
		}
		if err := c.get(ctx, op, "/users/show_many.json?ids="+joinIDs(chunk), &resp); err != nil {
			return nil, err
		}
		if resp.Users == nil {
			return nil, malformed(op, errors.New("users missing"))
		}
		for i := range resp.Users {
			out = append(out, resp.Users[i].domain())
		}
	}
	return out, nil
}

// Agents returns every agent and admin (GET
// /api/v2/users?role[]=agent&role[]=admin, cursor-paginated:
// https://developer.zendesk.com/api-reference/ticketing/users/users/#list-users).
// Agents are few, and whether a comment's author is one decides whether it
// counts as an agent's reply: they are read in full on every sync, whatever
// the user export has reached.
func (c *Client) Agents(ctx context.Context) ([]cxaudit.User, error) {
	const op = "list agents"
	var out []cxaudit.User
	q := url.Values{"role[]": {"agent", "admin"}}
	err := paginate(ctx, c, op, "/users.json", q, "users", func(items []wireUser) error {
		for i := range items {
			out = append(out, items[i].domain())
		}
		return nil
	})
	return out, err
}

func chunks(ids []int64, n int) func(func([]int64) bool) {
	return func(yield func([]int64) bool) {
		for i := 0; i < len(ids); i += n {
			if !yield(ids[i:min(i+n, len(ids))]) {
				return
			}
		}
	}
}

func joinIDs(ids []int64) string {
	s := make([]string, len(ids))
	for i, id := range ids {
		s[i] = strconv.FormatInt(id, 10)
	}
	return strings.Join(s, ",")
}
