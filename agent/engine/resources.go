package engine

import (
	"fmt"
	"sync"

	"github.com/ecsd-project/ecsd/agent/task"
)

// Resources are the host's capacity for tasks; a zero field is unlimited.
type Resources struct {
	CPU       int64 // CPU units (1024 per core)
	MemoryMiB int64
}

// resources accounts what admitted tasks use, so a task that does not fit
// is refused instead of overcommitting the host.
type resources struct {
	total Resources
	mu    sync.Mutex
	used  Resources
	tasks map[string]Resources
}

func newResources(total Resources) *resources {
	return &resources{total: total, tasks: map[string]Resources{}}
}

// need is what a task asks for: its task-level limits when set, else the
// sum of its containers'.
func need(t *task.Task) Resources {
	var r Resources
	for _, c := range t.Containers {
		if c.Def.CPU != nil {
			r.CPU += *c.Def.CPU
		}
		if c.Def.Memory != nil {
			r.MemoryMiB += *c.Def.Memory
		}
	}
	if t.Def.CPU != nil && *t.Def.CPU > 0 {
		r.CPU = int64(*t.Def.CPU * 1024)
	}
	if t.Def.Memory != nil && *t.Def.Memory > 0 {
		r.MemoryMiB = *t.Def.Memory
	}
	return r
}

func (r *resources) reserve(t *task.Task) error {
	n := need(t)
	r.mu.Lock()
	defer r.mu.Unlock()
	if _, ok := r.tasks[t.ARN]; ok {
		return nil
	}
	if r.total.CPU > 0 && r.used.CPU+n.CPU > r.total.CPU {
		return fmt.Errorf("ResourceError: task needs %d CPU units, %d of %d are free", n.CPU, r.total.CPU-r.used.CPU, r.total.CPU)
	}
	if r.total.MemoryMiB > 0 && r.used.MemoryMiB+n.MemoryMiB > r.total.MemoryMiB {
		return fmt.Errorf("ResourceError: task needs %d MiB of memory, %d of %d MiB are free", n.MemoryMiB, r.total.MemoryMiB-r.used.MemoryMiB, r.total.MemoryMiB)
	}
	r.tasks[t.ARN] = n
	r.used.CPU += n.CPU
	r.used.MemoryMiB += n.MemoryMiB
	return nil
}

func (r *resources) release(arn string) {
	r.mu.Lock()
	defer r.mu.Unlock()
	n, ok := r.tasks[arn]
	if !ok {
		return
	}
	delete(r.tasks, arn)
	r.used.CPU -= n.CPU
	r.used.MemoryMiB -= n.MemoryMiB
}

// Used returns what admitted tasks use now.
func (e *Engine) Used() Resources {
	e.res.mu.Lock()
	defer e.res.mu.Unlock()
	return e.res.used
}
