package engine

import (
	"context"
	"time"

	"github.com/ecsd-project/ecsd/agent/task"
)

// startProbe runs a container's health check, as Docker would, in a
// goroutine owned by the worker until the container stops.
func (w *worker) startProbe(ctx context.Context, c *task.Container, hc HealthCheck) {
	argv := probeCommand(hc.Test)
	if argv == nil {
		return
	}
	pctx, cancel := context.WithCancel(ctx)
	w.probes[c.Name] = cancel
	id, name := c.RuntimeID, c.Name
	started := c.StartedAt
	if started.IsZero() {
		started = w.e.clock.Now()
	}
	w.helpers.Add(1)
	go func() {
		defer w.helpers.Done()
		w.probe(pctx, id, name, argv, hc, started)
	}()
}

func (w *worker) stopProbe(name string) {
	if cancel := w.probes[name]; cancel != nil {
		cancel()
		delete(w.probes, name)
	}
}

// probeCommand turns a Docker health check test into the command to exec:
// ["CMD", exe, args...] runs exe; ["CMD-SHELL", cmd] runs cmd with /bin/sh.
// ["NONE"] or anything else disables the check.
func probeCommand(test []string) []string {
	if len(test) < 2 {
		return nil
	}
	switch test[0] {
	case "CMD":
		return test[1:]
	case "CMD-SHELL":
		return []string{"/bin/sh", "-c", test[1]}
	}
	return nil
}

// probe follows Docker's rules: a check every interval; a failure during
// the start period does not count; retries consecutive failures make the
// container UNHEALTHY; one success makes it HEALTHY.
func (w *worker) probe(ctx context.Context, id, name string, argv []string, hc HealthCheck, started time.Time) {
	status := task.HealthUnknown
	failures := 0
	for {
		select {
		case <-w.e.clock.After(hc.Interval):
		case <-ctx.Done():
			return
		}
		res, err := w.e.cfg.Runtime.Exec(ctx, id, argv, hc.Timeout)
		if ctx.Err() != nil {
			return
		}
		next := status
		output := res.Output
		if err == nil && res.ExitCode == 0 {
			failures = 0
			next = task.HealthHealthy
		} else {
			if err != nil {
				output = err.Error()
			}
			if w.e.clock.Now().Sub(started) >= hc.StartPeriod {
				failures++
			}
			if failures >= hc.Retries {
				next = task.HealthUnhealthy
			}
		}
		if next != status {
			status = next
			select {
			case w.events <- event{container: name, kind: evHealth, health: status, output: output}:
			case <-ctx.Done():
				return
			}
		}
	}
}
