package engine

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"log/slog"
	"regexp"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/ecsd-project/ecsd/agent/task"
	"github.com/ecsd-project/ecsd/runtime"
	"github.com/ecsd-project/ecsd/runtime/logs"
)

// event is something a worker's helper goroutines report back.
type event struct {
	container string
	kind      eventKind
	err       error

	image  runtime.Image      // pulled
	exit   runtime.ExitStatus // exited
	health task.HealthStatus  // health
	output string             // health
}

type eventKind int

const (
	evPulled eventKind = iota + 1
	evCreated
	evStarted
	evStopDone
	evExited
	evHealth
	evRestarted
	evRetry
)

// worker owns one task: only its goroutine changes w.t.
type worker struct {
	e   *Engine
	log *slog.Logger

	mu       sync.Mutex // guards t for snapshot, and pending
	t        *task.Task
	pending  task.TaskStatus // desired status asked for by others
	done     bool
	notify   chan struct{}
	events   chan event
	inFlight map[string]bool
	waiting  map[string]bool               // containers with a Wait goroutine
	probes   map[string]context.CancelFunc // running health probes
	specs    map[string]*SpecResult
	ips      map[string]string // container name → bridge address, for links
	loggers  map[string]logs.Logger
	// reattach lists containers found running at recovery; the worker
	// attaches to them before it watches them.
	reattach map[string]bool
	admitted bool
	dirty    bool // the task changed since it was last persisted
	stopTry  map[string]int
	helpers  sync.WaitGroup
}

func newWorker(e *Engine, t *task.Task) *worker {
	return &worker{
		e: e, t: t, log: e.log.With("task", t.ARN),
		pending:  t.Desired,
		notify:   make(chan struct{}, 1),
		events:   make(chan event, 16),
		inFlight: map[string]bool{},
		waiting:  map[string]bool{},
		probes:   map[string]context.CancelFunc{},
		specs:    map[string]*SpecResult{},
		ips:      map[string]string{},
		loggers:  map[string]logs.Logger{},
		reattach: map[string]bool{},
		stopTry:  map[string]int{},
	}
}

// want asks the worker to move the task's desired status (forward only).
func (w *worker) want(s task.TaskStatus) {
	w.mu.Lock()
	if s > w.pending {
		w.pending = s
	}
	w.mu.Unlock()
	w.poke()
}

func (w *worker) poke() {
	select {
	case w.notify <- struct{}{}:
	default:
	}
}

func (w *worker) snapshot() *task.Task {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.t.Clone()
}

func (w *worker) finished() bool {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.done
}

// edit changes the task under the snapshot lock.
func (w *worker) edit(f func(t *task.Task)) {
	w.mu.Lock()
	f(w.t)
	w.dirty = true
	w.mu.Unlock()
}

func (w *worker) run(ctx context.Context) {
	wctx, cancel := context.WithCancel(ctx)
	defer func() {
		cancel()
		w.helpers.Wait()
	}()
	w.admit()
	w.reattachAll(wctx)
	for _, c := range w.t.Containers {
		if c.Known == task.ContainerRunning {
			w.watch(wctx, c)
		}
	}
	for {
		w.mu.Lock()
		pending := w.pending
		w.mu.Unlock()
		w.edit(func(t *task.Task) { t.WantStatus(pending) })
		if !w.settle(wctx) {
			return
		}
		if w.t.Known >= task.TaskStopped && len(w.inFlight) == 0 {
			w.cleanup(wctx)
			return
		}
		decided := false // a step that completes at once may enable more
		for _, s := range task.Plan(w.t, w.inFlight, task.PlanOptions{PullUpfront: w.e.cfg.PullUpfront}) {
			if s.Action == task.MarkStopped || s.Action == task.FailDependency {
				decided = true
			}
			w.begin(wctx, s)
		}
		if decided {
			continue
		}
		if !w.settle(wctx) {
			return
		}
		select {
		case ev := <-w.events:
			w.handle(wctx, ev)
		case <-w.notify:
		case <-ctx.Done():
			return
		}
	}
}

// settle derives the task's status and persists it with any change to
// report. It returns false only when ctx ended before the write succeeded.
func (w *worker) settle(ctx context.Context) bool {
	var ch task.StateChange
	var ok, dirty bool
	w.mu.Lock()
	if w.t.Reconcile(w.e.clock.Now()) {
		w.dirty = true
	}
	ch, ok = w.t.NextChange()
	dirty, w.dirty = w.dirty || ok, false
	w.mu.Unlock()
	if !dirty {
		return true
	}
	var changes []task.StateChange
	if ok {
		changes = append(changes, ch)
	}
	backoff := 100 * time.Millisecond
	for {
		snap := w.snapshot()
		err := w.e.cfg.Store.PutTask(snap, changes...)
		if err == nil {
			if ok {
				w.log.Info("state change", "status", ch.Status.String(), "containers", len(ch.Containers))
			}
			return true
		}
		w.log.Error("persist task state", "error", err)
		w.mu.Lock()
		w.dirty = true
		w.mu.Unlock()
		select {
		case <-w.e.clock.After(backoff):
		case <-ctx.Done():
			return false
		}
		backoff = min(2*backoff, 10*time.Second)
	}
}

// admit reserves host resources for a task about to start; a task that
// does not fit is refused rather than overcommitting the host.
func (w *worker) admit() {
	if w.admitted || w.t.Desired >= task.TaskStopped || w.t.Known >= task.TaskStopped {
		return
	}
	if err := w.e.res.reserve(w.t); err != nil {
		w.log.Warn("task refused", "error", err)
		w.edit(func(t *task.Task) {
			t.Reason = err.Error()
			t.WantStatus(task.TaskStopped)
		})
		return
	}
	w.admitted = true
}

// helper runs f in a goroutine owned by the worker; f's event goes back
// to the worker unless the worker has ended.
func (w *worker) helper(ctx context.Context, f func() event) {
	w.helpers.Add(1)
	go func() {
		defer w.helpers.Done()
		ev := f()
		select {
		case w.events <- ev:
		case <-ctx.Done():
		}
	}()
}

func (w *worker) begin(ctx context.Context, s task.Step) {
	c := w.t.Container(s.Container)
	switch s.Action {
	case task.MarkStopped:
		w.edit(func(*task.Task) { c.Known = task.ContainerStopped })
		return
	case task.FailDependency:
		w.log.Warn("dependency cannot be met", "container", c.Name, "reason", s.Reason)
		w.edit(func(*task.Task) {
			c.Desired = task.ContainerStopped
			c.Reason = s.Reason
		})
		return
	}
	w.inFlight[c.Name] = true
	switch s.Action {
	case task.Pull:
		w.edit(func(t *task.Task) {
			if t.PullStartedAt.IsZero() {
				t.PullStartedAt = w.e.clock.Now()
			}
		})
		ref := c.Def.Image
		w.helper(ctx, func() event {
			img, err := w.e.cfg.Runtime.PullImage(ctx, ref, runtime.PullOptions{Behavior: w.e.cfg.PullBehavior})
			return event{container: c.Name, kind: evPulled, image: img, err: err}
		})
	case task.Create:
		spec, err := w.spec(ctx, c)
		if err != nil {
			delete(w.inFlight, c.Name)
			reason := err.Error()
			if !strings.HasPrefix(reason, "ContainerNetworkingError") {
				reason = fmt.Sprintf("%s: %s", runtime.ErrCannotCreate, reason)
			}
			w.fail(c, reason)
			return
		}
		// The id is persisted before the container exists, so a crash in
		// between finds it again by id instead of creating a second one.
		w.edit(func(*task.Task) { c.RuntimeID = spec.ID })
		if !w.settle(ctx) {
			return
		}
		w.helper(ctx, func() event {
			err := w.e.cfg.Runtime.Create(ctx, spec)
			if err != nil && strings.Contains(err.Error(), "already exists") {
				err = nil
			}
			return event{container: c.Name, kind: evCreated, err: err}
		})
	case task.Start:
		id := c.RuntimeID
		stdout, stderr, err := w.output(ctx, c)
		if err != nil {
			delete(w.inFlight, c.Name)
			w.fail(c, fmt.Sprintf("%s: log driver: %v", runtime.ErrCannotStart, err))
			return
		}
		w.helper(ctx, func() event {
			return event{container: c.Name, kind: evStarted, err: w.e.cfg.Runtime.Start(ctx, id, stdout, stderr)}
		})
	case task.Stop:
		id, timeout := c.RuntimeID, w.stopTimeout(c)
		w.helper(ctx, func() event {
			return event{container: c.Name, kind: evStopDone, err: w.e.cfg.Runtime.Stop(ctx, id, timeout)}
		})
	}
}

func (w *worker) stopTimeout(c *task.Container) time.Duration {
	if c.Def.StopTimeout != nil && *c.Def.StopTimeout > 0 {
		return time.Duration(*c.Def.StopTimeout) * time.Second
	}
	return w.e.cfg.StopTimeout
}

// fail stops a container that cannot progress, with ECS's reason.
func (w *worker) fail(c *task.Container, reason string) {
	w.log.Warn("container failed", "container", c.Name, "reason", reason)
	w.edit(func(*task.Task) {
		c.Reason = reason
		c.Desired = task.ContainerStopped
		if c.Known < task.ContainerCreated {
			c.Known = task.ContainerStopped
		}
	})
}

func (w *worker) handle(ctx context.Context, ev event) {
	c := w.t.Container(ev.container)
	if c == nil {
		return
	}
	switch ev.kind {
	case evPulled, evCreated, evStarted, evStopDone, evRetry:
		delete(w.inFlight, c.Name)
	}
	switch ev.kind {
	case evPulled:
		if ev.err != nil {
			w.fail(c, ev.err.Error())
			return
		}
		w.edit(func(t *task.Task) {
			c.Known = max(c.Known, task.ContainerPulled)
			c.ImageDigest = ev.image.Digest
			if allPulled(t) {
				t.PullStoppedAt = w.e.clock.Now()
			}
		})
	case evCreated:
		if ev.err != nil {
			w.fail(c, ev.err.Error())
			return
		}
		w.edit(func(*task.Task) { c.Known = max(c.Known, task.ContainerCreated) })
	case evStarted:
		if ev.err != nil {
			w.edit(func(*task.Task) { c.Known = task.ContainerStopped })
			w.fail(c, ev.err.Error())
			return
		}
		w.edit(func(*task.Task) {
			c.Known = max(c.Known, task.ContainerRunning)
			c.StartedAt = w.e.clock.Now()
		})
		w.watch(ctx, c)
	case evStopDone:
		if ev.err != nil && c.Known < task.ContainerStopped {
			w.stopTry[c.Name]++
			if w.stopTry[c.Name] >= 5 {
				w.log.Error("container will not stop", "container", c.Name, "error", ev.err)
				w.edit(func(*task.Task) {
					c.Known = task.ContainerStopped
					c.Reason = ev.err.Error()
				})
				return
			}
			// Retry later: hold the container in flight until then.
			w.inFlight[c.Name] = true
			delay := time.Duration(w.stopTry[c.Name]) * time.Second
			w.helper(ctx, func() event {
				select {
				case <-w.e.clock.After(delay):
				case <-ctx.Done():
				}
				return event{container: c.Name, kind: evRetry}
			})
		}
	case evExited:
		delete(w.waiting, c.Name)
		w.stopProbe(c.Name)
		if w.restart(ctx, c, ev.exit) {
			return
		}
		w.detach(c)
		w.closeLogs(c)
		w.edit(func(*task.Task) {
			code := ev.exit.Code
			c.ExitCode = &code
			c.Known = task.ContainerStopped
			c.FinishedAt = ev.exit.ExitedAt
			if ev.exit.OOMKilled {
				c.Reason = runtime.ErrOutOfMemory.Error() + ": Container killed due to memory usage"
			}
		})
	case evRestarted:
		if ev.err != nil {
			w.log.Warn("restart failed", "container", c.Name, "error", ev.err)
			w.edit(func(*task.Task) {
				c.Known = task.ContainerStopped
				c.Reason = ev.err.Error()
			})
			return
		}
		w.watch(ctx, c)
	case evHealth:
		if c.Known >= task.ContainerStopped {
			return
		}
		w.edit(func(*task.Task) {
			if c.Health != ev.health {
				c.HealthSince = w.e.clock.Now()
				w.log.Info("health", "container", c.Name, "status", string(ev.health))
			}
			c.Health = ev.health
			c.HealthOutput = ev.output
		})
	}
}

func allPulled(t *task.Task) bool {
	for _, c := range t.Containers {
		if c.Known < task.ContainerPulled && c.Desired < task.ContainerStopped {
			return false
		}
	}
	return true
}

// watch starts the goroutine that waits for the container's exit, and its
// health probe.
func (w *worker) watch(ctx context.Context, c *task.Container) {
	if w.waiting[c.Name] {
		return
	}
	w.waiting[c.Name] = true
	id := c.RuntimeID
	w.helper(ctx, func() event {
		st, err := w.e.cfg.Runtime.Wait(ctx, id)
		if err != nil && ctx.Err() == nil {
			w.log.Warn("wait for container", "container", c.Name, "error", err)
			st = runtime.ExitStatus{Code: 255, ExitedAt: w.e.clock.Now()}
		}
		return event{container: c.Name, kind: evExited, exit: st}
	})
	if spec := w.specs[c.Name]; spec != nil && spec.HealthCheck != nil {
		w.startProbe(ctx, c, *spec.HealthCheck)
	}
}

// restart applies the container's restart policy to an exit. It reports
// whether the container is being restarted in place.
func (w *worker) restart(ctx context.Context, c *task.Container, exit runtime.ExitStatus) bool {
	p := c.Def.RestartPolicy
	if p == nil || !p.Enabled || c.Desired >= task.ContainerStopped || w.t.Desired >= task.TaskStopped {
		return false
	}
	if slices.Contains(p.IgnoredExitCodes, int64(exit.Code)) {
		return false
	}
	period := 300 * time.Second
	if p.RestartAttemptPeriod != nil {
		period = time.Duration(*p.RestartAttemptPeriod) * time.Second
	}
	since := c.StartedAt
	if c.LastRestartAt.After(since) {
		since = c.LastRestartAt
	}
	now := w.e.clock.Now()
	if now.Sub(since) < period {
		return false
	}
	w.edit(func(*task.Task) {
		c.RestartCount++
		c.LastRestartAt = now
	})
	w.log.Info("restarting container", "container", c.Name, "exitCode", exit.Code, "restartCount", c.RestartCount)
	id := c.RuntimeID
	stdout, stderr, _ := w.output(ctx, c) // opened at the first start
	w.waiting[c.Name] = false
	w.helper(ctx, func() event {
		return event{container: c.Name, kind: evRestarted, err: w.e.cfg.Runtime.Start(ctx, id, stdout, stderr)}
	})
	return true
}

var unsafeIDChars = regexp.MustCompile(`[^A-Za-z0-9_.-]+`)

// containerID is the containerd id of a task's container: stable, so that
// recovery finds it again, and within containerd's 76 characters.
func containerID(t *task.Task, c *task.Container) string {
	id := t.ID() + "-" + unsafeIDChars.ReplaceAllString(c.Name, "_")
	if len(id) <= 76 {
		return id
	}
	sum := sha256.Sum256([]byte(t.ARN + "/" + c.Name))
	return id[:60] + "-" + hex.EncodeToString(sum[:])[:15]
}
