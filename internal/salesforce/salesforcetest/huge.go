package salesforcetest

import "github.com/cxaudit/cxaudit/internal/simfault"

// HugeBody is a fault: successful JSON responses to the requests whose
// path contains PathContains grow to about Bytes bytes (see
// simfault.HugeBody).
type HugeBody = simfault.HugeBody

// SetHugeBody installs h; the zero HugeBody removes it.
func (s *Sim) SetHugeBody(h HugeBody) { s.huge.Set(h) }

// HugeBytesSent is how many bytes of padded bodies were written to
// clients (accepted by the connection) since SetHugeBody: a client that
// stops reading at its bound stops it.
func (s *Sim) HugeBytesSent() int64 { return s.huge.Sent() }
