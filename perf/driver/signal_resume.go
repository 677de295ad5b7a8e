package main

import (
	"context"
	"fmt"
	"sync"
	"time"

	runtimev1 "github.com/aetheris/aetheris/gen/go/aetheris/runtime/v1"
	signalv1 "github.com/aetheris/aetheris/gen/go/aetheris/signal/v1"
	"google.golang.org/protobuf/types/known/durationpb"
)

const (
	signalJobType  = "perf.signal"
	signalName     = "go"
	signalWaitKey  = "1"               // the wait is the handler's first call
	signalToolName = "aetheris.signal" // how the ledger records a wait
	signalTimeout  = time.Hour         // the wait's deadline: never reached in a run
	resumeTimeout  = 10 * time.Second  // a sender gives up on a resume after this
)

// resumes pairs each signal with the worker that gets the job back.
type resumes struct {
	mu      sync.Mutex
	sentAt  map[string]time.Time     // job → just before SendSignal
	waiters map[string]chan struct{} // job → closed when a worker holds it again
	resumed int
}

// expect registers a signal about to be sent to the job.
func (r *resumes) expect(jobID string, at time.Time) <-chan struct{} {
	ch := make(chan struct{})
	r.mu.Lock()
	r.sentAt[jobID] = at
	r.waiters[jobID] = ch
	r.mu.Unlock()
	return ch
}

// arrived marks the job as held again by a worker at `at`; false when no signal was sent to it.
func (r *resumes) arrived(jobID string, at time.Time) (sentAt time.Time, ok bool) {
	r.mu.Lock()
	defer r.mu.Unlock()
	sentAt, ok = r.sentAt[jobID]
	if ch := r.waiters[jobID]; ch != nil {
		close(ch)
		delete(r.waiters, jobID)
		r.resumed++
	}
	return sentAt, ok
}

// runSignalResume: producers keep a supply of jobs that workers park on AwaitSignal("go");
// senders each take a parked job, SendSignal it and wait until a worker holds it again
// (closed loop). An op is a resume in the window; its latency runs from just before
// SendSignal to AcquireJob returning the resumed job. The resumed run answers the wait from
// the ledger the lease brought (as the SDK does, no second AwaitSignal), then completes.
func runSignalResume(ctx context.Context, d *driver) (string, error) {
	p := d.params
	queue := d.queue()
	producersN := max(1, p.Producers)
	if p.Producers == 0 {
		producersN = max(1, p.Senders/4)
	}
	supplyCap := 2 * p.Senders
	supply := make(chan struct{}, supplyCap) // a token per job created and not yet taken by a sender
	parked := make(chan string, supplyCap)   // parked jobs, in parking order
	res := &resumes{sentAt: map[string]time.Time{}, waiters: map[string]chan struct{}{}}
	clock := newJobClock() // created → completed after the resume
	var sentMu sync.Mutex
	sent := map[string]bool{}
	stopSenders := make(chan struct{})
	stopProducing := make(chan struct{})
	stopWorkers := make(chan struct{})

	_, end := d.rec.startClock(d.warmup, d.duration)
	d.log.Printf("signal_resume: queue %s, %d producers, %d workers, %d senders (gap %d ms), parked supply ≤ %d",
		queue, producersN, p.Workers, p.Senders, p.GapMs, supplyCap)

	var workers sync.WaitGroup
	for w := range p.Workers {
		workerID := fmt.Sprintf("perf-driver-%s-w%d", d.opts.runID, w)
		workers.Go(func() {
			for !stopped(stopWorkers) && ctx.Err() == nil {
				resp, err := d.acquire(ctx, w, workerID, queue, signalJobType)
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
				d.runSignalJob(ctx, w, resp, res, clock, parked, stopWorkers)
			}
		})
	}

	var producers sync.WaitGroup
	for i := range producersN {
		producers.Go(func() {
			for n := 0; ctx.Err() == nil; n++ {
				select {
				case supply <- struct{}{}:
				case <-stopProducing:
					return
				case <-ctx.Done():
					return
				}
				if stopped(stopProducing) {
					<-supply
					return
				}
				id, err := d.createJob(ctx, i, signalJobType, queue, fmt.Appendf(nil, `{"producer":%d,"n":%d}`, i, n))
				if err != nil {
					<-supply
					if ctx.Err() == nil {
						d.rec.fail("CreateJob", err)
						pause(ctx, retryBackoff)
					}
					continue
				}
				clock.markCreated(id, time.Now())
			}
		})
	}

	var senders sync.WaitGroup
	for s := range p.Senders {
		senders.Go(func() {
			for !stopped(stopSenders) && ctx.Err() == nil {
				var jobID string
				select {
				case jobID = <-parked:
				case <-stopSenders:
					return
				case <-ctx.Done():
					return
				}
				<-supply
				sentMu.Lock()
				sent[jobID] = true
				sentMu.Unlock()
				d.sendAndWait(ctx, s, jobID, res)
				if p.GapMs > 0 {
					pause(ctx, time.Duration(p.GapMs)*time.Millisecond)
				}
			}
		})
	}

	sleepUntil(ctx, end)
	close(stopSenders)
	senders.Wait()
	close(stopProducing)
	producers.Wait()
	d.log.Printf("signal_resume: window over (%d resumes counted); draining up to %s", d.rec.opsCount(), d.opts.drain)

	// Drain: every signalled job must complete.
	began := time.Now()
	for time.Since(began) < d.opts.drain && ctx.Err() == nil {
		res.mu.Lock()
		waiting := len(res.waiters)
		res.mu.Unlock()
		_, done := clock.counts()
		sentMu.Lock()
		all := done >= len(sent)
		sentMu.Unlock()
		if waiting == 0 && all {
			break
		}
		pause(ctx, checkEvery)
	}
	drained := time.Since(began)
	close(stopWorkers)
	workers.Wait()
	if ctx.Err() != nil {
		return "", ctx.Err()
	}

	var lost int64
	clock.mu.Lock()
	for id := range sent {
		if _, ok := clock.done[id]; !ok {
			lost++
		}
	}
	clock.mu.Unlock()
	d.rec.addLost(lost)

	// The jobs never signalled (parked, or on their way there) are cancelled: the queue is
	// this run's, nothing else would ever finish them.
	leftover := clock.notDone()
	var cancelled int
	var cancelMu sync.Mutex
	forEach(leftover, 8, func(i int, id string) {
		if sent[id] {
			return
		}
		_, err := unary(ctx, func(ctx context.Context) (*runtimev1.CancelJobResponse, error) {
			return d.admin.rt(i).CancelJob(ctx, &runtimev1.CancelJobRequest{JobId: id, Reason: "perf driver: end of run"})
		})
		if err != nil {
			d.rec.fail("CancelJob (cleanup)", err)
			return
		}
		cancelMu.Lock()
		cancelled++
		cancelMu.Unlock()
	})
	created, done := clock.counts()
	return fmt.Sprintf("queue %s; %d producers, %d workers, %d senders (gap %d ms), parked supply ≤ %d; "+
		"%d jobs created, %d signalled, %d resumed, %d completed in all; drain %.1f s; %d unsignalled jobs cancelled at the end",
		queue, producersN, p.Workers, p.Senders, p.GapMs, supplyCap, created, len(sent), res.resumed, done, drained.Seconds(), cancelled), nil
}

// runSignalJob runs one leased job: the first run waits for the signal (the job parks and
// goes to the senders), the run after the signal finds the wait answered in the ledger and
// completes the job.
func (d *driver) runSignalJob(ctx context.Context, i int, acq *runtimev1.AcquireJobResponse, res *resumes,
	clock *jobClock, parked chan<- string, stop <-chan struct{},
) {
	now := time.Now()
	lease := acq.GetLease()
	jobID, token := lease.GetJobId(), lease.GetFencingToken()
	rt := d.worker.rt(i)
	var waited *runtimev1.ToolCall
	for _, c := range acq.GetToolCalls() {
		if c.GetCallKey() == signalWaitKey {
			waited = c
		}
	}
	if waited != nil {
		if waited.GetToolName() != signalToolName || waited.GetState() != runtimev1.ToolCallState_TOOL_CALL_STATE_SUCCEEDED {
			d.rec.failf("AcquireJob: job %s call %s is %s %s, expected a consumed signal", jobID, signalWaitKey,
				waited.GetToolName(), waited.GetState())
			return
		}
		sentAt, ok := res.arrived(jobID, now)
		if !ok {
			d.rec.failf("AcquireJob: job %s came back with a consumed wait but was never signalled", jobID)
			return
		}
		d.rec.observe(now, now.Sub(sentAt))
		d.completeSignalJob(ctx, rt, jobID, token, waited.GetResult(), clock)
		return
	}

	aw, err := unary(ctx, func(ctx context.Context) (*runtimev1.AwaitSignalResponse, error) {
		return rt.AwaitSignal(ctx, &runtimev1.AwaitSignalRequest{
			JobId: jobID, FencingToken: token, CallKey: signalWaitKey, SignalName: signalName,
			Timeout: durationpb.New(signalTimeout),
		})
	})
	if err != nil {
		d.rec.fail("AwaitSignal", err)
		return
	}
	switch aw.GetOutcome() {
	case runtimev1.AwaitSignalOutcome_AWAIT_SIGNAL_OUTCOME_PARKED:
		select { // does not block: at most supplyCap jobs exist unsent
		case parked <- jobID:
		case <-stop: // left parked; cancelled at the end
		case <-ctx.Done():
		}
	case runtimev1.AwaitSignalOutcome_AWAIT_SIGNAL_OUTCOME_RECEIVED:
		// Only if the signal reached the job before it parked, which the senders never do.
		d.rec.failf("AwaitSignal: job %s received a signal on its first run", jobID)
	default:
		d.rec.failf("AwaitSignal: job %s: outcome %s, expected PARKED (%s)", jobID, aw.GetOutcome(), aw.GetDetail())
	}
}

func (d *driver) completeSignalJob(ctx context.Context, rt runtimev1.RuntimeServiceClient, jobID string, token uint64,
	output []byte, clock *jobClock,
) {
	_, err := unary(ctx, func(ctx context.Context) (*runtimev1.CompleteJobResponse, error) {
		return rt.CompleteJob(ctx, &runtimev1.CompleteJobRequest{JobId: jobID, FencingToken: token, Output: output})
	})
	if err != nil {
		d.rec.fail("CompleteJob", err)
		return
	}
	clock.markDone(jobID, time.Now())
}

// sendAndWait signals a parked job and waits until a worker holds it again.
func (d *driver) sendAndWait(ctx context.Context, i int, jobID string, res *resumes) {
	back := res.expect(jobID, time.Now())
	resp, err := unary(ctx, func(ctx context.Context) (*signalv1.SendSignalResponse, error) {
		return d.admin.sig(i).SendSignal(ctx, &signalv1.SendSignalRequest{
			JobId: jobID, Name: signalName, SignalId: newUUID(), Payload: []byte(`{"go":true}`),
		})
	})
	if err != nil {
		d.rec.fail("SendSignal", err)
		return
	}
	if st := resp.GetSignal().GetState(); st != signalv1.SignalState_SIGNAL_STATE_CONSUMED || resp.GetDuplicate() {
		d.rec.failf("SendSignal: job %s: signal %s (duplicate %v, job %s), expected CONSUMED", jobID, st,
			resp.GetDuplicate(), resp.GetJobState())
	}
	timer := time.NewTimer(resumeTimeout)
	defer timer.Stop()
	select {
	case <-back:
	case <-timer.C:
		d.rec.failf("resume: job %s not acquired within %s of SendSignal", jobID, resumeTimeout)
	case <-ctx.Done():
	}
}
