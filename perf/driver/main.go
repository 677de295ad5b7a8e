// Command driver is the load driver of the P0 performance gate: it runs one scenario of
// perf/gate/scenarios.json (job_e2e, signal_resume, replay or subscribe) against a running
// Aetheris server and prints exactly one JSON object (see result) on stdout. Logs go to stderr.
//
//	driver -scenario job_e2e -address 127.0.0.1:50051 -api-key <admin> -worker-key <worker> \
//	       -config ../gate/scenarios.json -mode smoke
package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"log"
	"os"
	"os/signal"
	"strconv"
	"syscall"
	"time"
)

// scenarioFunc runs one scenario: setup, warmup, the measurement window, drain and checks.
// It records into d.rec and returns notes for the result; an error means the run is invalid
// (setup failed, or interrupted) and no result is printed.
type scenarioFunc func(ctx context.Context, d *driver) (notes string, err error)

var scenarioFuncs = map[string]scenarioFunc{
	"job_e2e":       runJobE2E,
	"signal_resume": runSignalResume,
	"replay":        runReplay,
	"subscribe":     runSubscribe,
}

// options are the command-line flags.
type options struct {
	scenario   string
	address    string
	apiKey     string
	workerKey  string
	configPath string
	mode       string
	runID      string
	conns      int
	warmup     secondsFlag
	duration   secondsFlag
	drain      time.Duration
	appendLoad int
	verify     int
}

// secondsFlag accepts `20`, `2.5` (seconds) or a Go duration (`20s`, `1m`); unset when negative.
type secondsFlag struct{ d time.Duration }

func (f *secondsFlag) String() string {
	if f.d < 0 {
		return ""
	}
	return f.d.String()
}

func (f *secondsFlag) Set(s string) error {
	if v, err := strconv.ParseFloat(s, 64); err == nil {
		f.d = time.Duration(v * float64(time.Second))
	} else if d, err := time.ParseDuration(s); err == nil {
		f.d = d
	} else {
		return fmt.Errorf("not seconds or a duration: %q", s)
	}
	if f.d < 0 {
		return fmt.Errorf("negative: %q", s)
	}
	return nil
}

func parseFlags(args []string) (options, error) {
	o := options{warmup: secondsFlag{-1}, duration: secondsFlag{-1}}
	fs := flag.NewFlagSet("driver", flag.ContinueOnError)
	fs.StringVar(&o.scenario, "scenario", "", "job_e2e | signal_resume | replay | subscribe")
	fs.StringVar(&o.address, "address", "127.0.0.1:50051", "server host:port")
	fs.StringVar(&o.apiKey, "api-key", os.Getenv("AETHERIS_API_KEY"), "admin (or operator) API key (env AETHERIS_API_KEY)")
	fs.StringVar(&o.workerKey, "worker-key", os.Getenv("AETHERIS_WORKER_KEY"), "worker API key (env AETHERIS_WORKER_KEY)")
	fs.StringVar(&o.configPath, "config", "../gate/scenarios.json", "scenario definitions")
	fs.StringVar(&o.mode, "mode", "smoke", "smoke | full (durations and replayEvents)")
	fs.StringVar(&o.runID, "run-id", "", "makes queue names unique (default: time-based)")
	fs.IntVar(&o.conns, "conns", 4, "gRPC connections per API key, used round-robin")
	fs.Var(&o.warmup, "warmup", "override the mode's warmup (seconds or a duration)")
	fs.Var(&o.duration, "duration", "override the mode's measurement window (seconds or a duration)")
	fs.DurationVar(&o.drain, "drain", 15*time.Second, "job_e2e/signal_resume: how long to let in-flight jobs finish after the window")
	fs.IntVar(&o.appendLoad, "append-load", 0, "subscribe: goroutines appending 1 event per call during the run (0: rely on an external load such as the gate's ghz)")
	fs.IntVar(&o.verify, "verify", 200, "job_e2e: completed jobs re-checked with GetJob (besides every lost one)")
	if err := fs.Parse(args); err != nil {
		return o, err
	}
	if fs.NArg() > 0 {
		return o, fmt.Errorf("unexpected arguments: %v", fs.Args())
	}
	if _, ok := scenarioFuncs[o.scenario]; !ok {
		return o, fmt.Errorf("-scenario must be one of job_e2e, signal_resume, replay, subscribe; got %q", o.scenario)
	}
	if o.apiKey == "" {
		return o, errors.New("-api-key is required")
	}
	if o.workerKey == "" && (o.scenario == "job_e2e" || o.scenario == "signal_resume") {
		return o, errors.New("-worker-key is required for " + o.scenario)
	}
	if o.conns < 1 {
		return o, errors.New("-conns must be ≥ 1")
	}
	if o.runID == "" {
		o.runID = strconv.FormatInt(time.Now().UnixMilli(), 36)
	}
	o.runID = sanitizeName(o.runID)
	return o, nil
}

func main() {
	logger := log.New(os.Stderr, "driver: ", log.LstdFlags|log.Lmicroseconds)
	opts, err := parseFlags(os.Args[1:])
	if err != nil {
		if errors.Is(err, flag.ErrHelp) {
			os.Exit(0)
		}
		logger.Print(err)
		os.Exit(2)
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	res, err := run(ctx, opts, logger)
	stop()
	if err != nil {
		logger.Printf("%s failed: %v", opts.scenario, err)
		os.Exit(1)
	}
	out, err := json.Marshal(res)
	if err != nil {
		logger.Print(err)
		os.Exit(1)
	}
	fmt.Println(string(out))
}

func run(ctx context.Context, opts options, logger *log.Logger) (*result, error) {
	cfg, err := loadConfig(opts.configPath)
	if err != nil {
		return nil, err
	}
	mode, params, err := cfg.resolve(opts.scenario, opts.mode)
	if err != nil {
		return nil, err
	}
	warmup := time.Duration(mode.WarmupSeconds * float64(time.Second))
	duration := time.Duration(mode.DurationSeconds * float64(time.Second))
	if opts.warmup.d >= 0 {
		warmup = opts.warmup.d
	}
	if opts.duration.d >= 0 {
		duration = opts.duration.d
	}
	if duration <= 0 {
		return nil, errors.New("the measurement window must be > 0")
	}

	stats := newRPCStats()
	defer func() { logger.Printf("unary calls (all phases, client-side):%s", stats.summary()) }()
	admin, err := dial(opts.address, opts.apiKey, opts.conns, stats)
	if err != nil {
		return nil, err
	}
	defer admin.close()
	d := &driver{
		opts:     opts,
		mode:     mode,
		params:   params,
		warmup:   warmup,
		duration: duration,
		admin:    admin,
		rec:      newRecorder(logger.Printf),
		log:      logger,
	}
	if opts.workerKey != "" {
		if d.worker, err = dial(opts.address, opts.workerKey, opts.conns, stats); err != nil {
			return nil, err
		}
		defer d.worker.close()
	}
	logger.Printf("%s (%s): warmup %s, window %s, run id %s, %d connections per key to %s",
		opts.scenario, opts.mode, warmup, duration, opts.runID, opts.conns, opts.address)

	notes, err := scenarioFuncs[opts.scenario](ctx, d)
	if err == nil && ctx.Err() != nil {
		err = fmt.Errorf("interrupted: %w", ctx.Err())
	}
	if err != nil {
		return nil, err
	}
	res := d.rec.result(opts.scenario, opts.mode, duration, notes)
	logger.Printf("%s: ops %d (%.1f/s), events %d, p50 %.2f ms, p99 %.2f ms, errors %d, lost %d",
		opts.scenario, res.Ops, res.OpsPerSecond, res.Events, res.LatencyMs.P50, res.LatencyMs.P99, res.Errors, res.Lost)
	return res, nil
}

// driver is what every scenario gets: parameters, connections and the recorder.
type driver struct {
	opts     options
	mode     modeParams
	params   scenarioParams
	warmup   time.Duration
	duration time.Duration
	admin    *pool // the admin key: CreateJob, SendSignal, AppendEvents, reads
	worker   *pool // the worker key: the worker protocol
	rec      *recorder
	log      *log.Logger
}

// queue is this run's task queue for the scenario (queue names allow [A-Za-z0-9._:/-]).
func (d *driver) queue() string {
	return sanitizeName("perf-" + d.opts.scenario + "-" + d.opts.runID)
}

// sleepUntil waits until t or until ctx is done.
func sleepUntil(ctx context.Context, t time.Time) {
	timer := time.NewTimer(time.Until(t))
	defer timer.Stop()
	select {
	case <-ctx.Done():
	case <-timer.C:
	}
}

// sanitizeName maps s to the job type / queue charset [A-Za-z0-9._:/-].
func sanitizeName(s string) string {
	b := []byte(s)
	for i, c := range b {
		ok := c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' ||
			c == '.' || c == ':' || c == '/' || c == '-'
		if !ok {
			b[i] = '-'
		}
	}
	if len(b) > 128 {
		b = b[:128]
	}
	return string(b)
}
