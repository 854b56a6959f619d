package tcs

// PublishHealthRequest carries the health of the containers that have a
// health check, at most MaxTasksPerRequest tasks per request, Fin set on
// the last.
type PublishHealthRequest struct {
	Metadata  *HealthMetadata `json:"metadata,omitempty"`
	Tasks     []TaskHealth    `json:"tasks,omitempty"`
	Timestamp Timestamp       `json:"timestamp,omitzero"`
}

// HealthMetadata identifies a PublishHealthRequest; Fin is always sent.
type HealthMetadata struct {
	Cluster           string `json:"cluster,omitempty"`
	ContainerInstance string `json:"containerInstance,omitempty"`
	MessageID         string `json:"messageId,omitempty"`
	Fin               bool   `json:"fin"`
}

// TaskHealth is one task's containers' health.
type TaskHealth struct {
	TaskARN               string            `json:"taskArn,omitempty"`
	ClusterARN            string            `json:"clusterArn,omitempty"`
	TaskDefinitionFamily  string            `json:"taskDefinitionFamily,omitempty"`
	TaskDefinitionVersion string            `json:"taskDefinitionVersion,omitempty"`
	Containers            []ContainerHealth `json:"containers,omitempty"`
}

// ContainerHealth is one container's health status.
type ContainerHealth struct {
	ContainerName string `json:"containerName,omitempty"`
	// HealthStatus is one of the Health* constants.
	HealthStatus  string    `json:"healthStatus,omitempty"`
	StatusSince   Timestamp `json:"statusSince,omitzero"`
	StatusMessage string    `json:"statusMessage,omitempty"`
}

// HealthStatus values.
const (
	HealthHealthy   = "HEALTHY"
	HealthUnhealthy = "UNHEALTHY"
	HealthUnknown   = "UNKNOWN"
)

// PublishInstanceStatusRequest carries the results of the agent's
// instance health checks.
type PublishInstanceStatusRequest struct {
	Metadata  *InstanceStatusMetadata `json:"metadata,omitempty"`
	Statuses  []InstanceStatus        `json:"statuses,omitempty"`
	Timestamp Timestamp               `json:"timestamp,omitzero"`
}

// InstanceStatusMetadata identifies a PublishInstanceStatusRequest; TCS
// acks it with RequestID.
type InstanceStatusMetadata struct {
	Cluster           string `json:"cluster,omitempty"`
	ContainerInstance string `json:"containerInstance,omitempty"`
	RequestID         string `json:"requestId,omitempty"`
}

// InstanceStatus is one instance health check's result.
type InstanceStatus struct {
	// Type names the check, such as InstanceStatusContainerRuntime.
	Type string `json:"type,omitempty"`
	// Status is one of the InstanceStatus* constants.
	Status           string    `json:"status,omitempty"`
	LastUpdated      Timestamp `json:"lastUpdated,omitzero"`
	LastStatusChange Timestamp `json:"lastStatusChange,omitzero"`
}

// InstanceHealthcheckStatus values, and the check type the agent reports.
const (
	InstanceStatusOK               = "OK"
	InstanceStatusImpaired         = "IMPAIRED"
	InstanceStatusInsufficientData = "INSUFFICIENT_DATA"
	InstanceStatusInitializing     = "INITIALIZING"

	InstanceStatusContainerRuntime = "ContainerRuntime"
)
