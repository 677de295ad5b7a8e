package e2e

import (
	"context"
	"errors"
	"fmt"
	"io"
	"testing"
	"time"

	aetheris "github.com/aetheris/aetheris/clients/go"
	runtimev1 "github.com/aetheris/aetheris/gen/go/aetheris/runtime/v1"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
)

// received is one Recv of a server stream.
type received[T any] struct {
	msg *T
	err error
}

// pump reads a stream in the background; the channel closes after the first error (io.EOF at
// the normal end).
func pump[T any](stream grpc.ServerStreamingClient[T]) <-chan received[T] {
	out := make(chan received[T], 64)
	go func() {
		defer close(out)
		for {
			msg, err := stream.Recv()
			out <- received[T]{msg, err}
			if err != nil {
				return
			}
		}
	}()
	return out
}

func next[T any](t *testing.T, ch <-chan received[T], what string) received[T] {
	t.Helper()
	select {
	case r, ok := <-ch:
		if !ok {
			t.Fatalf("%s: the stream reader stopped", what)
		}
		return r
	case <-time.After(10 * time.Second):
		t.Fatalf("%s: nothing received within 10 s", what)
	}
	return received[T]{}
}

func appendEvents(t *testing.T, c *aetheris.Client, jobID, eventType string, payloads ...string) *runtimev1.AppendEventsResponse {
	t.Helper()
	request := &runtimev1.AppendEventsRequest{JobId: jobID}
	for _, p := range payloads {
		request.Events = append(request.Events, &runtimev1.EventInput{EventId: aetheris.NewID(), Type: eventType, Payload: []byte(p)})
	}
	response, err := c.Runtime.AppendEvents(ctxFor(t, 10*time.Second), request)
	if err != nil {
		t.Fatalf("AppendEvents %s: %v", jobID, err)
	}
	return response
}

func seqs(events []*runtimev1.Event) []uint64 {
	out := make([]uint64, len(events))
	for i, e := range events {
		out[i] = e.GetSeq()
	}
	return out
}

func TestStreamEventsReplayThenFollow(t *testing.T) {
	e := loadEnv(t)
	admin := dial(t, e, e.APIKey)
	// A queue no worker polls: the job stays PENDING while events are appended.
	job := createJob(t, admin, "go-stream", unique("go-stream"), nil)
	appendEvents(t, admin, job.GetId(), "note.before", `{"n":1}`, `{"n":2}`)
	appendEvents(t, admin, job.GetId(), "note.before", `{"n":3}`)

	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	stream, err := admin.Runtime.StreamEvents(ctx, &runtimev1.StreamEventsRequest{JobId: job.GetId(), Follow: true, MaxBatch: 2})
	if err != nil {
		t.Fatal(err)
	}
	messages := pump(stream)

	// Replay: the existing history, in seq order, in batches of at most 2, caught_up on the last.
	var replayed []*runtimev1.Event
	for {
		r := next(t, messages, "replay")
		if r.err != nil {
			t.Fatalf("replay ended with %v after %s", r.err, describe(replayed))
		}
		if len(r.msg.GetEvents()) > 2 {
			t.Fatalf("a message carried %d events with max_batch 2", len(r.msg.GetEvents()))
		}
		replayed = append(replayed, r.msg.GetEvents()...)
		if r.msg.GetCaughtUp() {
			break
		}
	}
	if fmt.Sprint(seqs(replayed)) != "[1 2 3 4]" || replayed[0].GetType() != "aetheris.job.created" || replayed[3].GetType() != "note.before" {
		t.Fatalf("replay delivered %s, want the 4 existing events", describe(replayed))
	}

	// Follow: events appended after the stream caught up arrive live, in order.
	appendEvents(t, admin, job.GetId(), "note.after", `{"n":4}`)
	appendEvents(t, admin, job.GetId(), "note.after", `{"n":5}`, `{"n":6}`)
	var live []*runtimev1.Event
	for len(live) < 3 {
		r := next(t, messages, "follow")
		if r.err != nil {
			t.Fatalf("follow ended with %v after %s", r.err, describe(live))
		}
		if r.msg.GetCaughtUp() {
			t.Fatal("caught_up was sent twice")
		}
		live = append(live, r.msg.GetEvents()...)
	}
	if fmt.Sprint(seqs(live)) != "[5 6 7]" || live[0].GetType() != "note.after" || string(live[2].GetPayload()) != `{"n":6}` {
		t.Fatalf("follow delivered %s, want seqs 5..7 of note.after", describe(live))
	}

	// The job ends: its last event arrives, then the stream ends by itself with OK.
	if _, err := admin.Runtime.CancelJob(ctxFor(t, 10*time.Second), &runtimev1.CancelJobRequest{JobId: job.GetId(), Reason: "stream test done"}); err != nil {
		t.Fatal(err)
	}
	var tail []*runtimev1.Event
	for {
		r := next(t, messages, "end of job")
		if errors.Is(r.err, io.EOF) {
			break
		}
		if r.err != nil {
			t.Fatalf("the stream ended with %v instead of OK once the job was cancelled", r.err)
		}
		tail = append(tail, r.msg.GetEvents()...)
		if r.msg.GetJobState() != runtimev1.JobState_JOB_STATE_CANCELLED && len(r.msg.GetEvents()) > 0 &&
			r.msg.GetEvents()[len(r.msg.GetEvents())-1].GetType() == "aetheris.job.cancelled" {
			t.Fatalf("message with the cancellation says job state %s", r.msg.GetJobState())
		}
	}
	if fmt.Sprint(seqs(tail)) != "[8]" || tail[0].GetType() != "aetheris.job.cancelled" {
		t.Fatalf("after the cancel the stream delivered %s, want 8:aetheris.job.cancelled", describe(tail))
	}

	// Resuming from a seq replays only what follows it.
	resumed, err := admin.Runtime.StreamEvents(ctxFor(t, 10*time.Second), &runtimev1.StreamEventsRequest{JobId: job.GetId(), AfterSeq: 5})
	if err != nil {
		t.Fatal(err)
	}
	var rest []*runtimev1.Event
	for r := range pump(resumed) {
		if errors.Is(r.err, io.EOF) {
			break
		}
		if r.err != nil {
			t.Fatal(r.err)
		}
		rest = append(rest, r.msg.GetEvents()...)
	}
	if fmt.Sprint(seqs(rest)) != "[6 7 8]" {
		t.Fatalf("resume after seq 5 delivered %s", describe(rest))
	}

	// A follow stream of a job that does not end stops when the caller cancels.
	open := createJob(t, admin, "go-stream", unique("go-stream"), nil)
	openCtx, cancelOpen := context.WithCancel(context.Background())
	defer cancelOpen()
	following, err := admin.Runtime.StreamEvents(openCtx, &runtimev1.StreamEventsRequest{JobId: open.GetId(), Follow: true})
	if err != nil {
		t.Fatal(err)
	}
	openMessages := pump(following)
	if r := next(t, openMessages, "open job replay"); r.err != nil || !r.msg.GetCaughtUp() {
		t.Fatalf("open job replay: %v %v", r.msg, r.err)
	}
	cancelOpen()
	if r := next(t, openMessages, "cancelled stream"); aetheris.CodeOf(r.err) != codes.Canceled {
		t.Fatalf("a cancelled stream ended with %v, want CANCELED", r.err)
	}
}

// before reports whether position a comes strictly before b in the tenant's global order.
func before(a, b *runtimev1.GlobalPosition) bool {
	if a.GetTransactionId() != b.GetTransactionId() {
		return a.GetTransactionId() < b.GetTransactionId()
	}
	return a.GetPosition() < b.GetPosition()
}

// subscription collects a SubscribeEvents stream.
type subscription struct {
	events      []*runtimev1.Event
	checkpoints []*runtimev1.GlobalPosition
	caughtUp    int
	messages    <-chan received[runtimev1.SubscribeEventsResponse]
}

// until reads messages until have() is true.
func (s *subscription) until(t *testing.T, what string, have func() bool) {
	t.Helper()
	for !have() {
		r := next(t, s.messages, what)
		if r.err != nil {
			t.Fatalf("%s: the subscription ended with %v", what, r.err)
		}
		s.add(t, r.msg)
	}
}

func (s *subscription) add(t *testing.T, msg *runtimev1.SubscribeEventsResponse) {
	t.Helper()
	checkpoint := msg.GetCheckpoint()
	if checkpoint == nil {
		t.Fatal("a SubscribeEvents message without a checkpoint")
	}
	if n := len(s.checkpoints); n > 0 && before(checkpoint, s.checkpoints[n-1]) {
		t.Fatalf("checkpoint went back from %v to %v", s.checkpoints[n-1], checkpoint)
	}
	for _, event := range msg.GetEvents() {
		if n := len(s.events); n > 0 && !before(s.events[n-1].GetPosition(), event.GetPosition()) {
			t.Fatalf("positions do not increase: %v then %v", s.events[n-1].GetPosition(), event.GetPosition())
		}
		if before(checkpoint, event.GetPosition()) {
			t.Fatalf("event at %v is beyond its message's checkpoint %v", event.GetPosition(), checkpoint)
		}
		s.events = append(s.events, event)
	}
	s.checkpoints = append(s.checkpoints, checkpoint)
	if msg.GetCaughtUp() {
		s.caughtUp++
	}
}

func (s *subscription) of(jobID string) []*runtimev1.Event {
	var out []*runtimev1.Event
	for _, e := range s.events {
		if e.GetJobId() == jobID {
			out = append(out, e)
		}
	}
	return out
}

func subscribe(t *testing.T, ctx context.Context, c *aetheris.Client, request *runtimev1.SubscribeEventsRequest) *subscription {
	t.Helper()
	stream, err := c.Runtime.SubscribeEvents(ctx, request)
	if err != nil {
		t.Fatal(err)
	}
	return &subscription{messages: pump(stream)}
}

func TestSubscribeTenantStream(t *testing.T) {
	e := loadEnv(t)
	admin := dial(t, e, e.APIKey)
	queue := unique("go-subscribe")

	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	live := subscribe(t, ctx, admin, &runtimev1.SubscribeEventsRequest{FromEnd: true, Follow: true})
	// Only new events: the first message reaches the end of the stream as it was.
	live.until(t, "caught up", func() bool { return live.caughtUp > 0 })

	jobA := createJob(t, admin, "go-subscribe", queue, nil)
	appendEvents(t, admin, jobA.GetId(), "sub.a", `{"i":1}`, `{"i":2}`)
	live.until(t, "job A's events", func() bool { return len(live.of(jobA.GetId())) == 3 })
	afterA := live.checkpoints[len(live.checkpoints)-1]

	jobB := createJob(t, admin, "go-subscribe", queue, nil)
	appendEvents(t, admin, jobB.GetId(), "sub.b", `{"i":1}`)
	appendEvents(t, admin, jobB.GetId(), "sub.b", `{"i":2}`)
	live.until(t, "job B's events", func() bool { return len(live.of(jobB.GetId())) == 3 })
	afterB := live.checkpoints[len(live.checkpoints)-1]
	cancel()

	if live.caughtUp != 1 {
		t.Fatalf("caught_up was set on %d messages, want 1", live.caughtUp)
	}
	for _, job := range []*runtimev1.Job{jobA, jobB} {
		events := live.of(job.GetId())
		if fmt.Sprint(seqs(events)) != "[1 2 3]" || events[0].GetType() != "aetheris.job.created" {
			t.Fatalf("job %s: the subscription delivered %s", job.GetId(), describe(events))
		}
	}
	lastA := live.of(jobA.GetId())[2].GetPosition()
	if before(afterA, lastA) {
		t.Fatalf("checkpoint %v is before job A's last event %v", afterA, lastA)
	}

	// Resume from the checkpoint taken after job A: nothing at or before it comes again.
	resumed := subscribe(t, ctxFor(t, 20*time.Second), admin, &runtimev1.SubscribeEventsRequest{After: afterA})
	for {
		r := next(t, resumed.messages, "resume after A")
		if errors.Is(r.err, io.EOF) {
			break
		}
		if r.err != nil {
			t.Fatal(r.err)
		}
		resumed.add(t, r.msg)
	}
	for _, event := range resumed.events {
		if !before(afterA, event.GetPosition()) {
			t.Fatalf("resumed after %v but got %v (%s seq %d)", afterA, event.GetPosition(), event.GetJobId(), event.GetSeq())
		}
	}
	if got := resumed.of(jobA.GetId()); len(got) != 0 {
		t.Fatalf("resume after job A redelivered %s", describe(got))
	}
	gotB := resumed.of(jobB.GetId())
	wantB := live.of(jobB.GetId())
	if len(gotB) != len(wantB) {
		t.Fatalf("resume delivered %s of job B, want %s", describe(gotB), describe(wantB))
	}
	for i := range gotB {
		if gotB[i].GetEventId() != wantB[i].GetEventId() || string(gotB[i].GetHash()) != string(wantB[i].GetHash()) {
			t.Fatalf("resume delivered another event at %d", i)
		}
	}

	// Resume live from the last checkpoint: only events appended afterwards arrive.
	ctx2, cancel2 := context.WithCancel(context.Background())
	defer cancel2()
	tail := subscribe(t, ctx2, admin, &runtimev1.SubscribeEventsRequest{After: afterB, Follow: true})
	tail.until(t, "caught up after B", func() bool { return tail.caughtUp > 0 })
	appendEvents(t, admin, jobB.GetId(), "sub.b", `{"i":3}`)
	tail.until(t, "job B's new event", func() bool { return len(tail.of(jobB.GetId())) >= 1 })
	if got := append(tail.of(jobA.GetId()), tail.of(jobB.GetId())...); fmt.Sprint(seqs(got)) != "[4]" {
		t.Fatalf("resume after job B delivered %s, want only job B's new seq 4", describe(got))
	}
}
