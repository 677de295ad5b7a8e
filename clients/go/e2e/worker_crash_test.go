package e2e

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	aetheris "github.com/aetheris/aetheris/clients/go"
	runtimev1 "github.com/aetheris/aetheris/gen/go/aetheris/runtime/v1"
)

const (
	childRoleEnv    = "AETHERIS_E2E_CHILD"
	childQueueEnv   = "AETHERIS_E2E_QUEUE"
	childSideDirEnv = "AETHERIS_E2E_SIDE_DIR"
	crashJobType    = "go-crash-resume"
	childLease      = 2 * time.Second
)

// The job's tools, in call order; the first attempt dies right after crashAfter was recorded.
var crashTools = []string{"reserve", "charge", "notify"}

const crashAfter = "charge"

// runChild is the worker process of TestWorkerCrashResume (the test binary re-executed).
func runChild(role string) int {
	if role != "crash-worker" {
		fmt.Fprintf(os.Stderr, "unknown child role %q\n", role)
		return 2
	}
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGTERM, os.Interrupt)
	defer stop()
	client, err := aetheris.Dial(ctx, os.Getenv("AETHERIS_ADDRESS"), aetheris.WithAPIKey(os.Getenv("AETHERIS_WORKER_KEY")))
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 2
	}
	defer client.Close()
	pid := os.Getpid()
	sideDir := os.Getenv(childSideDirEnv)
	worker := &aetheris.Worker{
		Client:        client,
		Queue:         os.Getenv(childQueueEnv),
		WorkerID:      fmt.Sprintf("go-crash-child-%d", pid),
		LeaseDuration: childLease,
		PollWait:      5 * time.Second,
		Logger:        slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelInfo})),
	}
	worker.Register(crashJobType, func(ctx context.Context, job *aetheris.JobContext) ([]byte, error) {
		var input struct {
			Order string `json:"order"`
		}
		if err := json.Unmarshal(job.Input, &input); err != nil {
			return nil, aetheris.NonRetryable(err)
		}
		results := map[string]json.RawMessage{}
		for step, tool := range crashTools {
			nonce := aetheris.NewID()
			result, err := job.Tool(tool, map[string]any{"order": input.Order, "step": step}, func(idempotencyKey string) (any, error) {
				// The side effect: one line per real execution.
				line := fmt.Sprintf("%d %s %s\n", pid, idempotencyKey, nonce)
				f, err := os.OpenFile(filepath.Join(sideDir, tool+".log"), os.O_APPEND|os.O_CREATE|os.O_WRONLY, 0o644)
				if err != nil {
					return nil, err
				}
				defer f.Close()
				if _, err := f.WriteString(line); err != nil {
					return nil, err
				}
				return map[string]any{"tool": tool, "pid": pid, "nonce": nonce, "idempotency_key": idempotencyKey}, nil
			})
			if err != nil {
				return nil, err
			}
			results[tool] = result
			if tool == crashAfter && job.Attempt == 1 {
				// CompleteToolCall of this tool has returned; die before CompleteJob.
				fmt.Fprintf(os.Stderr, "child %d: killing myself after %s\n", pid, tool)
				_ = syscall.Kill(pid, syscall.SIGKILL)
				select {}
			}
		}
		return json.Marshal(map[string]any{
			"results": results, "attempt": job.Attempt, "replayed": job.ReplayedCalls(), "pid": pid,
		})
	})
	if err := worker.Run(ctx); err != nil {
		fmt.Fprintln(os.Stderr, "worker stopped:", err)
		return 1
	}
	return 0
}

// child is a worker process started by the test.
type child struct {
	cmd    *exec.Cmd
	output *lockedBuffer
	exited chan struct{}
	err    error
}

type lockedBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *lockedBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *lockedBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

func startChild(t *testing.T, queue, sideDir string) *child {
	t.Helper()
	self, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	c := &child{output: &lockedBuffer{}, exited: make(chan struct{})}
	c.cmd = exec.Command(self, "-test.run=^$")
	c.cmd.Env = append(os.Environ(), childRoleEnv+"=crash-worker", childQueueEnv+"="+queue, childSideDirEnv+"="+sideDir)
	c.cmd.Stdout = c.output
	c.cmd.Stderr = c.output
	if err := c.cmd.Start(); err != nil {
		t.Fatalf("starting the worker process: %v", err)
	}
	go func() {
		c.err = c.cmd.Wait()
		close(c.exited)
	}()
	t.Cleanup(func() {
		select {
		case <-c.exited:
		default:
			_ = c.cmd.Process.Kill()
			<-c.exited
		}
		if t.Failed() {
			t.Logf("worker process %d output:\n%s", c.cmd.Process.Pid, c.output.String())
		}
	})
	return c
}

func (c *child) wait(t *testing.T, timeout time.Duration) *os.ProcessState {
	t.Helper()
	select {
	case <-c.exited:
		return c.cmd.ProcessState
	case <-time.After(timeout):
		t.Fatalf("worker process %d did not exit within %s; output:\n%s", c.cmd.Process.Pid, timeout, c.output.String())
		return nil
	}
}

// sideEffects reads a tool's side-effect file: one line per real execution.
func sideEffects(t *testing.T, dir, tool string) [][]string {
	t.Helper()
	f, err := os.Open(filepath.Join(dir, tool+".log"))
	if errors.Is(err, os.ErrNotExist) {
		return nil
	}
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var lines [][]string
	scanner := bufio.NewScanner(f)
	for scanner.Scan() {
		lines = append(lines, strings.Fields(scanner.Text()))
	}
	return lines
}

type toolResult struct {
	Tool           string `json:"tool"`
	PID            int    `json:"pid"`
	Nonce          string `json:"nonce"`
	IdempotencyKey string `json:"idempotency_key"`
}

func TestWorkerCrashResume(t *testing.T) {
	e := loadEnv(t)
	admin := dial(t, e, e.APIKey)
	queue := unique("go-crash")
	sideDir := filepath.Join(e.Tmp, queue)
	if err := os.MkdirAll(sideDir, 0o755); err != nil {
		t.Fatal(err)
	}
	job := createJob(t, admin, crashJobType, queue, map[string]string{"order": "A-17"})

	// First worker process: runs reserve and charge, then SIGKILLs itself before CompleteJob.
	first := startChild(t, queue, sideDir)
	state := first.wait(t, 30*time.Second)
	status, ok := state.Sys().(syscall.WaitStatus)
	if !ok || !status.Signaled() || status.Signal() != syscall.SIGKILL {
		t.Fatalf("the first worker should have died by SIGKILL, got %v; output:\n%s", state, first.output.String())
	}
	firstPID := first.cmd.Process.Pid
	for tool, want := range map[string]int{"reserve": 1, "charge": 1, "notify": 0} {
		if got := len(sideEffects(t, sideDir, tool)); got != want {
			t.Fatalf("after the crash, %s ran %d times, want %d", tool, got, want)
		}
	}
	if j := getJob(t, admin, job.GetId()); j.GetState() == runtimev1.JobState_JOB_STATE_COMPLETED || j.GetAttempt() != 1 {
		t.Fatalf("after the crash the job is %s at attempt %d; want it unfinished at attempt 1", j.GetState(), j.GetAttempt())
	}

	// Second worker process: leases the job once the first lease expired and finishes it.
	second := startChild(t, queue, sideDir)
	done := waitJob(t, admin, job.GetId(), 20*time.Second, "finished", inState(
		runtimev1.JobState_JOB_STATE_COMPLETED, runtimev1.JobState_JOB_STATE_FAILED, runtimev1.JobState_JOB_STATE_CANCELLED))
	if err := second.cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	if state := second.wait(t, 15*time.Second); !state.Success() {
		t.Fatalf("the second worker did not stop cleanly on SIGTERM: %v", state)
	}
	secondPID := second.cmd.Process.Pid

	if done.GetState() != runtimev1.JobState_JOB_STATE_COMPLETED {
		t.Fatalf("job ended %s: %v", done.GetState(), done.GetLastError())
	}
	if done.GetAttempt() != 2 {
		t.Fatalf("job attempt = %d, want 2 (one crashed attempt, one resumed)", done.GetAttempt())
	}
	var output struct {
		Results  map[string]toolResult `json:"results"`
		Attempt  int                   `json:"attempt"`
		Replayed int                   `json:"replayed"`
		PID      int                   `json:"pid"`
	}
	if err := json.Unmarshal(done.GetOutput(), &output); err != nil {
		t.Fatalf("output %s: %v", done.GetOutput(), err)
	}
	if output.Attempt != 2 || output.PID != secondPID || output.Replayed != 2 {
		t.Fatalf("output: attempt %d pid %d replayed %d; want attempt 2 by pid %d with 2 replayed calls (%s)",
			output.Attempt, output.PID, output.Replayed, secondPID, done.GetOutput())
	}

	// Each side effect happened exactly once, each in the process that first reached the tool.
	wantPID := map[string]int{"reserve": firstPID, "charge": firstPID, "notify": secondPID}
	for step, tool := range crashTools {
		lines := sideEffects(t, sideDir, tool)
		if len(lines) != 1 {
			t.Fatalf("tool %s ran %d times, want exactly once: %v", tool, len(lines), lines)
		}
		line := lines[0]
		wantKey := fmt.Sprintf("%s:%d", job.GetId(), step+1)
		if len(line) != 3 || line[0] != fmt.Sprint(wantPID[tool]) || line[1] != wantKey {
			t.Fatalf("tool %s side effect %v; want pid %d and idempotency key %s", tool, line, wantPID[tool], wantKey)
		}
		// The result the handler saw on attempt 2 is the one recorded on the tool's only run:
		// replayed for reserve and charge (their nonce and pid are the first process's).
		result, ok := output.Results[tool]
		if !ok {
			t.Fatalf("no result for %s in %s", tool, done.GetOutput())
		}
		if result.PID != wantPID[tool] || result.Nonce != line[2] || result.IdempotencyKey != wantKey || result.Tool != tool {
			t.Fatalf("result of %s = %+v; want the recorded run (pid %d, nonce %s, key %s)", tool, result, wantPID[tool], line[2], wantKey)
		}
	}

	// The history tells the same story: three tool calls started and finished once each, one completion.
	events := readAll(t, admin, job.GetId(), 100)
	counts := countTypes(events)
	if counts["aetheris.tool_call.started"] != 3 || counts["aetheris.tool_call.finished"] != 3 ||
		counts["aetheris.job.completed"] != 1 || counts["aetheris.job.leased"] != 2 {
		t.Fatalf("unexpected history: %s", describe(events))
	}
	if err := aetheris.VerifyChain(e.Tenant, events); err != nil {
		t.Fatalf("hash chain of the crashed job: %v", err)
	}
}
