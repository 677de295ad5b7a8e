package aetheris

import (
	"context"
	"errors"
	"net"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	runtimev1 "github.com/aetheris/aetheris/gen/go/aetheris/runtime/v1"
	"google.golang.org/genproto/googleapis/rpc/errdetails"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/metadata"
	"google.golang.org/grpc/status"
)

// flakyServer is a tiny RuntimeService on loopback: GetJob fails with `code` for the first
// `failures` calls (all of them when failures < 0), then answers. It records every call.
type flakyServer struct {
	runtimev1.UnimplementedRuntimeServiceServer
	code     codes.Code
	failures int64
	calls    atomic.Int64
	mu       sync.Mutex
	times    []time.Time
	auth     []string
}

func (s *flakyServer) GetJob(ctx context.Context, req *runtimev1.GetJobRequest) (*runtimev1.GetJobResponse, error) {
	n := s.calls.Add(1)
	md, _ := metadata.FromIncomingContext(ctx)
	s.mu.Lock()
	s.times = append(s.times, time.Now())
	s.auth = append(s.auth, md.Get("authorization")...)
	s.mu.Unlock()
	if s.failures < 0 || n <= s.failures {
		return nil, status.Error(s.code, "try again")
	}
	return &runtimev1.GetJobResponse{Job: &runtimev1.Job{Id: req.GetJobId()}}, nil
}

// Errors with the details the real server sends (src/server/grpc-error.ts).
func (s *flakyServer) ReadEvents(context.Context, *runtimev1.ReadEventsRequest) (*runtimev1.ReadEventsResponse, error) {
	s.calls.Add(1)
	st, err := status.New(codes.InvalidArgument, "job_id: must be a UUID").WithDetails(
		&errdetails.ErrorInfo{Reason: ReasonInvalidField, Domain: ErrorDomain, Metadata: map[string]string{"field": "job_id"}},
		&errdetails.BadRequest{FieldViolations: []*errdetails.BadRequest_FieldViolation{{Field: "job_id", Description: "job_id: must be a UUID"}}},
	)
	if err != nil {
		return nil, err
	}
	return nil, st.Err()
}

func (s *flakyServer) StreamEvents(req *runtimev1.StreamEventsRequest, stream grpc.ServerStreamingServer[runtimev1.StreamEventsResponse]) error {
	s.calls.Add(1)
	if err := stream.Send(&runtimev1.StreamEventsResponse{Events: []*runtimev1.Event{{Seq: 1}}}); err != nil {
		return err
	}
	st, _ := status.New(codes.NotFound, "job x not found").WithDetails(
		&errdetails.ErrorInfo{Reason: ReasonNotFound, Domain: ErrorDomain, Metadata: map[string]string{"resource": "job", "id": req.GetJobId()}})
	return st.Err()
}

func startFlaky(t *testing.T, s *flakyServer) string {
	t.Helper()
	listener, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	server := grpc.NewServer()
	runtimev1.RegisterRuntimeServiceServer(server, s)
	go func() { _ = server.Serve(listener) }()
	t.Cleanup(server.Stop)
	return listener.Addr().String()
}

func dialFlaky(t *testing.T, address string, policy RetryPolicy) *Client {
	t.Helper()
	client, err := Dial(context.Background(), address, WithAPIKey("aek_test_secret"), WithRetry(policy))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = client.Close() })
	return client
}

func TestRetryRecoversAfterUnavailable(t *testing.T) {
	server := &flakyServer{code: codes.Unavailable, failures: 3}
	address := startFlaky(t, server)
	policy := RetryPolicy{MaxAttempts: 5, InitialBackoff: 40 * time.Millisecond, MaxBackoff: 200 * time.Millisecond, Multiplier: 2}
	client := dialFlaky(t, address, policy)

	response, err := client.Runtime.GetJob(context.Background(), &runtimev1.GetJobRequest{JobId: "j1"})
	if err != nil {
		t.Fatalf("GetJob after 3 UNAVAILABLE: %v", err)
	}
	if response.GetJob().GetId() != "j1" {
		t.Fatalf("unexpected response %v", response)
	}
	if got := server.calls.Load(); got != 4 {
		t.Fatalf("server saw %d calls, want 4 (3 failures + 1 success)", got)
	}
	server.mu.Lock()
	defer server.mu.Unlock()
	for i, auth := range server.auth {
		if auth != "Bearer aek_test_secret" {
			t.Fatalf("call %d carried authorization %q", i, auth)
		}
	}
	// The waits grow and stay within [ceiling/2, ceiling] (+ scheduling slack).
	for i := 1; i < len(server.times); i++ {
		gap := server.times[i].Sub(server.times[i-1])
		ceiling := policy.Ceiling(i - 1)
		if gap < ceiling/2 || gap > ceiling+400*time.Millisecond {
			t.Errorf("wait before call %d was %s, want within [%s, %s]", i+1, gap, ceiling/2, ceiling)
		}
	}
}

func TestRetryGivesUpAfterMaxAttempts(t *testing.T) {
	server := &flakyServer{code: codes.Unavailable, failures: -1}
	client := dialFlaky(t, startFlaky(t, server), RetryPolicy{MaxAttempts: 3, InitialBackoff: 10 * time.Millisecond, MaxBackoff: 20 * time.Millisecond, Multiplier: 2})
	_, err := client.Runtime.GetJob(context.Background(), &runtimev1.GetJobRequest{JobId: "j1"})
	if !IsUnavailable(err) {
		t.Fatalf("want UNAVAILABLE after the attempts, got %v", err)
	}
	if got := server.calls.Load(); got != 3 {
		t.Fatalf("server saw %d calls, want exactly MaxAttempts = 3", got)
	}
}

func TestRetryNeverRetriesOtherCodes(t *testing.T) {
	for _, code := range []codes.Code{codes.FailedPrecondition, codes.DeadlineExceeded, codes.Internal, codes.Aborted, codes.ResourceExhausted} {
		server := &flakyServer{code: code, failures: 1}
		client := dialFlaky(t, startFlaky(t, server), RetryPolicy{MaxAttempts: 5, InitialBackoff: time.Millisecond, MaxBackoff: time.Millisecond, Multiplier: 1})
		_, err := client.Runtime.GetJob(context.Background(), &runtimev1.GetJobRequest{JobId: "j1"})
		if CodeOf(err) != code {
			t.Fatalf("%s: got %v", code, err)
		}
		if got := server.calls.Load(); got != 1 {
			t.Fatalf("%s was retried: %d calls", code, got)
		}
	}
}

func TestRetryRespectsTheDeadline(t *testing.T) {
	server := &flakyServer{code: codes.Unavailable, failures: -1}
	client := dialFlaky(t, startFlaky(t, server), RetryPolicy{MaxAttempts: 100, InitialBackoff: 300 * time.Millisecond, MaxBackoff: 300 * time.Millisecond, Multiplier: 1})
	ctx, cancel := context.WithTimeout(context.Background(), time.Second)
	defer cancel()
	started := time.Now()
	_, err := client.Runtime.GetJob(ctx, &runtimev1.GetJobRequest{JobId: "j1"})
	elapsed := time.Since(started)
	// The last UNAVAILABLE is returned as soon as the next wait would pass the deadline.
	if !IsUnavailable(err) {
		t.Fatalf("want the last UNAVAILABLE, got %v", err)
	}
	if elapsed > time.Second {
		t.Fatalf("the call outlived its deadline: %s", elapsed)
	}
	// Waits of 150..300 ms within 1 s: at most 7 calls, at least 3 (the waits stop only when
	// the next one would pass the deadline).
	if calls := server.calls.Load(); calls < 3 || calls > 7 {
		t.Fatalf("server saw %d calls within 1 s with 150-300 ms waits", calls)
	}
}

func TestNoRetryCallOption(t *testing.T) {
	server := &flakyServer{code: codes.Unavailable, failures: 1}
	client := dialFlaky(t, startFlaky(t, server), DefaultRetryPolicy())
	_, err := client.Runtime.GetJob(context.Background(), &runtimev1.GetJobRequest{JobId: "j1"}, NoRetry())
	if !IsUnavailable(err) || server.calls.Load() != 1 {
		t.Fatalf("NoRetry: err %v after %d calls", err, server.calls.Load())
	}
}

func TestBackoffBounds(t *testing.T) {
	policy := RetryPolicy{MaxAttempts: 10, InitialBackoff: 100 * time.Millisecond, MaxBackoff: time.Second, Multiplier: 2}
	wantCeilings := []time.Duration{100, 200, 400, 800, 1000, 1000, 1000}
	for retry, want := range wantCeilings {
		want *= time.Millisecond
		if got := policy.Ceiling(retry); got != want {
			t.Errorf("Ceiling(%d) = %s, want %s", retry, got, want)
		}
		for range 200 {
			if wait := policy.Backoff(retry); wait < want/2 || wait > want {
				t.Fatalf("Backoff(%d) = %s outside [%s, %s]", retry, wait, want/2, want)
			}
		}
	}
	// Jitter: the waits are not all the same.
	seen := map[time.Duration]bool{}
	for range 50 {
		seen[policy.Backoff(3)] = true
	}
	if len(seen) < 10 {
		t.Fatalf("Backoff has no jitter: %d distinct values in 50 draws", len(seen))
	}
	if err := (RetryPolicy{MaxAttempts: 0}).validate(); err == nil {
		t.Fatal("MaxAttempts 0 accepted")
	}
	if _, err := Dial(context.Background(), "127.0.0.1:1", WithRetry(RetryPolicy{MaxAttempts: 3})); err == nil {
		t.Fatal("Dial accepted a retry policy without backoff")
	}
}

func TestErrorDecoding(t *testing.T) {
	server := &flakyServer{code: codes.Unavailable}
	client := dialFlaky(t, startFlaky(t, server), DefaultRetryPolicy())

	_, err := client.Runtime.ReadEvents(context.Background(), &runtimev1.ReadEventsRequest{JobId: "nope"})
	var e *Error
	if !errors.As(err, &e) {
		t.Fatalf("errors.As(*Error) failed for %T %v", err, err)
	}
	if e.Code != codes.InvalidArgument || e.Reason != ReasonInvalidField || e.Domain != ErrorDomain || e.Metadata["field"] != "job_id" {
		t.Fatalf("decoded %+v", e)
	}
	if len(e.FieldViolations) != 1 || e.FieldViolations[0].Field != "job_id" || e.Field() != "job_id" {
		t.Fatalf("field violations %+v", e.FieldViolations)
	}
	if !IsInvalidArgument(err) || Reason(err) != ReasonInvalidField || status.Code(err) != codes.InvalidArgument {
		t.Fatalf("helpers disagree on %v", err)
	}
	if st, ok := status.FromError(err); !ok || len(st.Details()) != 2 {
		t.Fatalf("status.FromError lost the details: %v", st)
	}
	if server.calls.Load() != 1 {
		t.Fatalf("INVALID_ARGUMENT was retried")
	}

	// A raw status error (not through a Client) decodes the same way.
	raw, _ := status.New(codes.PermissionDenied, "no").WithDetails(&errdetails.ErrorInfo{Reason: ReasonPermissionDenied, Metadata: map[string]string{"role": "reader"}})
	decoded := ErrorFromStatus(raw.Err())
	if decoded == nil || decoded.Code != codes.PermissionDenied || decoded.Metadata["role"] != "reader" || !IsPermissionDenied(raw.Err()) {
		t.Fatalf("raw status decoded as %+v", decoded)
	}
	if ErrorFromStatus(nil) != nil || ErrorFromStatus(context.Canceled) != nil || ErrorFromStatus(errors.New("x")) != nil {
		t.Fatal("non-status errors must decode to nil")
	}
	if CodeOf(nil) != codes.OK || Reason(errors.New("x")) != "" {
		t.Fatal("CodeOf/Reason of non-status errors")
	}

	// Streams: the error after a message is decoded too.
	stream, err := client.Runtime.StreamEvents(context.Background(), &runtimev1.StreamEventsRequest{JobId: "j9"})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := stream.Recv(); err != nil {
		t.Fatalf("first message: %v", err)
	}
	_, err = stream.Recv()
	if !errors.As(err, &e) || e.Code != codes.NotFound || e.Reason != ReasonNotFound || e.Metadata["id"] != "j9" || !IsNotFound(err) {
		t.Fatalf("stream error decoded as %T %v", err, err)
	}
}

func TestLoopbackDetection(t *testing.T) {
	for target, want := range map[string]bool{
		"127.0.0.1:50051": true, "127.8.9.1:1": true, "[::1]:50051": true, "localhost:50051": true,
		"dns:///localhost:443": true, "unix:///tmp/s.sock": true, "api.localhost:1": true,
		"10.0.0.1:50051": false, "example.com:443": false, "dns:///example.com:443": false, "[2001:db8::1]:1": false,
	} {
		if got := isLoopback(target); got != want {
			t.Errorf("isLoopback(%q) = %v, want %v", target, got, want)
		}
	}
}

func TestAPIKeyNeverSentInPlaintextOffLoopback(t *testing.T) {
	// A plaintext server reached under a non-loopback name: without WithTLS, Dial speaks TLS, so
	// the handshake fails and the key never reaches the server.
	server := &flakyServer{code: codes.Unavailable}
	address := startFlaky(t, server)
	dialer := grpc.WithContextDialer(func(ctx context.Context, _ string) (net.Conn, error) {
		return (&net.Dialer{}).DialContext(ctx, "tcp", address)
	})
	client, err := Dial(context.Background(), "aetheris.example.com:443", WithAPIKey("secret"),
		WithRetry(RetryPolicy{MaxAttempts: 1}), WithDialOptions(dialer))
	if err != nil {
		t.Fatal(err)
	}
	defer client.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	if _, err := client.Runtime.GetJob(ctx, &runtimev1.GetJobRequest{JobId: "j1"}); err == nil {
		t.Fatal("a plaintext server answered a client that should have required TLS")
	}
	if server.calls.Load() != 0 {
		t.Fatal("the call reached the server in plaintext")
	}

	// The same server under its loopback address: plaintext is allowed.
	loopback := dialFlaky(t, address, RetryPolicy{MaxAttempts: 1})
	if _, err := loopback.Runtime.GetJob(context.Background(), &runtimev1.GetJobRequest{JobId: "j1"}); err != nil {
		t.Fatalf("loopback call: %v", err)
	}
	if server.calls.Load() != 1 {
		t.Fatal("the loopback call did not reach the server")
	}
}

func TestSafeToRetryOnlyCallsThatCannotApplyTwice(t *testing.T) {
	const runtime = "/aetheris.runtime.v1.RuntimeService/"
	keyed := &runtimev1.EventInput{EventId: "7d5e8c1a-0000-4000-8000-000000000001", Type: "t"}
	unkeyed := &runtimev1.EventInput{Type: "t"}
	cases := []struct {
		method string
		req    any
		want   bool
	}{
		{runtime + "GetJob", &runtimev1.GetJobRequest{}, true},
		{"/aetheris.signal.v1.SignalService/SendSignal", nil, true},
		{runtime + "CreateJob", &runtimev1.CreateJobRequest{JobType: "x"}, false},
		{runtime + "CreateJob", &runtimev1.CreateJobRequest{IdempotencyKey: "order-1"}, true},
		{runtime + "AppendEvents", &runtimev1.AppendEventsRequest{Events: []*runtimev1.EventInput{keyed}}, true},
		{runtime + "AppendEvents", &runtimev1.AppendEventsRequest{Events: []*runtimev1.EventInput{keyed, unkeyed}}, false},
		{runtime + "CompleteJob", &runtimev1.CompleteJobRequest{}, false},
	}
	for _, c := range cases {
		if got := SafeToRetry(c.method, c.req); got != c.want {
			t.Errorf("SafeToRetry(%s, %T) = %v, want %v", c.method, c.req, got, c.want)
		}
	}
}
