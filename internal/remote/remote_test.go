package remote

import (
	"bytes"
	"io"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"sync"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/cxaudit/cxaudit/internal/cxaudit"
)

const credential = "Basic c2VjcmV0OnRva2Vu"

// recorder is a server that counts requests and the Authorization headers
// it received.
type recorder struct {
	mu    sync.Mutex
	auths []string
}

func (r *recorder) record(req *http.Request) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.auths = append(r.auths, req.Header.Get("Authorization"))
}

func (r *recorder) seen() []string {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]string(nil), r.auths...)
}

func get(t *testing.T, c *http.Client, method, url string) (*http.Response, []byte, error) {
	t.Helper()
	var body io.Reader
	if method != http.MethodGet {
		body = strings.NewReader(`{"ticket":{}}`)
	}
	req, err := http.NewRequest(method, url, body)
	require.NoError(t, err)
	req.Header.Set("Authorization", credential)
	resp, err := c.Do(req)
	if err != nil {
		return nil, nil, err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	return resp, b, err
}

// TestRedirects: a redirect is followed within the origin, credentials
// and all; one to another port of the same host, or to another host, is
// an error, and nothing is sent there (net/http forwards Authorization to
// another port of the same host, and hands over another host's answer as
// if it were the API's).
func TestRedirects(t *testing.T) {
	t.Parallel()
	var elsewhere recorder
	other := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		elsewhere.record(r)
		_, _ = w.Write([]byte(`{"users":[{"id":666,"name":"not from the API"}]}`))
	}))
	t.Cleanup(other.Close)
	otherPort := other.URL[strings.LastIndexByte(other.URL, ':')+1:]

	var home recorder
	api := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		home.record(r)
		switch r.URL.Path {
		case "/old":
			http.Redirect(w, r, "/new", http.StatusMovedPermanently)
		case "/new":
			_, _ = w.Write([]byte(`{"ok":true}`))
		case "/port":
			http.Redirect(w, r, other.URL+"/data", http.StatusFound)
		case "/host":
			http.Redirect(w, r, "http://localhost:"+otherPort+"/data", http.StatusFound)
		case "/write":
			http.Redirect(w, r, other.URL+"/data", http.StatusTemporaryRedirect)
		}
	}))
	t.Cleanup(api.Close)
	c := NewClient(Options{System: cxaudit.SourceZendesk, RetryMax: 1})

	resp, body, err := get(t, c, http.MethodGet, api.URL+"/old")
	require.NoError(t, err)
	require.Equal(t, http.StatusOK, resp.StatusCode)
	require.JSONEq(t, `{"ok":true}`, string(body))
	require.Equal(t, []string{credential, credential}, home.seen(), "within the origin the credentials follow")

	for _, path := range []string{"/port", "/host"} {
		for _, method := range []string{http.MethodGet, http.MethodPut} {
			if method == http.MethodPut {
				path = "/write"
			}
			_, body, err := get(t, c, method, api.URL+path)
			require.Error(t, err, "%s %s: %s", method, path, body)
			require.Equal(t, cxaudit.EUNAVAILABLE, cxaudit.ErrorCode(err))
			require.Contains(t, err.Error(), "refused to follow a redirect")
			require.Contains(t, err.Error(), ":"+otherPort)
			require.NotContains(t, err.Error(), credential)
		}
	}
	require.Empty(t, elsewhere.seen(), "nothing was sent to another port or host")
}

// bigServer streams size bytes of a JSON document, with or without a
// Content-Length, and counts what the connection accepted.
type bigServer struct {
	mu   sync.Mutex
	sent int64
}

func (b *bigServer) handler(size int64, declare bool) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		if declare {
			w.Header().Set("Content-Length", strconv.FormatInt(size, 10))
		}
		chunk := bytes.Repeat([]byte("x"), 32<<10)
		head := []byte(`{"name":"`)
		n, err := w.Write(head)
		b.add(n)
		for left := size - int64(len(head)) - 2; left > 0 && err == nil; left -= int64(len(chunk)) {
			n, err = w.Write(chunk[:min(int64(len(chunk)), left)])
			b.add(n)
		}
		if err == nil {
			n, _ = w.Write([]byte(`"}`))
			b.add(n)
		}
	}
}

func (b *bigServer) add(n int) {
	b.mu.Lock()
	b.sent += int64(n)
	b.mu.Unlock()
}

func (b *bigServer) total() int64 {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.sent
}

// TestResponseBodyIsBounded: a body larger than MaxResponseBytes is an
// error naming the request, not a truncated page and not read whole:
// the read stops at the bound, so the server gets to send little more
// than it (what the sockets buffer).
func TestResponseBodyIsBounded(t *testing.T) {
	t.Parallel()
	const limit = 1 << 20
	c := NewClient(Options{System: cxaudit.SourceZendesk, MaxResponseBytes: limit, RetryMax: 1})

	for _, tc := range []struct {
		name    string
		size    int64
		declare bool
		ok      bool
	}{
		{"at the bound", limit, false, true},
		{"one byte over", limit + 1, false, false},
		{"streamed, 64 MiB", 64 << 20, false, false},
		{"declared, 64 MiB", 64 << 20, true, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			var big bigServer
			srv := httptest.NewServer(big.handler(tc.size, tc.declare))
			t.Cleanup(srv.Close)
			_, body, err := get(t, c, http.MethodGet, srv.URL+"/api/v2/incremental/users/cursor.json?start_time=1")
			if tc.ok {
				require.NoError(t, err)
				require.Len(t, body, int(tc.size))
				return
			}
			require.Error(t, err)
			require.Equal(t, cxaudit.EUNAVAILABLE, cxaudit.ErrorCode(err))
			require.Contains(t, err.Error(), "GET "+srv.URL+"/api/v2/incremental/users/cursor.json")
			require.Contains(t, err.Error(), "larger than 1048576 bytes (CXAUDIT_MAX_RESPONSE_BYTES)")
			require.LessOrEqual(t, len(body), limit, "never more than the bound is handed over")
			if tc.size > 16<<20 {
				srv.CloseClientConnections()
				require.Less(t, big.total(), int64(16<<20), "the read stopped at the bound")
			}
		})
	}
}
