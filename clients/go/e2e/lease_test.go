package e2e

import (
	"context"
	"errors"
	"sync/atomic"
	"testing"
	"time"

	aetheris "github.com/aetheris/aetheris/clients/go"
	runtimev1 "github.com/aetheris/aetheris/gen/go/aetheris/runtime/v1"
)

// A fenced-off attempt stops: the heartbeat's LEASE_LOST cancels the handler's context with
// ErrLeaseLost, later tool calls run nothing, and the worker writes nothing more.
func TestWorkerStopsOnLeaseLost(t *testing.T) {
	e := loadEnv(t)
	admin := dial(t, e, e.APIKey)
	queue := unique("go-lease")
	started := make(chan struct{})
	type outcome struct {
		cause, toolErr error
	}
	observed := make(chan outcome, 1)
	var toolRuns atomic.Int32
	worker := &aetheris.Worker{Client: dial(t, e, e.WorkerKey), Queue: queue, LeaseDuration: time.Second, PollWait: 5 * time.Second}
	worker.Register("go-lease", func(ctx context.Context, job *aetheris.JobContext) ([]byte, error) {
		close(started)
		<-ctx.Done()
		_, toolErr := job.Tool("after-loss", nil, func(string) (any, error) {
			toolRuns.Add(1)
			return true, nil
		})
		observed <- outcome{context.Cause(ctx), toolErr}
		return []byte(`"finished anyway"`), nil // must not be written
	})
	stopWorker := runWorker(t, worker)
	job := createJob(t, admin, "go-lease", queue, nil)
	select {
	case <-started:
	case <-time.After(10 * time.Second):
		t.Fatal("the handler never started")
	}
	if _, err := admin.Runtime.CancelJob(ctxFor(t, 10*time.Second), &runtimev1.CancelJobRequest{JobId: job.GetId(), Reason: "fence it"}); err != nil {
		t.Fatal(err)
	}
	var got outcome
	select {
	case got = <-observed:
	case <-time.After(10 * time.Second):
		t.Fatal("the handler's context was not cancelled after the job was cancelled (heartbeats every 333 ms)")
	}
	if !errors.Is(got.cause, aetheris.ErrLeaseLost) || !errors.Is(got.toolErr, aetheris.ErrLeaseLost) || toolRuns.Load() != 0 {
		t.Fatalf("cause %v, tool error %v, tool runs %d; want ErrLeaseLost twice and no run", got.cause, got.toolErr, toolRuns.Load())
	}
	// Run returns once the attempt is over (its final write, if any, made): then nothing may
	// follow the cancellation.
	stopWorker()
	final := getJob(t, admin, job.GetId())
	events := readAll(t, admin, job.GetId(), 100)
	if final.GetState() != runtimev1.JobState_JOB_STATE_CANCELLED || len(final.GetOutput()) != 0 ||
		events[len(events)-1].GetType() != "aetheris.job.cancelled" {
		t.Fatalf("after the lease was lost: state %s output %q history %s", final.GetState(), final.GetOutput(), describe(events))
	}
}
