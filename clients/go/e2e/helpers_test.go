// Package e2e runs the Go client against a real Aetheris server. The server and its keys come
// from the environment (see test/helpers/external-suite.ts); a missing variable fails the test.
package e2e

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"os"
	"strings"
	"testing"
	"time"

	aetheris "github.com/aetheris/aetheris/clients/go"
	runtimev1 "github.com/aetheris/aetheris/gen/go/aetheris/runtime/v1"
	"google.golang.org/protobuf/types/known/durationpb"
)

func TestMain(m *testing.M) {
	// The test binary doubles as the crash-test worker process (see worker_crash_test.go).
	if role := os.Getenv(childRoleEnv); role != "" {
		os.Exit(runChild(role))
	}
	os.Exit(m.Run())
}

// env is the server under test.
type env struct {
	Address, Tenant, APIKey, WorkerKey, ReaderKey, OtherTenantKey, Tmp string
}

var envVars = []string{
	"AETHERIS_ADDRESS", "AETHERIS_TENANT", "AETHERIS_API_KEY", "AETHERIS_WORKER_KEY",
	"AETHERIS_READER_KEY", "AETHERIS_OTHER_TENANT_KEY", "AETHERIS_E2E_TMP",
}

// loadEnv fails the test (never skips it) when the server is not described.
func loadEnv(t *testing.T) env {
	t.Helper()
	var missing []string
	for _, name := range envVars {
		if os.Getenv(name) == "" {
			missing = append(missing, name)
		}
	}
	if len(missing) > 0 {
		t.Fatalf("the end-to-end suite needs a running server: set %s (run it through `npx vitest run test/clients/go.e2e.test.ts`)",
			strings.Join(missing, ", "))
	}
	return env{
		Address: os.Getenv("AETHERIS_ADDRESS"), Tenant: os.Getenv("AETHERIS_TENANT"),
		APIKey: os.Getenv("AETHERIS_API_KEY"), WorkerKey: os.Getenv("AETHERIS_WORKER_KEY"),
		ReaderKey: os.Getenv("AETHERIS_READER_KEY"), OtherTenantKey: os.Getenv("AETHERIS_OTHER_TENANT_KEY"),
		Tmp: os.Getenv("AETHERIS_E2E_TMP"),
	}
}

func dial(t *testing.T, e env, key string) *aetheris.Client {
	t.Helper()
	client, err := aetheris.Dial(context.Background(), e.Address, aetheris.WithAPIKey(key))
	if err != nil {
		t.Fatalf("Dial %s: %v", e.Address, err)
	}
	t.Cleanup(func() { _ = client.Close() })
	return client
}

// unique is a name no other test (or earlier run against the same server) uses.
func unique(prefix string) string {
	var b [4]byte
	_, _ = rand.Read(b[:])
	return prefix + "-" + hex.EncodeToString(b[:])
}

func ctxFor(t *testing.T, d time.Duration) context.Context {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), d)
	t.Cleanup(cancel)
	return ctx
}

func mustJSON(t *testing.T, v any) []byte {
	t.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func createJob(t *testing.T, c *aetheris.Client, jobType, queue string, input any) *runtimev1.Job {
	t.Helper()
	response, err := c.Runtime.CreateJob(ctxFor(t, 10*time.Second), &runtimev1.CreateJobRequest{
		JobType: jobType,
		Queue:   queue,
		Input:   mustJSON(t, input),
		RetryPolicy: &runtimev1.RetryPolicy{
			MaxAttempts:    3,
			InitialBackoff: durationpb.New(100 * time.Millisecond),
			MaxBackoff:     durationpb.New(200 * time.Millisecond),
		},
	})
	if err != nil {
		t.Fatalf("CreateJob %s: %v", jobType, err)
	}
	return response.GetJob()
}

func getJob(t *testing.T, c *aetheris.Client, id string) *runtimev1.Job {
	t.Helper()
	response, err := c.Runtime.GetJob(ctxFor(t, 10*time.Second), &runtimev1.GetJobRequest{JobId: id})
	if err != nil {
		t.Fatalf("GetJob %s: %v", id, err)
	}
	return response.GetJob()
}

// waitJob polls GetJob until accept says yes, failing after timeout with the last state seen.
func waitJob(t *testing.T, c *aetheris.Client, id string, timeout time.Duration, what string, accept func(*runtimev1.Job) bool) *runtimev1.Job {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for {
		job := getJob(t, c, id)
		if accept(job) {
			return job
		}
		if time.Now().After(deadline) {
			t.Fatalf("job %s: not %s within %s; last seen state %s attempt %d last_error %v",
				id, what, timeout, job.GetState(), job.GetAttempt(), job.GetLastError())
		}
		time.Sleep(25 * time.Millisecond)
	}
}

func inState(states ...runtimev1.JobState) func(*runtimev1.Job) bool {
	return func(job *runtimev1.Job) bool {
		for _, s := range states {
			if job.GetState() == s {
				return true
			}
		}
		return false
	}
}

// readAll reads a job's whole history with ReadEvents, in pages of `limit`.
func readAll(t *testing.T, c *aetheris.Client, jobID string, limit uint32) []*runtimev1.Event {
	t.Helper()
	var events []*runtimev1.Event
	var after uint64
	for {
		response, err := c.Runtime.ReadEvents(ctxFor(t, 10*time.Second), &runtimev1.ReadEventsRequest{JobId: jobID, AfterSeq: after, Limit: limit})
		if err != nil {
			t.Fatalf("ReadEvents %s: %v", jobID, err)
		}
		events = append(events, response.GetEvents()...)
		if len(response.GetEvents()) == 0 || events[len(events)-1].GetSeq() >= response.GetHeadSeq() {
			return events
		}
		after = events[len(events)-1].GetSeq()
	}
}

func countTypes(events []*runtimev1.Event) map[string]int {
	counts := map[string]int{}
	for _, e := range events {
		counts[e.GetType()]++
	}
	return counts
}

// canonical re-encodes JSON for comparisons.
func canonical(t *testing.T, raw []byte) string {
	t.Helper()
	out, err := aetheris.CanonicalJSON(json.RawMessage(raw))
	if err != nil {
		t.Fatalf("not JSON: %s: %v", raw, err)
	}
	return string(out)
}

func describe(events []*runtimev1.Event) string {
	var parts []string
	for _, e := range events {
		parts = append(parts, fmt.Sprintf("%d:%s", e.GetSeq(), e.GetType()))
	}
	return strings.Join(parts, " ")
}
