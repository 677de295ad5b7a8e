package main

import (
	"fmt"
	"math"
	"slices"
	"sync"
	"time"

	"google.golang.org/grpc/status"
)

const (
	maxErrorSamples = 5
	maxLoggedErrors = 20
)

// result is the one JSON object the driver prints.
type result struct {
	Scenario        string        `json:"scenario"`
	Mode            string        `json:"mode"`
	DurationSeconds float64       `json:"durationSeconds"`
	Ops             int64         `json:"ops"`
	OpsPerSecond    float64       `json:"opsPerSecond"`
	Events          int64         `json:"events"`
	EventsPerSecond float64       `json:"eventsPerSecond"`
	LatencyMs       latencyResult `json:"latencyMs"`
	Errors          int64         `json:"errors"`
	ErrorSamples    []string      `json:"errorSamples"`
	Lost            int64         `json:"lost"`
	Notes           string        `json:"notes"`
}

// latencyResult holds nearest-rank percentiles of every sample of the window, in ms.
type latencyResult struct {
	Count int     `json:"count"`
	P50   float64 `json:"p50"`
	P95   float64 `json:"p95"`
	P99   float64 `json:"p99"`
	Max   float64 `json:"max"`
}

// The phases of a run, by the time something happened.
const (
	phaseSetup  = iota // before the clock started
	phaseWarmup        // started, before the window
	phaseWindow        // the measurement window
	phaseAfter         // drain, checks, cleanup
	phases
)

var phaseNames = [phases]string{"setup", "warmup", "window", "after"}

// recorder collects operations, events, latencies and errors; safe for concurrent use.
// Only operations and events whose instant falls in [start, end) count.
type recorder struct {
	mu          sync.Mutex
	started     bool
	start, end  time.Time
	latencies   []float64 // ms, window only
	ops         int64
	outsideOps  [phases]int64
	events      int64
	lost        int64
	errors      [phases]int64
	samples     []string
	loggedError int
	logf        func(format string, args ...any)
}

func newRecorder(logf func(format string, args ...any)) *recorder {
	return &recorder{logf: logf}
}

// startClock starts the warmup now; the window follows it. Returns the window.
func (r *recorder) startClock(warmup, duration time.Duration) (start, end time.Time) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.started = true
	r.start = time.Now().Add(warmup)
	r.end = r.start.Add(duration)
	return r.start, r.end
}

func (r *recorder) phaseLocked(t time.Time) int {
	switch {
	case !r.started:
		return phaseSetup
	case t.Before(r.start):
		return phaseWarmup
	case t.Before(r.end):
		return phaseWindow
	default:
		return phaseAfter
	}
}

// inWindow tells whether t is in the measurement window.
func (r *recorder) inWindow(t time.Time) bool {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.phaseLocked(t) == phaseWindow
}

// observe counts one operation that completed at `at` and took `latency`, if in the window.
func (r *recorder) observe(at time.Time, latency time.Duration) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if p := r.phaseLocked(at); p != phaseWindow {
		r.outsideOps[p]++
		return
	}
	r.ops++
	r.latencies = append(r.latencies, float64(latency)/float64(time.Millisecond))
}

// addEvents counts n events received at `at`, if in the window.
func (r *recorder) addEvents(at time.Time, n int) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.phaseLocked(at) == phaseWindow {
		r.events += int64(n)
	}
}

// addLost counts operations that never finished.
func (r *recorder) addLost(n int64) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.lost += n
}

// fail counts a failed RPC (or a wrong answer) now; what names the call.
func (r *recorder) fail(what string, err error) {
	msg := err.Error()
	if s, ok := status.FromError(err); ok {
		msg = s.Code().String() + ": " + s.Message()
	}
	r.failf("%s: %s", what, msg)
}

// failf counts a failure described by a format.
func (r *recorder) failf(format string, args ...any) {
	msg := fmt.Sprintf(format, args...)
	now := time.Now()
	r.mu.Lock()
	p := r.phaseLocked(now)
	r.errors[p]++
	if len(r.samples) < maxErrorSamples && !slices.Contains(r.samples, msg) {
		r.samples = append(r.samples, msg)
	}
	logIt := r.loggedError < maxLoggedErrors
	r.loggedError++
	r.mu.Unlock()
	if logIt && r.logf != nil {
		r.logf("error (%s): %s", phaseNames[p], msg)
	}
}

// errorCount is the number of failures so far, all phases.
func (r *recorder) errorCount() int64 {
	r.mu.Lock()
	defer r.mu.Unlock()
	var n int64
	for _, e := range r.errors {
		n += e
	}
	return n
}

// opsCount is the number of operations counted in the window so far.
func (r *recorder) opsCount() int64 {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.ops
}

// result summarises the run. Errors are those of every phase (a failure in the warmup or
// the drain is a failure too); notes get the split.
func (r *recorder) result(scenario, mode string, window time.Duration, notes string) *result {
	r.mu.Lock()
	defer r.mu.Unlock()
	secs := window.Seconds()
	res := &result{
		Scenario:        scenario,
		Mode:            mode,
		DurationSeconds: round3(secs),
		Ops:             r.ops,
		OpsPerSecond:    round3(float64(r.ops) / secs),
		Events:          r.events,
		EventsPerSecond: round3(float64(r.events) / secs),
		LatencyMs:       summarize(r.latencies),
		ErrorSamples:    append([]string{}, r.samples...),
		Lost:            r.lost,
	}
	for _, e := range r.errors {
		res.Errors += e
	}
	split := fmt.Sprintf("errors by phase: warmup %d, window %d, after %d; ops outside the window: warmup %d, after %d",
		r.errors[phaseWarmup], r.errors[phaseWindow], r.errors[phaseAfter]+r.errors[phaseSetup],
		r.outsideOps[phaseWarmup], r.outsideOps[phaseAfter])
	if notes == "" {
		res.Notes = split
	} else {
		res.Notes = notes + "; " + split
	}
	return res
}

// summarize sorts the samples and takes nearest-rank percentiles.
func summarize(ms []float64) latencyResult {
	if len(ms) == 0 {
		return latencyResult{}
	}
	sorted := slices.Clone(ms)
	slices.Sort(sorted)
	return latencyResult{
		Count: len(sorted),
		P50:   round3(nearestRank(sorted, 0.50)),
		P95:   round3(nearestRank(sorted, 0.95)),
		P99:   round3(nearestRank(sorted, 0.99)),
		Max:   round3(sorted[len(sorted)-1]),
	}
}

// nearestRank is the smallest sample with at least p of the samples at or below it.
func nearestRank(sorted []float64, p float64) float64 {
	rank := int(math.Ceil(p * float64(len(sorted))))
	rank = max(1, min(rank, len(sorted)))
	return sorted[rank-1]
}

func round3(v float64) float64 { return math.Round(v*1000) / 1000 }
