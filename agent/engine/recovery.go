package engine

import (
	"context"
	"fmt"
	"time"

	"github.com/ecsd-project/ecsd/agent/task"
	"github.com/ecsd-project/ecsd/runtime"
	"github.com/ecsd-project/ecsd/wire/acs"
)

// recover is the normal start path: it reads the persisted tasks, matches
// their containers with what containerd has (by id, found by ecsd's
// labels), learns what happened while ecsd was away, and removes
// containers that belong to no known task. Each container gets its own
// timeout, so one stuck container does not hold up the rest.
func (e *Engine) recover(ctx context.Context) error {
	tasks, err := e.cfg.Store.Tasks()
	if err != nil {
		return fmt.Errorf("read tasks: %w", err)
	}
	lctx, cancel := context.WithTimeout(ctx, time.Minute)
	list, err := e.cfg.Runtime.List(lctx)
	cancel()
	if err != nil {
		return fmt.Errorf("list containers: %w", err)
	}
	if e.cfg.RebuildFromLabels {
		rebuilt := rebuildTasks(tasks, list)
		if len(rebuilt) > 0 {
			e.log.Error("state was lost: tasks rebuilt from container labels", "tasks", len(rebuilt))
			if err := e.cfg.Store.AcceptTasks(rebuilt); err != nil {
				return fmt.Errorf("store rebuilt tasks: %w", err)
			}
			tasks = append(tasks, rebuilt...)
		}
	}
	found := map[string]runtime.ContainerInfo{}
	for _, info := range list {
		found[info.ID] = info
	}
	owned := map[string]bool{}
	live := map[string]bool{}
	e.mu.Lock()
	defer e.mu.Unlock()
	for _, t := range tasks {
		reattach := map[string]bool{}
		for _, c := range t.Containers {
			if c.RuntimeID == "" {
				continue
			}
			owned[c.RuntimeID] = true
			e.adopt(t, c, found, reattach)
			if c.Known < task.ContainerStopped {
				live[c.RuntimeID] = true
			}
		}
		if _, dup := e.workers[t.ARN]; dup {
			continue
		}
		w := newWorker(e, t)
		w.reattach = reattach
		w.admitted = true
		e.runWorker(w)
		if t.Known < task.TaskStopped && t.Desired < task.TaskStopped {
			e.res.reserveRecovered(t)
		}
	}
	if err := e.cleanupNetworks(ctx, live); err != nil {
		e.log.Error("network clean-up after restart", "error", err)
	}
	for _, info := range list {
		if owned[info.ID] {
			continue
		}
		e.log.Warn("removing orphan container: it belongs to no known task",
			"container", info.ID, "taskArn", info.Labels[runtime.LabelTaskARN],
			"name", info.Labels[runtime.LabelContainerName], "status", string(info.Status))
		octx, cancel := context.WithTimeout(ctx, 45*time.Second)
		if err := e.cfg.Runtime.Stop(octx, info.ID, 10*time.Second); err != nil {
			e.log.Error("stop orphan", "container", info.ID, "error", err)
		}
		if err := e.cfg.Runtime.Remove(octx, info.ID); err != nil {
			e.log.Error("remove orphan", "container", info.ID, "error", err)
		}
		cancel()
	}
	return nil
}

// adopt brings one container's known status up to what the runtime says.
// Known status only moves forward.
func (e *Engine) adopt(t *task.Task, c *task.Container, found map[string]runtime.ContainerInfo, reattach map[string]bool) {
	log := e.log.With("task", t.ARN, "container", c.Name)
	info, ok := found[c.RuntimeID]
	if !ok {
		if c.Known >= task.ContainerCreated && c.Known < task.ContainerStopped {
			log.Warn("container vanished while ecsd was away")
			c.Known = task.ContainerStopped
			c.Reason = "ContainerVanishedError: the container disappeared while the agent was not running"
		}
		return
	}
	switch info.Status {
	case runtime.StatusRunning:
		// The worker attaches to it (with its log driver) and watches it.
		c.Known = max(c.Known, task.ContainerRunning)
		reattach[c.Name] = true
		log.Info("re-adopting running container")
	case runtime.StatusStopped:
		if c.Known < task.ContainerStopped {
			if c.Known < task.ContainerRunning {
				c.Known = task.ContainerRunning // it did run: report that too
			}
			c.Known = task.ContainerStopped
			if info.Exit != nil {
				code := info.Exit.Code
				c.ExitCode = &code
				c.FinishedAt = info.Exit.ExitedAt
				if info.Exit.OOMKilled {
					c.Reason = runtime.ErrOutOfMemory.Error() + ": Container killed due to memory usage"
				}
			}
			log.Info("container exited while ecsd was away", "exitCode", c.ExitCode)
		}
	case runtime.StatusCreated:
		c.Known = max(c.Known, task.ContainerCreated)
	}
}

// reattachAll attaches to the containers recovery found running, so that
// their output reaches their log drivers again and their exit is seen.
func (w *worker) reattachAll(ctx context.Context) {
	for name := range w.reattach {
		c := w.t.Container(name)
		stdout, stderr, err := w.output(ctx, c)
		if err != nil {
			w.log.Warn("log driver for re-adopted container", "container", name, "error", err)
		}
		actx, cancel := context.WithTimeout(ctx, 30*time.Second)
		info, err := w.e.cfg.Runtime.Attach(actx, c.RuntimeID, stdout, stderr)
		cancel()
		if err != nil {
			w.log.Error("attach to running container", "container", name, "error", err)
			continue
		}
		if info.Status == runtime.StatusStopped && info.Exit != nil {
			// It ended between listing and attaching; its waiter reports it.
			w.log.Info("re-adopted container has exited", "container", name)
		}
	}
	w.reattach = nil
}

// reserveRecovered accounts a recovered task's resources without refusing
// it: it is already running.
func (r *resources) reserveRecovered(t *task.Task) {
	n := need(t)
	r.mu.Lock()
	defer r.mu.Unlock()
	if _, ok := r.tasks[t.ARN]; ok {
		return
	}
	r.tasks[t.ARN] = n
	r.used.CPU += n.CPU
	r.used.MemoryMiB += n.MemoryMiB
}

// rebuildTasks makes tasks for containers that carry a task ARN label but
// belong to no known task, from what their labels say. The task definition
// itself is gone; ACS's next task manifest settles what should run.
func rebuildTasks(known []*task.Task, list []runtime.ContainerInfo) []*task.Task {
	have := map[string]bool{}
	for _, t := range known {
		have[t.ARN] = true
	}
	byARN := map[string]*task.Task{}
	var out []*task.Task
	for _, info := range list {
		l := info.Labels
		arn, name := l[runtime.LabelTaskARN], l[runtime.LabelContainerName]
		if arn == "" || name == "" || have[arn] {
			continue
		}
		t := byARN[arn]
		if t == nil {
			t = &task.Task{ARN: arn, Cluster: l[runtime.LabelCluster], Family: l[runtime.LabelTaskFamily],
				Version: l[runtime.LabelTaskVersion], Desired: task.TaskRunning}
			t.Def = acs.Task{ARN: arn, Family: t.Family, Version: t.Version, DesiredStatus: acs.DesiredStatusRunning}
			byARN[arn] = t
			out = append(out, t)
		}
		essential := l[runtime.LabelEssential] != "false"
		t.Containers = append(t.Containers, &task.Container{
			Name: name, RuntimeID: info.ID, Desired: task.ContainerRunning, Known: task.ContainerCreated,
			Health: task.HealthUnknown,
			Def:    acs.Container{Name: name, Image: info.Image, Essential: &essential},
		})
	}
	return out
}
