package main

import (
	"testing"
	"time"
)

func TestNearestRank(t *testing.T) {
	sorted := []float64{1, 2, 3, 4, 5, 6, 7, 8, 9, 10}
	for _, c := range []struct {
		p    float64
		want float64
	}{{0.5, 5}, {0.95, 10}, {0.99, 10}, {0.1, 1}, {0.11, 2}, {1, 10}} {
		if got := nearestRank(sorted, c.p); got != c.want {
			t.Errorf("p%v = %v, want %v", c.p, got, c.want)
		}
	}
	if got := summarize([]float64{3, 1, 2}); got.P50 != 2 || got.Max != 3 || got.Count != 3 {
		t.Errorf("summarize = %+v", got)
	}
	if got := summarize(nil); got.Count != 0 {
		t.Errorf("summarize(nil) = %+v", got)
	}
}

func TestRecorderWindow(t *testing.T) {
	r := newRecorder(nil)
	start, end := r.startClock(time.Hour, time.Minute)
	r.observe(start.Add(-time.Second), time.Millisecond) // warmup
	r.observe(start, 2*time.Millisecond)                 // first instant of the window
	r.observe(end.Add(-time.Nanosecond), 4*time.Millisecond)
	r.observe(end, time.Millisecond) // after
	r.addEvents(start, 7)
	r.addEvents(end, 100)
	r.failf("x")
	r.failf("x")
	res := r.result("s", "smoke", time.Minute, "")
	if res.Ops != 2 || res.Events != 7 || res.LatencyMs.Max != 4 || res.LatencyMs.P50 != 2 {
		t.Errorf("result = %+v", res)
	}
	if res.Errors != 2 || len(res.ErrorSamples) != 1 {
		t.Errorf("errors %d, samples %v", res.Errors, res.ErrorSamples)
	}
	if res.OpsPerSecond != round3(2.0/60) {
		t.Errorf("ops/s = %v", res.OpsPerSecond)
	}
}

func TestSecondsFlag(t *testing.T) {
	for in, want := range map[string]time.Duration{"20": 20 * time.Second, "2.5": 2500 * time.Millisecond, "1m": time.Minute, "0": 0} {
		var f secondsFlag
		if err := f.Set(in); err != nil || f.d != want {
			t.Errorf("Set(%q) = %v, %v; want %v", in, f.d, err, want)
		}
	}
	var f secondsFlag
	if f.Set("-1") == nil || f.Set("soon") == nil {
		t.Error("accepted a bad value")
	}
}

func TestSanitizeName(t *testing.T) {
	if got := sanitizeName("perf-job_e2e-run 1"); got != "perf-job-e2e-run-1" {
		t.Errorf("got %q", got)
	}
}
