package engine

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"sync"
	"time"

	"github.com/ecsd-project/ecsd/agent/task"
	"github.com/ecsd-project/ecsd/runtime"
)

// Runtime is what the engine needs of the container runtime.
type Runtime interface {
	PullImage(ctx context.Context, ref string, opts runtime.PullOptions) (runtime.Image, error)
	ImageInfo(ctx context.Context, ref string) (runtime.Image, error)
	ListImages(ctx context.Context) ([]runtime.Image, error)
	RemoveImage(ctx context.Context, ref string) error
	Create(ctx context.Context, spec runtime.ContainerSpec) error
	Start(ctx context.Context, id string, stdout, stderr io.Writer) error
	Attach(ctx context.Context, id string, stdout, stderr io.Writer) (runtime.ContainerInfo, error)
	Wait(ctx context.Context, id string) (runtime.ExitStatus, error)
	Stop(ctx context.Context, id string, timeout time.Duration) error
	Remove(ctx context.Context, id string) error
	Exec(ctx context.Context, id string, argv []string, timeout time.Duration) (runtime.ExecResult, error)
	List(ctx context.Context) ([]runtime.ContainerInfo, error)
	CreateTaskCgroup(taskID string, res runtime.TaskResources) (string, error)
	RemoveTaskCgroup(taskID string) error
}

// Store is what the engine needs of the state store.
type Store interface {
	AcceptTasks(ts []*task.Task) error
	PutTask(t *task.Task, changes ...task.StateChange) error
	Tasks() ([]*task.Task, error)
	DeleteTask(arn string) error
	PendingFor(taskARN string) (int, error)
}

// Clock is the engine's view of time, injected so tests can move it.
type Clock interface {
	Now() time.Time
	After(d time.Duration) <-chan time.Time
}

type realClock struct{}

func (realClock) Now() time.Time                         { return time.Now() }
func (realClock) After(d time.Duration) <-chan time.Time { return time.After(d) }

// Output gives each container's stdout and stderr writers. When set it
// replaces the containers' log drivers (tests).
type Output func(taskARN, container string) (stdout, stderr io.Writer)

// Config configures an Engine.
type Config struct {
	Runtime Runtime
	Store   Store
	Log     *slog.Logger
	Clock   Clock // nil: the system clock
	Output  Output
	// LogDrivers are the enabled log drivers (ECS_AVAILABLE_LOGGING_DRIVERS);
	// nil enables all that runtime/logs has.
	LogDrivers []string
	// Credentials gives awslogs the task's execution-role credentials.
	Credentials Credentials
	// Network sets up bridge networking and port mappings; nil gives every
	// container a namespace with only loopback (or the host's, in host mode).
	Network Network

	Cluster string
	Region  string
	// DataDir holds task-scoped volumes: DataDir/volumes/TASK_ID/NAME.
	DataDir string

	PullBehavior runtime.PullBehavior
	PullUpfront  bool
	// StopTimeout is ECS_CONTAINER_STOP_TIMEOUT (default 30 s).
	StopTimeout time.Duration
	// CleanupWait is ECS_ENGINE_TASK_CLEANUP_WAIT_DURATION (default 3 h).
	CleanupWait time.Duration
	// TaskCgroups puts each task's containers in a task-level cgroup with
	// its cpu and memory limits (ECS_ENABLE_TASK_CPU_MEM_LIMIT).
	TaskCgroups bool
	// Resources are what tasks may use in all; zero fields are unlimited.
	Resources Resources
	// ImageCleanup configures image garbage collection.
	ImageCleanup ImageCleanup
	// Env is injected into every container.
	Env map[string]string
	// RebuildFromLabels adopts containers that no stored task knows as
	// tasks rebuilt from their labels, instead of removing them as orphans:
	// for a start after the store was found damaged and replaced.
	RebuildFromLabels bool
}

// Engine runs tasks: one worker goroutine per task.
type Engine struct {
	cfg   Config
	log   *slog.Logger
	clock Clock
	res   *resources

	mu      sync.Mutex
	workers map[string]*worker // by task ARN
	ctx     context.Context    // set by Run; workers live under it
	wg      sync.WaitGroup
	ready   chan struct{}
}

// New builds an engine; Run starts it.
func New(cfg Config) *Engine {
	if cfg.Log == nil {
		cfg.Log = slog.New(slog.DiscardHandler)
	}
	if cfg.Clock == nil {
		cfg.Clock = realClock{}
	}
	if cfg.StopTimeout <= 0 {
		cfg.StopTimeout = 30 * time.Second
	}
	if cfg.CleanupWait <= 0 {
		cfg.CleanupWait = 3 * time.Hour
	}
	return &Engine{
		cfg: cfg, log: cfg.Log, clock: cfg.Clock,
		res:     newResources(cfg.Resources),
		workers: map[string]*worker{},
		ready:   make(chan struct{}),
	}
}

// ErrNotReady: the engine is not running (before Run, or after it ended).
var ErrNotReady = errors.New("engine not running")

// Run recovers persisted tasks and re-adopts their containers, then runs
// until ctx ends. Ending leaves containers running: stopping ecsd is not
// stopping a task.
func (e *Engine) Run(ctx context.Context) error {
	e.mu.Lock()
	e.ctx = ctx
	e.mu.Unlock()
	if err := e.recover(ctx); err != nil {
		e.wg.Wait()
		return fmt.Errorf("recover tasks: %w", err)
	}
	close(e.ready)
	e.wg.Add(1)
	go func() {
		defer e.wg.Done()
		e.collectImages(ctx)
	}()
	<-ctx.Done()
	e.wg.Wait()
	return nil
}

// Ready is closed once recovery is done and tasks are accepted.
func (e *Engine) Ready() <-chan struct{} { return e.ready }

// Accept persists the tasks of one ACS payload, then hands them to their
// workers. Only after Accept returns nil may the payload be acknowledged.
// A task already known only has its desired status moved forward.
func (e *Engine) Accept(ctx context.Context, tasks []*task.Task) error {
	select {
	case <-e.ready:
	case <-ctx.Done():
		return ctx.Err()
	}
	e.mu.Lock()
	defer e.mu.Unlock()
	if e.ctx.Err() != nil {
		return ErrNotReady
	}
	var fresh []*task.Task
	for _, t := range tasks {
		if _, ok := e.workers[t.ARN]; !ok {
			if err := assignEndpointIDs(t); err != nil {
				return err
			}
			fresh = append(fresh, t)
		}
	}
	if err := e.cfg.Store.AcceptTasks(fresh); err != nil {
		return fmt.Errorf("persist tasks: %w", err)
	}
	// Stops first, as the ECS agent does, so that their resources free up.
	for _, stops := range []bool{true, false} {
		for _, t := range tasks {
			if (t.Desired == task.TaskStopped) != stops {
				continue
			}
			if w, ok := e.workers[t.ARN]; ok {
				w.want(t.Desired)
				continue
			}
			e.startWorker(t)
		}
	}
	return nil
}

// StopTask asks a task to stop. It reports whether the task is known.
func (e *Engine) StopTask(arn string) bool {
	e.mu.Lock()
	w, ok := e.workers[arn]
	e.mu.Unlock()
	if ok {
		w.want(task.TaskStopped)
	}
	return ok
}

// Task returns a copy of a task's state.
func (e *Engine) Task(arn string) (*task.Task, bool) {
	e.mu.Lock()
	w, ok := e.workers[arn]
	e.mu.Unlock()
	if !ok {
		return nil, false
	}
	return w.snapshot(), true
}

// Tasks returns copies of every task's state.
func (e *Engine) Tasks() []*task.Task {
	e.mu.Lock()
	ws := make([]*worker, 0, len(e.workers))
	for _, w := range e.workers {
		ws = append(ws, w)
	}
	e.mu.Unlock()
	out := make([]*task.Task, 0, len(ws))
	for _, w := range ws {
		out = append(out, w.snapshot())
	}
	return out
}

// startWorker runs a worker for t under the engine's context. e.mu is held.
func (e *Engine) startWorker(t *task.Task) *worker {
	w := newWorker(e, t)
	e.runWorker(w)
	return w
}

// runWorker runs a prepared worker. e.mu is held.
func (e *Engine) runWorker(w *worker) {
	t := w.t
	e.workers[t.ARN] = w
	e.wg.Add(1)
	go func() {
		defer e.wg.Done()
		w.run(e.ctx)
		e.mu.Lock()
		if e.workers[t.ARN] == w && w.finished() {
			delete(e.workers, t.ARN)
		}
		e.mu.Unlock()
	}()
}
