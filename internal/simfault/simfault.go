// Package simfault holds faults the Zendesk and Salesforce simulators
// (zendesktest, salesforcetest) inject the same way, whatever the API.
package simfault

import (
	"bytes"
	"net/http"
	"strings"
	"sync"
)

// HugeBody is a fault: the successful JSON responses to requests whose
// path contains PathContains grow to about Bytes bytes, streamed without a
// Content-Length, as a misbehaving proxy or a record with a 200 MB text
// field would make them. The body stays valid JSON that decodes to the
// same data: the padding is a member no client reads, first in the
// object. Without a bound on what it reads, a client takes it whole.
type HugeBody struct {
	PathContains string
	Bytes        int64
	// Times is how many responses are padded; 0 pads every one.
	Times int
}

// Huge is a simulator's HugeBody fault and what it sent. The zero value
// injects nothing. It is safe for concurrent use.
type Huge struct {
	mu   sync.Mutex
	h    HugeBody
	sent int64
}

// Set installs h and resets the count; the zero HugeBody removes it.
func (f *Huge) Set(h HugeBody) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.h, f.sent = h, 0
}

// Sent is how many bytes of padded bodies the connections accepted since
// Set: a client that stops reading at its bound stops it.
func (f *Huge) Sent() int64 {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.sent
}

// Serve writes the response to r, of status and JSON body, padded, if the
// fault applies to it, and reports whether it did. The caller has set the
// other headers.
func (f *Huge) Serve(w http.ResponseWriter, r *http.Request, status int, body []byte) bool {
	size := f.take(r, status, body)
	if size == 0 {
		return false
	}
	w.WriteHeader(status)
	write := func(p []byte) bool {
		n, err := w.Write(p)
		f.mu.Lock()
		f.sent += int64(n)
		f.mu.Unlock()
		return err == nil
	}
	if !write([]byte(`{"cxaudit_padding":"`)) {
		return true
	}
	chunk := bytes.Repeat([]byte("x"), 64<<10)
	for left := size - int64(len(body)); left > 0; left -= int64(len(chunk)) {
		if !write(chunk[:min(int64(len(chunk)), left)]) {
			return true
		}
	}
	if string(body) == "{}" {
		write([]byte(`"}`))
	} else {
		write(append([]byte(`",`), body[1:]...))
	}
	return true
}

// take returns the size to pad the response to, 0 when the fault does not
// apply, and counts the response against Times.
func (f *Huge) take(r *http.Request, status int, body []byte) int64 {
	f.mu.Lock()
	defer f.mu.Unlock()
	h := f.h
	if h.Bytes <= 0 || status != http.StatusOK || !strings.Contains(r.URL.Path, h.PathContains) || !bytes.HasPrefix(body, []byte("{")) {
		return 0
	}
	if h.Times > 0 {
		if f.h.Times--; f.h.Times == 0 {
			f.h.Bytes = 0
		}
	}
	return h.Bytes
}
