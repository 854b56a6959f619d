package store

import (
	"context"
	"log/slog"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/ecsd-project/ecsd/agent/task"
	"github.com/ecsd-project/ecsd/wire/acs"
)

// clock0 is the fixed time tests run at.
var clock0 = time.Date(2025, 1, 2, 3, 4, 5, 0, time.UTC)

func fixedNow() time.Time { return clock0 }

// logRecorder is a slog.Handler that keeps what was logged.
type logRecorder struct {
	mu      sync.Mutex
	records []slog.Record
}

func (r *logRecorder) Enabled(context.Context, slog.Level) bool { return true }
func (r *logRecorder) Handle(_ context.Context, rec slog.Record) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.records = append(r.records, rec.Clone())
	return nil
}
func (r *logRecorder) WithAttrs([]slog.Attr) slog.Handler { return r }
func (r *logRecorder) WithGroup(string) slog.Handler      { return r }

// at returns the messages logged at level.
func (r *logRecorder) at(level slog.Level) []string {
	r.mu.Lock()
	defer r.mu.Unlock()
	var msgs []string
	for _, rec := range r.records {
		if rec.Level == level {
			msgs = append(msgs, rec.Message)
		}
	}
	return msgs
}

// openAt opens the store at path and closes it when the test ends.
func openAt(t *testing.T, path string, opts Options) *Store {
	t.Helper()
	if opts.Now == nil {
		opts.Now = fixedNow
	}
	s, err := Open(path, opts)
	if err != nil {
		t.Fatalf("Open(%s): %v", path, err)
	}
	t.Cleanup(func() { _ = s.Close() })
	return s
}

// openTemp opens a fresh store in a temporary directory.
func openTemp(t *testing.T) *Store {
	t.Helper()
	return openAt(t, filepath.Join(t.TempDir(), "data", "ecsd.db"), Options{})
}

// newTask builds a task with the named containers through task.FromACS.
func newTask(t testing.TB, arn string, containers ...string) *task.Task {
	t.Helper()
	def := acs.Task{ARN: arn, Family: "fam", Version: "1", DesiredStatus: acs.DesiredStatusRunning}
	for _, c := range containers {
		def.Containers = append(def.Containers, acs.Container{Name: c, Image: "busybox"})
	}
	tk, err := task.FromACS("arn:aws:ecs:us-east-1:111122223333:cluster/default", def)
	if err != nil {
		t.Fatalf("FromACS: %v", err)
	}
	return tk
}

// change builds a state change: the task status, then containers as
// name/status pairs; a container named "name=code" has that exit code.
func change(arn string, status task.TaskStatus, containers ...any) task.StateChange {
	ch := task.StateChange{TaskARN: arn, Status: status}
	for i := 0; i+1 < len(containers); i += 2 {
		cc := task.ContainerChange{Name: containers[i].(string), Status: containers[i+1].(task.ContainerStatus)}
		ch.Containers = append(ch.Containers, cc)
	}
	return ch
}

func exited(ch task.StateChange, name string, code int) task.StateChange {
	for i := range ch.Containers {
		if ch.Containers[i].Name == name {
			ch.Containers[i].ExitCode = &code
		}
	}
	return ch
}

var testIdentity = Identity{
	ContainerInstanceARN: "arn:aws:ecs:us-east-1:111122223333:container-instance/default/0f1e2d",
	Cluster:              "default",
	Region:               "us-east-1",
	InstanceID:           "mi-0123456789abcdef0",
	RegisteredAt:         time.Date(2024, 12, 31, 23, 0, 0, 0, time.UTC),
}
