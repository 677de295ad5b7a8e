package main

import (
	"context"
	"fmt"
	"math/rand/v2"
	"sort"
	"strings"
	"sync"
	"time"

	runtimev1 "github.com/aetheris/aetheris/gen/go/aetheris/runtime/v1"
)

const e2eJobType = "perf.e2e"

// runJobE2E: producers create jobs (closed loop: at most `backlog` created but not yet
// acquired), workers acquire each, run toolCalls durable tool calls and complete it.
// An op is a job whose CompleteJob was acknowledged in the window; its latency runs from
// just before CreateJob to that acknowledgement.
func runJobE2E(ctx context.Context, d *driver) (string, error) {
	p := d.params
	queue := d.queue()
	backlogCap := 2 * p.Workers
	backlog := make(chan struct{}, backlogCap) // one token per job created and not yet acquired
	calls := makeToolCalls(p.ToolCalls)
	clock := newJobClock()
	stopProducing := make(chan struct{})
	stopWorkers := make(chan struct{})

	_, end := d.rec.startClock(d.warmup, d.duration)
	d.log.Printf("job_e2e: queue %s, %d producers, %d workers, %d tool calls per job, backlog ≤ %d",
		queue, p.Producers, p.Workers, p.ToolCalls, backlogCap)

	var workers sync.WaitGroup
	for w := range p.Workers {
		workerID := fmt.Sprintf("perf-driver-%s-w%d", d.opts.runID, w)
		workers.Go(func() {
			for !stopped(stopWorkers) && ctx.Err() == nil {
				resp, err := d.acquire(ctx, w, workerID, queue, e2eJobType)
				if err != nil {
					if ctx.Err() == nil {
						d.rec.fail("AcquireJob", err)
						pause(ctx, retryBackoff)
					}
					continue
				}
				if resp.GetLease() == nil {
					continue
				}
				select {
				case <-backlog:
				default:
				}
				if d.runE2EJob(ctx, w, resp.GetLease(), calls) {
					clock.markDone(resp.GetLease().GetJobId(), time.Now())
				}
			}
		})
	}

	var producers sync.WaitGroup
	for i := range p.Producers {
		producers.Go(func() {
			for n := 0; ctx.Err() == nil; n++ {
				select {
				case backlog <- struct{}{}:
				case <-stopProducing:
					return
				case <-ctx.Done():
					return
				}
				if stopped(stopProducing) {
					<-backlog
					return
				}
				input := fmt.Appendf(nil, `{"producer":%d,"n":%d}`, i, n)
				t0 := time.Now()
				id, err := d.createJob(ctx, i, e2eJobType, queue, input)
				if err != nil {
					<-backlog
					if ctx.Err() == nil {
						d.rec.fail("CreateJob", err)
						pause(ctx, retryBackoff)
					}
					continue
				}
				clock.markCreated(id, t0)
			}
		})
	}

	sleepUntil(ctx, end)
	close(stopProducing)
	producers.Wait()
	created, done := clock.counts()
	d.log.Printf("job_e2e: window over (%d created, %d completed so far); draining up to %s", created, done, d.opts.drain)
	drained := clock.waitAllDone(ctx, d.opts.drain)
	close(stopWorkers)
	workers.Wait()
	if ctx.Err() != nil {
		return "", ctx.Err()
	}

	clock.mu.Lock()
	doneIDs := make([]string, 0, len(clock.done))
	for id, t1 := range clock.done {
		if t0, ok := clock.created[id]; ok {
			d.rec.observe(t1, t1.Sub(t0))
			doneIDs = append(doneIDs, id)
		}
	}
	clock.mu.Unlock()
	lost := clock.notDone()
	d.rec.addLost(int64(len(lost)))
	created, done = clock.counts()

	verified, lostStates := d.verifyJobs(ctx, doneIDs, lost)
	notes := fmt.Sprintf("queue %s; %d producers, %d workers, %d tool calls per job, backlog ≤ %d; "+
		"%d jobs created, %d completed in all; drain %.1f s; GetJob verified %d completed jobs",
		queue, p.Producers, p.Workers, p.ToolCalls, backlogCap, created, done, drained.Seconds(), verified)
	if len(lost) > 0 {
		notes += "; lost jobs by state: " + lostStates
	}
	return notes, nil
}

// runE2EJob runs one leased job: the tool calls, then CompleteJob. It reports success;
// failures are recorded (the job is then left to its lease and counts as lost).
func (d *driver) runE2EJob(ctx context.Context, i int, lease *runtimev1.Lease, calls []toolCallArgs) bool {
	rt := d.worker.rt(i)
	jobID, token := lease.GetJobId(), lease.GetFencingToken()
	for _, c := range calls {
		begin, err := unary(ctx, func(ctx context.Context) (*runtimev1.BeginToolCallResponse, error) {
			return rt.BeginToolCall(ctx, &runtimev1.BeginToolCallRequest{
				JobId: jobID, FencingToken: token, CallKey: c.key, ToolName: "perf.tool", ArgsDigest: c.digest,
			})
		})
		if err != nil {
			d.rec.fail("BeginToolCall", err)
			return false
		}
		if begin.GetDecision() != runtimev1.ToolCallDecision_TOOL_CALL_DECISION_EXECUTE {
			d.rec.failf("BeginToolCall: decision %s, expected EXECUTE (%s)", begin.GetDecision(), begin.GetDetail())
			return false
		}
		_, err = unary(ctx, func(ctx context.Context) (*runtimev1.CompleteToolCallResponse, error) {
			return rt.CompleteToolCall(ctx, &runtimev1.CompleteToolCallRequest{
				JobId: jobID, FencingToken: token, CallKey: c.key,
				Outcome: &runtimev1.CompleteToolCallRequest_Result{Result: c.result},
			})
		})
		if err != nil {
			d.rec.fail("CompleteToolCall", err)
			return false
		}
	}
	_, err := unary(ctx, func(ctx context.Context) (*runtimev1.CompleteJobResponse, error) {
		return rt.CompleteJob(ctx, &runtimev1.CompleteJobRequest{JobId: jobID, FencingToken: token, Output: []byte(`{"ok":true}`)})
	})
	if err != nil {
		d.rec.fail("CompleteJob", err)
		return false
	}
	return true
}

// verifyJobs re-reads a random sample of the completed jobs (each must be COMPLETED; a
// mismatch is an error) and every lost one (their states go to the notes).
func (d *driver) verifyJobs(ctx context.Context, done, lost []string) (verified int, lostStates string) {
	sample := done
	if len(sample) > d.opts.verify {
		sample = make([]string, len(done))
		copy(sample, done)
		rand.Shuffle(len(sample), func(i, j int) { sample[i], sample[j] = sample[j], sample[i] })
		sample = sample[:d.opts.verify]
	}
	var mu sync.Mutex
	states := map[string]int{}
	get := func(i int, id string) (runtimev1.JobState, bool) {
		resp, err := unary(ctx, func(ctx context.Context) (*runtimev1.GetJobResponse, error) {
			return d.admin.rt(i).GetJob(ctx, &runtimev1.GetJobRequest{JobId: id})
		})
		if err != nil {
			d.rec.fail("GetJob", err)
			return 0, false
		}
		return resp.GetJob().GetState(), true
	}
	forEach(sample, 8, func(i int, id string) {
		state, ok := get(i, id)
		if !ok {
			return
		}
		if state != runtimev1.JobState_JOB_STATE_COMPLETED {
			d.rec.failf("GetJob: job %s acknowledged as completed is %s", id, state)
			return
		}
		mu.Lock()
		verified++
		mu.Unlock()
	})
	forEach(lost, 8, func(i int, id string) {
		state, ok := get(i, id)
		name := "unknown"
		if ok {
			name = strings.TrimPrefix(state.String(), "JOB_STATE_")
		}
		mu.Lock()
		states[name]++
		mu.Unlock()
	})
	parts := make([]string, 0, len(states))
	for s, n := range states {
		parts = append(parts, fmt.Sprintf("%s=%d", s, n))
	}
	sort.Strings(parts)
	return verified, strings.Join(parts, " ")
}
