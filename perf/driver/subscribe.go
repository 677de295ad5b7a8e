package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"sync"
	"sync/atomic"
	"time"

	runtimev1 "github.com/aetheris/aetheris/gen/go/aetheris/runtime/v1"
)

const subscribeEventType = "perf.subscribed"

// runSubscribe: one tenant subscription (from the end, follow) for warmup + window while
// something appends (the gate runs ghz append_1 at the same time; -append-load adds an
// appender of the driver's own). An op (and an event) is an event received in the window;
// its latency is the lag: receipt time minus the event's recorded_at (same machine clock).
func runSubscribe(ctx context.Context, d *driver) (string, error) {
	appendJobs, err := d.subscribeSetup(ctx)
	if err != nil {
		return "", err
	}
	start, end := d.rec.startClock(d.warmup, d.duration)
	d.log.Printf("subscribe: window %s..%s, %d appender(s) of our own", start.Format(time.StampMicro), end.Format(time.StampMicro), len(appendJobs))

	var appenders sync.WaitGroup
	var appended atomic.Int64
	for i, jobID := range appendJobs {
		appenders.Go(func() {
			for n := 0; ctx.Err() == nil && time.Now().Before(end); n++ {
				_, err := unary(ctx, func(ctx context.Context) (*runtimev1.AppendEventsResponse, error) {
					return d.admin.rt(i).AppendEvents(ctx, &runtimev1.AppendEventsRequest{
						JobId:  jobID,
						Events: []*runtimev1.EventInput{{Type: subscribeEventType, Payload: fmt.Appendf(nil, `{"n":%d}`, n)}},
					})
				})
				if err != nil {
					if ctx.Err() == nil {
						d.rec.fail("AppendEvents (load)", err)
						pause(ctx, retryBackoff)
					}
					continue
				}
				appended.Add(1)
			}
		})
	}

	received, resubscribed, negative := d.subscribeUntil(ctx, end)
	appenders.Wait()
	if ctx.Err() != nil {
		return "", ctx.Err()
	}
	if d.rec.opsCount() == 0 {
		d.rec.failf("SubscribeEvents: no events received in the window")
	}
	notes := fmt.Sprintf("%d events received in all (warmup included); %d resubscriptions; %d lags below 0 (clock skew, counted as is)",
		received, resubscribed, negative)
	if len(appendJobs) > 0 {
		notes += fmt.Sprintf("; own load: %d appenders, %d events appended", len(appendJobs), appended.Load())
	}
	return notes, nil
}

// subscribeSetup creates one job per appender of -append-load.
func (d *driver) subscribeSetup(ctx context.Context) ([]string, error) {
	jobs := make([]string, 0, d.opts.appendLoad)
	for i := range d.opts.appendLoad {
		id, err := d.createJob(ctx, i, "perf.subscribe-load", d.queue(), []byte(`{"purpose":"subscribe load"}`))
		if err != nil {
			return nil, fmt.Errorf("setup: CreateJob: %w", err)
		}
		jobs = append(jobs, id)
	}
	return jobs, nil
}

// subscribeUntil follows the tenant's stream until end, resubscribing after the last
// checkpoint when the stream fails (each failure is an error).
func (d *driver) subscribeUntil(ctx context.Context, end time.Time) (received, resubscribed, negative int64) {
	sctx, cancel := cancelAt(ctx, end)
	defer cancel()
	var after *runtimev1.GlobalPosition
	for attempt := 0; sctx.Err() == nil; attempt++ {
		if attempt > 0 {
			resubscribed++
			pause(sctx, retryBackoff)
		}
		req := &runtimev1.SubscribeEventsRequest{After: after, FromEnd: after == nil, Follow: true}
		stream, err := d.admin.rt(0).SubscribeEvents(sctx, req)
		if err != nil {
			if sctx.Err() == nil {
				d.rec.fail("SubscribeEvents", err)
			}
			continue
		}
		for {
			msg, err := stream.Recv()
			if err != nil {
				if sctx.Err() == nil {
					if errors.Is(err, io.EOF) {
						d.rec.failf("SubscribeEvents: the stream ended before the window did")
					} else {
						d.rec.fail("SubscribeEvents", err)
					}
				}
				break
			}
			now := time.Now()
			for _, e := range msg.GetEvents() {
				lag := now.Sub(e.GetRecordedAt().AsTime())
				if lag < 0 {
					negative++
				}
				d.rec.observe(now, lag)
				d.rec.addEvents(now, 1)
				received++
			}
			if cp := msg.GetCheckpoint(); cp != nil {
				after = cp
			}
		}
	}
	return received, resubscribed, negative
}
