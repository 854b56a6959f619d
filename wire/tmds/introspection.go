package tmds

// AgentMetadata is GET /v1/metadata of the introspection API.
// ContainerInstanceArn is null until the instance is registered.
type AgentMetadata struct {
	Cluster              string  `json:"Cluster"`
	ContainerInstanceArn *string `json:"ContainerInstanceArn"`
	Version              string  `json:"Version"`
}

// IntrospectionTasks is GET /v1/tasks.
type IntrospectionTasks struct {
	Tasks []IntrospectionTask `json:"Tasks"`
}

// IntrospectionTask is one task of the introspection API.
type IntrospectionTask struct {
	Arn           string                   `json:"Arn"`
	DesiredStatus string                   `json:"DesiredStatus,omitempty"`
	KnownStatus   string                   `json:"KnownStatus"`
	Family        string                   `json:"Family"`
	Version       string                   `json:"Version"`
	Containers    []IntrospectionContainer `json:"Containers"`
}

// IntrospectionContainer is one container of an IntrospectionTask.
type IntrospectionContainer struct {
	DockerID     string    `json:"DockerId"`
	DockerName   string    `json:"DockerName"`
	Name         string    `json:"Name"`
	Image        string    `json:"Image"`
	ImageID      string    `json:"ImageID"`
	CreatedAt    string    `json:"CreatedAt,omitempty"`
	StartedAt    string    `json:"StartedAt,omitempty"`
	Ports        []Port    `json:"Ports,omitempty"`
	Networks     []Network `json:"Networks,omitempty"`
	Volumes      []Volume  `json:"Volumes,omitempty"`
	RestartCount *int      `json:"RestartCount,omitempty"`
}

// AvailableCommands is GET / of the introspection API.
type AvailableCommands struct {
	AvailableCommands []string `json:"AvailableCommands"`
}
