package main

import (
	"context"
	"fmt"
	"path"
	"sort"
	"strings"
	"sync"
	"time"

	"google.golang.org/grpc"
)

// rpcStats times every unary call by method, for the stderr log: where a slow scenario
// spends its time.
type rpcStats struct {
	mu sync.Mutex
	ms map[string][]float64
}

func newRPCStats() *rpcStats { return &rpcStats{ms: map[string][]float64{}} }

// interceptor records the duration of each unary call, failed ones included.
func (s *rpcStats) interceptor(ctx context.Context, method string, req, reply any, cc *grpc.ClientConn,
	invoker grpc.UnaryInvoker, opts ...grpc.CallOption,
) error {
	began := time.Now()
	err := invoker(ctx, method, req, reply, cc, opts...)
	elapsed := float64(time.Since(began)) / float64(time.Millisecond)
	s.mu.Lock()
	s.ms[path.Base(method)] = append(s.ms[path.Base(method)], elapsed)
	s.mu.Unlock()
	return err
}

// summary is one line per method: calls, p50, p99 and max in ms.
func (s *rpcStats) summary() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	methods := make([]string, 0, len(s.ms))
	for m := range s.ms {
		methods = append(methods, m)
	}
	sort.Strings(methods)
	var b strings.Builder
	for _, m := range methods {
		l := summarize(s.ms[m])
		fmt.Fprintf(&b, "\n  %-18s n=%-7d p50=%8.2f p95=%8.2f p99=%8.2f max=%8.2f ms", m, l.Count, l.P50, l.P95, l.P99, l.Max)
	}
	return b.String()
}
