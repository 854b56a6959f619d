package task

import (
	"fmt"
	"time"

	"github.com/ecsd-project/ecsd/wire/acs"
)

// Action is one runtime step for one container.
type Action int

const (
	// Pull the image (→ PULLED).
	Pull Action = iota + 1
	// Create the container (→ CREATED).
	Create
	// Start it (→ RUNNING).
	Start
	// Stop it through the runtime (→ STOPPED).
	Stop
	// MarkStopped: it was never created, so it is STOPPED with no runtime action.
	MarkStopped
	// FailDependency: a dependency can never be met; the container's
	// desired status becomes STOPPED with Step.Reason.
	FailDependency
)

func (a Action) String() string {
	return [...]string{"", "pull", "create", "start", "stop", "mark-stopped", "fail-dependency"}[a]
}

// Step is one thing the worker can do now.
type Step struct {
	Container string
	Action    Action
	Reason    string // for FailDependency
}

// PlanOptions tune planning.
type PlanOptions struct {
	// PullUpfront lets image pulls proceed before dependencies are met
	// (ECS_PULL_DEPENDENT_CONTAINERS_UPFRONT); creation still waits.
	PullUpfront bool
}

// Plan returns every step that can begin now, given which containers
// already have a step in flight. It is pure: the worker runs the steps and
// records their outcomes.
func Plan(t *Task, inFlight map[string]bool, opts PlanOptions) []Step {
	var steps []Step
	for _, c := range t.Containers {
		if inFlight[c.Name] || c.Known >= ContainerStopped {
			continue
		}
		if c.Desired >= ContainerStopped {
			if c.Known < ContainerCreated {
				steps = append(steps, Step{Container: c.Name, Action: MarkStopped})
			} else if !hasLiveDependents(t, c) {
				steps = append(steps, Step{Container: c.Name, Action: Stop})
			}
			continue
		}
		var next Action
		switch {
		case c.Known < ContainerPulled:
			next = Pull
		case c.Known < ContainerCreated:
			next = Create
		case c.Known < ContainerRunning:
			next = Start
		default:
			continue // at steady state
		}
		if next == Pull && opts.PullUpfront {
			steps = append(steps, Step{Container: c.Name, Action: Pull})
			continue
		}
		ok, failure := dependenciesMet(t, c)
		if failure != "" {
			steps = append(steps, Step{Container: c.Name, Action: FailDependency, Reason: failure})
			continue
		}
		if ok {
			steps = append(steps, Step{Container: c.Name, Action: next})
		}
	}
	return steps
}

// hasLiveDependents: shutdown goes in reverse dependency order, so a
// container is not stopped while one that depends on it still runs.
func hasLiveDependents(t *Task, c *Container) bool {
	for _, o := range t.Containers {
		if o == c || o.Known >= ContainerStopped {
			continue
		}
		for _, d := range dependencies(o) {
			if d.ContainerName == c.Name && o.Known >= ContainerCreated {
				return true
			}
		}
	}
	return false
}

// dependenciesMet reports whether every dependency of c is met, or why one
// never will be.
func dependenciesMet(t *Task, c *Container) (bool, string) {
	met := true
	for _, d := range dependencies(c) {
		dep := t.Container(d.ContainerName)
		if dep == nil {
			return false, fmt.Sprintf("TaskDependencyError: container %s depends on unknown container %s", c.Name, d.ContainerName)
		}
		stopped := dep.Known >= ContainerStopped
		ran := dep.ExitCode != nil
		switch d.Condition {
		case acs.DependencyStart:
			if stopped && !ran {
				return false, fmt.Sprintf("TaskDependencyError: dependency %s of container %s will never start", dep.Name, c.Name)
			}
			if !stopped && dep.Known < ContainerRunning {
				met = false
			}
		case acs.DependencyComplete, acs.DependencySuccess:
			if !stopped {
				met = false
				continue
			}
			if !ran {
				return false, fmt.Sprintf("TaskDependencyError: dependency %s of container %s stopped without running", dep.Name, c.Name)
			}
			if d.Condition == acs.DependencySuccess && *dep.ExitCode != 0 {
				return false, fmt.Sprintf("TaskDependencyError: dependency %s of container %s exited with %d, and the condition is SUCCESS", dep.Name, c.Name, *dep.ExitCode)
			}
		case acs.DependencyHealthy:
			if stopped {
				return false, fmt.Sprintf("TaskDependencyError: dependency %s of container %s stopped before it was healthy", dep.Name, c.Name)
			}
			if dep.Health != HealthHealthy {
				met = false
			}
		default:
			return false, fmt.Sprintf("TaskDependencyError: unknown condition %q on %s", d.Condition, dep.Name)
		}
	}
	return met, ""
}

// Reconcile derives the task's known status from its containers and
// applies the essential-container rule: when an essential container has
// stopped, the whole task is to stop. It returns whether the task's known
// or desired status changed.
func (t *Task) Reconcile(now time.Time) bool {
	changed := false
	allStopped := true
	for _, c := range t.Containers {
		if c.Known < ContainerStopped {
			allStopped = false
		}
		if c.Essential() && c.Known >= ContainerStopped {
			if t.ExecutionStoppedAt.IsZero() {
				t.ExecutionStoppedAt = now
				changed = true
			}
			if t.WantStatus(TaskStopped) {
				changed = true
			}
		}
	}
	if allStopped && t.WantStatus(TaskStopped) {
		changed = true
	}
	known := TaskStopped
	for _, c := range t.Containers {
		if s := c.Known.TaskStatus(); s < known {
			known = s
		}
	}
	if known > t.Known {
		t.Known = known
		changed = true
		if known == TaskStopped {
			t.KnownStoppedAt = now
		}
	}
	return changed
}

// Health is the task's health: UNHEALTHY if an essential container with a
// health check is unhealthy, HEALTHY if all such containers are healthy,
// else UNKNOWN.
func (t *Task) Health() HealthStatus {
	checked, healthy := 0, 0
	for _, c := range t.Containers {
		if !c.wantsHealthy() || !c.Essential() {
			continue
		}
		checked++
		switch c.Health {
		case HealthUnhealthy:
			return HealthUnhealthy
		case HealthHealthy:
			healthy++
		}
	}
	if checked > 0 && healthy == checked {
		return HealthHealthy
	}
	return HealthUnknown
}
