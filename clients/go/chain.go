package aetheris

import (
	"bytes"
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"fmt"
	"strings"

	runtimev1 "github.com/aetheris/aetheris/gen/go/aetheris/runtime/v1"
)

// HashDomainTag is the domain separation tag of the event hash (docs/hash-chain.md).
const HashDomainTag = "aetheris.event.v1"

// What VerifyChain found wrong with an event.
const (
	ChainSeqGap                = "SEQ_GAP"
	ChainPrevHashMismatch      = "PREV_HASH_MISMATCH"
	ChainPayloadDigestMismatch = "PAYLOAD_DIGEST_MISMATCH"
	ChainHashMismatch          = "HASH_MISMATCH"
	ChainMalformedEvent        = "MALFORMED_EVENT"
)

// ChainError is the first event whose recomputed chain does not match what the server sent.
type ChainError struct {
	// The event's seq.
	Seq uint64
	// One of the Chain* problems.
	Problem string
	// What the event carries and what was recomputed (hashes, digests or seqs), when relevant.
	Got, Want []byte
	// Details, for a malformed event.
	Detail string
}

func (e *ChainError) Error() string {
	msg := fmt.Sprintf("aetheris: hash chain broken at seq %d: %s", e.Seq, e.Problem)
	if e.Detail != "" {
		msg += " (" + e.Detail + ")"
	}
	if e.Got != nil || e.Want != nil {
		msg += fmt.Sprintf(" (event has %x, recomputed %x)", e.Got, e.Want)
	}
	return msg
}

// PayloadDigest is SHA-256 of the payload bytes, exactly as sent (never re-encoded).
func PayloadDigest(payload []byte) []byte {
	sum := sha256.Sum256(payload)
	return sum[:]
}

// EventHash computes an event's chain hash from its predecessor's hash (32 zero bytes for seq
// 1), the tenant of the key that read it, and the event's fields, per docs/hash-chain.md:
//
//	SHA-256(prev_hash ‖ "aetheris.event.v1" ‖ u64be(seq) ‖ i64be(recorded_at µs) ‖ job_id[16]
//	        ‖ event_id[16] ‖ u32be(len) tenant ‖ u32be(len) type ‖ u32be(len) actor
//	        ‖ SHA-256(payload))
//
// The payload digest is recomputed from the payload, not taken from the event.
func EventHash(tenant string, prevHash []byte, event *runtimev1.Event) ([]byte, error) {
	jobID, err := uuidBytes(event.GetJobId())
	if err != nil {
		return nil, fmt.Errorf("job_id: %w", err)
	}
	eventID, err := uuidBytes(event.GetEventId())
	if err != nil {
		return nil, fmt.Errorf("event_id: %w", err)
	}
	if event.GetRecordedAt() == nil {
		return nil, fmt.Errorf("recorded_at is missing")
	}
	if len(prevHash) != sha256.Size {
		return nil, fmt.Errorf("prev_hash has %d bytes, want 32", len(prevHash))
	}
	recordedAt := event.GetRecordedAt()
	micros := recordedAt.GetSeconds()*1_000_000 + int64(recordedAt.GetNanos()/1000)

	h := sha256.New()
	h.Write(prevHash)
	h.Write([]byte(HashDomainTag))
	var fixed [16]byte
	binary.BigEndian.PutUint64(fixed[0:8], event.GetSeq())
	binary.BigEndian.PutUint64(fixed[8:16], uint64(micros))
	h.Write(fixed[:])
	h.Write(jobID)
	h.Write(eventID)
	for _, text := range []string{tenant, event.GetType(), event.GetActor()} {
		var length [4]byte
		binary.BigEndian.PutUint32(length[:], uint32(len(text)))
		h.Write(length[:])
		h.Write([]byte(text))
	}
	h.Write(PayloadDigest(event.GetPayload()))
	return h.Sum(nil), nil
}

// VerifyChain recomputes the hash chain of one job's events, in seq order, as read by a key of
// `tenant`, and returns a *ChainError for the first event that does not match: a seq gap, a
// prev_hash that is not the previous event's hash (32 zero bytes for seq 1), a payload_digest
// that is not SHA-256(payload), or a hash that differs from the recomputed one. nil means every
// event matches.
//
// The events may start after seq 1 (a page of a longer history): the first event's prev_hash is
// then taken as given, and only the links from there on are verified.
func VerifyChain(tenant string, events []*runtimev1.Event) error {
	var prev []byte
	var expectedSeq uint64
	for i, event := range events {
		seq := event.GetSeq()
		if i == 0 {
			expectedSeq = seq
			if seq == 1 {
				prev = make([]byte, sha256.Size)
			} else {
				prev = event.GetPrevHash()
			}
		}
		if seq != expectedSeq {
			return &ChainError{Seq: seq, Problem: ChainSeqGap, Detail: fmt.Sprintf("expected seq %d", expectedSeq)}
		}
		if !bytes.Equal(event.GetPrevHash(), prev) {
			return &ChainError{Seq: seq, Problem: ChainPrevHashMismatch, Got: event.GetPrevHash(), Want: prev}
		}
		digest := PayloadDigest(event.GetPayload())
		if !bytes.Equal(event.GetPayloadDigest(), digest) {
			return &ChainError{Seq: seq, Problem: ChainPayloadDigestMismatch, Got: event.GetPayloadDigest(), Want: digest}
		}
		hash, err := EventHash(tenant, prev, event)
		if err != nil {
			return &ChainError{Seq: seq, Problem: ChainMalformedEvent, Detail: err.Error()}
		}
		if !bytes.Equal(event.GetHash(), hash) {
			return &ChainError{Seq: seq, Problem: ChainHashMismatch, Got: event.GetHash(), Want: hash}
		}
		prev = event.GetHash()
		expectedSeq = seq + 1
	}
	return nil
}

// uuidBytes parses a UUID in its textual form (with or without dashes) into its 16 bytes.
func uuidBytes(id string) ([]byte, error) {
	compact := strings.ReplaceAll(id, "-", "")
	if len(compact) != 32 {
		return nil, fmt.Errorf("not a UUID: %q", id)
	}
	out, err := hex.DecodeString(compact)
	if err != nil {
		return nil, fmt.Errorf("not a UUID: %q", id)
	}
	return out, nil
}
