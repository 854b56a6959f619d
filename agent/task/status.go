package task

import (
	"encoding/json"
	"fmt"
)

// TaskStatus is a task's lifecycle status. The numeric order matters:
// statuses are compared with < and >.
type TaskStatus int

const (
	TaskNone TaskStatus = iota
	TaskManifestPulled
	TaskPulled
	TaskCreated
	TaskRunning
	TaskStopped
)

var taskStatusNames = map[TaskStatus]string{
	TaskNone:           "NONE",
	TaskManifestPulled: "MANIFEST_PULLED",
	TaskPulled:         "PULLED",
	TaskCreated:        "CREATED",
	TaskRunning:        "RUNNING",
	TaskStopped:        "STOPPED",
}

func (s TaskStatus) String() string {
	if n, ok := taskStatusNames[s]; ok {
		return n
	}
	return fmt.Sprintf("TaskStatus(%d)", int(s))
}

// BackendStatus is the status ECS's API uses: RUNNING, STOPPED, or PENDING
// for everything before RUNNING.
func (s TaskStatus) BackendStatus() string {
	switch s {
	case TaskRunning:
		return "RUNNING"
	case TaskStopped:
		return "STOPPED"
	}
	return "PENDING"
}

// ParseTaskStatus reads a status name; "DEAD" is STOPPED and "UNKNOWN" or
// "" is NONE, as the ECS agent reads them.
func ParseTaskStatus(s string) (TaskStatus, error) {
	switch s {
	case "", "UNKNOWN":
		return TaskNone, nil
	case "DEAD":
		return TaskStopped, nil
	}
	for k, v := range taskStatusNames {
		if v == s {
			return k, nil
		}
	}
	return TaskNone, fmt.Errorf("unknown task status %q", s)
}

func (s TaskStatus) MarshalJSON() ([]byte, error) { return json.Marshal(s.String()) }

func (s *TaskStatus) UnmarshalJSON(b []byte) error {
	var str string
	if err := json.Unmarshal(b, &str); err != nil {
		return err
	}
	v, err := ParseTaskStatus(str)
	*s = v
	return err
}

// ContainerStatus is a container's lifecycle status, ordered like TaskStatus.
type ContainerStatus int

const (
	ContainerNone ContainerStatus = iota
	ContainerManifestPulled
	ContainerPulled
	ContainerCreated
	ContainerRunning
	ContainerResourcesProvisioned
	ContainerStopped
)

var containerStatusNames = map[ContainerStatus]string{
	ContainerNone:                 "NONE",
	ContainerManifestPulled:       "MANIFEST_PULLED",
	ContainerPulled:               "PULLED",
	ContainerCreated:              "CREATED",
	ContainerRunning:              "RUNNING",
	ContainerResourcesProvisioned: "RESOURCES_PROVISIONED",
	ContainerStopped:              "STOPPED",
}

func (s ContainerStatus) String() string {
	if n, ok := containerStatusNames[s]; ok {
		return n
	}
	return fmt.Sprintf("ContainerStatus(%d)", int(s))
}

// BackendStatus is RUNNING, STOPPED or PENDING.
func (s ContainerStatus) BackendStatus() string {
	switch s {
	case ContainerRunning, ContainerResourcesProvisioned:
		return "RUNNING"
	case ContainerStopped:
		return "STOPPED"
	}
	return "PENDING"
}

// TaskStatus maps a container status onto the task status it implies.
func (s ContainerStatus) TaskStatus() TaskStatus {
	switch s {
	case ContainerManifestPulled, ContainerPulled:
		return TaskManifestPulled
	case ContainerCreated:
		return TaskCreated
	case ContainerRunning, ContainerResourcesProvisioned:
		return TaskRunning
	case ContainerStopped:
		return TaskStopped
	}
	return TaskNone
}

func ParseContainerStatus(s string) (ContainerStatus, error) {
	switch s {
	case "", "UNKNOWN":
		return ContainerNone, nil
	case "DEAD":
		return ContainerStopped, nil
	}
	for k, v := range containerStatusNames {
		if v == s {
			return k, nil
		}
	}
	return ContainerNone, fmt.Errorf("unknown container status %q", s)
}

func (s ContainerStatus) MarshalJSON() ([]byte, error) { return json.Marshal(s.String()) }

func (s *ContainerStatus) UnmarshalJSON(b []byte) error {
	var str string
	if err := json.Unmarshal(b, &str); err != nil {
		return err
	}
	v, err := ParseContainerStatus(str)
	*s = v
	return err
}

// HealthStatus is a container's or task's health.
type HealthStatus string

const (
	HealthUnknown   HealthStatus = "UNKNOWN"
	HealthHealthy   HealthStatus = "HEALTHY"
	HealthUnhealthy HealthStatus = "UNHEALTHY"
)
