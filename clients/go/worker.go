package aetheris

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"regexp"
	"sync"
	"time"

	runtimev1 "github.com/aetheris/aetheris/gen/go/aetheris/runtime/v1"
	"google.golang.org/grpc/codes"
	"google.golang.org/protobuf/types/known/durationpb"
)

// Handler runs one attempt of a job. It returns the job's output as JSON bytes (nil means JSON
// null), or an error that fails the attempt (retried under the job's retry policy; wrap it with
// NonRetryable to fail the job at once).
//
// On every attempt the handler runs from the start: calls of JobContext.Tool and
// JobContext.AwaitSignal already recorded by an earlier attempt are answered from the ledger
// without running again, so the handler must make the same calls in the same order. ctx is
// cancelled when the lease is lost (context.Cause(ctx) is then ErrLeaseLost) or the worker
// shuts down (ErrWorkerShutdown).
type Handler func(ctx context.Context, job *JobContext) (output []byte, err error)

var namePattern = regexp.MustCompile(`^[A-Za-z0-9._:/-]{1,128}$`)

// rpcTimeout bounds each worker RPC, the final CompleteJob / FailJob / ReleaseJob included.
const rpcTimeout = 10 * time.Second

// Worker polls a queue and runs the registered handlers, mirroring the TypeScript SDK
// (src/worker): AcquireJob long-polls, heartbeats extend the lease in the background, tool calls
// go through the ledger (at most once), and the attempt ends with exactly one of CompleteJob,
// FailJob or ReleaseJob — or with nothing once the lease was lost or the job parked.
//
// Set the fields, Register handlers, then Run. A Worker runs once.
type Worker struct {
	// Client to use; its API key needs the worker role (or admin). Required.
	Client *Client
	// Queue to take jobs from; default `default`.
	Queue string
	// A stable, unique name of this worker process (1..128 characters); default
	// `<hostname>:<pid>:<random>`.
	WorkerID string
	// Lease length (1s..10m); default 30s. A crashed worker's job is retried after it expires.
	LeaseDuration time.Duration
	// How often the lease is extended; default LeaseDuration/3.
	HeartbeatInterval time.Duration
	// Long-poll time of AcquireJob (0..60s); default 20s.
	PollWait time.Duration
	// Jobs run at once; default 1.
	Concurrency int
	// Capabilities offered to jobs that require some.
	Capabilities []string
	// Logger; default warnings and errors as text on stderr.
	Logger *slog.Logger

	mu       sync.Mutex
	handlers map[string]Handler
	started  bool
}

// ErrWorkerShutdown is the cause of a handler's cancelled context when Run's context ends: the
// attempt's job is released (ReleaseJob, no attempt spent) unless the handler still completes.
var ErrWorkerShutdown = errors.New("aetheris: the worker is shutting down")

// Register sets the handler of a job type. It panics on an invalid or duplicate job type, or
// after Run started.
func (w *Worker) Register(jobType string, handler Handler) {
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.started {
		panic("aetheris: Worker.Register called after Run")
	}
	if !namePattern.MatchString(jobType) {
		panic(fmt.Sprintf("aetheris: job type must be 1..128 characters of [A-Za-z0-9._:/-]: %q", jobType))
	}
	if handler == nil {
		panic("aetheris: Worker.Register: nil handler")
	}
	if w.handlers == nil {
		w.handlers = map[string]Handler{}
	}
	if _, dup := w.handlers[jobType]; dup {
		panic(fmt.Sprintf("aetheris: a handler for job type %q is already registered", jobType))
	}
	w.handlers[jobType] = handler
}

// Run polls and runs jobs until ctx ends, then waits for the running handlers (their context is
// cancelled with ErrWorkerShutdown) and returns nil. It returns an error at once for an invalid
// configuration, and after draining when the server refuses the worker for good
// (UNAUTHENTICATED, PERMISSION_DENIED, INVALID_ARGUMENT, UNIMPLEMENTED from AcquireJob).
func (w *Worker) Run(ctx context.Context) error {
	if err := w.start(); err != nil {
		return err
	}
	pollCtx, stop := context.WithCancelCause(ctx)
	defer stop(nil)
	var wg sync.WaitGroup
	var fatalOnce sync.Once
	var fatal error
	for range w.Concurrency {
		wg.Go(func() {
			if err := w.poll(pollCtx); err != nil {
				fatalOnce.Do(func() { fatal = err })
				stop(err)
			}
		})
	}
	wg.Wait()
	return fatal
}

func (w *Worker) start() error {
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.started {
		return errors.New("aetheris: Worker.Run called twice")
	}
	w.started = true
	if w.Client == nil {
		return errors.New("aetheris: Worker.Client is required")
	}
	if len(w.handlers) == 0 {
		return errors.New("aetheris: register at least one handler before Run")
	}
	if w.Queue == "" {
		w.Queue = "default"
	}
	if !namePattern.MatchString(w.Queue) {
		return fmt.Errorf("aetheris: Worker.Queue must be 1..128 characters of [A-Za-z0-9._:/-]: %q", w.Queue)
	}
	if w.WorkerID == "" {
		host, _ := os.Hostname()
		var suffix [4]byte
		_, _ = rand.Read(suffix[:])
		w.WorkerID = fmt.Sprintf("%s:%d:%s", host, os.Getpid(), hex.EncodeToString(suffix[:]))
	}
	if len(w.WorkerID) > 128 {
		return fmt.Errorf("aetheris: Worker.WorkerID must be 1..128 characters")
	}
	if w.LeaseDuration == 0 {
		w.LeaseDuration = 30 * time.Second
	}
	if w.LeaseDuration < time.Second || w.LeaseDuration > 10*time.Minute {
		return fmt.Errorf("aetheris: Worker.LeaseDuration must be within 1s..10m, got %s", w.LeaseDuration)
	}
	if w.HeartbeatInterval == 0 {
		w.HeartbeatInterval = w.LeaseDuration / 3
	}
	if w.HeartbeatInterval <= 0 || w.HeartbeatInterval >= w.LeaseDuration {
		return fmt.Errorf("aetheris: Worker.HeartbeatInterval must be > 0 and below LeaseDuration")
	}
	if w.PollWait == 0 {
		w.PollWait = 20 * time.Second
	}
	if w.PollWait < 0 || w.PollWait > time.Minute {
		return fmt.Errorf("aetheris: Worker.PollWait must be within 0..60s")
	}
	if w.Concurrency == 0 {
		w.Concurrency = 1
	}
	if w.Concurrency < 0 {
		return fmt.Errorf("aetheris: Worker.Concurrency must be >= 1")
	}
	if w.Logger == nil {
		w.Logger = slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelWarn}))
	}
	return nil
}

// poll is one slot: acquire a job, run it, repeat. It returns an error only when the server
// refuses the worker for good.
func (w *Worker) poll(ctx context.Context) error {
	jobTypes := make([]string, 0, len(w.handlers))
	for jobType := range w.handlers {
		jobTypes = append(jobTypes, jobType)
	}
	request := &runtimev1.AcquireJobRequest{
		WorkerId:      w.WorkerID,
		Queues:        []string{w.Queue},
		JobTypes:      jobTypes,
		Capabilities:  w.Capabilities,
		Wait:          durationpb.New(w.PollWait),
		LeaseDuration: durationpb.New(w.LeaseDuration),
	}
	failures := 0
	for ctx.Err() == nil {
		callCtx, cancel := context.WithTimeout(ctx, w.PollWait+rpcTimeout)
		response, err := w.Client.Runtime.AcquireJob(callCtx, request)
		cancel()
		if err != nil {
			if ctx.Err() != nil {
				return nil
			}
			switch CodeOf(err) {
			case codes.Unauthenticated, codes.PermissionDenied, codes.InvalidArgument, codes.Unimplemented:
				w.Logger.Error("the server refused this worker; stopping", "worker_id", w.WorkerID, "err", err)
				return err
			}
			wait := RetryPolicy{InitialBackoff: 200 * time.Millisecond, MaxBackoff: 5 * time.Second, Multiplier: 2}.Backoff(failures)
			failures++
			w.Logger.Warn("AcquireJob failed; retrying", "worker_id", w.WorkerID, "err", err, "retry_in", wait)
			select {
			case <-ctx.Done():
				return nil
			case <-time.After(wait):
			}
			continue
		}
		failures = 0
		receivedAt := time.Now()
		if response.GetLease() == nil {
			continue
		}
		if ctx.Err() != nil {
			// Won while shutting down: give it back so it does not wait for the lease to expire.
			w.release(context.WithoutCancel(ctx), response.GetLease(), 0, "worker shutting down")
			return nil
		}
		w.runAttempt(ctx, response, receivedAt)
	}
	return nil
}

// runAttempt runs one leased attempt to its single final write (or none when halted).
func (w *Worker) runAttempt(workerCtx context.Context, acquired *runtimev1.AcquireJobResponse, receivedAt time.Time) {
	lease := acquired.GetLease()
	job := acquired.GetJob()
	log := w.Logger.With("worker_id", w.WorkerID, "job_id", lease.GetJobId(), "attempt", lease.GetAttempt())
	handler := w.handlers[job.GetJobType()]
	if handler == nil {
		log.Warn("leased a job this worker has no handler for; releasing it", "job_type", job.GetJobType())
		w.release(context.WithoutCancel(workerCtx), lease, 5*time.Second, "no handler registered on this worker")
		return
	}

	// The handler outlives Run's context only until it notices ErrWorkerShutdown.
	handlerCtx, cancel := context.WithCancelCause(context.WithoutCancel(workerCtx))
	defer cancel(nil)
	jc := newJobContext(handlerCtx, cancel, w.Client, acquired, log)
	stopShutdown := context.AfterFunc(workerCtx, func() {
		jc.shutdown.Store(true)
		cancel(ErrWorkerShutdown)
	})
	defer stopShutdown()

	heartbeatsDone := make(chan struct{})
	stopHeartbeats := make(chan struct{})
	go func() {
		defer close(heartbeatsDone)
		w.heartbeat(jc, receivedAt.Add(w.LeaseDuration), stopHeartbeats)
	}()
	output, err := runHandler(handlerCtx, handler, jc)
	close(stopHeartbeats)
	<-heartbeatsDone

	if halted := jc.haltReason(); halted != nil {
		log.Info("attempt ended without a final write", "reason", halted)
		return
	}
	writeCtx, done := context.WithTimeout(context.WithoutCancel(workerCtx), rpcTimeout)
	defer done()
	var final error
	var rpc string
	switch {
	case jc.nondeterminism() != nil:
		rpc = "FailJob"
		final = w.fail(writeCtx, lease, jc.nondeterminism(), true)
	case err == nil:
		rpc = "CompleteJob"
		if len(output) == 0 {
			output = []byte("null")
		}
		_, final = w.Client.Runtime.CompleteJob(writeCtx, &runtimev1.CompleteJobRequest{
			JobId: lease.GetJobId(), FencingToken: lease.GetFencingToken(), Output: output,
		})
	case jc.shutdown.Load():
		// Not the job's fault: give it back without spending an attempt.
		rpc = "ReleaseJob"
		final = w.release(writeCtx, lease, 0, "worker shutdown")
	default:
		rpc = "FailJob"
		final = w.fail(writeCtx, lease, err, IsNonRetryable(err))
	}
	jc.halt(errors.New("the attempt is over"))
	if final != nil {
		if IsLeaseLost(final) {
			log.Warn("final write refused: the lease was lost", "rpc", rpc, "err", final)
		} else {
			log.Error("final write failed; the lease will expire and the server retries", "rpc", rpc, "err", final)
		}
		return
	}
	log.Info("attempt finished", "rpc", rpc)
}

// runHandler calls the handler, turning a panic into an error.
func runHandler(ctx context.Context, handler Handler, jc *JobContext) (output []byte, err error) {
	defer func() {
		if recovered := recover(); recovered != nil {
			err = fmt.Errorf("aetheris: handler panicked: %v", recovered)
		}
	}()
	output, err = handler(ctx, jc)
	if err == nil && len(output) > 0 && !json.Valid(output) {
		err = NonRetryable(fmt.Errorf("aetheris: the handler output is not JSON: %.100q", output))
	}
	return output, err
}

// heartbeat extends the lease every HeartbeatInterval until stop; a LEASE_LOST answer, or no
// successful heartbeat before the lease would have expired, halts the attempt.
func (w *Worker) heartbeat(jc *JobContext, expiresAt time.Time, stop <-chan struct{}) {
	ticker := time.NewTicker(w.HeartbeatInterval)
	defer ticker.Stop()
	for {
		select {
		case <-stop:
			return
		case <-jc.halted:
			return
		case <-ticker.C:
		}
		sentAt := time.Now()
		ctx, cancel := context.WithDeadline(context.Background(), expiresAt)
		_, err := w.Client.Runtime.Heartbeat(ctx, &runtimev1.HeartbeatRequest{
			JobId:         jc.JobID,
			FencingToken:  jc.FencingToken,
			LeaseDuration: durationpb.New(w.LeaseDuration),
		})
		cancel()
		switch {
		case err == nil:
			// Measured from when the request left: the server's clock may differ from ours.
			expiresAt = sentAt.Add(w.LeaseDuration)
		case isFenced(err):
			jc.loseLease(err)
			return
		case !time.Now().Before(expiresAt):
			jc.loseLease(fmt.Errorf("no heartbeat reached the server before the lease expired: %w", err))
			return
		default:
			jc.log.Warn("heartbeat failed; retrying at the next interval", "err", err)
		}
	}
}

func (w *Worker) fail(ctx context.Context, lease *runtimev1.Lease, cause error, nonRetryable bool) error {
	reason := "HANDLER_ERROR"
	var nondeterminism *NondeterminismError
	var toolFailed *ToolFailedError
	switch {
	case errors.As(cause, &nondeterminism):
		reason = "NONDETERMINISM"
	case errors.As(cause, &toolFailed):
		reason = "TOOL_FAILED"
	}
	_, err := w.Client.Runtime.FailJob(ctx, &runtimev1.FailJobRequest{
		JobId:        lease.GetJobId(),
		FencingToken: lease.GetFencingToken(),
		Error:        &runtimev1.JobError{Reason: reason, Message: truncate(cause.Error(), 4000)},
		NonRetryable: nonRetryable,
	})
	return err
}

func (w *Worker) release(ctx context.Context, lease *runtimev1.Lease, delay time.Duration, reason string) error {
	ctx, cancel := context.WithTimeout(ctx, rpcTimeout)
	defer cancel()
	_, err := w.Client.Runtime.ReleaseJob(ctx, &runtimev1.ReleaseJobRequest{
		JobId: lease.GetJobId(), FencingToken: lease.GetFencingToken(), Delay: durationpb.New(delay), Reason: reason,
	})
	if err != nil {
		w.Logger.Warn("could not release a lease", "job_id", lease.GetJobId(), "err", err)
	}
	return err
}

// isFenced: the server refused the fencing token (LEASE_LOST) or the job is over.
func isFenced(err error) bool {
	if CodeOf(err) != codes.FailedPrecondition {
		return false
	}
	reason := Reason(err)
	return reason == ReasonLeaseLost || reason == ReasonJobTerminal
}

// truncate cuts s to at most n bytes on a rune boundary.
func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	for n > 0 && (s[n]&0xC0) == 0x80 {
		n--
	}
	return s[:n]
}
