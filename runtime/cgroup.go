package runtime

import (
	"errors"
	"fmt"
	"os"
	"path"

	"github.com/containerd/cgroups/v3"
	"github.com/containerd/cgroups/v3/cgroup1"
	"github.com/containerd/cgroups/v3/cgroup2"
	specs "github.com/opencontainers/runtime-spec/specs-go"
)

// TaskCgroupRoot is the parent of every task-level cgroup.
const TaskCgroupRoot = "/ecs"

// TaskCgroupPath is the cgroup path of a task's cgroup; its containers'
// cgroups are created under it (ContainerSpec.CgroupParent).
func TaskCgroupPath(taskID string) string { return path.Join(TaskCgroupRoot, taskID) }

// CreateTaskCgroup creates (or updates) the task-level cgroup with the
// task's cpu, memory and pids limits, on cgroup v1 or v2, and returns its
// path.
func (r *Runtime) CreateTaskCgroup(taskID string, res TaskResources) (string, error) {
	p := TaskCgroupPath(taskID)
	lr := linuxResources(res)
	if cgroups.Mode() == cgroups.Unified {
		m, err := cgroup2.NewManager("/sys/fs/cgroup", p, cgroup2.ToResources(lr))
		if err != nil {
			return "", fmt.Errorf("create task cgroup %s: %w", p, err)
		}
		// Children need the controllers enabled in this cgroup.
		if err := m.ToggleControllers([]string{"cpu", "memory", "pids", "io"}, cgroup2.Enable); err != nil {
			r.log.Warn("enable cgroup controllers", "cgroup", p, "error", err)
		}
		return p, nil
	}
	cg, err := cgroup1.New(cgroup1.StaticPath(p), lr)
	if err != nil {
		return "", fmt.Errorf("create task cgroup %s: %w", p, err)
	}
	if err := cg.Update(lr); err != nil {
		return "", fmt.Errorf("update task cgroup %s: %w", p, err)
	}
	return p, nil
}

// RemoveTaskCgroup deletes a task's cgroup once its containers are gone.
// A missing cgroup is not an error.
func (r *Runtime) RemoveTaskCgroup(taskID string) error {
	p := TaskCgroupPath(taskID)
	if cgroups.Mode() == cgroups.Unified {
		m, err := cgroup2.Load(p)
		if err != nil {
			return nil
		}
		if err := m.Delete(); err != nil && !errors.Is(err, os.ErrNotExist) {
			return fmt.Errorf("remove task cgroup %s: %w", p, err)
		}
		return nil
	}
	cg, err := cgroup1.Load(cgroup1.StaticPath(p))
	if err != nil {
		if errors.Is(err, cgroup1.ErrCgroupDeleted) || errors.Is(err, os.ErrNotExist) {
			return nil
		}
		return fmt.Errorf("load task cgroup %s: %w", p, err)
	}
	if err := cg.Delete(); err != nil {
		return fmt.Errorf("remove task cgroup %s: %w", p, err)
	}
	return nil
}

func linuxResources(res TaskResources) *specs.LinuxResources {
	lr := &specs.LinuxResources{}
	period := res.CPUPeriod
	if period == 0 {
		period = 100000
	}
	if res.CPUQuota > 0 {
		q := res.CPUQuota
		lr.CPU = &specs.LinuxCPU{Quota: &q, Period: &period}
	} else if res.CPUShares > 0 {
		s := res.CPUShares
		lr.CPU = &specs.LinuxCPU{Shares: &s}
	}
	if res.MemoryLimit > 0 {
		m := res.MemoryLimit
		lr.Memory = &specs.LinuxMemory{Limit: &m}
	}
	if res.PidsLimit > 0 {
		l := res.PidsLimit
		lr.Pids = &specs.LinuxPids{Limit: &l}
	}
	return lr
}
