package e2e

import (
	"context"
	"encoding/json"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	aetheris "github.com/aetheris/aetheris/clients/go"
	runtimev1 "github.com/aetheris/aetheris/gen/go/aetheris/runtime/v1"
	signalv1 "github.com/aetheris/aetheris/gen/go/aetheris/signal/v1"
)

// runWorker runs a worker in this process until stop is called or the test ends; stop waits for
// Run to return, which must be nil once its context ended.
func runWorker(t *testing.T, w *aetheris.Worker) (stop func()) {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- w.Run(ctx) }()
	var once sync.Once
	stop = func() {
		once.Do(func() {
			cancel()
			select {
			case err := <-done:
				if err != nil {
					t.Errorf("Worker.Run returned %v after its context ended", err)
				}
			case <-time.After(15 * time.Second):
				t.Errorf("Worker.Run did not return within 15 s of its context ending")
			}
		})
	}
	t.Cleanup(stop)
	return stop
}

func TestSignalResumesParkedJob(t *testing.T) {
	e := loadEnv(t)
	admin := dial(t, e, e.APIKey)
	queue := unique("go-signal")
	var runs atomic.Int32
	worker := &aetheris.Worker{Client: dial(t, e, e.WorkerKey), Queue: queue, LeaseDuration: 10 * time.Second, PollWait: 5 * time.Second}
	worker.Register("go-approval", func(ctx context.Context, job *aetheris.JobContext) ([]byte, error) {
		runs.Add(1)
		approval, err := job.AwaitSignal("approval", time.Minute)
		if err != nil {
			return nil, err // ErrJobParked on the first run: the worker writes nothing more
		}
		return json.Marshal(map[string]any{
			"approval": approval.Payload, "signal_id": approval.SignalID, "name": approval.Name,
			"timed_out": approval.TimedOut, "attempt": job.Attempt,
		})
	})
	runWorker(t, worker)
	job := createJob(t, admin, "go-approval", queue, map[string]string{"order": "B-2"})

	parked := waitJob(t, admin, job.GetId(), 10*time.Second, "PARKED", inState(runtimev1.JobState_JOB_STATE_PARKED))
	if parked.GetWaitingFor().GetSignalName() != "approval" || parked.GetWaitingFor().GetDeadline() == nil {
		t.Fatalf("parked job waits for %v, want signal approval with a deadline", parked.GetWaitingFor())
	}
	if parked.GetLeaseOwner() != "" || parked.GetLeaseExpiresAt() != nil {
		t.Fatalf("a parked job holds no lease, got owner %q until %v", parked.GetLeaseOwner(), parked.GetLeaseExpiresAt())
	}
	if runs.Load() != 1 {
		t.Fatalf("handler ran %d times before the signal, want 1", runs.Load())
	}

	signalID := aetheris.NewID()
	payload := []byte(`{"approved": true, "by": "ada", "amount": 1500}`)
	send := func(body []byte) (*signalv1.SendSignalResponse, error) {
		return admin.Signal.SendSignal(ctxFor(t, 10*time.Second), &signalv1.SendSignalRequest{
			JobId: job.GetId(), Name: "approval", Payload: body, SignalId: signalID,
		})
	}
	sent, err := send(payload)
	if err != nil {
		t.Fatalf("SendSignal: %v", err)
	}
	if sent.GetDuplicate() || sent.GetSignal().GetId() != signalID ||
		sent.GetSignal().GetState() != signalv1.SignalState_SIGNAL_STATE_CONSUMED || sent.GetSignal().GetConsumedBySeq() == 0 ||
		sent.GetJobState() != runtimev1.JobState_JOB_STATE_PENDING {
		t.Fatalf("first SendSignal: duplicate=%v signal=%v job_state=%s; want a new signal consumed at once, job PENDING",
			sent.GetDuplicate(), sent.GetSignal(), sent.GetJobState())
	}
	// The same signal_id again (a retry): deduplicated, the stored signal is returned, nothing is written.
	again, err := send(payload)
	if err != nil {
		t.Fatalf("SendSignal retry: %v", err)
	}
	if !again.GetDuplicate() || again.GetSignal().GetId() != signalID ||
		again.GetSignal().GetConsumedBySeq() != sent.GetSignal().GetConsumedBySeq() ||
		string(again.GetSignal().GetPayload()) != string(sent.GetSignal().GetPayload()) {
		t.Fatalf("retried SendSignal: duplicate=%v signal=%v; want the original signal with duplicate=true", again.GetDuplicate(), again.GetSignal())
	}
	// The same id with another payload is a conflict, not a second signal.
	if _, err := send([]byte(`{"approved": false}`)); !aetheris.IsIdempotencyConflict(err) {
		t.Fatalf("SendSignal with a reused id and another payload: %v, want FAILED_PRECONDITION/IDEMPOTENCY_CONFLICT", err)
	}

	done := waitJob(t, admin, job.GetId(), 10*time.Second, "finished", inState(
		runtimev1.JobState_JOB_STATE_COMPLETED, runtimev1.JobState_JOB_STATE_FAILED, runtimev1.JobState_JOB_STATE_CANCELLED))
	if done.GetState() != runtimev1.JobState_JOB_STATE_COMPLETED {
		t.Fatalf("job ended %s: %v", done.GetState(), done.GetLastError())
	}
	var output struct {
		Approval json.RawMessage `json:"approval"`
		SignalID string          `json:"signal_id"`
		Name     string          `json:"name"`
		TimedOut bool            `json:"timed_out"`
		Attempt  int             `json:"attempt"`
	}
	if err := json.Unmarshal(done.GetOutput(), &output); err != nil {
		t.Fatalf("output %s: %v", done.GetOutput(), err)
	}
	if canonical(t, output.Approval) != canonical(t, payload) || output.SignalID != signalID || output.Name != "approval" || output.TimedOut {
		t.Fatalf("output %s does not carry the signal %s (%s)", done.GetOutput(), signalID, payload)
	}
	// Parking spends no attempt; the handler ran twice (parked, then resumed by replay).
	if done.GetAttempt() != 1 || output.Attempt != 1 || runs.Load() != 2 {
		t.Fatalf("attempt %d (output %d), handler runs %d; want attempt 1 and 2 runs", done.GetAttempt(), output.Attempt, runs.Load())
	}

	listed, err := admin.Signal.ListSignals(ctxFor(t, 10*time.Second), &signalv1.ListSignalsRequest{JobId: job.GetId()})
	if err != nil {
		t.Fatal(err)
	}
	if len(listed.GetSignals()) != 1 || listed.GetSignals()[0].GetId() != signalID {
		t.Fatalf("ListSignals: %v; want exactly the one signal", listed.GetSignals())
	}
	events := readAll(t, admin, job.GetId(), 100)
	counts := countTypes(events)
	if counts["aetheris.signal.consumed"] != 1 || counts["aetheris.job.parked"] != 1 || counts["aetheris.job.completed"] != 1 {
		t.Fatalf("unexpected history: %s", describe(events))
	}
	for _, event := range events {
		if event.GetType() == "aetheris.signal.consumed" && event.GetSeq() != sent.GetSignal().GetConsumedBySeq() {
			t.Fatalf("signal consumed at seq %d, SendSignal said %d", event.GetSeq(), sent.GetSignal().GetConsumedBySeq())
		}
	}
}
