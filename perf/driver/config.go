package main

import (
	"encoding/json"
	"fmt"
	"os"
)

// config is perf/gate/scenarios.json, the single source of the scenarios' parameters.
type config struct {
	Modes     map[string]modeParams     `json:"modes"`
	Scenarios map[string]scenarioParams `json:"scenarios"`
}

// modeParams are the durations (and sizes) of a mode.
type modeParams struct {
	WarmupSeconds   float64 `json:"warmupSeconds"`
	DurationSeconds float64 `json:"durationSeconds"`
	ReplayEvents    int     `json:"replayEvents"`
}

// scenarioParams are the fields of the driver's scenarios; each uses some of them.
type scenarioParams struct {
	Runner    string `json:"runner"`
	ToolCalls int    `json:"toolCalls"`
	Producers int    `json:"producers"`
	Workers   int    `json:"workers"`
	Senders   int    `json:"senders"`
	Readers   int    `json:"readers"`
	Batch     int    `json:"batch"`
	During    string `json:"during"`
	// GapMs (signal_resume, optional): each sender pauses this long after a resume before
	// the next signal, to measure latency below saturation. 0: back to back.
	GapMs int `json:"gapMs"`
}

func loadConfig(path string) (*config, error) {
	raw, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	var cfg config
	if err := json.Unmarshal(raw, &cfg); err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	return &cfg, nil
}

// resolve returns the mode's and the scenario's parameters, checking the ones the scenario needs.
func (c *config) resolve(scenario, mode string) (modeParams, scenarioParams, error) {
	m, ok := c.Modes[mode]
	if !ok {
		return m, scenarioParams{}, fmt.Errorf("mode %q is not in the config", mode)
	}
	s, ok := c.Scenarios[scenario]
	if !ok {
		return m, s, fmt.Errorf("scenario %q is not in the config", scenario)
	}
	if s.Runner != "driver" {
		return m, s, fmt.Errorf("scenario %q has runner %q, not driver", scenario, s.Runner)
	}
	positive := func(name string, v int) error {
		if v <= 0 {
			return fmt.Errorf("scenario %q: %s must be > 0, got %d", scenario, name, v)
		}
		return nil
	}
	var err error
	switch scenario {
	case "job_e2e":
		err = firstError(positive("toolCalls", s.ToolCalls), positive("producers", s.Producers), positive("workers", s.Workers))
	case "signal_resume":
		err = firstError(positive("senders", s.Senders), positive("workers", s.Workers))
		if err == nil && s.GapMs < 0 {
			err = fmt.Errorf("scenario %q: gapMs must be ≥ 0, got %d", scenario, s.GapMs)
		}
	case "replay":
		err = firstError(positive("readers", s.Readers), positive("batch", s.Batch), positive("replayEvents (mode)", m.ReplayEvents))
		if err == nil && s.Batch > 1000 {
			err = fmt.Errorf("scenario %q: batch must be ≤ 1000, got %d", scenario, s.Batch)
		}
	}
	return m, s, err
}

func firstError(errs ...error) error {
	for _, err := range errs {
		if err != nil {
			return err
		}
	}
	return nil
}
