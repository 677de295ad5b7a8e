// Package aetheris holds thin helpers around the generated gRPC stubs of Aetheris
// (github.com/aetheris/aetheris/gen/go): dialing with an API key, retries of unary calls on
// UNAVAILABLE, decoding of the server's error details, a minimal worker loop that goes through
// the tool call ledger, and an offline verifier of the event hash chain.
//
// The generated clients stay the API: Client.Runtime, Client.Signal and Client.Admin are the
// protoc-gen-go-grpc clients, bound to one connection that adds the key to every call.
package aetheris

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"net"
	"strings"
	"time"

	runtimev1 "github.com/aetheris/aetheris/gen/go/aetheris/runtime/v1"
	signalv1 "github.com/aetheris/aetheris/gen/go/aetheris/signal/v1"
	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/grpc/keepalive"
)

// Client is one connection to an Aetheris server with the generated clients bound to it.
// It is safe for concurrent use. Close it when done.
type Client struct {
	// Runtime is the generated RuntimeService client: jobs, events, streams, the worker protocol.
	Runtime runtimev1.RuntimeServiceClient
	// Signal is the generated SignalService client: signals and in-doubt decisions.
	Signal signalv1.SignalServiceClient
	// Admin is the generated AdminService client: API keys (admin role only).
	Admin runtimev1.AdminServiceClient

	conn *grpc.ClientConn
}

// Conn returns the underlying connection, e.g. for the forensics or compliance stubs.
func (c *Client) Conn() *grpc.ClientConn { return c.conn }

// Close closes the connection; calls in flight fail with CANCELED.
func (c *Client) Close() error { return c.conn.Close() }

// Option configures Dial.
type Option func(*config)

type config struct {
	apiKey      string
	tlsConfig   *tls.Config
	tlsSet      bool
	retry       RetryPolicy
	dialOptions []grpc.DialOption
}

// WithAPIKey sends `authorization: Bearer <key>` with every call (per-RPC credentials).
func WithAPIKey(key string) Option {
	return func(c *config) { c.apiKey = key }
}

// WithTLS connects over TLS with this configuration; nil means the system's root CAs.
// Without WithTLS, a loopback address (127.0.0.0/8, ::1, localhost, unix sockets) is dialed in
// plaintext and any other address over TLS with the system's root CAs: an API key is never sent
// in the clear off the machine.
func WithTLS(cfg *tls.Config) Option {
	return func(c *config) {
		c.tlsConfig = cfg
		c.tlsSet = true
	}
}

// WithRetry replaces the retry policy of unary calls (DefaultRetryPolicy otherwise).
// RetryPolicy{MaxAttempts: 1} disables retries.
func WithRetry(policy RetryPolicy) Option {
	return func(c *config) { c.retry = policy }
}

// WithDialOptions adds grpc dial options (a custom dialer, extra interceptors, …), applied after
// the ones Dial sets.
func WithDialOptions(opts ...grpc.DialOption) Option {
	return func(c *config) { c.dialOptions = append(c.dialOptions, opts...) }
}

// Dial creates a client for the server at address (`host:port`). It does not wait for the
// connection: the first call does, and fails with UNAVAILABLE (retried per the retry policy)
// while the server cannot be reached. ctx is only checked for cancellation.
//
// Unary calls are retried on UNAVAILABLE with exponential backoff and jitter (see RetryPolicy);
// every error returned by a call through this client, unary or streaming, is an *Error (see
// ErrorFromStatus), which still works with status.FromError and status.Code.
func Dial(ctx context.Context, address string, opts ...Option) (*Client, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	if address == "" {
		return nil, errors.New("aetheris: Dial: the address is required (host:port)")
	}
	cfg := config{retry: DefaultRetryPolicy()}
	for _, opt := range opts {
		opt(&cfg)
	}
	if err := cfg.retry.validate(); err != nil {
		return nil, err
	}
	secure := cfg.tlsSet || !isLoopback(address)
	var transport credentials.TransportCredentials
	if secure {
		tlsConfig := cfg.tlsConfig
		if tlsConfig == nil {
			tlsConfig = &tls.Config{MinVersion: tls.VersionTLS12}
		}
		transport = credentials.NewTLS(tlsConfig)
	} else {
		transport = insecure.NewCredentials()
	}
	dialOptions := []grpc.DialOption{
		grpc.WithTransportCredentials(transport),
		// Same keepalive as the TypeScript client (src/client/connect.ts).
		grpc.WithKeepaliveParams(keepalive.ClientParameters{Time: 30 * time.Second, Timeout: 10 * time.Second}),
		// Outermost first: errors are decoded once, after the retries gave up.
		grpc.WithChainUnaryInterceptor(errorUnaryInterceptor, cfg.retry.UnaryClientInterceptor()),
		grpc.WithChainStreamInterceptor(errorStreamInterceptor),
	}
	if cfg.apiKey != "" {
		dialOptions = append(dialOptions, grpc.WithPerRPCCredentials(bearerToken{token: cfg.apiKey, secure: secure}))
	}
	dialOptions = append(dialOptions, cfg.dialOptions...)
	conn, err := grpc.NewClient(address, dialOptions...)
	if err != nil {
		return nil, fmt.Errorf("aetheris: Dial %s: %w", address, err)
	}
	return &Client{
		Runtime: runtimev1.NewRuntimeServiceClient(conn),
		Signal:  signalv1.NewSignalServiceClient(conn),
		Admin:   runtimev1.NewAdminServiceClient(conn),
		conn:    conn,
	}, nil
}

// bearerToken adds the API key to every call.
type bearerToken struct {
	token  string
	secure bool
}

func (b bearerToken) GetRequestMetadata(context.Context, ...string) (map[string]string, error) {
	return map[string]string{"authorization": "Bearer " + b.token}, nil
}

// RequireTransportSecurity is false only for a plaintext loopback connection.
func (b bearerToken) RequireTransportSecurity() bool { return b.secure }

// isLoopback tells whether a grpc target names this machine: a loopback IP, localhost, or a
// unix socket.
func isLoopback(target string) bool {
	if strings.HasPrefix(target, "unix:") || strings.HasPrefix(target, "unix-abstract:") {
		return true
	}
	for _, scheme := range []string{"dns:///", "passthrough:///", "dns:", "passthrough:"} {
		if strings.HasPrefix(target, scheme) {
			target = strings.TrimPrefix(target, scheme)
			break
		}
	}
	host, _, err := net.SplitHostPort(target)
	if err != nil {
		host = target
	}
	host = strings.TrimSuffix(strings.TrimPrefix(host, "["), "]")
	if strings.EqualFold(host, "localhost") || strings.HasSuffix(strings.ToLower(host), ".localhost") {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}
