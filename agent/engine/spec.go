package engine

import (
	"context"
	"fmt"
	"maps"
	"os"
	"path/filepath"
	"strconv"

	"github.com/ecsd-project/ecsd/agent/task"
	"github.com/ecsd-project/ecsd/runtime"
	"github.com/ecsd-project/ecsd/wire/acs"
)

// spec translates a container of the worker's task into a runtime spec,
// preparing what it refers to on the host: task volumes and the task
// cgroup. The result is kept for health checks and volumesFrom.
func (w *worker) spec(ctx context.Context, c *task.Container) (runtime.ContainerSpec, error) {
	res, err := w.translate(ctx, c)
	if err != nil {
		return runtime.ContainerSpec{}, err
	}
	spec := res.Spec
	spec.Labels = maps.Clone(spec.Labels)
	if spec.Labels == nil {
		spec.Labels = map[string]string{}
	}
	spec.Labels[runtime.LabelEssential] = strconv.FormatBool(c.Essential())
	netns, err := w.attach(ctx, c, spec.ID)
	if err != nil {
		return runtime.ContainerSpec{}, fmt.Errorf("ContainerNetworkingError: %w", err)
	}
	if netns != "" {
		spec.NetNSPath = netns
	}
	for _, l := range w.links(c) {
		spec.ExtraHosts = append(spec.ExtraHosts, runtime.HostEntry{Hostname: l.name, IPAddress: l.ip})
	}
	for _, vol := range spec.Mounts {
		if _, err := os.Stat(vol.Source); os.IsNotExist(err) {
			if err := os.MkdirAll(vol.Source, 0o755); err != nil {
				return runtime.ContainerSpec{}, fmt.Errorf("volume %s: %w", vol.Source, err)
			}
		}
	}
	if parent, err := w.taskCgroup(); err != nil {
		return runtime.ContainerSpec{}, err
	} else if parent != "" {
		spec.CgroupParent = parent
	}
	return spec, nil
}

// translate is the pure part of spec, also used to recover a restarted
// agent's health checks.
func (w *worker) translate(ctx context.Context, c *task.Container) (*SpecResult, error) {
	if r := w.specs[c.Name]; r != nil {
		return r, nil
	}
	var imageEnv []string
	if img, err := w.e.cfg.Runtime.ImageInfo(ctx, c.Def.Image); err == nil {
		imageEnv = img.Config.Env
	}
	from := map[string][]runtime.Mount{}
	for _, v := range c.Def.VolumesFrom {
		src := w.t.Container(v.SourceContainer)
		if src == nil {
			continue
		}
		r, err := w.translate(ctx, src)
		if err != nil {
			return nil, err
		}
		from[src.Name] = r.Spec.Mounts
	}
	def := w.t.Def
	def.Containers = []acs.Container{c.Def}
	res, err := ContainerSpec(SpecInput{
		Task:        &def,
		Container:   &c.Def,
		ClusterARN:  w.t.Cluster,
		ContainerID: containerID(w.t, c),
		Volumes:     w.volumes(),
		VolumesFrom: from,
		Region:      w.e.cfg.Region,
		ImageEnv:    imageEnv,
		Env:         withTaskEndpointEnv(w.e.cfg.Env, w.t.CredentialsID, c.EndpointID),
	})
	if err != nil {
		return nil, err
	}
	for _, warn := range res.Warnings {
		w.log.Warn("container setting ignored", "container", c.Name, "setting", warn)
	}
	w.specs[c.Name] = &res
	return &res, nil
}

// volumes maps the task's volumes to host directories: a host volume with a
// source path is that path; any other (scratch, task-scoped docker
// volumes) is a directory of the task's, removed at cleanup.
func (w *worker) volumes() map[string]string {
	out := map[string]string{}
	for _, v := range w.t.Def.Volumes {
		if v.Host != nil && v.Host.SourcePath != "" {
			out[v.Name] = v.Host.SourcePath
			continue
		}
		out[v.Name] = filepath.Join(w.volumesDir(), v.Name)
	}
	return out
}

func (w *worker) volumesDir() string {
	return filepath.Join(w.e.cfg.DataDir, "volumes", w.t.ID())
}

// taskCgroup creates the task-level cgroup when task limits are on and the
// task has a cpu or memory limit. It returns "" when there is none.
func (w *worker) taskCgroup() (string, error) {
	if !w.e.cfg.TaskCgroups || (w.t.Def.CPU == nil && w.t.Def.Memory == nil) {
		return "", nil
	}
	var res runtime.TaskResources
	if w.t.Def.CPU != nil && *w.t.Def.CPU > 0 {
		res.CPUQuota = int64(*w.t.Def.CPU * 100000)
	}
	if w.t.Def.Memory != nil && *w.t.Def.Memory > 0 {
		res.MemoryLimit = *w.t.Def.Memory << 20
	}
	return w.e.cfg.Runtime.CreateTaskCgroup(w.t.ID(), res)
}
