package task

import "time"

// StateChange is one report for ECS's SubmitTaskStateChange: the task's
// status and the containers whose status changed. It is what the outbox
// holds.
type StateChange struct {
	TaskARN            string            `json:"taskArn"`
	Cluster            string            `json:"cluster"`
	Status             TaskStatus        `json:"status"`
	Reason             string            `json:"reason,omitempty"`
	PullStartedAt      time.Time         `json:"pullStartedAt,omitzero"`
	PullStoppedAt      time.Time         `json:"pullStoppedAt,omitzero"`
	ExecutionStoppedAt time.Time         `json:"executionStoppedAt,omitzero"`
	Containers         []ContainerChange `json:"containers,omitempty"`
}

// ContainerChange is one container's part of a StateChange.
type ContainerChange struct {
	Name            string           `json:"containerName"`
	RuntimeID       string           `json:"runtimeId,omitempty"`
	Status          ContainerStatus  `json:"status"`
	ExitCode        *int             `json:"exitCode,omitempty"`
	Reason          string           `json:"reason,omitempty"`
	ImageDigest     string           `json:"imageDigest,omitempty"`
	NetworkBindings []NetworkBinding `json:"networkBindings,omitempty"`
}

func reportableTask(s TaskStatus) bool { return s == TaskRunning || s == TaskStopped }

func reportableContainer(s ContainerStatus) bool {
	return s == ContainerRunning || s == ContainerStopped
}

// NextChange returns the change not yet queued for ECS, and marks it
// queued on t. The caller persists t and the change in one transaction.
// ok is false when there is nothing new to report.
func (t *Task) NextChange() (ch StateChange, ok bool) {
	ch = StateChange{
		TaskARN: t.ARN, Cluster: t.Cluster, Status: t.Known, Reason: t.Reason,
		PullStartedAt: t.PullStartedAt, PullStoppedAt: t.PullStoppedAt, ExecutionStoppedAt: t.ExecutionStoppedAt,
	}
	for _, c := range t.Containers {
		if !reportableContainer(c.Known) || c.Known <= c.Queued {
			continue
		}
		cc := ContainerChange{
			Name: c.Name, RuntimeID: c.RuntimeID, Status: c.Known, Reason: c.Reason,
			ImageDigest: c.ImageDigest, NetworkBindings: append([]NetworkBinding(nil), c.NetworkBindings...),
		}
		if c.Known == ContainerStopped && c.ExitCode != nil {
			code := *c.ExitCode
			cc.ExitCode = &code
		}
		ch.Containers = append(ch.Containers, cc)
		c.Queued = c.Known
	}
	taskNew := reportableTask(t.Known) && t.Known > t.Queued
	if taskNew {
		t.Queued = t.Known
	}
	return ch, taskNew || len(ch.Containers) > 0
}
