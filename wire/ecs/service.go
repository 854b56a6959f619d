package ecs

// Service keeps DesiredCount tasks of a task definition running.
type Service struct {
	ServiceARN                    string                   `json:"serviceArn,omitempty"`
	ServiceName                   string                   `json:"serviceName,omitempty"`
	ClusterARN                    string                   `json:"clusterArn,omitempty"`
	Status                        string                   `json:"status,omitempty"`
	DesiredCount                  int32                    `json:"desiredCount"`
	RunningCount                  int32                    `json:"runningCount"`
	PendingCount                  int32                    `json:"pendingCount"`
	LaunchType                    string                   `json:"launchType,omitempty"`
	TaskDefinition                string                   `json:"taskDefinition,omitempty"`
	DeploymentConfiguration       *DeploymentConfiguration `json:"deploymentConfiguration,omitempty"`
	Deployments                   []Deployment             `json:"deployments,omitempty"`
	Events                        []ServiceEvent           `json:"events,omitempty"`
	CreatedAt                     Timestamp                `json:"createdAt,omitzero"`
	CreatedBy                     string                   `json:"createdBy,omitempty"`
	PlacementConstraints          []PlacementConstraint    `json:"placementConstraints,omitempty"`
	PlacementStrategy             []PlacementStrategy      `json:"placementStrategy,omitempty"`
	SchedulingStrategy            string                   `json:"schedulingStrategy,omitempty"`
	DeploymentController          *DeploymentController    `json:"deploymentController,omitempty"`
	HealthCheckGracePeriodSeconds *int32                   `json:"healthCheckGracePeriodSeconds,omitempty"`
	EnableECSManagedTags          bool                     `json:"enableECSManagedTags"`
	PropagateTags                 string                   `json:"propagateTags,omitempty"`
	EnableExecuteCommand          bool                     `json:"enableExecuteCommand"`
	Tags                          []Tag                    `json:"tags,omitempty"`
}

// Scheduling strategies.
const (
	SchedulingReplica = "REPLICA"
	SchedulingDaemon  = "DAEMON"
)

// DeploymentConfiguration bounds the tasks of a service during a deployment
// or while instances drain, in percent of DesiredCount.
type DeploymentConfiguration struct {
	MaximumPercent           *int32                    `json:"maximumPercent,omitempty"`
	MinimumHealthyPercent    *int32                    `json:"minimumHealthyPercent,omitempty"`
	DeploymentCircuitBreaker *DeploymentCircuitBreaker `json:"deploymentCircuitBreaker,omitempty"`
}

// DeploymentCircuitBreaker stops a deployment whose tasks keep failing.
type DeploymentCircuitBreaker struct {
	Enable   bool `json:"enable"`
	Rollback bool `json:"rollback"`
}

// DeploymentController names who deploys the service.
type DeploymentController struct {
	Type string `json:"type,omitempty"`
}

// DeploymentControllerECS is the rolling-update controller.
const DeploymentControllerECS = "ECS"

// Deployment is one task definition a service runs, during and after an
// update.
type Deployment struct {
	ID                 string    `json:"id,omitempty"`
	Status             string    `json:"status,omitempty"`
	TaskDefinition     string    `json:"taskDefinition,omitempty"`
	DesiredCount       int32     `json:"desiredCount"`
	PendingCount       int32     `json:"pendingCount"`
	RunningCount       int32     `json:"runningCount"`
	FailedTasks        int32     `json:"failedTasks"`
	CreatedAt          Timestamp `json:"createdAt,omitzero"`
	UpdatedAt          Timestamp `json:"updatedAt,omitzero"`
	LaunchType         string    `json:"launchType,omitempty"`
	RolloutState       string    `json:"rolloutState,omitempty"`
	RolloutStateReason string    `json:"rolloutStateReason,omitempty"`
}

// Deployment statuses and rollout states.
const (
	DeploymentPrimary = "PRIMARY"
	DeploymentActive  = "ACTIVE"

	RolloutCompleted  = "COMPLETED"
	RolloutFailed     = "FAILED"
	RolloutInProgress = "IN_PROGRESS"
)

// ServiceEvent is a line of a service's event log.
type ServiceEvent struct {
	ID        string    `json:"id,omitempty"`
	CreatedAt Timestamp `json:"createdAt,omitzero"`
	Message   string    `json:"message,omitempty"`
}

// CreateServiceRequest creates a service.
type CreateServiceRequest struct {
	Cluster                       string                   `json:"cluster,omitempty"`
	ServiceName                   string                   `json:"serviceName,omitempty"`
	TaskDefinition                string                   `json:"taskDefinition,omitempty"`
	DesiredCount                  *int32                   `json:"desiredCount,omitempty"`
	ClientToken                   string                   `json:"clientToken,omitempty"`
	LaunchType                    string                   `json:"launchType,omitempty"`
	DeploymentConfiguration       *DeploymentConfiguration `json:"deploymentConfiguration,omitempty"`
	PlacementConstraints          []PlacementConstraint    `json:"placementConstraints,omitempty"`
	PlacementStrategy             []PlacementStrategy      `json:"placementStrategy,omitempty"`
	HealthCheckGracePeriodSeconds *int32                   `json:"healthCheckGracePeriodSeconds,omitempty"`
	SchedulingStrategy            string                   `json:"schedulingStrategy,omitempty"`
	DeploymentController          *DeploymentController    `json:"deploymentController,omitempty"`
	Tags                          []Tag                    `json:"tags,omitempty"`
	EnableECSManagedTags          *bool                    `json:"enableECSManagedTags,omitempty"`
	PropagateTags                 string                   `json:"propagateTags,omitempty"`
	EnableExecuteCommand          *bool                    `json:"enableExecuteCommand,omitempty"`
}

// CreateServiceResponse returns the service.
type CreateServiceResponse struct {
	Service *Service `json:"service,omitempty"`
}

// UpdateServiceRequest changes a service; a new task definition or
// ForceNewDeployment starts a rolling deployment.
type UpdateServiceRequest struct {
	Cluster                       string                   `json:"cluster,omitempty"`
	Service                       string                   `json:"service,omitempty"`
	DesiredCount                  *int32                   `json:"desiredCount,omitempty"`
	TaskDefinition                string                   `json:"taskDefinition,omitempty"`
	DeploymentConfiguration       *DeploymentConfiguration `json:"deploymentConfiguration,omitempty"`
	PlacementConstraints          []PlacementConstraint    `json:"placementConstraints,omitempty"`
	PlacementStrategy             []PlacementStrategy      `json:"placementStrategy,omitempty"`
	ForceNewDeployment            *bool                    `json:"forceNewDeployment,omitempty"`
	HealthCheckGracePeriodSeconds *int32                   `json:"healthCheckGracePeriodSeconds,omitempty"`
	EnableExecuteCommand          *bool                    `json:"enableExecuteCommand,omitempty"`
	EnableECSManagedTags          *bool                    `json:"enableECSManagedTags,omitempty"`
	PropagateTags                 string                   `json:"propagateTags,omitempty"`
}

// UpdateServiceResponse returns the service.
type UpdateServiceResponse struct {
	Service *Service `json:"service,omitempty"`
}

// DeleteServiceRequest deletes a service scaled to zero, or any service with
// Force.
type DeleteServiceRequest struct {
	Cluster string `json:"cluster,omitempty"`
	Service string `json:"service,omitempty"`
	Force   *bool  `json:"force,omitempty"`
}

// DeleteServiceResponse returns the service, now DRAINING.
type DeleteServiceResponse struct {
	Service *Service `json:"service,omitempty"`
}

// DescribeServicesRequest names services by name or ARN.
type DescribeServicesRequest struct {
	Cluster  string   `json:"cluster,omitempty"`
	Services []string `json:"services,omitempty"`
	Include  []string `json:"include,omitempty"`
}

// DescribeServicesResponse lists the services found and a MISSING failure
// for each one not found.
type DescribeServicesResponse struct {
	Services []Service `json:"services"`
	Failures []Failure `json:"failures"`
}

// ListServicesRequest pages through a cluster's services.
type ListServicesRequest struct {
	Cluster            string `json:"cluster,omitempty"`
	LaunchType         string `json:"launchType,omitempty"`
	SchedulingStrategy string `json:"schedulingStrategy,omitempty"`
	MaxResults         *int32 `json:"maxResults,omitempty"`
	NextToken          string `json:"nextToken,omitempty"`
}

// ListServicesResponse is one page of service ARNs.
type ListServicesResponse struct {
	ServiceARNs []string `json:"serviceArns"`
	NextToken   string   `json:"nextToken,omitempty"`
}
