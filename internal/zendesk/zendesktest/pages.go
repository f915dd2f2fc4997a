package zendesktest

import (
	"cmp"
	"net/http"
	"net/url"
	"slices"
	"strconv"
)

// Cursor pagination as Zendesk documents it
// (https://developer.zendesk.com/api-reference/introduction/pagination/#using-cursor-pagination):
// page[size] items (at most 100) after the opaque cursor page[after], with
// meta.has_more, meta.after_cursor, meta.before_cursor, links.next and
// links.prev. Lists ordered by id take their cursors from ids
// (writeCursorPage); the others, such as a ticket's comments and the
// deleted tickets, from positions in the list (writeOffsetPage).

// pageSize reads page[size]: 100 when absent, at most 100. A value that is
// not a positive integer is answered with 400, and ok is false.
func pageSize(w http.ResponseWriter, q url.Values) (size int, ok bool) {
	v := q.Get("page[size]")
	if v == "" {
		return 100, true
	}
	n, err := strconv.Atoi(v)
	if err != nil || n < 1 {
		badRequest(w, "page[size] must be a positive integer")
		return 0, false
	}
	return min(n, 100), true
}

// nextLink is the request's own URL, its query kept, with page[after] set
// to after.
func nextLink(r *http.Request, after string) string {
	nq := url.Values{}
	for k, v := range r.URL.Query() {
		nq[k] = v
	}
	nq.Del("page[before]")
	nq.Set("page[after]", after)
	return baseURL(r) + r.URL.Path + "?" + nq.Encode()
}

// writeCursorPage writes one page of a cursor-paginated list of items
// ordered by id (https://developer.zendesk.com/api-reference/introduction/pagination/#using-cursor-pagination):
// page[size] (at most 100) items after page[after], with meta.has_more,
// meta.after_cursor and links.next.
func writeCursorPage[T any](w http.ResponseWriter, r *http.Request, key string, items []T, id func(T) int64) {
	q := r.URL.Query()
	size, ok := pageSize(w, q)
	if !ok {
		return
	}
	start := 0
	if a := q.Get("page[after]"); a != "" {
		p, err := decodePosition(a)
		if err != nil {
			badRequest(w, "page[after] is invalid")
			return
		}
		start, _ = slices.BinarySearchFunc(items, p.key, func(it T, k int64) int { return cmp.Compare(id(it), k+1) })
	}
	end := min(start+size, len(items))
	page := items[start:end]
	if page == nil {
		page = []T{}
	}
	more := end < len(items)
	meta := map[string]any{"has_more": more, "after_cursor": nil, "before_cursor": nil}
	links := map[string]any{"next": nil, "prev": nil}
	if len(page) > 0 {
		after := position{key: id(page[len(page)-1])}.encode()
		meta["after_cursor"] = after
		if more {
			links["next"] = nextLink(r, after)
		}
	}
	writeJSON(w, http.StatusOK, map[string]any{key: page, "meta": meta, "links": links})
}

// writeOffsetPage writes one page of items under key, the cursors being
// positions in items: page[size] items after page[after], links.prev set
// past the first page.
func writeOffsetPage[T any](w http.ResponseWriter, r *http.Request, key string, items []T) {
	q := r.URL.Query()
	size, ok := pageSize(w, q)
	if !ok {
		return
	}
	from := 0
	if v := q.Get("page[after]"); v != "" {
		p, err := decodePosition(v)
		if err != nil || p.key < 0 || p.key > int64(len(items)) {
			badRequest(w, "page[after] is invalid")
			return
		}
		from = int(p.key)
	}
	to := min(from+size, len(items))
	more := to < len(items)
	after, before := position{key: int64(to)}.encode(), position{key: int64(from)}.encode()
	meta := map[string]any{"has_more": more, "after_cursor": after, "before_cursor": before}
	links := map[string]any{"next": nil, "prev": nil}
	if more {
		links["next"] = nextLink(r, after)
	}
	if from > 0 {
		prev := baseURL(r) + r.URL.Path + "?" + url.Values{"page[size]": {strconv.Itoa(size)}, "page[before]": {before}}.Encode()
		links["prev"] = prev
	}
	// A copy: the caller's list must not be aliased by what is encoded.
	page := slices.Clip(append([]T{}, items[from:to]...))
	writeJSON(w, http.StatusOK, map[string]any{key: page, "meta": meta, "links": links})
}
