package aetheris

import (
	"bytes"
	"encoding/hex"
	"errors"
	"testing"

	runtimev1 "github.com/aetheris/aetheris/gen/go/aetheris/runtime/v1"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/types/known/timestamppb"
)

// A fixed vector computed independently by the Python verifier of docs/hash-chain.md and by
// src/domain/hash-chain.ts (both give these hashes).
const (
	vectorHash1 = "be46fdae2c7ba6c8940d73854fd80f85faeaf2cfab3fd53318c896b5b95d15cb"
	vectorHash2 = "e0c3d55c964f06379f6d43d12343cbd3ea9f70bdb53f934053942515c37a0064"
)

func vectorEvents(t *testing.T) []*runtimev1.Event {
	t.Helper()
	h1, _ := hex.DecodeString(vectorHash1)
	h2, _ := hex.DecodeString(vectorHash2)
	p1 := []byte(`{"job_type":"refund-agent"}`)
	p2 := []byte(`{"amount":15.5,"note":"é→✓"}`)
	return []*runtimev1.Event{
		{
			JobId: "0b8f3c1e-2d4a-4f6b-9c7d-1e2f3a4b5c6d", Seq: 1, EventId: "5f0e9a2b-7c3d-4e1f-8a9b-0c1d2e3f4a5b",
			Type: "aetheris.job.created", Actor: "system", Payload: p1, PayloadDigest: PayloadDigest(p1),
			RecordedAt: &timestamppb.Timestamp{Seconds: 1767225600, Nanos: 123456000},
			PrevHash:   make([]byte, 32), Hash: h1,
		},
		{
			JobId: "0b8f3c1e-2d4a-4f6b-9c7d-1e2f3a4b5c6d", Seq: 2, EventId: "a1b2c3d4-e5f6-4a7b-8c9d-0e1f2a3b4c5d",
			Type: "refund.requested", Actor: "key:k1", Payload: p2, PayloadDigest: PayloadDigest(p2),
			RecordedAt: &timestamppb.Timestamp{Seconds: 1767225601, Nanos: 5000},
			PrevHash:   h1, Hash: h2,
		},
	}
}

func TestEventHashFixedVector(t *testing.T) {
	events := vectorEvents(t)
	h1, err := EventHash("acme", make([]byte, 32), events[0])
	if err != nil {
		t.Fatal(err)
	}
	if hex.EncodeToString(h1) != vectorHash1 {
		t.Fatalf("seq 1: got %x, want %s", h1, vectorHash1)
	}
	h2, err := EventHash("acme", h1, events[1])
	if err != nil {
		t.Fatal(err)
	}
	if hex.EncodeToString(h2) != vectorHash2 {
		t.Fatalf("seq 2: got %x, want %s", h2, vectorHash2)
	}
	if err := VerifyChain("acme", events); err != nil {
		t.Fatalf("VerifyChain: %v", err)
	}
	// A page that starts after seq 1 is verified from its first prev_hash.
	if err := VerifyChain("acme", events[1:]); err != nil {
		t.Fatalf("VerifyChain of a suffix: %v", err)
	}
}

func TestVerifyChainFindsTheBrokenSeq(t *testing.T) {
	cases := []struct {
		name    string
		tenant  string
		tamper  func([]*runtimev1.Event)
		seq     uint64
		problem string
	}{
		{"payload byte flipped", "acme", func(e []*runtimev1.Event) { e[1].Payload[3] ^= 1 }, 2, ChainPayloadDigestMismatch},
		{"payload and digest replaced", "acme", func(e []*runtimev1.Event) {
			e[1].Payload = []byte(`{"amount":1500}`)
			e[1].PayloadDigest = PayloadDigest(e[1].Payload)
		}, 2, ChainHashMismatch},
		{"recorded_at moved by 1 µs", "acme", func(e []*runtimev1.Event) { e[0].RecordedAt.Nanos += 1000 }, 1, ChainHashMismatch},
		{"actor changed", "acme", func(e []*runtimev1.Event) { e[1].Actor = "key:k2" }, 2, ChainHashMismatch},
		{"another tenant", "acme-other", func([]*runtimev1.Event) {}, 1, ChainHashMismatch},
		{"prev_hash relinked", "acme", func(e []*runtimev1.Event) { e[1].PrevHash = bytes.Repeat([]byte{1}, 32) }, 2, ChainPrevHashMismatch},
		{"first prev_hash not zero", "acme", func(e []*runtimev1.Event) { e[0].PrevHash[0] = 1 }, 1, ChainPrevHashMismatch},
		{"seq gap", "acme", func(e []*runtimev1.Event) { e[1].Seq = 3 }, 3, ChainSeqGap},
		{"bad job id", "acme", func(e []*runtimev1.Event) { e[0].JobId = "nope" }, 1, ChainMalformedEvent},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			events := vectorEvents(t)
			tampered := make([]*runtimev1.Event, len(events))
			for i, e := range events {
				tampered[i] = proto.Clone(e).(*runtimev1.Event)
			}
			c.tamper(tampered)
			err := VerifyChain(c.tenant, tampered)
			var chainErr *ChainError
			if !errors.As(err, &chainErr) {
				t.Fatalf("VerifyChain = %v, want a *ChainError", err)
			}
			if chainErr.Seq != c.seq || chainErr.Problem != c.problem {
				t.Fatalf("got seq %d %s, want seq %d %s (%v)", chainErr.Seq, chainErr.Problem, c.seq, c.problem, err)
			}
		})
	}
}
