package main

import (
	"context"
	"crypto/rand"
	"fmt"
	"time"

	runtimev1 "github.com/aetheris/aetheris/gen/go/aetheris/runtime/v1"
	signalv1 "github.com/aetheris/aetheris/gen/go/aetheris/signal/v1"
	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials/insecure"
)

// rpcTimeout bounds every unary call but AcquireJob (its long poll plus this).
const rpcTimeout = 10 * time.Second

// bearer adds `authorization: Bearer <key>` to every call. Plaintext is allowed: the gate
// runs on loopback.
type bearer string

func (b bearer) GetRequestMetadata(context.Context, ...string) (map[string]string, error) {
	return map[string]string{"authorization": "Bearer " + string(b)}, nil
}

func (bearer) RequireTransportSecurity() bool { return false }

// pool is a few connections (each its own HTTP/2 connection) for one API key; callers pick
// one by index so that many goroutines spread over them.
type pool struct {
	conns   []*grpc.ClientConn
	runtime []runtimev1.RuntimeServiceClient
	signal  []signalv1.SignalServiceClient
}

func dial(address, key string, n int, stats *rpcStats) (*pool, error) {
	p := &pool{}
	for range n {
		conn, err := grpc.NewClient(address,
			grpc.WithTransportCredentials(insecure.NewCredentials()),
			grpc.WithPerRPCCredentials(bearer(key)),
			grpc.WithDefaultCallOptions(grpc.MaxCallRecvMsgSize(64<<20)),
			grpc.WithUnaryInterceptor(stats.interceptor),
		)
		if err != nil {
			p.close()
			return nil, fmt.Errorf("connect to %s: %w", address, err)
		}
		p.conns = append(p.conns, conn)
		p.runtime = append(p.runtime, runtimev1.NewRuntimeServiceClient(conn))
		p.signal = append(p.signal, signalv1.NewSignalServiceClient(conn))
	}
	return p, nil
}

// rt is the RuntimeService client on connection i mod n.
func (p *pool) rt(i int) runtimev1.RuntimeServiceClient { return p.runtime[i%len(p.runtime)] }

// sig is the SignalService client on connection i mod n.
func (p *pool) sig(i int) signalv1.SignalServiceClient { return p.signal[i%len(p.signal)] }

func (p *pool) close() {
	for _, c := range p.conns {
		_ = c.Close()
	}
}

// unary runs fn under a fresh rpcTimeout deadline derived from ctx.
func unary[T any](ctx context.Context, fn func(context.Context) (T, error)) (T, error) {
	ctx, cancel := context.WithTimeout(ctx, rpcTimeout)
	defer cancel()
	return fn(ctx)
}

// newUUID is a random (version 4) UUID.
func newUUID() string {
	var b [16]byte
	_, _ = rand.Read(b[:])
	b[6] = b[6]&0x0f | 0x40
	b[8] = b[8]&0x3f | 0x80
	return fmt.Sprintf("%x-%x-%x-%x-%x", b[0:4], b[4:6], b[6:8], b[8:10], b[10:16])
}
