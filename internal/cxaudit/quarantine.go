package cxaudit

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"time"
)

// Rejected is a record a source sent that could not be read (a field of
// the wrong type, a malformed timestamp, comments that cannot be fetched).
// The sync sets it aside in quarantine, with the error and the record as
// it came, and goes on with the others: one poison record never stops a
// source. It is read again when the source sends it again.
type Rejected struct {
	// Object is the stream it came from: tickets, organizations, users,
	// ticket_metric_sets, accounts, contacts, opportunities,
	// contact_relations.
	Object string `json:"object"`
	// ID is the record's id as the source writes it; when even that could
	// not be read, "sha256:" and the digest of Raw.
	ID string `json:"id"`
	// Reason says what was wrong with it.
	Reason string `json:"reason"`
	// Raw is the record as it came (JSON), at most RejectedRawMax bytes.
	Raw []byte `json:"raw"`
}

// RejectedRawMax bounds the part of a rejected record that is kept.
const RejectedRawMax = 64 << 10

// NewRejected is the quarantine entry of a record of object that could not
// be read: id as the source writes it or, when even that could not be
// read (""), "sha256:" and the digest of raw; raw kept up to
// RejectedRawMax (a copy).
func NewRejected(object, id, reason string, raw []byte) Rejected {
	if id == "" {
		sum := sha256.Sum256(raw)
		id = "sha256:" + hex.EncodeToString(sum[:])
	}
	if len(raw) > RejectedRawMax {
		raw = raw[:RejectedRawMax]
	}
	return Rejected{Object: object, ID: id, Reason: reason, Raw: bytes.Clone(raw)}
}

// Quarantined is a rejected record as the store keeps it.
type Quarantined struct {
	Rejected
	Source    Source    `json:"source"`
	FirstSeen time.Time `json:"first_seen"`
	LastSeen  time.Time `json:"last_seen"`
	// Attempts counts the passes that rejected it.
	Attempts int `json:"attempts"`
}
