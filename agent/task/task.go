package task

import (
	"errors"
	"fmt"
	"path"
	"strings"
	"time"

	"github.com/ecsd-project/ecsd/wire/acs"
)

// Task is one ECS task as ecsd tracks it: the definition ACS sent, and the
// desired, known and sent status of the task and of each container.
// Only the task's worker goroutine changes a Task; others get copies.
type Task struct {
	ARN     string `json:"arn"`
	Cluster string `json:"cluster"`
	Family  string `json:"family"`
	Version string `json:"version"`
	// Def is the task as ACS sent it, with credential secrets removed.
	Def acs.Task `json:"def"`

	Desired TaskStatus `json:"desiredStatus"`
	Known   TaskStatus `json:"knownStatus"`
	// Queued is the last status put into the outbox for ECS. The outbox
	// entry leaves only once ECS accepted it.
	Queued TaskStatus `json:"queuedStatus"`
	// Reason is set for agent-side terminal errors.
	Reason string `json:"reason,omitempty"`

	Containers []*Container `json:"containers"`

	CredentialsID          string `json:"credentialsId,omitempty"`
	ExecutionCredentialsID string `json:"executionCredentialsId,omitempty"`

	PullStartedAt      time.Time `json:"pullStartedAt,omitzero"`
	PullStoppedAt      time.Time `json:"pullStoppedAt,omitzero"`
	ExecutionStoppedAt time.Time `json:"executionStoppedAt,omitzero"`
	// KnownStoppedAt is when Known became STOPPED; cleanup counts from it.
	KnownStoppedAt time.Time `json:"knownStoppedAt,omitzero"`
}

// Container is one container of a task.
type Container struct {
	Name string        `json:"name"`
	Def  acs.Container `json:"def"`

	Desired ContainerStatus `json:"desiredStatus"`
	Known   ContainerStatus `json:"knownStatus"`
	Queued  ContainerStatus `json:"queuedStatus"`

	// RuntimeID is the containerd container id, set before it is created.
	RuntimeID string `json:"runtimeId,omitempty"`
	// EndpointID is the random id of the container's task metadata URIs
	// (/v3/ID, /v4/ID), set when the task is accepted and persisted with it.
	EndpointID string `json:"endpointId,omitempty"`
	// IPv4Address is the container's bridge address, set when its network
	// is attached.
	IPv4Address string `json:"ipv4Address,omitempty"`
	ImageDigest string `json:"imageDigest,omitempty"`
	ExitCode    *int   `json:"exitCode,omitempty"`
	// Reason is "<ErrorName>: <message>" of the error that stopped it.
	Reason          string           `json:"reason,omitempty"`
	NetworkBindings []NetworkBinding `json:"networkBindings,omitempty"`

	Health       HealthStatus `json:"health,omitempty"`
	HealthSince  time.Time    `json:"healthSince,omitzero"`
	HealthOutput string       `json:"healthOutput,omitempty"`

	RestartCount  int       `json:"restartCount,omitempty"`
	LastRestartAt time.Time `json:"lastRestartAt,omitzero"`
	StartedAt     time.Time `json:"startedAt,omitzero"`
	FinishedAt    time.Time `json:"finishedAt,omitzero"`
}

// NetworkBinding is a published port, shaped as ECS reports it.
type NetworkBinding struct {
	BindIP             string `json:"bindIP,omitempty"`
	ContainerPort      int    `json:"containerPort,omitempty"`
	HostPort           int    `json:"hostPort,omitempty"`
	Protocol           string `json:"protocol,omitempty"`
	ContainerPortRange string `json:"containerPortRange,omitempty"`
	HostPortRange      string `json:"hostPortRange,omitempty"`
}

// ErrInvalidTask: a task from ACS that cannot be run as given.
var ErrInvalidTask = errors.New("invalid task")

// FromACS builds a Task from a task ACS sent. It validates what the engine
// relies on (names, dependencies) and removes credential secrets, which are
// never persisted.
func FromACS(cluster string, t acs.Task) (*Task, error) {
	if t.ARN == "" {
		return nil, fmt.Errorf("%w: task has no arn", ErrInvalidTask)
	}
	desired := TaskRunning
	switch t.DesiredStatus {
	case acs.DesiredStatusRunning, "":
	case acs.DesiredStatusStopped:
		desired = TaskStopped
	default:
		return nil, fmt.Errorf("%w: task %s: desired status %q", ErrInvalidTask, t.ARN, t.DesiredStatus)
	}
	if len(t.Containers) == 0 {
		return nil, fmt.Errorf("%w: task %s has no containers", ErrInvalidTask, t.ARN)
	}
	out := &Task{
		ARN: t.ARN, Cluster: cluster, Family: t.Family, Version: t.Version,
		Desired: desired,
	}
	if t.TaskClusterARN != "" {
		out.Cluster = t.TaskClusterARN
	}
	if t.RoleCredentials != nil {
		out.CredentialsID = t.RoleCredentials.CredentialsID
	}
	if t.ExecutionRoleCredentials != nil {
		out.ExecutionCredentialsID = t.ExecutionRoleCredentials.CredentialsID
	}
	def := t
	def.RoleCredentials, def.ExecutionRoleCredentials = nil, nil
	def.Containers = nil
	out.Def = def

	names := map[string]bool{}
	for _, c := range t.Containers {
		if c.Name == "" {
			return nil, fmt.Errorf("%w: task %s: a container has no name", ErrInvalidTask, t.ARN)
		}
		if names[c.Name] {
			return nil, fmt.Errorf("%w: task %s: container name %q repeats", ErrInvalidTask, t.ARN, c.Name)
		}
		if c.Image == "" {
			return nil, fmt.Errorf("%w: task %s: container %s has no image", ErrInvalidTask, t.ARN, c.Name)
		}
		names[c.Name] = true
		out.Containers = append(out.Containers, &Container{Name: c.Name, Def: c, Desired: ContainerRunning, Health: HealthUnknown})
	}
	if err := checkDependencies(out); err != nil {
		return nil, fmt.Errorf("%w: task %s: %w", ErrInvalidTask, t.ARN, err)
	}
	if desired == TaskStopped {
		out.setAllDesiredStopped()
	}
	return out, nil
}

// ID is the last segment of the task ARN.
func (t *Task) ID() string { return path.Base(t.ARN) }

// Container returns the named container, or nil.
func (t *Task) Container(name string) *Container {
	for _, c := range t.Containers {
		if c.Name == name {
			return c
		}
	}
	return nil
}

// Essential reports whether the container is essential (the default).
func (c *Container) Essential() bool { return c.Def.Essential == nil || *c.Def.Essential }

// HasHealthCheck is set by the engine from the translated definition.
func (c *Container) wantsHealthy() bool { return c.Def.HealthCheckType != "" }

// WantStatus moves the task's desired status forward; it never moves back,
// and a stop is never undone. It reports whether anything changed.
func (t *Task) WantStatus(s TaskStatus) bool {
	if s <= t.Desired {
		return false
	}
	t.Desired = s
	if s == TaskStopped {
		t.setAllDesiredStopped()
	}
	return true
}

func (t *Task) setAllDesiredStopped() {
	for _, c := range t.Containers {
		if c.Desired < ContainerStopped {
			c.Desired = ContainerStopped
		}
	}
}

// Clone returns a deep copy for readers outside the worker.
func (t *Task) Clone() *Task {
	cp := *t
	cp.Containers = make([]*Container, len(t.Containers))
	for i, c := range t.Containers {
		cc := *c
		if c.ExitCode != nil {
			code := *c.ExitCode
			cc.ExitCode = &code
		}
		cc.NetworkBindings = append([]NetworkBinding(nil), c.NetworkBindings...)
		cp.Containers[i] = &cc
	}
	return &cp
}

// dependencies lists a container's start dependencies: dependsOn, plus
// links and volumesFrom, which imply START.
func dependencies(c *Container) []acs.ContainerDependency {
	deps := append([]acs.ContainerDependency(nil), c.Def.DependsOn...)
	for _, l := range c.Def.Links {
		name, _, _ := strings.Cut(l, ":")
		deps = append(deps, acs.ContainerDependency{ContainerName: name, Condition: acs.DependencyStart})
	}
	for _, v := range c.Def.VolumesFrom {
		deps = append(deps, acs.ContainerDependency{ContainerName: v.SourceContainer, Condition: acs.DependencyStart})
	}
	return deps
}

// checkDependencies refuses unknown names, unknown conditions and cycles.
func checkDependencies(t *Task) error {
	for _, c := range t.Containers {
		for _, d := range dependencies(c) {
			if t.Container(d.ContainerName) == nil {
				return fmt.Errorf("container %s depends on unknown container %q", c.Name, d.ContainerName)
			}
			if d.ContainerName == c.Name {
				return fmt.Errorf("container %s depends on itself", c.Name)
			}
			switch d.Condition {
			case acs.DependencyStart, acs.DependencyComplete, acs.DependencySuccess, acs.DependencyHealthy:
			default:
				return fmt.Errorf("container %s: unknown dependency condition %q", c.Name, d.Condition)
			}
			if d.Condition == acs.DependencyHealthy && !t.Container(d.ContainerName).wantsHealthy() {
				return fmt.Errorf("container %s waits for %s to be HEALTHY, which has no health check", c.Name, d.ContainerName)
			}
		}
	}
	// Cycle check: depth-first with colours.
	const (
		white = iota
		grey
		black
	)
	colour := map[string]int{}
	var visit func(c *Container) error
	visit = func(c *Container) error {
		colour[c.Name] = grey
		for _, d := range dependencies(c) {
			switch colour[d.ContainerName] {
			case grey:
				return fmt.Errorf("containers %s and %s depend on each other", c.Name, d.ContainerName)
			case white:
				if err := visit(t.Container(d.ContainerName)); err != nil {
					return err
				}
			}
		}
		colour[c.Name] = black
		return nil
	}
	for _, c := range t.Containers {
		if colour[c.Name] == white {
			if err := visit(c); err != nil {
				return err
			}
		}
	}
	return nil
}
