package aetheris

import (
	"context"
	"fmt"
	"math/rand/v2"
	"time"

	runtimev1 "github.com/aetheris/aetheris/gen/go/aetheris/runtime/v1"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
)

// RetryPolicy retries unary calls that fail with UNAVAILABLE (server draining, database briefly
// unreachable, connection refused) with exponential backoff and equal jitter. No other code is
// ever retried, and a retry never outlives the call's context: when the next wait would pass the
// deadline, the last UNAVAILABLE error is returned at once.
//
// A call that failed with UNAVAILABLE may still have been applied (the connection was lost after
// the server committed), so only calls that are safe to repeat are retried (SafeToRetry, the same
// rule as the TypeScript and Python clients): reads, Heartbeat, SendSignal (its signal id
// deduplicates), CreateJob with an idempotency key, and AppendEvents when every event carries its
// event id. Everything else fails at once and is the caller's to handle.
type RetryPolicy struct {
	// Attempts in all, the first included; 1 disables retries.
	MaxAttempts int
	// The wait before the first retry is drawn from [InitialBackoff/2, InitialBackoff].
	InitialBackoff time.Duration
	// Upper bound of a wait.
	MaxBackoff time.Duration
	// Growth of the bound between retries (>= 1).
	Multiplier float64
}

// DefaultRetryPolicy is 5 attempts, backoff from 100 ms doubling up to 2 s.
func DefaultRetryPolicy() RetryPolicy {
	return RetryPolicy{MaxAttempts: 5, InitialBackoff: 100 * time.Millisecond, MaxBackoff: 2 * time.Second, Multiplier: 2}
}

func (p RetryPolicy) validate() error {
	switch {
	case p.MaxAttempts < 1:
		return fmt.Errorf("aetheris: RetryPolicy.MaxAttempts must be >= 1, got %d", p.MaxAttempts)
	case p.MaxAttempts > 1 && p.InitialBackoff <= 0:
		return fmt.Errorf("aetheris: RetryPolicy.InitialBackoff must be > 0, got %s", p.InitialBackoff)
	case p.MaxAttempts > 1 && p.MaxBackoff < p.InitialBackoff:
		return fmt.Errorf("aetheris: RetryPolicy.MaxBackoff (%s) must be >= InitialBackoff (%s)", p.MaxBackoff, p.InitialBackoff)
	case p.MaxAttempts > 1 && p.Multiplier < 1:
		return fmt.Errorf("aetheris: RetryPolicy.Multiplier must be >= 1, got %g", p.Multiplier)
	}
	return nil
}

// Ceiling is the upper bound of the wait after failed attempt number retry (0-based):
// min(MaxBackoff, InitialBackoff * Multiplier^retry).
func (p RetryPolicy) Ceiling(retry int) time.Duration {
	ceiling := float64(p.InitialBackoff)
	for i := 0; i < retry && ceiling < float64(p.MaxBackoff); i++ {
		ceiling *= p.Multiplier
	}
	if ceiling > float64(p.MaxBackoff) {
		ceiling = float64(p.MaxBackoff)
	}
	return time.Duration(ceiling)
}

// Backoff is the wait after failed attempt number retry (0-based): equal jitter, uniform in
// [Ceiling(retry)/2, Ceiling(retry)].
func (p RetryPolicy) Backoff(retry int) time.Duration {
	ceiling := p.Ceiling(retry)
	half := ceiling / 2
	if half <= 0 {
		return ceiling
	}
	return half + rand.N(ceiling-half+1)
}

// noRetry is a call option that disables the retry interceptor for one call.
type noRetry struct{ grpc.EmptyCallOption }

// NoRetry is a grpc.CallOption that makes one unary call through a Client run once, without
// the retry policy.
func NoRetry() grpc.CallOption { return noRetry{} }

// UnaryClientInterceptor retries UNAVAILABLE per the policy. Dial installs it; it is exported for
// connections made by hand.
func (p RetryPolicy) UnaryClientInterceptor() grpc.UnaryClientInterceptor {
	return func(ctx context.Context, method string, req, reply any, cc *grpc.ClientConn, invoker grpc.UnaryInvoker, opts ...grpc.CallOption) error {
		if !SafeToRetry(method, req) {
			return invoker(ctx, method, req, reply, cc, opts...)
		}
		for _, opt := range opts {
			if _, ok := opt.(noRetry); ok {
				return invoker(ctx, method, req, reply, cc, opts...)
			}
		}
		for retry := 0; ; retry++ {
			err := invoker(ctx, method, req, reply, cc, opts...)
			if err == nil || status.Code(err) != codes.Unavailable || retry+1 >= p.MaxAttempts {
				return err
			}
			wait := p.Backoff(retry)
			if deadline, ok := ctx.Deadline(); ok && time.Until(deadline) <= wait {
				return err
			}
			timer := time.NewTimer(wait)
			select {
			case <-ctx.Done():
				timer.Stop()
				return err
			case <-timer.C:
			}
		}
	}
}

const runtimeService = "/aetheris.runtime.v1.RuntimeService/"

// alwaysSafe lists the calls that read, or whose effect is keyed by the request itself.
var alwaysSafe = map[string]bool{
	runtimeService + "GetJob":                       true,
	runtimeService + "ListJobs":                     true,
	runtimeService + "ReadEvents":                   true,
	runtimeService + "GetSummary":                   true,
	runtimeService + "ListStuckJobs":                true,
	runtimeService + "Heartbeat":                    true,
	"/aetheris.runtime.v1.AdminService/ListApiKeys": true,
	"/aetheris.signal.v1.SignalService/SendSignal":  true,
	"/aetheris.signal.v1.SignalService/ListSignals": true,
}

// SafeToRetry reports whether repeating req on method cannot double its effect.
func SafeToRetry(method string, req any) bool {
	if alwaysSafe[method] {
		return true
	}
	switch r := req.(type) {
	case *runtimev1.CreateJobRequest:
		return method == runtimeService+"CreateJob" && r.GetIdempotencyKey() != ""
	case *runtimev1.AppendEventsRequest:
		if method != runtimeService+"AppendEvents" || len(r.GetEvents()) == 0 {
			return false
		}
		for _, event := range r.GetEvents() {
			if event.GetEventId() == "" {
				return false
			}
		}
		return true
	}
	return false
}
