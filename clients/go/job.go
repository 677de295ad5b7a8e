package aetheris

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	runtimev1 "github.com/aetheris/aetheris/gen/go/aetheris/runtime/v1"
	"google.golang.org/protobuf/types/known/durationpb"
)

// signalTool is the ledger's tool name of a signal wait (recorded by AwaitSignal).
const signalTool = "aetheris.signal"

var (
	// ErrLeaseLost: the server refused the attempt's fencing token (the lease expired and the job
	// was retried, or it was cancelled), or no heartbeat reached it before the lease expired.
	// The handler's context is cancelled with it; the worker writes nothing more for the attempt.
	ErrLeaseLost = errors.New("aetheris: the lease was lost")
	// ErrJobParked: the job is parked — AwaitSignal found no signal yet, or a tool call that is
	// not idempotent is in doubt and waits for a person (ResolveInDoubt). The lease is over:
	// return the error from the handler; the worker writes nothing more, and the job runs again
	// (replaying its history) when it is resumed.
	ErrJobParked = errors.New("aetheris: the job is parked")
)

// JobContext is one leased attempt of a job, handed to its Handler. Its methods are safe for
// concurrent use, but call positions are taken in call order: make durable calls in a
// deterministic order.
type JobContext struct {
	// The job's id, type and queue.
	JobID, JobType, Queue string
	// The attempt this lease runs (1-based).
	Attempt uint32
	// The job's input (canonical JSON; `null` when none was given).
	Input json.RawMessage
	// The lease's fencing token: every write of the attempt carries it.
	FencingToken uint64
	// The job as leased, and its history at the time.
	Job     *runtimev1.Job
	History []*runtimev1.Event

	ctx      context.Context
	cancel   context.CancelCauseFunc
	client   *Client
	log      *slog.Logger
	recorded map[string]*runtimev1.ToolCall
	shutdown atomic.Bool
	replayed atomic.Int32

	mu             sync.Mutex
	counter        int
	halted         chan struct{}
	haltErr        error
	nondeterminErr error
}

func newJobContext(ctx context.Context, cancel context.CancelCauseFunc, client *Client, acquired *runtimev1.AcquireJobResponse, log *slog.Logger) *JobContext {
	job := acquired.GetJob()
	input := json.RawMessage(job.GetInput())
	if len(input) == 0 {
		input = json.RawMessage("null")
	}
	recorded := make(map[string]*runtimev1.ToolCall, len(acquired.GetToolCalls()))
	for _, call := range acquired.GetToolCalls() {
		recorded[call.GetCallKey()] = call
	}
	return &JobContext{
		JobID:        acquired.GetLease().GetJobId(),
		JobType:      job.GetJobType(),
		Queue:        job.GetQueue(),
		Attempt:      acquired.GetLease().GetAttempt(),
		Input:        input,
		FencingToken: acquired.GetLease().GetFencingToken(),
		Job:          job,
		History:      acquired.GetHistory(),
		ctx:          ctx,
		cancel:       cancel,
		client:       client,
		log:          log,
		recorded:     recorded,
		halted:       make(chan struct{}),
	}
}

// Context is the handler's context (also passed to the Handler).
func (j *JobContext) Context() context.Context { return j.ctx }

// ReplayedCalls counts the durable calls of this attempt answered from the ledger without
// running (results recorded by earlier attempts).
func (j *JobContext) ReplayedCalls() int { return int(j.replayed.Load()) }

// ToolOption configures one Tool call.
type ToolOption func(*toolOptions)

type toolOptions struct{ idempotent bool }

// Idempotent declares that the tool may safely run again with the same idempotency key: when an
// earlier attempt died during the call (in doubt), it runs again instead of parking the job for
// a person.
func Idempotent() ToolOption { return func(o *toolOptions) { o.idempotent = true } }

// Tool runs a tool at most once per job, through the tool call ledger. The call takes the next
// position of the handler as its key ("1", "2", …); input is its arguments (any JSON value; its
// RFC 8785 digest is recorded, so a replay with other arguments is a NondeterminismError).
//
// When the ledger holds the call's result from an earlier attempt, fn is not run and the
// recorded result is returned. Otherwise BeginToolCall allows the run, fn is called with the
// call's external idempotency key (`<job id>:<call key>`, the same on every attempt: hand it to
// the system the tool calls), and its result — encoded as JSON — is recorded with
// CompleteToolCall before Tool returns it, exactly as a later replay would.
//
// Errors: fn's error is recorded and returned as *ToolFailedError; ErrJobParked when the call is
// in doubt and not Idempotent; ErrLeaseLost (wrapped) once the lease is gone; a
// *NondeterminismError when the history recorded another call at this position.
func (j *JobContext) Tool(name string, input any, fn func(idempotencyKey string) (any, error), opts ...ToolOption) (json.RawMessage, error) {
	callKey := j.nextKey()
	var options toolOptions
	for _, opt := range opts {
		opt(&options)
	}
	if err := j.active(); err != nil {
		return nil, err
	}
	if strings.HasPrefix(name, "aetheris.") {
		return nil, fmt.Errorf("aetheris: tool names starting with \"aetheris.\" are reserved: %s", name)
	}
	if !namePattern.MatchString(name) {
		return nil, fmt.Errorf("aetheris: tool names are 1..128 characters of [A-Za-z0-9._:/-]: %q", name)
	}
	args, err := CanonicalJSON(input)
	if err != nil {
		return nil, fmt.Errorf("aetheris: the arguments of tool %q are not JSON: %w", name, err)
	}
	digest := sha256.Sum256(args)

	if recorded := j.recorded[callKey]; recorded != nil {
		if recorded.GetToolName() != name {
			return nil, j.diverged(callKey, name, recorded.GetToolName(), fmt.Sprintf("recorded tool %q", recorded.GetToolName()))
		}
		if !bytes.Equal(recorded.GetArgsDigest(), digest[:]) {
			return nil, j.diverged(callKey, name, recorded.GetToolName(), "same tool, different arguments (args digest differs)")
		}
		state := recorded.GetState()
		if state == runtimev1.ToolCallState_TOOL_CALL_STATE_SUCCEEDED ||
			(state == runtimev1.ToolCallState_TOOL_CALL_STATE_RESOLVED && len(recorded.GetResult()) > 0) {
			j.replayed.Add(1)
			return jsonOrNull(recorded.GetResult()), nil
		}
	}

	ctx, cancel := context.WithTimeout(j.ctx, rpcTimeout)
	answer, err := j.client.Runtime.BeginToolCall(ctx, &runtimev1.BeginToolCallRequest{
		JobId:        j.JobID,
		FencingToken: j.FencingToken,
		CallKey:      callKey,
		ToolName:     name,
		ArgsDigest:   digest[:],
		Idempotent:   options.idempotent,
	})
	cancel()
	if err != nil {
		return nil, j.rpcFailed(err)
	}
	call := answer.GetCall()
	switch answer.GetDecision() {
	case runtimev1.ToolCallDecision_TOOL_CALL_DECISION_EXECUTE:
		return j.execute(callKey, name, call.GetExternalIdempotencyKey(), fn)
	case runtimev1.ToolCallDecision_TOOL_CALL_DECISION_RECORDED:
		j.replayed.Add(1)
		if call.GetError() != nil && call.GetState() != runtimev1.ToolCallState_TOOL_CALL_STATE_SUCCEEDED {
			reason := call.GetError().GetReason()
			if reason == "" {
				reason = "TOOL_ERROR"
			}
			return nil, &ToolFailedError{JobID: j.JobID, CallKey: callKey, Tool: name, Reason: reason, Message: call.GetError().GetMessage()}
		}
		return jsonOrNull(call.GetResult()), nil
	case runtimev1.ToolCallDecision_TOOL_CALL_DECISION_IN_DOUBT:
		if options.idempotent {
			// The server re-armed the call for this lease: run it again with the same key.
			return j.execute(callKey, name, call.GetExternalIdempotencyKey(), fn)
		}
		j.log.Warn("tool call in doubt: the job is parked for a person", "call_key", callKey, "tool", name)
		err := fmt.Errorf("%w: tool %q (call #%s) may or may not have run in an earlier attempt and is not idempotent; "+
			"it waits for a decision (SignalService/ResolveInDoubt)", ErrJobParked, name, callKey)
		j.halt(err)
		return nil, err
	case runtimev1.ToolCallDecision_TOOL_CALL_DECISION_NONDETERMINISM:
		detail := answer.GetDetail()
		if detail == "" {
			detail = "the server reported a divergence"
		}
		return nil, j.diverged(callKey, name, "", detail)
	default:
		return nil, fmt.Errorf("aetheris: BeginToolCall answered %s for call #%s; this client does not know that decision", answer.GetDecision(), callKey)
	}
}

func (j *JobContext) execute(callKey, name, idempotencyKey string, fn func(string) (any, error)) (json.RawMessage, error) {
	if idempotencyKey == "" {
		idempotencyKey = j.JobID + ":" + callKey
	}
	value, toolErr := callTool(fn, idempotencyKey)
	// After a lost lease nothing is recorded: the stop reason wins over the tool's outcome. A
	// worker shutdown does not stop the recording: the tool ran, its outcome must not be lost.
	if err := j.haltReason(); err != nil {
		return nil, err
	}
	ctx, cancel := context.WithTimeout(context.WithoutCancel(j.ctx), rpcTimeout)
	defer cancel()
	if toolErr != nil {
		message := truncate(toolErr.Error(), 4000)
		_, err := j.client.Runtime.CompleteToolCall(ctx, &runtimev1.CompleteToolCallRequest{
			JobId: j.JobID, FencingToken: j.FencingToken, CallKey: callKey,
			Outcome: &runtimev1.CompleteToolCallRequest_Error{Error: &runtimev1.JobError{Reason: "TOOL_ERROR", Message: message}},
		})
		if err != nil {
			return nil, j.rpcFailed(err)
		}
		return nil, &ToolFailedError{JobID: j.JobID, CallKey: callKey, Tool: name, Reason: "TOOL_ERROR", Message: message,
			NonRetryable: IsNonRetryable(toolErr), Err: toolErr}
	}
	result, err := CanonicalJSON(value)
	if err != nil {
		// The tool ran but its result cannot be recorded: leave the call STARTED (in doubt on a
		// later attempt) rather than record a failure that would let it run again.
		return nil, &ToolFailedError{JobID: j.JobID, CallKey: callKey, Tool: name, Reason: "RESULT_NOT_JSON",
			Message: err.Error(), NonRetryable: true, Err: err}
	}
	answer, err := j.client.Runtime.CompleteToolCall(ctx, &runtimev1.CompleteToolCallRequest{
		JobId: j.JobID, FencingToken: j.FencingToken, CallKey: callKey,
		Outcome: &runtimev1.CompleteToolCallRequest_Result{Result: result},
	})
	if err != nil {
		return nil, j.rpcFailed(err)
	}
	// What the ledger recorded: byte for byte what a replay returns.
	if recorded := answer.GetCall().GetResult(); len(recorded) > 0 {
		return recorded, nil
	}
	return result, nil
}

// callTool runs fn, turning a panic into an error.
func callTool(fn func(string) (any, error), key string) (value any, err error) {
	defer func() {
		if recovered := recover(); recovered != nil {
			err = fmt.Errorf("tool panicked: %v", recovered)
		}
	}()
	return fn(key)
}

// SignalResult is what AwaitSignal returns.
type SignalResult struct {
	// The deadline passed before a signal came.
	TimedOut bool
	// The signal's name.
	Name string
	// The signal's payload (canonical JSON); nil when TimedOut.
	Payload json.RawMessage
	// The signal's id (SendSignal.signal_id); empty when TimedOut.
	SignalID string
}

// AwaitSignal waits for a signal named name at the next call position. It consumes the oldest
// pending signal of that name, or returns TimedOut once timeout (0: none) has passed since the
// first wait at this position, or — when no signal is there yet — parks the job and returns
// ErrJobParked: return it from the handler; the job resumes on another run when the signal is
// sent (SignalService/SendSignal) or the deadline passes, and the replayed wait returns the
// signal.
func (j *JobContext) AwaitSignal(name string, timeout time.Duration) (*SignalResult, error) {
	callKey := j.nextKey()
	if err := j.active(); err != nil {
		return nil, err
	}
	if !namePattern.MatchString(name) {
		return nil, fmt.Errorf("aetheris: signal names are 1..128 characters of [A-Za-z0-9._:/-]: %q", name)
	}
	if timeout < 0 {
		return nil, fmt.Errorf("aetheris: AwaitSignal timeout must be >= 0")
	}
	// What the server records as the wait's args digest: SHA-256 of canonical {"name":…}.
	args, err := CanonicalJSON(map[string]string{"name": name})
	if err != nil {
		return nil, err
	}
	digest := sha256.Sum256(args)
	if recorded := j.recorded[callKey]; recorded != nil {
		if recorded.GetToolName() != signalTool {
			return nil, j.diverged(callKey, signalTool, recorded.GetToolName(),
				fmt.Sprintf("the handler waits for signal %q where the history recorded tool %q", name, recorded.GetToolName()))
		}
		if !bytes.Equal(recorded.GetArgsDigest(), digest[:]) {
			return nil, j.diverged(callKey, signalTool, recorded.GetToolName(), fmt.Sprintf("a wait for another signal name than %q", name))
		}
		if recorded.GetState() == runtimev1.ToolCallState_TOOL_CALL_STATE_SUCCEEDED {
			j.replayed.Add(1)
			return signalResult(name, recorded.GetResult())
		}
		// STARTED: the job parked here on an earlier run; ask the server what happened since.
	}
	request := &runtimev1.AwaitSignalRequest{JobId: j.JobID, FencingToken: j.FencingToken, CallKey: callKey, SignalName: name}
	if timeout > 0 {
		request.Timeout = durationpb.New(timeout)
	}
	ctx, cancel := context.WithTimeout(j.ctx, rpcTimeout)
	answer, err := j.client.Runtime.AwaitSignal(ctx, request)
	cancel()
	if err != nil {
		return nil, j.rpcFailed(err)
	}
	switch answer.GetOutcome() {
	case runtimev1.AwaitSignalOutcome_AWAIT_SIGNAL_OUTCOME_RECEIVED, runtimev1.AwaitSignalOutcome_AWAIT_SIGNAL_OUTCOME_TIMED_OUT:
		return signalResult(name, answer.GetCall().GetResult())
	case runtimev1.AwaitSignalOutcome_AWAIT_SIGNAL_OUTCOME_PARKED:
		err := fmt.Errorf("%w: waiting for signal %q (call #%s)", ErrJobParked, name, callKey)
		j.halt(err)
		j.log.Info("waiting for a signal: the job is parked", "call_key", callKey, "signal", name)
		return nil, err
	case runtimev1.AwaitSignalOutcome_AWAIT_SIGNAL_OUTCOME_NONDETERMINISM:
		detail := answer.GetDetail()
		if detail == "" {
			detail = "the server reported a divergence"
		}
		return nil, j.diverged(callKey, signalTool, "", detail)
	default:
		return nil, fmt.Errorf("aetheris: AwaitSignal answered %s for call #%s; this client does not know that outcome", answer.GetOutcome(), callKey)
	}
}

func signalResult(name string, raw []byte) (*SignalResult, error) {
	var recorded struct {
		TimedOut bool            `json:"timed_out"`
		Name     string          `json:"name"`
		Payload  json.RawMessage `json:"payload"`
		SignalID string          `json:"signal_id"`
	}
	if err := json.Unmarshal(raw, &recorded); err != nil {
		return nil, fmt.Errorf("aetheris: the recorded outcome of a wait for signal %q is not an object: %w", name, err)
	}
	if recorded.TimedOut {
		return &SignalResult{TimedOut: true, Name: name}, nil
	}
	if recorded.Name == "" {
		recorded.Name = name
	}
	return &SignalResult{Name: recorded.Name, Payload: jsonOrNull(recorded.Payload), SignalID: recorded.SignalID}, nil
}

func (j *JobContext) nextKey() string {
	j.mu.Lock()
	defer j.mu.Unlock()
	j.counter++
	return strconv.Itoa(j.counter)
}

// active returns why the attempt may not write any more, or nil.
func (j *JobContext) active() error {
	if err := j.haltReason(); err != nil {
		return err
	}
	if err := context.Cause(j.ctx); err != nil {
		return err
	}
	return nil
}

// halt stops all further writes of the attempt (parked, lease lost, finished).
func (j *JobContext) halt(reason error) {
	j.mu.Lock()
	defer j.mu.Unlock()
	if j.haltErr == nil {
		j.haltErr = reason
		close(j.halted)
	}
}

func (j *JobContext) haltReason() error {
	j.mu.Lock()
	defer j.mu.Unlock()
	return j.haltErr
}

// loseLease halts the attempt and cancels the handler's context with ErrLeaseLost.
func (j *JobContext) loseLease(cause error) error {
	err := fmt.Errorf("%w: job %s, fencing token %d: %v", ErrLeaseLost, j.JobID, j.FencingToken, cause)
	j.halt(err)
	j.cancel(err)
	j.log.Warn("attempt stopped: lease lost", "err", cause)
	return err
}

// rpcFailed maps a worker RPC failure: a refused fencing token halts the attempt.
func (j *JobContext) rpcFailed(err error) error {
	if isFenced(err) {
		return j.loseLease(err)
	}
	if halted := j.haltReason(); halted != nil {
		return halted
	}
	return err
}

func (j *JobContext) diverged(callKey, requested, recorded, detail string) error {
	err := &NondeterminismError{JobID: j.JobID, CallKey: callKey, RequestedTool: requested, RecordedTool: recorded, Detail: detail}
	j.mu.Lock()
	if j.nondeterminErr == nil {
		j.nondeterminErr = err
	}
	j.mu.Unlock()
	return err
}

// nondeterminism is the first divergence: the job fails with it even if the handler swallowed it.
func (j *JobContext) nondeterminism() error {
	j.mu.Lock()
	defer j.mu.Unlock()
	return j.nondeterminErr
}

func jsonOrNull(raw []byte) json.RawMessage {
	if len(raw) == 0 {
		return json.RawMessage("null")
	}
	return json.RawMessage(raw)
}

// ToolFailedError is a tool call that failed: its function returned an error in this attempt
// (recorded in the ledger), or the ledger holds a recorded failure for it.
type ToolFailedError struct {
	JobID, CallKey, Tool string
	// The recorded failure's reason and message.
	Reason, Message string
	// The tool's error was NonRetryable: failing the job with it ends the job.
	NonRetryable bool
	// The tool's own error, when it ran in this process.
	Err error
}

func (e *ToolFailedError) Error() string {
	return fmt.Sprintf("aetheris: job %s: tool %q (call #%s) failed with %s: %s", e.JobID, e.Tool, e.CallKey, e.Reason, e.Message)
}

func (e *ToolFailedError) Unwrap() error { return e.Err }

// NondeterminismError: the handler did not make the same durable calls, in the same order, as
// the job's recorded history. The job fails as non-retryable with reason NONDETERMINISM.
type NondeterminismError struct {
	JobID, CallKey string
	// The tool asked for at this position, and the one recorded there (when known).
	RequestedTool, RecordedTool string
	// What differs.
	Detail string
}

func (e *NondeterminismError) Error() string {
	recorded := "another call"
	if e.RecordedTool != "" {
		recorded = strconv.Quote(e.RecordedTool)
	}
	return fmt.Sprintf("aetheris: job %s: call #%s asked for %q but the history recorded %s at this position (%s); "+
		"handlers must make the same durable calls in the same order with the same arguments on every attempt",
		e.JobID, e.CallKey, e.RequestedTool, recorded, e.Detail)
}

// nonRetryableError marks an error that no other attempt can fix.
type nonRetryableError struct{ err error }

func (e nonRetryableError) Error() string { return e.err.Error() }
func (e nonRetryableError) Unwrap() error { return e.err }

// NonRetryable marks err so that returning it from a handler (or a tool, then the handler)
// fails the job at once instead of retrying it under its retry policy.
func NonRetryable(err error) error {
	if err == nil {
		return nil
	}
	return nonRetryableError{err}
}

// IsNonRetryable tells whether err was marked with NonRetryable (anywhere in its chain), is a
// NondeterminismError, or a ToolFailedError of a non-retryable tool error.
func IsNonRetryable(err error) bool {
	var marked nonRetryableError
	var nondeterminism *NondeterminismError
	var toolFailed *ToolFailedError
	switch {
	case errors.As(err, &marked), errors.As(err, &nondeterminism):
		return true
	case errors.As(err, &toolFailed):
		return toolFailed.NonRetryable
	}
	return false
}
