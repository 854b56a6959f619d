package ecs

// Task is one run of a task definition on a container instance.
type Task struct {
	TaskARN              string        `json:"taskArn,omitempty"`
	ClusterARN           string        `json:"clusterArn,omitempty"`
	TaskDefinitionARN    string        `json:"taskDefinitionArn,omitempty"`
	ContainerInstanceARN string        `json:"containerInstanceArn,omitempty"`
	Overrides            *TaskOverride `json:"overrides,omitempty"`
	LastStatus           string        `json:"lastStatus,omitempty"`
	DesiredStatus        string        `json:"desiredStatus,omitempty"`
	HealthStatus         string        `json:"healthStatus,omitempty"`
	CPU                  string        `json:"cpu,omitempty"`
	Memory               string        `json:"memory,omitempty"`
	Containers           []Container   `json:"containers,omitempty"`
	StartedBy            string        `json:"startedBy,omitempty"`
	// Version counts the changes to the task.
	Version              int64       `json:"version"`
	StoppedReason        string      `json:"stoppedReason,omitempty"`
	StopCode             string      `json:"stopCode,omitempty"`
	Connectivity         string      `json:"connectivity,omitempty"`
	ConnectivityAt       Timestamp   `json:"connectivityAt,omitzero"`
	PullStartedAt        Timestamp   `json:"pullStartedAt,omitzero"`
	PullStoppedAt        Timestamp   `json:"pullStoppedAt,omitzero"`
	ExecutionStoppedAt   Timestamp   `json:"executionStoppedAt,omitzero"`
	CreatedAt            Timestamp   `json:"createdAt,omitzero"`
	StartedAt            Timestamp   `json:"startedAt,omitzero"`
	StoppingAt           Timestamp   `json:"stoppingAt,omitzero"`
	StoppedAt            Timestamp   `json:"stoppedAt,omitzero"`
	Group                string      `json:"group,omitempty"`
	LaunchType           string      `json:"launchType,omitempty"`
	Attributes           []Attribute `json:"attributes,omitempty"`
	EnableExecuteCommand bool        `json:"enableExecuteCommand"`
	Tags                 []Tag       `json:"tags,omitempty"`
}

// Stop codes of Task.StopCode.
const (
	StopCodeTaskFailedToStart         = "TaskFailedToStart"
	StopCodeEssentialContainerExited  = "EssentialContainerExited"
	StopCodeUserInitiated             = "UserInitiated"
	StopCodeServiceSchedulerInitiated = "ServiceSchedulerInitiated"
)

// Container is one container of a Task as ECS reports it.
type Container struct {
	ContainerARN      string           `json:"containerArn,omitempty"`
	TaskARN           string           `json:"taskArn,omitempty"`
	Name              string           `json:"name,omitempty"`
	Image             string           `json:"image,omitempty"`
	ImageDigest       string           `json:"imageDigest,omitempty"`
	RuntimeID         string           `json:"runtimeId,omitempty"`
	LastStatus        string           `json:"lastStatus,omitempty"`
	ExitCode          *int32           `json:"exitCode,omitempty"`
	Reason            string           `json:"reason,omitempty"`
	NetworkBindings   []NetworkBinding `json:"networkBindings,omitempty"`
	HealthStatus      string           `json:"healthStatus,omitempty"`
	CPU               string           `json:"cpu,omitempty"`
	Memory            string           `json:"memory,omitempty"`
	MemoryReservation string           `json:"memoryReservation,omitempty"`
}

// Health statuses of tasks and containers.
const (
	HealthHealthy   = "HEALTHY"
	HealthUnhealthy = "UNHEALTHY"
	HealthUnknown   = "UNKNOWN"
)

// NetworkBinding is a port a container publishes on the host.
type NetworkBinding struct {
	BindIP             string `json:"bindIP,omitempty"`
	ContainerPort      *int32 `json:"containerPort,omitempty"`
	HostPort           *int32 `json:"hostPort,omitempty"`
	Protocol           string `json:"protocol,omitempty"`
	ContainerPortRange string `json:"containerPortRange,omitempty"`
	HostPortRange      string `json:"hostPortRange,omitempty"`
}

// TaskOverride changes a task definition for one task.
type TaskOverride struct {
	ContainerOverrides []ContainerOverride `json:"containerOverrides,omitempty"`
	CPU                string              `json:"cpu,omitempty"`
	Memory             string              `json:"memory,omitempty"`
	TaskRoleARN        string              `json:"taskRoleArn,omitempty"`
	ExecutionRoleARN   string              `json:"executionRoleArn,omitempty"`
}

// ContainerOverride changes one container of a task definition.
type ContainerOverride struct {
	Name                 string                `json:"name,omitempty"`
	Command              []string              `json:"command,omitempty"`
	Environment          []KeyValuePair        `json:"environment,omitempty"`
	EnvironmentFiles     []EnvironmentFile     `json:"environmentFiles,omitempty"`
	CPU                  *int32                `json:"cpu,omitempty"`
	Memory               *int32                `json:"memory,omitempty"`
	MemoryReservation    *int32                `json:"memoryReservation,omitempty"`
	ResourceRequirements []ResourceRequirement `json:"resourceRequirements,omitempty"`
}

// PlacementConstraint restricts where a task may be placed: distinctInstance,
// or memberOf with a cluster query expression.
type PlacementConstraint struct {
	Type       string `json:"type,omitempty"`
	Expression string `json:"expression,omitempty"`
}

// Placement constraint types.
const (
	ConstraintDistinctInstance = "distinctInstance"
	ConstraintMemberOf         = "memberOf"
)

// PlacementStrategy orders the instances a task may be placed on.
type PlacementStrategy struct {
	Type  string `json:"type,omitempty"`
	Field string `json:"field,omitempty"`
}

// Placement strategy types.
const (
	StrategyRandom  = "random"
	StrategySpread  = "spread"
	StrategyBinpack = "binpack"
)

// RunTaskRequest places Count tasks of a task definition on the cluster's
// instances.
type RunTaskRequest struct {
	Cluster              string                `json:"cluster,omitempty"`
	TaskDefinition       string                `json:"taskDefinition,omitempty"`
	Count                *int32                `json:"count,omitempty"`
	StartedBy            string                `json:"startedBy,omitempty"`
	Group                string                `json:"group,omitempty"`
	Overrides            *TaskOverride         `json:"overrides,omitempty"`
	PlacementConstraints []PlacementConstraint `json:"placementConstraints,omitempty"`
	PlacementStrategy    []PlacementStrategy   `json:"placementStrategy,omitempty"`
	LaunchType           string                `json:"launchType,omitempty"`
	Tags                 []Tag                 `json:"tags,omitempty"`
	EnableECSManagedTags *bool                 `json:"enableECSManagedTags,omitempty"`
	PropagateTags        string                `json:"propagateTags,omitempty"`
	EnableExecuteCommand *bool                 `json:"enableExecuteCommand,omitempty"`
	ReferenceID          string                `json:"referenceId,omitempty"`
	ClientToken          string                `json:"clientToken,omitempty"`
}

// Values of PropagateTags.
const (
	PropagateTaskDefinition = "TASK_DEFINITION"
	PropagateService        = "SERVICE"
	PropagateNone           = "NONE"
)

// RunTaskResponse lists the tasks placed and why the others were not.
type RunTaskResponse struct {
	Tasks    []Task    `json:"tasks"`
	Failures []Failure `json:"failures"`
}

// StartTaskRequest starts a task on each of the named container instances.
type StartTaskRequest struct {
	Cluster              string        `json:"cluster,omitempty"`
	TaskDefinition       string        `json:"taskDefinition,omitempty"`
	ContainerInstances   []string      `json:"containerInstances,omitempty"`
	StartedBy            string        `json:"startedBy,omitempty"`
	Group                string        `json:"group,omitempty"`
	Overrides            *TaskOverride `json:"overrides,omitempty"`
	Tags                 []Tag         `json:"tags,omitempty"`
	EnableECSManagedTags *bool         `json:"enableECSManagedTags,omitempty"`
	PropagateTags        string        `json:"propagateTags,omitempty"`
	EnableExecuteCommand *bool         `json:"enableExecuteCommand,omitempty"`
	ReferenceID          string        `json:"referenceId,omitempty"`
}

// StartTaskResponse lists the tasks started and why the others were not.
type StartTaskResponse struct {
	Tasks    []Task    `json:"tasks"`
	Failures []Failure `json:"failures"`
}

// StopTaskRequest asks for a task to stop.
type StopTaskRequest struct {
	Cluster string `json:"cluster,omitempty"`
	Task    string `json:"task,omitempty"`
	Reason  string `json:"reason,omitempty"`
}

// StopTaskResponse returns the task, desired STOPPED.
type StopTaskResponse struct {
	Task *Task `json:"task,omitempty"`
}

// DescribeTasksRequest names tasks by ARN or ID.
type DescribeTasksRequest struct {
	Cluster string   `json:"cluster,omitempty"`
	Tasks   []string `json:"tasks,omitempty"`
	Include []string `json:"include,omitempty"`
}

// DescribeTasksResponse lists the tasks found and a MISSING failure for each
// one not found.
type DescribeTasksResponse struct {
	Tasks    []Task    `json:"tasks"`
	Failures []Failure `json:"failures"`
}

// ListTasksRequest filters a cluster's tasks; desiredStatus defaults to
// RUNNING.
type ListTasksRequest struct {
	Cluster           string `json:"cluster,omitempty"`
	ContainerInstance string `json:"containerInstance,omitempty"`
	Family            string `json:"family,omitempty"`
	StartedBy         string `json:"startedBy,omitempty"`
	ServiceName       string `json:"serviceName,omitempty"`
	DesiredStatus     string `json:"desiredStatus,omitempty"`
	LaunchType        string `json:"launchType,omitempty"`
	MaxResults        *int32 `json:"maxResults,omitempty"`
	NextToken         string `json:"nextToken,omitempty"`
}

// ListTasksResponse is one page of task ARNs.
type ListTasksResponse struct {
	TaskARNs  []string `json:"taskArns"`
	NextToken string   `json:"nextToken,omitempty"`
}
