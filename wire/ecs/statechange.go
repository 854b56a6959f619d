package ecs

// SubmitTaskStateChangeRequest is an agent's report of a task's state and
// its containers'.
type SubmitTaskStateChangeRequest struct {
	Cluster            string                    `json:"cluster,omitempty"`
	Task               string                    `json:"task,omitempty"`
	Status             string                    `json:"status,omitempty"`
	Reason             string                    `json:"reason,omitempty"`
	Containers         []ContainerStateChange    `json:"containers,omitempty"`
	Attachments        []AttachmentStateChange   `json:"attachments,omitempty"`
	ManagedAgents      []ManagedAgentStateChange `json:"managedAgents,omitempty"`
	PullStartedAt      Timestamp                 `json:"pullStartedAt,omitzero"`
	PullStoppedAt      Timestamp                 `json:"pullStoppedAt,omitzero"`
	ExecutionStoppedAt Timestamp                 `json:"executionStoppedAt,omitzero"`
}

// ContainerStateChange is one container's part of a task state change.
type ContainerStateChange struct {
	ContainerName   string           `json:"containerName,omitempty"`
	ImageDigest     string           `json:"imageDigest,omitempty"`
	RuntimeID       string           `json:"runtimeId,omitempty"`
	ExitCode        *int32           `json:"exitCode,omitempty"`
	NetworkBindings []NetworkBinding `json:"networkBindings,omitempty"`
	Reason          string           `json:"reason,omitempty"`
	Status          string           `json:"status,omitempty"`
}

// AttachmentStateChange reports an ENI or volume attachment.
type AttachmentStateChange struct {
	AttachmentARN string `json:"attachmentArn,omitempty"`
	Status        string `json:"status,omitempty"`
}

// ManagedAgentStateChange reports a managed agent such as ECS Exec's.
type ManagedAgentStateChange struct {
	ContainerName    string `json:"containerName,omitempty"`
	ManagedAgentName string `json:"managedAgentName,omitempty"`
	Status           string `json:"status,omitempty"`
	Reason           string `json:"reason,omitempty"`
}

// SubmitTaskStateChangeResponse acknowledges the report.
type SubmitTaskStateChangeResponse struct {
	Acknowledgment string `json:"acknowledgment,omitempty"`
}

// SubmitContainerStateChangeRequest is the legacy report of one container.
type SubmitContainerStateChangeRequest struct {
	Cluster         string           `json:"cluster,omitempty"`
	Task            string           `json:"task,omitempty"`
	ContainerName   string           `json:"containerName,omitempty"`
	RuntimeID       string           `json:"runtimeId,omitempty"`
	Status          string           `json:"status,omitempty"`
	ExitCode        *int32           `json:"exitCode,omitempty"`
	Reason          string           `json:"reason,omitempty"`
	NetworkBindings []NetworkBinding `json:"networkBindings,omitempty"`
}

// SubmitContainerStateChangeResponse acknowledges the report.
type SubmitContainerStateChangeResponse struct {
	Acknowledgment string `json:"acknowledgment,omitempty"`
}
