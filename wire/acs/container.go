package acs

// Container is one container of a Task. Many task-definition settings do not
// appear here as fields: they arrive inside DockerConfig.Config and
// DockerConfig.HostConfig as Docker Engine API JSON.
type Container struct {
	Name       string   `json:"name,omitempty"`
	Image      string   `json:"image,omitempty"`
	Command    []string `json:"command,omitempty"`
	EntryPoint []string `json:"entryPoint,omitempty"`
	// CPU is in CPU units (1024 per vCPU); it becomes cpu shares.
	CPU *int64 `json:"cpu,omitempty"`
	// Memory is the hard limit in MiB.
	Memory           *int64            `json:"memory,omitempty"`
	Essential        *bool             `json:"essential,omitempty"`
	Environment      map[string]string `json:"environment,omitempty"`
	EnvironmentFiles []EnvironmentFile `json:"environmentFiles,omitempty"`
	Links            []string          `json:"links,omitempty"`
	PortMappings     []PortMapping     `json:"portMappings,omitempty"`
	MountPoints      []MountPoint      `json:"mountPoints,omitempty"`
	VolumesFrom      []VolumeFrom      `json:"volumesFrom,omitempty"`
	Privileged       *bool             `json:"privileged,omitempty"`
	LinuxParameters  *LinuxParameters  `json:"linuxParameters,omitempty"`
	DockerConfig     *DockerConfig     `json:"dockerConfig,omitempty"`
	// HealthCheckType is "docker" when DockerConfig.Config holds a
	// Healthcheck that the agent must run.
	HealthCheckType        string                      `json:"healthCheckType,omitempty"`
	RegistryAuthentication *RegistryAuthenticationData `json:"registryAuthentication,omitempty"`
	LogsAuthStrategy       string                      `json:"logsAuthStrategy,omitempty"`
	Secrets                []Secret                    `json:"secrets,omitempty"`
	DependsOn              []ContainerDependency       `json:"dependsOn,omitempty"`
	// StartTimeout and StopTimeout are in seconds.
	StartTimeout          *int64                 `json:"startTimeout,omitempty"`
	StopTimeout           *int64                 `json:"stopTimeout,omitempty"`
	FirelensConfiguration *FirelensConfiguration `json:"firelensConfiguration,omitempty"`
	ManagedAgents         []ManagedAgent         `json:"managedAgents,omitempty"`
	RestartPolicy         *RestartPolicy         `json:"restartPolicy,omitempty"`
	CredentialSpecs       []string               `json:"credentialSpecs,omitempty"`
	NetworkInterfaceNames []string               `json:"networkInterfaceNames,omitempty"`
	// Overrides is a JSON document such as {"command":["..."]}, kept as a
	// string.
	Overrides    string `json:"overrides,omitempty"`
	ContainerARN string `json:"containerArn,omitempty"`
}

// Health check types.
const HealthCheckTypeDocker = "docker"

// PortMapping publishes a container port on the host.
type PortMapping struct {
	ContainerPort *int64 `json:"containerPort,omitempty"`
	// HostPort 0 (or absent) asks the agent to pick a free port.
	HostPort           *int64 `json:"hostPort,omitempty"`
	ContainerPortRange string `json:"containerPortRange,omitempty"`
	Protocol           string `json:"protocol,omitempty"`
}

// MountPoint mounts a task volume into the container.
type MountPoint struct {
	SourceVolume  string `json:"sourceVolume,omitempty"`
	ContainerPath string `json:"containerPath,omitempty"`
	ReadOnly      bool   `json:"readOnly,omitempty"`
}

// VolumeFrom mounts every volume of another container of the task.
type VolumeFrom struct {
	SourceContainer string `json:"sourceContainer,omitempty"`
	ReadOnly        bool   `json:"readOnly,omitempty"`
}

// LinuxParameters are Linux-specific container settings. ACS's model has
// capabilities, devices, initProcessEnabled and sharedMemorySize; maxSwap,
// swappiness and tmpfs are task-definition fields that ECS otherwise sends
// inside DockerConfig.HostConfig, accepted here too should they appear.
type LinuxParameters struct {
	Capabilities       *KernelCapabilities `json:"capabilities,omitempty"`
	Devices            []Device            `json:"devices,omitempty"`
	InitProcessEnabled *bool               `json:"initProcessEnabled,omitempty"`
	// SharedMemorySize is the size of /dev/shm in MiB.
	SharedMemorySize *int64 `json:"sharedMemorySize,omitempty"`
	// MaxSwap is the swap the container may use, in MiB; 0 disables swap.
	MaxSwap *int64 `json:"maxSwap,omitempty"`
	// Swappiness is 0..100.
	Swappiness *int64  `json:"swappiness,omitempty"`
	Tmpfs      []Tmpfs `json:"tmpfs,omitempty"`
}

// KernelCapabilities are capabilities to add to or drop from Docker's
// default set, named as Docker names them ("NET_ADMIN").
type KernelCapabilities struct {
	Add  []string `json:"add,omitempty"`
	Drop []string `json:"drop,omitempty"`
}

// Device permissions of Device.Permissions.
const (
	DevicePermissionRead  = "read"
	DevicePermissionWrite = "write"
	DevicePermissionMknod = "mknod"
)

// Device maps a host device into the container.
type Device struct {
	HostPath      string   `json:"hostPath"`
	ContainerPath string   `json:"containerPath,omitempty"`
	Permissions   []string `json:"permissions,omitempty"`
}

// Tmpfs is a tmpfs mount of a task definition.
type Tmpfs struct {
	ContainerPath string `json:"containerPath,omitempty"`
	// Size is in MiB.
	Size         int64    `json:"size,omitempty"`
	MountOptions []string `json:"mountOptions,omitempty"`
}

// DockerConfig carries Docker Engine API JSON documents as strings: Config
// is a container Config, HostConfig a HostConfig. Version is the Docker API
// version they are written for.
type DockerConfig struct {
	Config     string `json:"config,omitempty"`
	HostConfig string `json:"hostConfig,omitempty"`
	Version    string `json:"version,omitempty"`
}

// Registry authentication types.
const (
	RegistryAuthECR = "ecr"
	RegistryAuthASM = "asm"
)

// RegistryAuthenticationData says how to authenticate an image pull.
type RegistryAuthenticationData struct {
	Type        string       `json:"type,omitempty"`
	ECRAuthData *ECRAuthData `json:"ecrAuthData,omitempty"`
	ASMAuthData *ASMAuthData `json:"asmAuthData,omitempty"`
}

// ECRAuthData is how to get an Amazon ECR token.
type ECRAuthData struct {
	RegistryID       string `json:"registryId,omitempty"`
	Region           string `json:"region,omitempty"`
	EndpointOverride string `json:"endpointOverride,omitempty"`
	UseExecutionRole bool   `json:"useExecutionRole,omitempty"`
}

// ASMAuthData names a Secrets Manager secret holding registry credentials.
type ASMAuthData struct {
	CredentialsParameter string `json:"credentialsParameter,omitempty"`
	Region               string `json:"region,omitempty"`
}

// Secret is a value the agent fetches from SSM or Secrets Manager.
type Secret struct {
	Name          string `json:"name,omitempty"`
	ValueFrom     string `json:"valueFrom,omitempty"`
	ContainerPath string `json:"containerPath,omitempty"`
	// Type is "ENVIRONMENT_VARIABLE", "MOUNT_POINT" or "BOOTSTRAP".
	Type   string `json:"type,omitempty"`
	Region string `json:"region,omitempty"`
	// Provider is "ssm" or "asm".
	Provider string `json:"provider,omitempty"`
	// Target is "CONTAINER" or "LOG_DRIVER".
	Target string `json:"target,omitempty"`
}

// Container dependency conditions.
const (
	DependencyStart    = "START"
	DependencyComplete = "COMPLETE"
	DependencySuccess  = "SUCCESS"
	DependencyHealthy  = "HEALTHY"
)

// ContainerDependency orders a container after another.
type ContainerDependency struct {
	ContainerName string `json:"containerName,omitempty"`
	Condition     string `json:"condition,omitempty"`
}

// RestartPolicy restarts an exited container in place.
type RestartPolicy struct {
	Enabled          bool    `json:"enabled,omitempty"`
	IgnoredExitCodes []int64 `json:"ignoredExitCodes,omitempty"`
	// RestartAttemptPeriod is in seconds.
	RestartAttemptPeriod *int64 `json:"restartAttemptPeriod,omitempty"`
}

// FirelensConfiguration configures a FireLens log router container.
type FirelensConfiguration struct {
	Type    string            `json:"type,omitempty"`
	Options map[string]string `json:"options,omitempty"`
}

// ManagedAgent is an agent ECS runs beside the container (ECS Exec).
type ManagedAgent struct {
	Name       string            `json:"name,omitempty"`
	Properties map[string]string `json:"properties,omitempty"`
}

// EnvironmentFile is an S3 object of environment variables.
type EnvironmentFile struct {
	Value string `json:"value,omitempty"`
	Type  string `json:"type,omitempty"`
}
