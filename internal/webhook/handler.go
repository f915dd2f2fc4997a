package webhook

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"log/slog"
	"net/http"
)

// DefaultMaxBody is the largest webhook body read: a ticket event carries
// the ticket's description, which Zendesk caps well below this.
const DefaultMaxBody = 256 << 10

// Handler serves Zendesk's webhook: it verifies the request and enqueues
// the sync of the ticket it names. Refusals tell the sender nothing but
// the status: 401 for a missing, wrong or stale signature, 403 for a
// replay, 413 for a body over MaxBody; the reason is logged.
type Handler struct {
	Verifier *Verifier
	Logger   *slog.Logger
	// MaxBody caps the body; zero means DefaultMaxBody.
	MaxBody int64
	// Enqueue queues the sync of ticket id.
	Enqueue func(ctx context.Context, id int64) error
	// ObserveFunc, when set, is told the outcome of every request: one of
	// the Outcome values.
	ObserveFunc func(outcome string)
}

// Outcomes of a request, for metrics.
const (
	OutcomeQueued    = "queued"
	OutcomeIgnored   = "ignored"
	OutcomeUnsigned  = "unsigned"
	OutcomeSignature = "bad_signature"
	OutcomeStale     = "stale"
	OutcomeReplay    = "replay"
	OutcomeFull      = "replay_memory_full"
	OutcomeTooLarge  = "too_large"
	OutcomeBadBody   = "bad_body"
	OutcomeError     = "enqueue_failed"
)

// outcome names why err refused a request.
func outcome(err error) string {
	switch {
	case errors.Is(err, ErrMissing):
		return OutcomeUnsigned
	case errors.Is(err, ErrStale), errors.Is(err, ErrTimestamp):
		return OutcomeStale
	case errors.Is(err, ErrReplay):
		return OutcomeReplay
	case errors.Is(err, ErrFull):
		return OutcomeFull
	case errors.Is(err, ErrSignature):
		return OutcomeSignature
	}
	var tooBig *http.MaxBytesError
	if errors.As(err, &tooBig) {
		return OutcomeTooLarge
	}
	return OutcomeBadBody
}

func (h *Handler) observe(outcome string) {
	if h.ObserveFunc != nil {
		h.ObserveFunc(outcome)
	}
}

func (h *Handler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	limit := h.MaxBody
	if limit <= 0 {
		limit = DefaultMaxBody
	}
	if r.Header.Get(HeaderSignature) == "" || r.Header.Get(HeaderTimestamp) == "" {
		h.refuse(w, r, http.StatusUnauthorized, ErrMissing)
		return
	}
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, limit))
	if err != nil {
		var tooBig *http.MaxBytesError
		if errors.As(err, &tooBig) {
			h.refuse(w, r, http.StatusRequestEntityTooLarge, err)
			return
		}
		h.refuse(w, r, http.StatusBadRequest, err)
		return
	}
	if err := h.Verifier.Verify(r.Header.Get(HeaderSignature), r.Header.Get(HeaderTimestamp), body); err != nil {
		status := http.StatusUnauthorized
		switch {
		case errors.Is(err, ErrReplay):
			status = http.StatusForbidden
		case errors.Is(err, ErrFull):
			w.Header().Set("Retry-After", "60")
			status = http.StatusServiceUnavailable
		}
		h.refuse(w, r, status, err)
		return
	}
	id, ok, err := TicketID(body)
	if err != nil {
		h.refuse(w, r, http.StatusBadRequest, err)
		return
	}
	if !ok {
		h.observe(OutcomeIgnored)
		h.Logger.Debug("zendesk webhook: not a ticket event; ignored")
		reply(w, http.StatusOK, "ignored")
		return
	}
	if err := h.Enqueue(r.Context(), id); err != nil {
		h.observe(OutcomeError)
		h.Logger.Error("zendesk webhook: cannot enqueue the ticket sync; the periodic sync reads the change", "ticket_id", id, "error", err)
		reply(w, http.StatusServiceUnavailable, http.StatusText(http.StatusServiceUnavailable))
		return
	}
	h.observe(OutcomeQueued)
	h.Logger.Debug("zendesk webhook: ticket sync queued", "ticket_id", id)
	reply(w, http.StatusAccepted, "queued")
}

// refuse answers status with nothing but its text, and logs why (never
// the signature or the body).
func (h *Handler) refuse(w http.ResponseWriter, r *http.Request, status int, reason error) {
	h.observe(outcome(reason))
	h.Logger.Warn("zendesk webhook refused", "status", status, "reason", reason.Error(), "remote", r.RemoteAddr)
	reply(w, status, http.StatusText(status))
}

func reply(w http.ResponseWriter, status int, msg string) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(map[string]string{"status": msg})
}
