package controlplane

import (
	"context"
	"errors"

	"github.com/ecsd-project/ecsd/wire/ecs"
	"github.com/ecsd-project/ecsd/wire/tcs"
)

// RecordHealth takes the container health an agent published over TCS
// into its tasks, as ECS does: each container's healthStatus, and the
// task's, which is UNHEALTHY if an essential container with a health
// check is, HEALTHY once all of them are, and UNKNOWN otherwise. Tasks
// that are not on that instance, or are stopped, are left alone.
func (cp *ControlPlane) RecordHealth(ctx context.Context, containerInstanceARN string, tasks []tcs.TaskHealth) error {
	return cp.update(ctx, func(st *state) error {
		for _, th := range tasks {
			cluster, id := splitID(th.TaskARN, "task")
			if id == "" {
				continue
			}
			t, err := st.task(cluster, id)
			if errors.Is(err, errNotFound) {
				continue
			}
			if err != nil {
				return err
			}
			if t.Task.ContainerInstanceARN != containerInstanceARN || t.Task.LastStatus == ecs.StatusStopped {
				continue
			}
			changed := false
			for _, ch := range th.Containers {
				for i := range t.Task.Containers {
					c := &t.Task.Containers[i]
					if c.Name != ch.ContainerName || c.HealthStatus == "" || !knownHealth(ch.HealthStatus) || c.HealthStatus == ch.HealthStatus {
						continue
					}
					c.HealthStatus = ch.HealthStatus
					changed = true
				}
			}
			if !changed {
				continue
			}
			td, err := cp.resolveTaskDef(st, t.Task.TaskDefinitionARN)
			if err != nil && !errors.Is(err, errNotFound) {
				return err
			}
			t.Task.HealthStatus = taskHealth(t.Task.Containers, td)
			if err := st.putTask(t); err != nil {
				return err
			}
		}
		return nil
	})
}

func knownHealth(s string) bool {
	return s == ecs.HealthHealthy || s == ecs.HealthUnhealthy || s == ecs.HealthUnknown
}

// taskHealth is the task's health from its essential containers with a
// health check (those whose healthStatus is set). Without the task
// definition every container counts as essential.
func taskHealth(containers []ecs.Container, td *ecs.TaskDefinition) string {
	essential := func(name string) bool {
		if td == nil {
			return true
		}
		for _, cd := range td.ContainerDefinitions {
			if cd.Name == name {
				return cd.Essential == nil || *cd.Essential
			}
		}
		return true
	}
	checked, healthy := 0, 0
	for _, c := range containers {
		if c.HealthStatus == "" || !essential(c.Name) {
			continue
		}
		checked++
		switch c.HealthStatus {
		case ecs.HealthUnhealthy:
			return ecs.HealthUnhealthy
		case ecs.HealthHealthy:
			healthy++
		}
	}
	if checked > 0 && healthy == checked {
		return ecs.HealthHealthy
	}
	return ecs.HealthUnknown
}
