package engine

import (
	"context"
	"os"
	"time"

	"github.com/ecsd-project/ecsd/agent/task"
)

// cleanupPoll is how often a stopped task checks whether its STOPPED
// change has reached ECS.
const cleanupPoll = 30 * time.Second

// cleanup waits out the cleanup delay and the delivery of the task's
// STOPPED change, then removes its containers, volumes and cgroup and
// forgets the task. Cancelling ctx leaves everything for the next start.
func (w *worker) cleanup(ctx context.Context) {
	w.e.res.release(w.t.ARN)
	for _, cancel := range w.probes {
		cancel()
	}
	for {
		remaining := w.t.KnownStoppedAt.Add(w.e.cfg.CleanupWait).Sub(w.e.clock.Now())
		if remaining <= 0 {
			n, err := w.e.cfg.Store.PendingFor(w.t.ARN)
			if err != nil {
				w.log.Error("check undelivered changes", "error", err)
			} else if n == 0 && w.t.Queued >= task.TaskStopped {
				break
			}
			remaining = cleanupPoll
		}
		select {
		case <-w.e.clock.After(remaining):
		case <-w.notify:
		case <-ctx.Done():
			return
		}
	}
	rctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 2*time.Minute)
	defer cancel()
	for _, c := range w.t.Containers {
		if c.RuntimeID == "" {
			continue
		}
		w.detach(c)
		if err := w.e.cfg.Runtime.Remove(rctx, c.RuntimeID); err != nil {
			w.log.Error("remove container", "container", c.Name, "error", err)
			return // try again at the next start
		}
	}
	if w.e.cfg.TaskCgroups {
		if err := w.e.cfg.Runtime.RemoveTaskCgroup(w.t.ID()); err != nil {
			w.log.Warn("remove task cgroup", "error", err)
		}
	}
	if w.e.cfg.DataDir != "" {
		if err := os.RemoveAll(w.volumesDir()); err != nil {
			w.log.Warn("remove task volumes", "error", err)
		}
	}
	if err := w.e.cfg.Store.DeleteTask(w.t.ARN); err != nil {
		w.log.Error("forget task", "error", err)
		return
	}
	w.log.Info("task cleaned up")
	w.mu.Lock()
	w.done = true
	w.mu.Unlock()
}

// Delivered tells the engine that a task's changes reached ECS, so a
// stopped task can be cleaned up without waiting for its next poll.
func (e *Engine) Delivered(arn string) {
	e.mu.Lock()
	w := e.workers[arn]
	e.mu.Unlock()
	if w != nil {
		w.poke()
	}
}
