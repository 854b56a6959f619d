package controlplane

import (
	"context"
	"errors"
	"time"

	"github.com/ecsd-project/ecsd/wire/ecs"
)

// statusRank orders task and container statuses; they only move forward.
var statusRank = map[string]int{
	ecs.StatusProvisioning:   1,
	ecs.StatusPending:        2,
	ecs.StatusActivating:     3,
	ecs.StatusRunning:        4,
	ecs.StatusDeactivating:   5,
	ecs.StatusStopping:       6,
	ecs.StatusDeprovisioning: 7,
	ecs.StatusStopped:        8,
}

// acknowledgment is what the Submit calls answer.
const acknowledgment = "true"

const reasonEssentialExited = "Essential container in task exited"

// markStopped records that t stopped.
func markStopped(t *taskRecord, now time.Time) {
	t.Task.LastStatus = ecs.StatusStopped
	t.Task.DesiredStatus = ecs.StatusStopped
	if t.Task.StoppingAt.IsZero() {
		t.Task.StoppingAt = ecs.At(now)
	}
	if t.Task.StoppedAt.IsZero() {
		t.Task.StoppedAt = ecs.At(now)
	}
	for i := range t.Task.Containers {
		t.Task.Containers[i].LastStatus = ecs.StatusStopped
	}
}

// acked records that the agent has t with at least the desired status s.
func (t *taskRecord) ack(s string) {
	if statusRank[s] > statusRank[t.Acked] {
		t.Acked = s
	}
}

func (cp *ControlPlane) submitTaskStateChange(ctx context.Context, in *ecs.SubmitTaskStateChangeRequest) (*ecs.SubmitTaskStateChangeResponse, error) {
	switch in.Status {
	case "", ecs.StatusPending, ecs.StatusRunning, ecs.StatusStopped:
	default:
		return nil, invalidParam("Invalid status %q; it must be PENDING, RUNNING or STOPPED.", in.Status)
	}
	if in.Task == "" {
		return nil, invalidParam("Task can not be blank.")
	}
	var changed *taskRecord
	err := cp.update(ctx, func(st *state) error {
		t, err := resolveTask(st, in.Cluster, in.Task)
		if errors.Is(err, errNotFound) {
			return invalidParam("The referenced task was not found.")
		}
		if err != nil {
			return err
		}
		td, err := cp.resolveTaskDef(st, t.Task.TaskDefinitionARN)
		if err != nil {
			return err
		}
		t.ack(ecs.StatusRunning)
		if !in.PullStartedAt.IsZero() {
			t.Task.PullStartedAt = in.PullStartedAt
		}
		if !in.PullStoppedAt.IsZero() {
			t.Task.PullStoppedAt = in.PullStoppedAt
		}
		if !in.ExecutionStoppedAt.IsZero() {
			t.Task.ExecutionStoppedAt = in.ExecutionStoppedAt
		}
		for _, cc := range in.Containers {
			updateContainer(t, cc)
		}
		if statusRank[in.Status] > statusRank[t.Task.LastStatus] {
			switch in.Status {
			case ecs.StatusRunning:
				t.Task.LastStatus = ecs.StatusRunning
				t.Task.StartedAt = ecs.At(st.now)
			case ecs.StatusStopped:
				stoppedReason(t, td, in.Reason)
				markStopped(t, st.now)
				t.ack(ecs.StatusStopped)
				if t.Service != "" && !t.StopRequested {
					if err := countFailure(st, t); err != nil {
						return err
					}
				}
			default:
				t.Task.LastStatus = in.Status
			}
		}
		if err := st.putTask(t); err != nil {
			return err
		}
		changed = t
		if t.Service != "" {
			return cp.reconcileCluster(st, t.Cluster)
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	cp.log.Info("task state changed", keyTask, changed.Task.TaskARN, keyStatus, changed.Task.LastStatus)
	return &ecs.SubmitTaskStateChangeResponse{Acknowledgment: acknowledgment}, nil
}

// stoppedReason says why a task stopped that no one asked to stop: the
// agent's reason, an essential container that exited, or the reason a
// container failed.
func stoppedReason(t *taskRecord, td *ecs.TaskDefinition, reason string) {
	if t.StopRequested {
		return
	}
	started := !t.Task.StartedAt.IsZero()
	switch {
	case reason != "":
		t.Task.StoppedReason = reason
	case essentialExited(t, td):
		t.Task.StoppedReason = reasonEssentialExited
		t.Task.StopCode = ecs.StopCodeEssentialContainerExited
		return
	default:
		for _, c := range t.Task.Containers {
			if c.Reason != "" {
				t.Task.StoppedReason = c.Reason
				break
			}
		}
	}
	if started {
		t.Task.StopCode = ecs.StopCodeEssentialContainerExited
	} else {
		t.Task.StopCode = ecs.StopCodeTaskFailedToStart
	}
}

// essentialExited reports whether an essential container of t has stopped
// with an exit code.
func essentialExited(t *taskRecord, td *ecs.TaskDefinition) bool {
	for _, c := range t.Task.Containers {
		if c.LastStatus != ecs.StatusStopped || c.ExitCode == nil {
			continue
		}
		for _, cd := range td.ContainerDefinitions {
			if cd.Name == c.Name && (cd.Essential == nil || *cd.Essential) {
				return true
			}
		}
	}
	return false
}

// updateContainer applies one container's report.
func updateContainer(t *taskRecord, cc ecs.ContainerStateChange) {
	for i := range t.Task.Containers {
		c := &t.Task.Containers[i]
		if c.Name != cc.ContainerName {
			continue
		}
		if statusRank[cc.Status] > statusRank[c.LastStatus] {
			c.LastStatus = cc.Status
		}
		if cc.ExitCode != nil {
			c.ExitCode = cc.ExitCode
		}
		if cc.Reason != "" {
			c.Reason = cc.Reason
		}
		if len(cc.NetworkBindings) > 0 {
			c.NetworkBindings = cc.NetworkBindings
		}
		if cc.RuntimeID != "" {
			c.RuntimeID = cc.RuntimeID
		}
		if cc.ImageDigest != "" {
			c.ImageDigest = cc.ImageDigest
		}
	}
}

func (cp *ControlPlane) submitContainerStateChange(ctx context.Context, in *ecs.SubmitContainerStateChangeRequest) (*ecs.SubmitContainerStateChangeResponse, error) {
	switch in.Status {
	case ecs.StatusRunning, ecs.StatusStopped:
	default:
		return nil, invalidParam("Invalid status %q; it must be RUNNING or STOPPED.", in.Status)
	}
	err := cp.update(ctx, func(st *state) error {
		t, err := resolveTask(st, in.Cluster, in.Task)
		if errors.Is(err, errNotFound) {
			return invalidParam("The referenced task was not found.")
		}
		if err != nil {
			return err
		}
		known := false
		for _, c := range t.Task.Containers {
			known = known || c.Name == in.ContainerName
		}
		if !known {
			return invalidParam("The task has no container named %q.", in.ContainerName)
		}
		t.ack(ecs.StatusRunning)
		updateContainer(t, ecs.ContainerStateChange{
			ContainerName: in.ContainerName, RuntimeID: in.RuntimeID, Status: in.Status,
			ExitCode: in.ExitCode, Reason: in.Reason, NetworkBindings: in.NetworkBindings,
		})
		return st.putTask(t)
	})
	if err != nil {
		return nil, err
	}
	return &ecs.SubmitContainerStateChangeResponse{Acknowledgment: acknowledgment}, nil
}
