package runtime

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strconv"
	"sync"
	"syscall"
	"time"

	cgroup1stats "github.com/containerd/cgroups/v3/cgroup1/stats"
	cgroup2stats "github.com/containerd/cgroups/v3/cgroup2/stats"
	"github.com/containerd/containerd/v2/client"
	"github.com/containerd/containerd/v2/pkg/cio"
	"github.com/containerd/errdefs"
	"github.com/containerd/typeurl/v2"
	"github.com/moby/sys/signal"
)

// ContainerStatus is what containerd says of a container.
type ContainerStatus string

const (
	StatusCreated ContainerStatus = "created" // exists, never started or not running and no exit recorded
	StatusRunning ContainerStatus = "running"
	StatusStopped ContainerStatus = "stopped" // its process ended; Exit is set
)

// ContainerInfo describes one of ecsd's containers.
type ContainerInfo struct {
	ID     string
	Image  string
	Labels map[string]string
	Status ContainerStatus
	Pid    uint32
	// Exit is set when Status is StatusStopped.
	Exit *ExitStatus
}

// proc is a started process that this Runtime watches until it exits.
type proc struct {
	task   client.Task
	done   chan struct{}
	status ExitStatus
	err    error
}

const runcRuntime = "io.containerd.runc.v2"

// Create makes a container from spec. The image must have been pulled.
func (r *Runtime) Create(ctx context.Context, spec ContainerSpec) (retErr error) {
	ctx = r.ctx(ctx)
	if spec.ID == "" {
		return fmt.Errorf("%w: container id is empty", ErrCannotCreate)
	}
	name, err := NormalizeRef(spec.Image)
	if err != nil {
		return fmt.Errorf("%w: %w", ErrCannotCreate, err)
	}
	img, err := r.client.GetImage(ctx, name)
	if err != nil {
		return fmt.Errorf("%w: image %s is not pulled: %w", ErrCannotCreate, name, err)
	}
	if err := r.ensureUnpacked(ctx, img); err != nil {
		return fmt.Errorf("%w: %w", ErrCannotCreate, err)
	}
	imgSpec, err := img.Spec(ctx)
	if err != nil {
		return fmt.Errorf("%w: read config of %s: %w", ErrCannotCreate, name, err)
	}

	dir := r.containerDir(spec.ID)
	if err := os.MkdirAll(dir, 0o711); err != nil {
		return fmt.Errorf("%w: %w", ErrCannotCreate, err)
	}
	defer func() {
		if retErr != nil {
			os.RemoveAll(dir)
		}
	}()
	files, err := writeHostFiles(dir, spec)
	if err != nil {
		return fmt.Errorf("%w: %w", ErrCannotCreate, err)
	}
	opts, err := specOpts(specInput{
		Spec:           spec,
		Image:          imgSpec.Config,
		HostsPath:      files.hosts,
		ResolvConfPath: files.resolv,
		HostnamePath:   files.hostname,
		InitPath:       r.cfg.InitPath,
	})
	if err != nil {
		return fmt.Errorf("%w: %w", ErrCannotCreate, err)
	}

	stopSignal := spec.StopSignal
	if stopSignal == "" {
		stopSignal = imgSpec.Config.StopSignal
	}
	if stopSignal == "" {
		stopSignal = "SIGTERM"
	}
	if _, err := signal.ParseSignal(stopSignal); err != nil {
		return fmt.Errorf("%w: stop signal %q: %w", ErrCannotCreate, stopSignal, err)
	}
	labels := map[string]string{}
	for k, v := range spec.Labels {
		labels[k] = v
	}
	labels[LabelManagedBy] = "true"
	labels[labelStopSignal] = stopSignal

	_, err = r.client.NewContainer(ctx, spec.ID,
		client.WithImage(img),
		client.WithSnapshotter(r.cfg.Snapshotter),
		client.WithNewSnapshot(spec.ID, img),
		client.WithRuntime(runcRuntime, nil),
		client.WithNewSpec(opts...),
		client.WithContainerLabels(labels),
	)
	if err != nil {
		return fmt.Errorf("%w: create container %s: %w", ErrCannotCreate, spec.ID, err)
	}
	return nil
}

// Start starts a created or exited container's main process. Its stdout
// and stderr are copied to the writers (nil discards) until it exits.
func (r *Runtime) Start(ctx context.Context, id string, stdout, stderr io.Writer) error {
	ctx = r.ctx(ctx)
	c, err := r.load(ctx, id)
	if err != nil {
		return fmt.Errorf("%w: %w", ErrCannotStart, err)
	}
	// A previous run's task (exited, not yet deleted) must go first.
	if t, err := c.Task(ctx, nil); err == nil {
		st, err := t.Status(ctx)
		if err == nil && st.Status == client.Running {
			return fmt.Errorf("%w: container %s is already running", ErrCannotStart, id)
		}
		if _, err := t.Delete(ctx, client.WithProcessKill); err != nil && !errdefs.IsNotFound(err) {
			return fmt.Errorf("%w: delete previous task of %s: %w", ErrCannotStart, id, err)
		}
	}
	if err := r.clearExit(ctx, c); err != nil {
		return fmt.Errorf("%w: %w", ErrCannotStart, err)
	}
	creator := cio.NewCreator(cio.WithStreams(nil, orDiscard(stdout), orDiscard(stderr)),
		cio.WithFIFODir(filepath.Join(r.containerDir(id), "io")))
	task, err := c.NewTask(ctx, creator)
	if err != nil {
		return fmt.Errorf("%w: %w", ErrCannotStart, err)
	}
	// Wait before Start, so that a process that exits at once is not missed.
	exitC, err := task.Wait(context.WithoutCancel(ctx))
	if err != nil {
		task.Delete(context.WithoutCancel(ctx), client.WithProcessKill)
		return fmt.Errorf("%w: %w", ErrCannotStart, err)
	}
	if err := task.Start(ctx); err != nil {
		task.Delete(context.WithoutCancel(ctx), client.WithProcessKill)
		return fmt.Errorf("%w: %w", ErrCannotStart, err)
	}
	r.watch(ctx, c, task, exitC)
	return nil
}

// Attach re-connects to a container that was running before ecsd
// restarted, so that Wait and Stop work on it and its output reaches the
// writers again. It returns the container's status.
func (r *Runtime) Attach(ctx context.Context, id string, stdout, stderr io.Writer) (ContainerInfo, error) {
	ctx = r.ctx(ctx)
	c, err := r.load(ctx, id)
	if err != nil {
		return ContainerInfo{}, err
	}
	r.mu.Lock()
	_, watched := r.running[id]
	r.mu.Unlock()
	if !watched {
		task, err := c.Task(ctx, cio.NewAttach(cio.WithStreams(nil, orDiscard(stdout), orDiscard(stderr))))
		if err == nil {
			st, err := task.Status(ctx)
			if err == nil && st.Status == client.Running {
				exitC, err := task.Wait(context.WithoutCancel(ctx))
				if err != nil {
					return ContainerInfo{}, fmt.Errorf("%w: wait on %s: %w", ErrCannotInspect, id, err)
				}
				r.watch(ctx, c, task, exitC)
			} else if err == nil && st.Status == client.Stopped {
				// It ended while nobody watched: record its exit now.
				r.finish(ctx, c, task, *client.NewExitStatus(st.ExitStatus, st.ExitTime, nil))
			}
		} else if !errdefs.IsNotFound(err) {
			return ContainerInfo{}, fmt.Errorf("%w: load task of %s: %w", ErrCannotInspect, id, err)
		}
	}
	return r.info(ctx, c)
}

func orDiscard(w io.Writer) io.Writer {
	if w == nil {
		return io.Discard
	}
	return w
}

// watch follows a started task until it exits, in a goroutine that ends
// with the process.
func (r *Runtime) watch(ctx context.Context, c client.Container, task client.Task, exitC <-chan client.ExitStatus) {
	p := &proc{task: task, done: make(chan struct{})}
	r.mu.Lock()
	r.running[c.ID()] = p
	r.mu.Unlock()
	bg := context.WithoutCancel(ctx)
	go func() {
		es := <-exitC
		if r.isClosed() {
			// The wait ended with the connection: the container may well
			// run on. Its FIFOs and its task stay for the next attach.
			p.err = ErrClosed
			close(p.done)
			return
		}
		p.status, p.err = r.finish(bg, c, task, es)
		close(p.done)
	}()
}

// finish records a process's exit in the container's labels and deletes
// containerd's task, releasing its shim. The order makes the exit survive
// an agent crash: until the labels are written the task still holds it.
func (r *Runtime) finish(ctx context.Context, c client.Container, task client.Task, es client.ExitStatus) (ExitStatus, error) {
	ctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	if io := task.IO(); io != nil {
		io.Wait() // every byte of output has been copied
		io.Close()
	}
	code, exitedAt, err := es.Result()
	if err != nil {
		return ExitStatus{}, fmt.Errorf("exit status of %s: %w", c.ID(), err)
	}
	st := ExitStatus{Code: int(code), ExitedAt: exitedAt, OOMKilled: r.oomKilled(ctx, task)}
	if _, err := c.SetLabels(ctx, exitLabels(st)); err != nil {
		r.log.Error("record exit", "container", c.ID(), "error", err)
		return st, fmt.Errorf("record exit of %s: %w", c.ID(), err)
	}
	if _, err := task.Delete(ctx); err != nil && !errdefs.IsNotFound(err) {
		r.log.Warn("delete exited task", "container", c.ID(), "error", err)
	}
	return st, nil
}

// oomKilled reads the cgroup's OOM-kill counter before the task goes.
func (r *Runtime) oomKilled(ctx context.Context, task client.Task) bool {
	m, err := task.Metrics(ctx)
	if err != nil || m == nil || m.Data == nil {
		return false
	}
	v, err := typeurl.UnmarshalAny(m.Data)
	if err != nil {
		return false
	}
	switch s := v.(type) {
	case *cgroup1stats.Metrics:
		if oc := s.GetMemoryOomControl(); oc != nil && oc.GetOomKill() > 0 {
			return true
		}
		return s.GetMemory().GetUsage().GetFailcnt() > 0 && s.GetMemory().GetUsage().GetLimit() > 0 &&
			s.GetMemory().GetUsage().GetMax() >= s.GetMemory().GetUsage().GetLimit()
	case *cgroup2stats.Metrics:
		return s.GetMemoryEvents().GetOomKill() > 0
	}
	return false
}

func exitLabels(st ExitStatus) map[string]string {
	return map[string]string{
		labelExitCode:  strconv.Itoa(st.Code),
		labelExitedAt:  st.ExitedAt.UTC().Format(time.RFC3339Nano),
		labelOOMKilled: strconv.FormatBool(st.OOMKilled),
	}
}

func exitFromLabels(l map[string]string) (*ExitStatus, bool) {
	codeS, ok := l[labelExitCode]
	if !ok || codeS == "" {
		return nil, false
	}
	code, err := strconv.Atoi(codeS)
	if err != nil {
		return nil, false
	}
	at, _ := time.Parse(time.RFC3339Nano, l[labelExitedAt])
	oom, _ := strconv.ParseBool(l[labelOOMKilled])
	return &ExitStatus{Code: code, ExitedAt: at, OOMKilled: oom}, true
}

func (r *Runtime) clearExit(ctx context.Context, c client.Container) error {
	_, err := c.SetLabels(ctx, map[string]string{labelExitCode: "", labelExitedAt: "", labelOOMKilled: ""})
	return err
}

// Wait blocks until the container's process exits and returns how it
// ended. The process must have been started or attached by this Runtime,
// or have exited already.
func (r *Runtime) Wait(ctx context.Context, id string) (ExitStatus, error) {
	r.mu.Lock()
	p := r.running[id]
	r.mu.Unlock()
	if p != nil {
		select {
		case <-p.done:
			return p.status, p.err
		case <-ctx.Done():
			return ExitStatus{}, ctx.Err()
		}
	}
	info, err := r.State(ctx, id)
	if err != nil {
		return ExitStatus{}, err
	}
	if info.Exit != nil {
		return *info.Exit, nil
	}
	return ExitStatus{}, fmt.Errorf("wait on %s: container is %s and not attached", id, info.Status)
}

// Stop signals the container's process with its stop signal and, if it
// has not exited after timeout, kills it. Stopping a container that is not
// running is not an error.
func (r *Runtime) Stop(ctx context.Context, id string, timeout time.Duration) error {
	ctx = r.ctx(ctx)
	c, err := r.load(ctx, id)
	if err != nil {
		return fmt.Errorf("%w: %w", ErrCannotStop, err)
	}
	task, err := c.Task(ctx, nil)
	if errdefs.IsNotFound(err) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("%w: %w", ErrCannotStop, err)
	}
	r.mu.Lock()
	p := r.running[id]
	r.mu.Unlock()
	if p == nil {
		// Not watched by us (exited while ecsd was away, or a stray): attach silently.
		if _, err := r.Attach(ctx, id, nil, nil); err != nil {
			return fmt.Errorf("%w: %w", ErrCannotStop, err)
		}
		r.mu.Lock()
		p = r.running[id]
		r.mu.Unlock()
		if p == nil {
			return nil
		}
	}
	labels, err := c.Labels(ctx)
	if err != nil {
		return fmt.Errorf("%w: %w", ErrCannotStop, err)
	}
	sig, err := signal.ParseSignal(labels[labelStopSignal])
	if err != nil {
		sig = syscall.SIGTERM
	}
	if err := task.Kill(ctx, sig); err != nil && !errdefs.IsNotFound(err) && !isProcessDone(err) {
		return fmt.Errorf("%w: signal %s: %w", ErrCannotStop, sig, err)
	}
	select {
	case <-p.done:
		return nil
	case <-time.After(timeout):
	case <-ctx.Done():
		return fmt.Errorf("%w: %w", ErrCannotStop, ctx.Err())
	}
	r.log.Info("stop timeout elapsed, killing", "container", id, "timeout", timeout)
	if err := task.Kill(ctx, syscall.SIGKILL, client.WithKillAll); err != nil && !errdefs.IsNotFound(err) && !isProcessDone(err) {
		return fmt.Errorf("%w: kill: %w", ErrCannotStop, err)
	}
	select {
	case <-p.done:
		return nil
	case <-time.After(30 * time.Second):
		return fmt.Errorf("%w: %s did not exit 30s after SIGKILL", ErrCannotStop, id)
	case <-ctx.Done():
		return fmt.Errorf("%w: %w", ErrCannotStop, ctx.Err())
	}
}

func isProcessDone(err error) bool {
	return errors.Is(err, errdefs.ErrNotFound) || errdefs.IsFailedPrecondition(err)
}

// Remove deletes the container, its task if any (killing it), its writable
// snapshot and its files. Removing a missing container is not an error.
func (r *Runtime) Remove(ctx context.Context, id string) error {
	ctx = r.ctx(ctx)
	c, err := r.client.LoadContainer(ctx, id)
	if errdefs.IsNotFound(err) {
		r.forget(id)
		return os.RemoveAll(r.containerDir(id))
	}
	if err != nil {
		return fmt.Errorf("remove %s: %w", id, err)
	}
	if task, err := c.Task(ctx, nil); err == nil {
		if _, err := task.Delete(ctx, client.WithProcessKill); err != nil && !errdefs.IsNotFound(err) {
			return fmt.Errorf("remove %s: delete task: %w", id, err)
		}
	}
	r.mu.Lock()
	p := r.running[id]
	r.mu.Unlock()
	if p != nil {
		select {
		case <-p.done:
		case <-time.After(10 * time.Second):
		}
	}
	if err := c.Delete(ctx, client.WithSnapshotCleanup); err != nil && !errdefs.IsNotFound(err) {
		return fmt.Errorf("remove %s: %w", id, err)
	}
	r.forget(id)
	return os.RemoveAll(r.containerDir(id))
}

func (r *Runtime) forget(id string) {
	r.mu.Lock()
	delete(r.running, id)
	r.mu.Unlock()
}

// Exec runs argv inside the running container (health checks) and returns
// its exit code and output. After timeout the command is killed and the
// result is an error wrapping context.DeadlineExceeded.
func (r *Runtime) Exec(ctx context.Context, id string, argv []string, timeout time.Duration) (ExecResult, error) {
	ctx = r.ctx(ctx)
	if len(argv) == 0 {
		return ExecResult{}, errors.New("exec: empty command")
	}
	c, err := r.load(ctx, id)
	if err != nil {
		return ExecResult{}, err
	}
	task, err := c.Task(ctx, nil)
	if err != nil {
		return ExecResult{}, fmt.Errorf("exec in %s: no running task: %w", id, err)
	}
	spec, err := c.Spec(ctx)
	if err != nil {
		return ExecResult{}, fmt.Errorf("exec in %s: %w", id, err)
	}
	pspec := *spec.Process
	pspec.Args = argv
	pspec.Terminal = false
	out := &limitedBuffer{max: 4096}
	execID := "exec-" + strconv.FormatInt(time.Now().UnixNano(), 36)
	p, err := task.Exec(ctx, execID, &pspec, cio.NewCreator(cio.WithStreams(nil, out, out),
		cio.WithFIFODir(filepath.Join(r.containerDir(id), "io"))))
	if err != nil {
		return ExecResult{}, fmt.Errorf("exec in %s: %w", id, err)
	}
	bg := context.WithoutCancel(ctx)
	defer p.Delete(bg, client.WithProcessKill)
	exitC, err := p.Wait(bg)
	if err != nil {
		return ExecResult{}, fmt.Errorf("exec in %s: %w", id, err)
	}
	if err := p.Start(ctx); err != nil {
		return ExecResult{}, fmt.Errorf("exec in %s: %w", id, err)
	}
	timer := time.NewTimer(timeout)
	defer timer.Stop()
	select {
	case es := <-exitC:
		p.IO().Wait()
		code, _, err := es.Result()
		if err != nil {
			return ExecResult{}, fmt.Errorf("exec in %s: %w", id, err)
		}
		return ExecResult{ExitCode: int(code), Output: out.String()}, nil
	case <-timer.C:
		p.Kill(bg, syscall.SIGKILL)
		return ExecResult{Output: out.String()}, fmt.Errorf("exec in %s: timed out after %s: %w", id, timeout, context.DeadlineExceeded)
	case <-ctx.Done():
		p.Kill(bg, syscall.SIGKILL)
		return ExecResult{}, ctx.Err()
	}
}

// State returns what containerd knows of one container.
func (r *Runtime) State(ctx context.Context, id string) (ContainerInfo, error) {
	ctx = r.ctx(ctx)
	c, err := r.load(ctx, id)
	if err != nil {
		return ContainerInfo{}, err
	}
	return r.info(ctx, c)
}

// List returns every container that ecsd created, found by its label.
func (r *Runtime) List(ctx context.Context) ([]ContainerInfo, error) {
	ctx = r.ctx(ctx)
	cs, err := r.client.Containers(ctx, fmt.Sprintf("labels.%q==true", LabelManagedBy))
	if err != nil {
		return nil, fmt.Errorf("list containers: %w", err)
	}
	out := make([]ContainerInfo, 0, len(cs))
	for _, c := range cs {
		info, err := r.info(ctx, c)
		if err != nil {
			if errdefs.IsNotFound(err) {
				continue // removed meanwhile
			}
			return nil, err
		}
		out = append(out, info)
	}
	return out, nil
}

func (r *Runtime) info(ctx context.Context, c client.Container) (ContainerInfo, error) {
	ci, err := c.Info(ctx)
	if err != nil {
		return ContainerInfo{}, err
	}
	info := ContainerInfo{ID: ci.ID, Image: ci.Image, Labels: ci.Labels, Status: StatusCreated}
	task, err := c.Task(ctx, nil)
	switch {
	case err == nil:
		st, err := task.Status(ctx)
		if err != nil {
			return ContainerInfo{}, fmt.Errorf("%w: status of %s: %w", ErrCannotInspect, ci.ID, err)
		}
		switch st.Status {
		case client.Running, client.Paused, client.Pausing:
			info.Status = StatusRunning
			info.Pid = task.Pid()
			return info, nil
		case client.Stopped:
			info.Status = StatusStopped
			info.Exit = &ExitStatus{Code: int(st.ExitStatus), ExitedAt: st.ExitTime}
			return info, nil
		}
	case !errdefs.IsNotFound(err):
		return ContainerInfo{}, fmt.Errorf("%w: task of %s: %w", ErrCannotInspect, ci.ID, err)
	}
	if exit, ok := exitFromLabels(ci.Labels); ok {
		info.Status = StatusStopped
		info.Exit = exit
	}
	return info, nil
}

func (r *Runtime) load(ctx context.Context, id string) (client.Container, error) {
	c, err := r.client.LoadContainer(ctx, id)
	if errdefs.IsNotFound(err) {
		return nil, fmt.Errorf("container %s: %w", id, ErrNotFound)
	}
	if err != nil {
		return nil, fmt.Errorf("container %s: %w", id, err)
	}
	return c, nil
}

// limitedBuffer keeps the first max bytes written to it.
type limitedBuffer struct {
	mu  sync.Mutex
	buf []byte
	max int
}

func (b *limitedBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	if room := b.max - len(b.buf); room > 0 {
		if len(p) < room {
			room = len(p)
		}
		b.buf = append(b.buf, p[:room]...)
	}
	return len(p), nil
}

func (b *limitedBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return string(b.buf)
}
