package engine_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"os"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/ecsd-project/ecsd/agent/engine"
	"github.com/ecsd-project/ecsd/agent/store"
	"github.com/ecsd-project/ecsd/agent/task"
	"github.com/ecsd-project/ecsd/internal/testenv"
	"github.com/ecsd-project/ecsd/runtime"
	"github.com/ecsd-project/ecsd/wire/acs"
)

// harness is a private containerd with the test images, a real store and
// an engine running on them.
type harness struct {
	t      *testing.T
	ctd    *testenv.ContainerdInstance
	images *testenv.ImageSet
	rt     *runtime.Runtime
	store  *store.Store
	dir    string
	eng    *engine.Engine
	stop   func()
	cfg    engine.Config
}

func newHarness(t *testing.T, tune func(*harness, *engine.Config)) *harness {
	t.Helper()
	h := &harness{t: t, ctd: testenv.Containerd(t), images: testenv.Images(t), dir: t.TempDir()}
	rt, err := runtime.New(context.Background(), runtime.Config{Address: h.ctd.Address, StateDir: h.dir + "/runtime", Log: testLog(t)})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { rt.Close() })
	h.rt = rt
	f, err := os.Open(h.images.Archive)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	if _, err := rt.ImportImages(context.Background(), f); err != nil {
		t.Fatal(err)
	}
	h.cfg = engine.Config{
		Runtime: rt, Log: testLog(t), Cluster: "arn:aws:ecs:us-east-1:111122223333:cluster/test",
		Region: "us-east-1", DataDir: h.dir, PullBehavior: runtime.PullPreferCached,
		StopTimeout: 5 * time.Second, ImageCleanup: engine.ImageCleanup{Disabled: true},
	}
	if tune != nil {
		tune(h, &h.cfg)
	}
	h.start()
	return h
}

// start opens the store and runs an engine, as an ecsd start does.
func (h *harness) start() {
	h.t.Helper()
	st, err := store.Open(h.dir+"/ecsd.db", store.Options{Log: testLog(h.t)})
	if err != nil {
		h.t.Fatal(err)
	}
	h.store = st
	cfg := h.cfg
	cfg.Store = st
	if _, damaged := st.Recovered(); damaged {
		cfg.RebuildFromLabels = true // as agent.Run does
	}
	h.eng = engine.New(cfg)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- h.eng.Run(ctx) }()
	var once sync.Once
	h.stop = func() {
		once.Do(func() {
			cancel()
			if err := <-done; err != nil {
				h.t.Errorf("engine.Run: %v", err)
			}
			st.Close()
		})
	}
	h.t.Cleanup(h.stop)
	select {
	case <-h.eng.Ready():
	case err := <-done:
		h.t.Fatalf("engine ended at start: %v", err)
	case <-time.After(30 * time.Second):
		h.t.Fatal("engine not ready after 30s")
	}
}

// restart stops the engine (containers keep running) and starts another.
func (h *harness) restart() {
	h.stop()
	h.start()
}

var taskSeq struct {
	sync.Mutex
	n int
}

// run accepts a task made of the given containers.
func (h *harness) run(containers ...acs.Container) string {
	h.t.Helper()
	taskSeq.Lock()
	taskSeq.n++
	arn := fmt.Sprintf("arn:aws:ecs:us-east-1:111122223333:task/test/%032x", time.Now().UnixNano()+int64(taskSeq.n))
	taskSeq.Unlock()
	return h.runTask(acs.Task{ARN: arn, Family: "fam", Version: "1", DesiredStatus: "RUNNING", Containers: containers})
}

func (h *harness) runTask(def acs.Task) string {
	h.t.Helper()
	for i := range def.Containers {
		if def.Containers[i].Image == "" {
			def.Containers[i].Image = h.images.Ref("shell")
		}
	}
	tk, err := task.FromACS(h.cfg.Cluster, def)
	if err != nil {
		h.t.Fatal(err)
	}
	if err := h.eng.Accept(context.Background(), []*task.Task{tk}); err != nil {
		h.t.Fatal(err)
	}
	return def.ARN
}

func (h *harness) await(arn string, what string, cond func(*task.Task) bool) *task.Task {
	h.t.Helper()
	deadline := time.Now().Add(60 * time.Second)
	for {
		tk, ok := h.eng.Task(arn)
		if ok && cond(tk) {
			return tk
		}
		if time.Now().After(deadline) {
			b, _ := json.MarshalIndent(tk, "", " ")
			h.t.Fatalf("task never %s: %s", what, b)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

func (h *harness) awaitStatus(arn string, s task.TaskStatus) *task.Task {
	h.t.Helper()
	return h.await(arn, s.String(), func(t *task.Task) bool { return t.Known == s })
}

// outbox returns the pending changes for one task, in order.
func (h *harness) outbox(arn string) []task.StateChange {
	h.t.Helper()
	entries, err := h.store.Pending(10000)
	if err != nil {
		h.t.Fatal(err)
	}
	var out []task.StateChange
	for _, e := range entries {
		if e.Change.TaskARN == arn {
			out = append(out, e.Change)
		}
	}
	return out
}

// settledOutbox waits until the task's STOPPED change is in the outbox
// (the in-memory state runs a moment ahead of the store), then returns the
// task's changes.
func (h *harness) settledOutbox(arn string) []task.StateChange {
	h.t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for {
		changes := h.outbox(arn)
		if n := len(changes); n > 0 && changes[n-1].Status == task.TaskStopped || time.Now().After(deadline) {
			return changes
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// settledOutboxFor waits until a change with the status is queued.
func (h *harness) settledOutboxFor(arn string, s task.TaskStatus) {
	h.t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for time.Now().Before(deadline) {
		for _, ch := range h.outbox(arn) {
			if ch.Status == s {
				return
			}
		}
		time.Sleep(20 * time.Millisecond)
	}
	h.t.Fatalf("no %s change queued for %s", s, arn)
}

func sh(name, script string) acs.Container {
	return acs.Container{Name: name, Command: []string{"sh", "-c", script}}
}

func ptr[T any](v T) *T { return &v }

func testLog(t *testing.T) *slog.Logger {
	return slog.New(slog.NewTextHandler(testWriter{t}, &slog.HandlerOptions{Level: slog.LevelDebug}))
}

type testWriter struct{ t *testing.T }

func (w testWriter) Write(p []byte) (int, error) {
	w.t.Log(strings.TrimRight(string(p), "\n"))
	return len(p), nil
}

func TestTaskRunsToCompletion(t *testing.T) {
	h := newHarness(t, nil)
	arn := h.run(sh("main", "echo hello; exit 3"))
	tk := h.awaitStatus(arn, task.TaskStopped)
	c := tk.Containers[0]
	if c.ExitCode == nil || *c.ExitCode != 3 || c.RuntimeID == "" || c.ImageDigest == "" {
		t.Fatalf("container = %+v", c)
	}
	changes := h.settledOutbox(arn)
	var statuses []string
	for _, ch := range changes {
		s := ch.Status.String()
		for _, cc := range ch.Containers {
			s += "/" + cc.Name + "=" + cc.Status.String()
		}
		statuses = append(statuses, s)
	}
	want := []string{"RUNNING/main=RUNNING", "STOPPED/main=STOPPED"}
	if strings.Join(statuses, " ") != strings.Join(want, " ") {
		t.Errorf("outbox = %v, want %v", statuses, want)
	}
	if last := changes[len(changes)-1]; *last.Containers[0].ExitCode != 3 || last.PullStartedAt.IsZero() || last.ExecutionStoppedAt.IsZero() {
		t.Errorf("STOPPED change = %+v", last)
	}
}

func TestDependsOnOrder(t *testing.T) {
	h := newHarness(t, nil)
	initC := sh("init", "sleep 1; exit 0")
	initC.Essential = ptr(false)
	app := sh("app", "trap 'exit 0' TERM; sleep 30 & wait")
	app.DependsOn = []acs.ContainerDependency{{ContainerName: "init", Condition: "SUCCESS"}}
	web := sh("web", "trap 'exit 0' TERM; sleep 30 & wait")
	web.DependsOn = []acs.ContainerDependency{{ContainerName: "app", Condition: "START"}}
	arn := h.run(initC, app, web)
	tk := h.awaitStatus(arn, task.TaskRunning)
	i, a, w := tk.Container("init"), tk.Container("app"), tk.Container("web")
	if a.StartedAt.Before(i.FinishedAt) {
		t.Errorf("app started %s, before init finished %s", a.StartedAt, i.FinishedAt)
	}
	if w.StartedAt.Before(a.StartedAt) {
		t.Errorf("web started %s, before app %s", w.StartedAt, a.StartedAt)
	}
	h.eng.StopTask(arn)
	tk = h.awaitStatus(arn, task.TaskStopped)
	// Shutdown runs in reverse: web stops before app.
	if tk.Container("web").FinishedAt.After(tk.Container("app").FinishedAt) {
		t.Errorf("web stopped after app: %s > %s", tk.Container("web").FinishedAt, tk.Container("app").FinishedAt)
	}

	// SUCCESS on a failing dependency stops the task with a dependency error.
	bad := sh("init", "exit 1")
	bad.Essential = ptr(false)
	arn2 := h.run(bad, app)
	tk = h.awaitStatus(arn2, task.TaskStopped)
	if !strings.HasPrefix(tk.Container("app").Reason, "TaskDependencyError") {
		t.Errorf("app reason %q", tk.Container("app").Reason)
	}
}

func TestEssentialCascade(t *testing.T) {
	h := newHarness(t, nil)
	side := sh("side", "trap 'exit 143' TERM; while true; do sleep 0.1; done")
	side.Essential = ptr(false)
	arn := h.run(sh("main", "sleep 1; exit 5"), side)
	tk := h.awaitStatus(arn, task.TaskStopped)
	if *tk.Container("main").ExitCode != 5 || *tk.Container("side").ExitCode != 143 {
		t.Errorf("exit codes main %d side %d", *tk.Container("main").ExitCode, *tk.Container("side").ExitCode)
	}
	if tk.Desired != task.TaskStopped || tk.ExecutionStoppedAt.IsZero() {
		t.Errorf("task = %+v", tk)
	}
}

func TestHealthChecks(t *testing.T) {
	h := newHarness(t, nil)
	web := acs.Container{Name: "web", Command: []string{"sh", "-c", "trap 'exit 0' TERM; touch /tmp/healthy; sleep 60 & wait"},
		HealthCheckType: "docker",
		DockerConfig:    &acs.DockerConfig{Config: `{"Healthcheck":{"Test":["CMD-SHELL","test -f /tmp/healthy"],"Interval":200000000,"Timeout":2000000000,"Retries":2}}`}}
	after := sh("after", "trap 'exit 0' TERM; sleep 60 & wait")
	after.DependsOn = []acs.ContainerDependency{{ContainerName: "web", Condition: "HEALTHY"}}
	arn := h.run(web, after)
	tk := h.awaitStatus(arn, task.TaskRunning)
	if tk.Container("web").Health != task.HealthHealthy || tk.Health() != task.HealthHealthy {
		t.Fatalf("health web %s task %s", tk.Container("web").Health, tk.Health())
	}
	if tk.Container("after").StartedAt.Before(tk.Container("web").HealthSince) {
		t.Errorf("dependent started before its dependency was healthy")
	}
	if _, err := h.rt.Exec(context.Background(), tk.Container("web").RuntimeID, []string{"rm", "/tmp/healthy"}, 5*time.Second); err != nil {
		t.Fatal(err)
	}
	tk = h.await(arn, "unhealthy", func(t *task.Task) bool { return t.Container("web").Health == task.HealthUnhealthy })
	if tk.Health() != task.HealthUnhealthy {
		t.Errorf("task health %s", tk.Health())
	}
	h.eng.StopTask(arn)
	h.awaitStatus(arn, task.TaskStopped)
}

func TestRestartPolicy(t *testing.T) {
	h := newHarness(t, nil)
	c := sh("flaky", "sleep 0.2; exit 2")
	c.RestartPolicy = &acs.RestartPolicy{Enabled: true, RestartAttemptPeriod: ptr(int64(0)), IgnoredExitCodes: []int64{0}}
	arn := h.run(c)
	tk := h.await(arn, "restarted 3 times", func(t *task.Task) bool { return t.Containers[0].RestartCount >= 3 })
	if tk.Known != task.TaskRunning {
		t.Errorf("known %s during restarts", tk.Known)
	}
	h.eng.StopTask(arn)
	h.awaitStatus(arn, task.TaskStopped)

	// An ignored exit code is not restarted.
	ok := sh("done", "exit 0")
	ok.RestartPolicy = &acs.RestartPolicy{Enabled: true, RestartAttemptPeriod: ptr(int64(0)), IgnoredExitCodes: []int64{0}}
	arn2 := h.run(ok)
	tk = h.awaitStatus(arn2, task.TaskStopped)
	if tk.Containers[0].RestartCount != 0 {
		t.Errorf("restarted on an ignored code: %d", tk.Containers[0].RestartCount)
	}
}

func TestStopTimeoutEscalation(t *testing.T) {
	h := newHarness(t, nil)
	c := sh("stubborn", "trap '' TERM; while true; do sleep 0.1; done")
	c.StopTimeout = ptr(int64(1))
	arn := h.run(c)
	h.awaitStatus(arn, task.TaskRunning)
	begin := time.Now()
	h.eng.StopTask(arn)
	tk := h.awaitStatus(arn, task.TaskStopped)
	if took := time.Since(begin); took < time.Second || *tk.Containers[0].ExitCode != 137 {
		t.Errorf("stopped after %s with %d", took, *tk.Containers[0].ExitCode)
	}
}

func TestResourceRefusal(t *testing.T) {
	h := newHarness(t, func(_ *harness, c *engine.Config) { c.Resources = engine.Resources{MemoryMiB: 100} })
	c := sh("big", "sleep 10")
	c.Memory = ptr(int64(200))
	arn := h.run(c)
	tk := h.awaitStatus(arn, task.TaskStopped)
	if !strings.Contains(tk.Reason, "ResourceError") || tk.Containers[0].RuntimeID != "" {
		t.Errorf("task = reason %q runtime id %q", tk.Reason, tk.Containers[0].RuntimeID)
	}
}

func TestRecoveryAfterRestart(t *testing.T) {
	h := newHarness(t, nil)
	running := h.run(sh("main", "trap 'exit 143' TERM; while true; do sleep 0.1; done"))
	quick := h.run(sh("main", "sleep 1; exit 4"))
	h.awaitStatus(running, task.TaskRunning)
	h.awaitStatus(quick, task.TaskRunning)
	h.stop() // ecsd goes away; containers keep running

	// An orphan: ecsd's label, but no task knows it.
	orphan := runtime.ContainerSpec{ID: "orphan-1", Image: h.images.Ref("shell"), Command: []string{"sleep", "60"}}
	if err := h.rt.Create(context.Background(), orphan); err != nil {
		t.Fatal(err)
	}
	time.Sleep(1500 * time.Millisecond)
	h.start()

	tk := h.awaitStatus(quick, task.TaskStopped)
	if *tk.Containers[0].ExitCode != 4 {
		t.Errorf("exit learned after restart: %d", *tk.Containers[0].ExitCode)
	}
	if tk, _ := h.eng.Task(running); tk.Known != task.TaskRunning {
		t.Fatalf("re-adopted task is %s", tk.Known)
	}
	h.eng.StopTask(running)
	tk = h.awaitStatus(running, task.TaskStopped)
	if *tk.Containers[0].ExitCode != 143 {
		t.Errorf("adopted container stopped with %d", *tk.Containers[0].ExitCode)
	}
	if _, err := h.rt.State(context.Background(), "orphan-1"); err == nil {
		t.Error("orphan container still exists")
	}
	// Each transition is in the outbox exactly once.
	for _, arn := range []string{running, quick} {
		seen := map[string]int{}
		for _, ch := range h.settledOutbox(arn) {
			seen[ch.Status.String()]++
		}
		if seen["RUNNING"] != 1 || seen["STOPPED"] != 1 {
			t.Errorf("%s outbox statuses %v", arn, seen)
		}
	}
}

func TestCleanupAfterDelivery(t *testing.T) {
	h := newHarness(t, func(_ *harness, c *engine.Config) { c.CleanupWait = 10 * time.Millisecond })
	arn := h.run(sh("main", "exit 0"))
	tk := h.awaitStatus(arn, task.TaskStopped)
	id := tk.Containers[0].RuntimeID
	time.Sleep(200 * time.Millisecond)
	if _, ok := h.eng.Task(arn); !ok {
		t.Fatal("task cleaned up before its STOPPED change was delivered")
	}
	entries, _ := h.store.Pending(100)
	var seqs []uint64
	for _, e := range entries {
		seqs = append(seqs, e.Seq)
	}
	if err := h.store.Delivered(seqs...); err != nil {
		t.Fatal(err)
	}
	h.eng.Delivered(arn)
	deadline := time.Now().Add(20 * time.Second)
	for {
		if _, ok := h.eng.Task(arn); !ok {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("task not cleaned up after delivery")
		}
		time.Sleep(20 * time.Millisecond)
	}
	if _, err := h.rt.State(context.Background(), id); err == nil {
		t.Error("container not removed by cleanup")
	}
	if _, err := h.store.Task(arn); err == nil {
		t.Error("task still in the store")
	}
}

// TestRebuildAfterDamagedStore: the state database is destroyed while a
// task runs; the next start moves it aside, rebuilds the task from its
// container's labels instead of removing the container as an orphan, and
// the task can still be stopped and reported.
func TestRebuildAfterDamagedStore(t *testing.T) {
	h := newHarness(t, nil)
	side := sh("side", "exit 0")
	side.Essential = ptr(false)
	arn := h.run(sh("main", "trap 'exit 143' TERM; while true; do sleep 0.1; done"), side)
	h.await(arn, "running with side exited", func(tk *task.Task) bool {
		return tk.Container("main").Known == task.ContainerRunning && tk.Container("side").Known == task.ContainerStopped
	})
	h.settledOutboxFor(arn, task.TaskRunning)
	h.stop()
	if err := os.WriteFile(h.dir+"/ecsd.db", bytes.Repeat([]byte("garbage!"), 4096), 0o600); err != nil {
		t.Fatal(err)
	}
	h.start()
	if _, damaged := h.store.Recovered(); !damaged {
		t.Fatal("store did not report the damage")
	}
	tk := h.awaitStatus(arn, task.TaskRunning)
	if tk.Container("main").Known != task.ContainerRunning || tk.Container("side").Known != task.ContainerStopped {
		t.Fatalf("rebuilt task: main %s side %s", tk.Container("main").Known, tk.Container("side").Known)
	}
	// The non-essential container's exit did not stop the rebuilt task.
	if tk.Desired != task.TaskRunning {
		t.Errorf("rebuilt task wants %s", tk.Desired)
	}
	h.eng.StopTask(arn)
	tk = h.awaitStatus(arn, task.TaskStopped)
	if *tk.Container("main").ExitCode != 143 {
		t.Errorf("exit %d", *tk.Container("main").ExitCode)
	}
	if changes := h.settledOutbox(arn); changes[len(changes)-1].Status != task.TaskStopped {
		t.Errorf("STOPPED not queued: %+v", changes)
	}
}

// TestImageCleanup: unused images older than the minimum age go, up to
// the per-cycle count; images a task uses stay, whatever the pull
// behaviour (here prefer-cached).
func TestImageCleanup(t *testing.T) {
	h := newHarness(t, func(_ *harness, c *engine.Config) {
		c.ImageCleanup = engine.ImageCleanup{Disabled: true, MinimumAge: time.Nanosecond, PerCycle: 2}
	})
	arn := h.run(sh("main", "trap 'exit 0' TERM; sleep 60 & wait"))
	h.awaitStatus(arn, task.TaskRunning)
	ctx := context.Background()
	n, err := h.eng.CollectImages(ctx)
	if err != nil || n != 2 {
		t.Fatalf("first cycle removed %d (%v), want 2", n, err)
	}
	n, err = h.eng.CollectImages(ctx)
	if err != nil || n != 1 {
		t.Fatalf("second cycle removed %d (%v), want the last unused one", n, err)
	}
	imgs, err := h.rt.ListImages(ctx)
	if err != nil || len(imgs) != 1 || imgs[0].Ref != h.images.Ref("shell") {
		t.Fatalf("left %+v, want only the image in use", imgs)
	}
	h.eng.StopTask(arn)
	h.awaitStatus(arn, task.TaskStopped)
}
