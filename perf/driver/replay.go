package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"strings"
	"sync"
	"time"

	runtimev1 "github.com/aetheris/aetheris/gen/go/aetheris/runtime/v1"
)

const (
	replayJobType     = "perf.replay"
	replayEventType   = "perf.replayed"
	replayAppendBatch = 1000 // the AppendEvents maximum
)

// runReplay: setup (untimed) creates one job and appends the mode's replayEvents events;
// then readers replay it from the start with StreamEvents (no follow) over and over. Events
// count per message received in the window; an op is a full replay finished in the window,
// its latency the replay's duration.
func runReplay(ctx context.Context, d *driver) (string, error) {
	p := d.params
	n := d.mode.ReplayEvents
	jobID, head, setup, err := d.replaySetup(ctx, n)
	if err != nil {
		return "", err
	}
	d.log.Printf("replay: job %s has %d events (setup %.1f s, %.0f appended events/s); %d reader(s), batch %d",
		jobID, head, setup.Seconds(), float64(n)/setup.Seconds(), p.Readers, p.Batch)

	_, end := d.rec.startClock(d.warmup, d.duration)
	var readers sync.WaitGroup
	var mu sync.Mutex
	replays := 0
	for r := range p.Readers {
		readers.Go(func() {
			for ctx.Err() == nil && time.Now().Before(end) {
				if d.replayOnce(ctx, r, jobID, head, end) {
					mu.Lock()
					replays++
					mu.Unlock()
				}
			}
		})
	}
	readers.Wait()
	if ctx.Err() != nil {
		return "", ctx.Err()
	}
	return fmt.Sprintf("job %s with %d events (%d appended in %.1f s during setup, %.0f events/s); %d reader(s), max_batch %d; %d full replays in all",
		jobID, head, n, setup.Seconds(), float64(n)/setup.Seconds(), p.Readers, p.Batch, replays), nil
}

// replaySetup creates the job and appends n events of about 100 bytes of JSON each in
// batches of replayAppendBatch; it returns the job, its head seq and the time taken.
func (d *driver) replaySetup(ctx context.Context, n int) (string, uint64, time.Duration, error) {
	began := time.Now()
	jobID, err := d.createJob(ctx, 0, replayJobType, d.queue(), []byte(`{"purpose":"replay benchmark"}`))
	if err != nil {
		return "", 0, 0, fmt.Errorf("setup: CreateJob: %w", err)
	}
	pad := strings.Repeat("x", 60)
	var head uint64
	for first := 0; first < n; first += replayAppendBatch {
		count := min(replayAppendBatch, n-first)
		events := make([]*runtimev1.EventInput, count)
		for k := range events {
			events[k] = &runtimev1.EventInput{
				Type:    replayEventType,
				Payload: fmt.Appendf(nil, `{"i":%d,"kind":"tool.output","pad":"%s"}`, first+k, pad),
			}
		}
		resp, err := unary(ctx, func(ctx context.Context) (*runtimev1.AppendEventsResponse, error) {
			return d.admin.rt(first/replayAppendBatch).AppendEvents(ctx, &runtimev1.AppendEventsRequest{JobId: jobID, Events: events})
		})
		if err != nil {
			return "", 0, 0, fmt.Errorf("setup: AppendEvents at event %d: %w", first, err)
		}
		head = resp.GetLastSeq()
	}
	if want := uint64(n); head < want {
		return "", 0, 0, fmt.Errorf("setup: head seq %d after appending %d events", head, n)
	}
	return jobID, head, time.Since(began), nil
}

// replayOnce streams the job's whole history once; it stops early (uncounted) at `end`.
// It reports whether a full, correct replay was counted.
func (d *driver) replayOnce(ctx context.Context, i int, jobID string, head uint64, end time.Time) bool {
	sctx, cancel := cancelAt(ctx, end)
	defer cancel()
	began := time.Now()
	stream, err := d.admin.rt(i).StreamEvents(sctx, &runtimev1.StreamEventsRequest{
		JobId: jobID, Follow: false, MaxBatch: uint32(d.params.Batch),
	})
	if err != nil {
		if sctx.Err() == nil {
			d.rec.fail("StreamEvents", err)
		}
		return false
	}
	var got, last uint64
	for {
		msg, err := stream.Recv()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			if sctx.Err() == nil { // not the end of the window, nor an interrupt
				d.rec.fail("StreamEvents", err)
			}
			return false
		}
		now := time.Now()
		for _, e := range msg.GetEvents() {
			if e.GetSeq() != last+1 {
				d.rec.failf("StreamEvents: seq %d after %d", e.GetSeq(), last)
				return false
			}
			last = e.GetSeq()
		}
		got += uint64(len(msg.GetEvents()))
		d.rec.addEvents(now, len(msg.GetEvents()))
	}
	if got != head {
		d.rec.failf("StreamEvents: a replay returned %d events, the job has %d", got, head)
		return false
	}
	now := time.Now()
	d.rec.observe(now, now.Sub(began))
	return true
}
