package e2e

import (
	"bytes"
	"context"
	"errors"
	"io"
	"testing"
	"time"

	aetheris "github.com/aetheris/aetheris/clients/go"
	runtimev1 "github.com/aetheris/aetheris/gen/go/aetheris/runtime/v1"
	"google.golang.org/protobuf/proto"
)

func streamAll(t *testing.T, c *aetheris.Client, jobID string) []*runtimev1.Event {
	t.Helper()
	stream, err := c.Runtime.StreamEvents(ctxFor(t, 10*time.Second), &runtimev1.StreamEventsRequest{JobId: jobID})
	if err != nil {
		t.Fatal(err)
	}
	var events []*runtimev1.Event
	for {
		msg, err := stream.Recv()
		if errors.Is(err, io.EOF) {
			return events
		}
		if err != nil {
			t.Fatalf("StreamEvents %s: %v", jobID, err)
		}
		events = append(events, msg.GetEvents()...)
	}
}

func TestHashChainRecomputed(t *testing.T) {
	e := loadEnv(t)
	admin := dial(t, e, e.APIKey)
	queue := unique("go-chain")

	// A job with events of every kind of author: the client (appends), a worker (tool calls,
	// completion) and the runtime (lifecycle), with payloads that test canonical bytes.
	job := createJob(t, admin, "go-chain", queue, map[string]any{"order": "C-3", "note": "naïve ✓"})
	appendEvents(t, admin, job.GetId(), "chain.note", `{"b": 2, "a": [1, 2.50, 1e21]}`, `"unicode: é 😀 \u2028"`, ``)
	appendEvents(t, admin, job.GetId(), "chain.note", `{"nested": {"z": null, "y": true}}`)
	worker := &aetheris.Worker{Client: dial(t, e, e.WorkerKey), Queue: queue, LeaseDuration: 10 * time.Second, PollWait: 5 * time.Second}
	worker.Register("go-chain", func(ctx context.Context, job *aetheris.JobContext) ([]byte, error) {
		result, err := job.Tool("lookup", map[string]string{"order": "C-3"}, func(string) (any, error) {
			return map[string]any{"amount": 12.5, "currency": "EUR"}, nil
		})
		if err != nil {
			return nil, err
		}
		return result, nil
	})
	runWorker(t, worker)
	done := waitJob(t, admin, job.GetId(), 10*time.Second, "COMPLETED", inState(runtimev1.JobState_JOB_STATE_COMPLETED))

	streamed := streamAll(t, admin, job.GetId())
	paged := readAll(t, admin, job.GetId(), 3)
	if len(streamed) < 9 || len(streamed) != len(paged) || uint64(len(streamed)) != done.GetHeadSeq() {
		t.Fatalf("StreamEvents gave %d events, ReadEvents %d, head_seq %d: %s", len(streamed), len(paged), done.GetHeadSeq(), describe(streamed))
	}
	for i := range streamed {
		if !proto.Equal(streamed[i], paged[i]) {
			t.Fatalf("StreamEvents and ReadEvents disagree at seq %d", streamed[i].GetSeq())
		}
	}
	actors := map[string]bool{}
	for _, event := range streamed {
		actors[event.GetActor()] = true
	}
	if len(actors) < 3 {
		t.Fatalf("want events of the client, the worker and the runtime, got actors %v", actors)
	}

	// Every hash recomputed in Go matches the server's, and the chain links up to the head.
	prev := make([]byte, 32)
	for _, event := range streamed {
		hash, err := aetheris.EventHash(e.Tenant, prev, event)
		if err != nil {
			t.Fatalf("seq %d: %v", event.GetSeq(), err)
		}
		if !bytes.Equal(hash, event.GetHash()) {
			t.Fatalf("seq %d (%s by %s): recomputed %x, server sent %x", event.GetSeq(), event.GetType(), event.GetActor(), hash, event.GetHash())
		}
		if !bytes.Equal(aetheris.PayloadDigest(event.GetPayload()), event.GetPayloadDigest()) {
			t.Fatalf("seq %d: payload digest differs", event.GetSeq())
		}
		prev = hash
	}
	if !bytes.Equal(prev, done.GetHeadHash()) {
		t.Fatalf("the last recomputed hash %x is not the job's head_hash %x", prev, done.GetHeadHash())
	}
	if err := aetheris.VerifyChain(e.Tenant, streamed); err != nil {
		t.Fatalf("VerifyChain: %v", err)
	}
	if err := aetheris.VerifyChain(e.Tenant, paged[3:]); err != nil {
		t.Fatalf("VerifyChain of a page after seq 3: %v", err)
	}

	// Tampered copies are caught at the right seq.
	tamper := func(seq int, change func(*runtimev1.Event)) []*runtimev1.Event {
		copied := make([]*runtimev1.Event, len(streamed))
		for i, event := range streamed {
			copied[i] = proto.Clone(event).(*runtimev1.Event)
		}
		change(copied[seq-1])
		return copied
	}
	expect := func(what string, err error, seq uint64, problem string) {
		t.Helper()
		var chainErr *aetheris.ChainError
		if !errors.As(err, &chainErr) || chainErr.Seq != seq || chainErr.Problem != problem {
			t.Fatalf("%s: VerifyChain = %v, want seq %d %s", what, err, seq, problem)
		}
	}
	expect("payload byte flipped at seq 3",
		aetheris.VerifyChain(e.Tenant, tamper(3, func(ev *runtimev1.Event) { ev.Payload[len(ev.Payload)/2] ^= 0x01 })),
		3, aetheris.ChainPayloadDigestMismatch)
	expect("payload and digest replaced at seq 4",
		aetheris.VerifyChain(e.Tenant, tamper(4, func(ev *runtimev1.Event) {
			ev.Payload = []byte(`"forged"`)
			ev.PayloadDigest = aetheris.PayloadDigest(ev.Payload)
		})),
		4, aetheris.ChainHashMismatch)
	last := len(streamed)
	expect("actor rewritten on the last event",
		aetheris.VerifyChain(e.Tenant, tamper(last, func(ev *runtimev1.Event) { ev.Actor = "system" + ev.Actor })),
		uint64(last), aetheris.ChainHashMismatch)
	expect("another tenant's view", aetheris.VerifyChain(e.Tenant+"-other", streamed), 1, aetheris.ChainHashMismatch)
}
