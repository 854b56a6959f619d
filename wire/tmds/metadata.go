package tmds

// Task is the v4 task metadata (/v4/{endpointId}/task). Timestamps are
// RFC 3339 strings.
type Task struct {
	Cluster               string            `json:"Cluster"`
	TaskARN               string            `json:"TaskARN"`
	Family                string            `json:"Family"`
	Revision              string            `json:"Revision"`
	DesiredStatus         string            `json:"DesiredStatus,omitempty"`
	KnownStatus           string            `json:"KnownStatus"`
	Containers            []Container       `json:"Containers,omitempty"`
	Limits                *Limits           `json:"Limits,omitempty"`
	PullStartedAt         string            `json:"PullStartedAt,omitempty"`
	PullStoppedAt         string            `json:"PullStoppedAt,omitempty"`
	ExecutionStoppedAt    string            `json:"ExecutionStoppedAt,omitempty"`
	AvailabilityZone      string            `json:"AvailabilityZone,omitempty"`
	TaskTags              map[string]string `json:"TaskTags,omitempty"`
	ContainerInstanceTags map[string]string `json:"ContainerInstanceTags,omitempty"`
	LaunchType            string            `json:"LaunchType,omitempty"`
	Errors                []Error4          `json:"Errors,omitempty"`
	VPCID                 string            `json:"VPCID,omitempty"`
	ServiceName           string            `json:"ServiceName,omitempty"`
	Group                 string            `json:"Group,omitempty"`
	FaultInjectionEnabled bool              `json:"FaultInjectionEnabled"`
}

// Error4 is one entry of Task.Errors.
type Error4 struct {
	ErrorField   string `json:"ErrorField"`
	ErrorCode    string `json:"ErrorCode"`
	ErrorMessage string `json:"ErrorMessage"`
	StatusCode   int    `json:"StatusCode"`
	RequestID    string `json:"RequestId"`
	ResourceARN  string `json:"ResourceARN"`
}

// Limits are a task's (CPU in vCPUs, Memory in MiB) or a container's (CPU
// in shares, Memory in MiB) limits.
type Limits struct {
	CPU    *float64 `json:"CPU,omitempty"`
	Memory *int64   `json:"Memory,omitempty"`
}

// Container is the v4 container metadata (/v4/{endpointId}, and each of
// Task.Containers).
type Container struct {
	DockerID      string            `json:"DockerId"`
	Name          string            `json:"Name"`
	DockerName    string            `json:"DockerName"`
	Image         string            `json:"Image"`
	ImageID       string            `json:"ImageID"`
	Ports         []Port            `json:"Ports,omitempty"`
	Labels        map[string]string `json:"Labels,omitempty"`
	DesiredStatus string            `json:"DesiredStatus"`
	KnownStatus   string            `json:"KnownStatus"`
	ExitCode      *int              `json:"ExitCode,omitempty"`
	Limits        Limits            `json:"Limits"`
	CreatedAt     string            `json:"CreatedAt,omitempty"`
	StartedAt     string            `json:"StartedAt,omitempty"`
	FinishedAt    string            `json:"FinishedAt,omitempty"`
	Type          string            `json:"Type"`
	Networks      []Network         `json:"Networks,omitempty"`
	Health        *Health           `json:"Health,omitempty"`
	Volumes       []Volume          `json:"Volumes,omitempty"`
	LogDriver     string            `json:"LogDriver,omitempty"`
	LogOptions    map[string]string `json:"LogOptions,omitempty"`
	ContainerARN  string            `json:"ContainerARN,omitempty"`
	Snapshotter   string            `json:"Snapshotter,omitempty"`
	RestartCount  *int              `json:"RestartCount,omitempty"`
}

// ContainerTypeNormal is the only container type ecsd shows.
const ContainerTypeNormal = "NORMAL"

// Port is a published port.
type Port struct {
	ContainerPort int    `json:"ContainerPort,omitempty"`
	Protocol      string `json:"Protocol,omitempty"`
	HostPort      int    `json:"HostPort,omitempty"`
	HostIP        string `json:"HostIp,omitempty"`
}

// Network is one network of a container.
type Network struct {
	NetworkMode   string   `json:"NetworkMode"`
	IPv4Addresses []string `json:"IPv4Addresses"`
	IPv6Addresses []string `json:"IPv6Addresses,omitempty"`
}

// Health is a container's health; the keys are lower-case, as the ECS
// agent's are.
type Health struct {
	Status      string `json:"status,omitempty"`
	StatusSince string `json:"statusSince,omitempty"`
	ExitCode    int    `json:"exitCode,omitempty"`
	Output      string `json:"output,omitempty"`
}

// Volume is a mount of a container.
type Volume struct {
	DockerName  string `json:"DockerName,omitempty"`
	Source      string `json:"Source,omitempty"`
	Destination string `json:"Destination,omitempty"`
}
