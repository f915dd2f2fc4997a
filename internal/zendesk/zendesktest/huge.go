package zendesktest

import (
	"bytes"
	"net/http"
	"strings"
)

// HugeBody is a fault: the successful JSON responses to requests whose
// path contains PathContains grow to about Bytes bytes, streamed without a
// Content-Length, as a misbehaving proxy or a record with a 200 MB field
// would make them. The body stays valid JSON that decodes to the same
// data: the padding is a member no client reads, first in the object.
type HugeBody struct {
	PathContains string
	Bytes        int64
	// Times is how many responses are padded; 0 pads every one.
	Times int
}

// SetHugeBody installs h; the zero HugeBody removes it.
func (s *Sim) SetHugeBody(h HugeBody) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.huge, s.hugeSent = h, 0
}

// HugeBytesSent is how many bytes of padded bodies were written to
// clients (accepted by the connection) since SetHugeBody: a client that
// stops reading at its bound stops it.
func (s *Sim) HugeBytesSent() int64 {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.hugeSent
}

// takeHuge returns the size to pad the response to r, of status and
// body, to: 0 when it is not padded.
func (s *Sim) takeHuge(r *http.Request, status int, body []byte) int64 {
	s.mu.Lock()
	defer s.mu.Unlock()
	h := s.huge
	if h.Bytes <= 0 || status != http.StatusOK || !strings.Contains(r.URL.Path, h.PathContains) || !bytes.HasPrefix(body, []byte("{")) {
		return 0
	}
	if h.Times > 0 {
		if s.huge.Times--; s.huge.Times == 0 {
			s.huge.Bytes = 0
		}
	}
	return h.Bytes
}

// writeHuge streams body padded to about size bytes.
func (s *Sim) writeHuge(w http.ResponseWriter, body []byte, size int64) {
	w.WriteHeader(http.StatusOK)
	write := func(p []byte) bool {
		n, err := w.Write(p)
		s.mu.Lock()
		s.hugeSent += int64(n)
		s.mu.Unlock()
		return err == nil
	}
	if !write([]byte(`{"cxaudit_padding":"`)) {
		return
	}
	chunk := bytes.Repeat([]byte("x"), 64<<10)
	for left := size - int64(len(body)); left > 0; left -= int64(len(chunk)) {
		if !write(chunk[:min(int64(len(chunk)), left)]) {
			return
		}
	}
	rest := append([]byte(`",`), body[1:]...)
	if string(body) == "{}" {
		rest = []byte(`"}`)
	}
	write(rest)
}
