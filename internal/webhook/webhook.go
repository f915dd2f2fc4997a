// Package webhook receives Zendesk's signed webhooks: it verifies their
// signature, refuses stale and replayed requests, and reads which ticket
// changed, from a ticket event or from a trigger's JSON body.
//
// Zendesk signs each request with the webhook's signing secret:
// X-Zendesk-Webhook-Signature is base64(HMAC-SHA256(secret,
// X-Zendesk-Webhook-Signature-Timestamp + body))
// (https://developer.zendesk.com/documentation/webhooks/verifying/), the
// timestamp like "2021-03-25T05:09:27Z"
// (https://developer.zendesk.com/documentation/webhooks/anatomy-of-a-webhook-request/).
package webhook

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"sync"
	"time"
)

// Request headers Zendesk signs with.
const (
	HeaderSignature = "X-Zendesk-Webhook-Signature"
	HeaderTimestamp = "X-Zendesk-Webhook-Signature-Timestamp"
)

// Defaults of Verifier.
const (
	// DefaultWindow is how far a signature's timestamp may be from the
	// clock, either way.
	DefaultWindow = 5 * time.Minute
	// DefaultMaxSeen bounds the signatures remembered against replays
	// (about 100 bytes each).
	DefaultMaxSeen = 100_000
)

// Reasons a request is refused. None of them is told to the sender.
var (
	ErrMissing   = errors.New("signature or timestamp header missing")
	ErrTimestamp = errors.New("timestamp is not RFC 3339")
	ErrStale     = errors.New("timestamp outside the window")
	ErrSignature = errors.New("signature does not match")
	ErrReplay    = errors.New("signature already seen")
	ErrFull      = errors.New("too many signatures within the window")
)

// Verifier checks signatures with one secret. It is safe for concurrent
// use.
type Verifier struct {
	secret []byte
	// Window is how far the timestamp may be from Now, either way.
	Window time.Duration
	// MaxSeen bounds the remembered signatures; past it requests are
	// refused with ErrFull until older ones expire.
	MaxSeen int
	// Now is the clock. Default time.Now.
	Now func() time.Time

	mu    sync.Mutex
	seen  map[string]struct{}
	order []seen // by when seen: expiry is monotonic
	head  int
}

type seen struct {
	sig     string
	expires time.Time
}

// NewVerifier returns a Verifier for secret with the defaults.
func NewVerifier(secret string) *Verifier {
	return &Verifier{secret: []byte(secret), Window: DefaultWindow, MaxSeen: DefaultMaxSeen, Now: time.Now, seen: map[string]struct{}{}}
}

// Verify checks signature and timestamp over body, and remembers the
// signature so that the same request is refused as a replay. The error is
// one of the Err values.
func (v *Verifier) Verify(signature, timestamp string, body []byte) error {
	if signature == "" || timestamp == "" {
		return ErrMissing
	}
	at, err := time.Parse(time.RFC3339, timestamp)
	if err != nil {
		return ErrTimestamp
	}
	now := v.Now()
	if d := now.Sub(at); d > v.Window || d < -v.Window {
		return ErrStale
	}
	got, err := base64.StdEncoding.DecodeString(signature)
	if err != nil {
		return ErrSignature
	}
	m := hmac.New(sha256.New, v.secret)
	m.Write([]byte(timestamp))
	m.Write(body)
	if !hmac.Equal(got, m.Sum(nil)) {
		return ErrSignature
	}
	return v.remember(signature, now)
}

// remember records sig until no timestamp it could carry is in the window
// any more: seen at now with a timestamp up to Window ahead, it is stale
// 2×Window after now.
func (v *Verifier) remember(sig string, now time.Time) error {
	v.mu.Lock()
	defer v.mu.Unlock()
	for v.head < len(v.order) && !now.Before(v.order[v.head].expires) {
		delete(v.seen, v.order[v.head].sig)
		v.order[v.head] = seen{}
		v.head++
	}
	if v.head > len(v.order)/2 {
		v.order = append(v.order[:0], v.order[v.head:]...)
		v.head = 0
	}
	if _, ok := v.seen[sig]; ok {
		return ErrReplay
	}
	if len(v.seen) >= v.MaxSeen {
		return ErrFull
	}
	v.seen[sig] = struct{}{}
	v.order = append(v.order, seen{sig: sig, expires: now.Add(2 * v.Window)})
	return nil
}

// TicketEventPrefix starts the type of every Zendesk ticket event
// (https://developer.zendesk.com/api-reference/webhooks/event-types/ticket-events/).
const TicketEventPrefix = "zen:event-type:ticket."

// ErrBody is a body that names no ticket.
var ErrBody = errors.New("body names no ticket")

// TicketID reads the ticket a webhook body is about: a ticket event's
// detail.id, or the ticket_id of a trigger's JSON body (a string or a
// number). ok is false, with no error, for an event about something other
// than a ticket (a user or organization event).
func TicketID(body []byte) (id int64, ok bool, err error) {
	var p struct {
		Type   string `json:"type"`
		Detail struct {
			ID json.RawMessage `json:"id"`
		} `json:"detail"`
		TicketID json.RawMessage `json:"ticket_id"`
	}
	if err := json.Unmarshal(body, &p); err != nil {
		return 0, false, fmt.Errorf("%w: %v", ErrBody, err)
	}
	raw := p.TicketID
	switch {
	case strings.HasPrefix(p.Type, TicketEventPrefix):
		raw = p.Detail.ID
	case p.Type != "" && len(raw) == 0:
		return 0, false, nil
	}
	if len(raw) == 0 {
		return 0, false, fmt.Errorf("%w: no ticket_id or ticket event", ErrBody)
	}
	s := strings.Trim(string(raw), `"`)
	id, err = strconv.ParseInt(strings.TrimSpace(s), 10, 64)
	if err != nil || id <= 0 {
		return 0, false, fmt.Errorf("%w: ticket id is not a positive integer", ErrBody)
	}
	return id, true, nil
}
