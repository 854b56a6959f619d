package controlplane

import (
	"encoding/json"
	"strconv"
	"strings"
	"time"

	"github.com/ecsd-project/ecsd/wire/acs"
	"github.com/ecsd-project/ecsd/wire/ecs"
)

// acsTask builds the task as ACS sends it to the agent: the task definition
// with the task's overrides applied, its credentials, and the settings that
// have no typed ACS field carried in dockerConfig as Docker Engine API JSON,
// as ECS does.
func acsTask(t *taskRecord, td *ecs.TaskDefinition, accountID, region string) acs.Task {
	ov := t.Task.Overrides
	out := acs.Task{
		ARN:                      t.Task.TaskARN,
		TaskClusterARN:           t.Task.ClusterARN,
		Family:                   td.Family,
		Version:                  strconv.Itoa(int(td.Revision)),
		DesiredStatus:            t.Task.DesiredStatus,
		NetworkMode:              td.NetworkMode,
		LaunchType:               ecs.LaunchTypeExternal,
		ServiceName:              t.Service,
		Group:                    t.Task.Group,
		TaskDefinitionAccountID:  accountID,
		PidMode:                  td.PidMode,
		IpcMode:                  td.IpcMode,
		RoleCredentials:          t.RoleCredentials.acsCredentials(),
		ExecutionRoleCredentials: t.ExecutionRoleCredentials.acsCredentials(),
	}
	if td.EnableFaultInjection != nil {
		out.EnableFaultInjection = *td.EnableFaultInjection
	}
	cpu, mem := td.CPU, td.Memory
	if ov != nil && ov.CPU != "" {
		cpu = ov.CPU
	}
	if ov != nil && ov.Memory != "" {
		mem = ov.Memory
	}
	if units, _ := taskCPU(cpu); units > 0 {
		out.CPU = ptr(float64(units) / 1024)
	}
	if mib, _ := taskMemory(mem); mib > 0 {
		out.Memory = ptr(mib)
	}
	for _, v := range td.Volumes {
		out.Volumes = append(out.Volumes, acsVolume(v))
	}
	for i, c := range td.ContainerDefinitions {
		c = applyContainerOverride(c, ov)
		ac := acsContainer(c, td, region)
		if i < len(t.Task.Containers) {
			ac.ContainerARN = t.Task.Containers[i].ContainerARN
		}
		out.Containers = append(out.Containers, ac)
	}
	return out
}

func acsVolume(v ecs.Volume) acs.Volume {
	out := acs.Volume{Name: v.Name}
	switch {
	case v.DockerVolumeConfiguration != nil:
		d := v.DockerVolumeConfiguration
		scope := d.Scope
		if scope == "" {
			scope = "task"
		}
		out.Type = acs.VolumeTypeDocker
		out.DockerVolumeConfiguration = &acs.DockerVolumeConfiguration{
			Scope: scope, Autoprovision: d.Autoprovision, Driver: d.Driver, DriverOpts: d.DriverOpts, Labels: d.Labels,
		}
	case v.EFSVolumeConfiguration != nil:
		e := v.EFSVolumeConfiguration
		out.Type = acs.VolumeTypeEFS
		out.EFSVolumeConfiguration = &acs.EFSVolumeConfiguration{
			FileSystemID: e.FileSystemID, RootDirectory: e.RootDirectory, TransitEncryption: e.TransitEncryption,
		}
		if e.TransitEncryptionPort != nil {
			out.EFSVolumeConfiguration.TransitEncryptionPort = ptr(int64(*e.TransitEncryptionPort))
		}
		if a := e.AuthorizationConfig; a != nil {
			out.EFSVolumeConfiguration.AuthorizationConfig = &acs.EFSAuthorizationConfig{AccessPointID: a.AccessPointID, IAM: a.IAM}
		}
	default:
		// A host bind mount, or a scratch volume when there is no source path.
		out.Type = acs.VolumeTypeHost
		out.Host = &acs.HostVolumeProperties{}
		if v.Host != nil {
			out.Host.SourcePath = v.Host.SourcePath
		}
	}
	return out
}

func acsContainer(c ecs.ContainerDefinition, td *ecs.TaskDefinition, region string) acs.Container {
	out := acs.Container{
		Name:                   c.Name,
		Image:                  c.Image,
		Command:                c.Command,
		EntryPoint:             c.EntryPoint,
		CPU:                    ptr(int64(c.CPU)),
		Essential:              ptr(c.Essential == nil || *c.Essential),
		Links:                  c.Links,
		Privileged:             c.Privileged,
		CredentialSpecs:        c.CredentialSpecs,
		DockerConfig:           dockerConfig(c),
		RegistryAuthentication: registryAuth(c, td),
	}
	if c.Memory != nil {
		out.Memory = ptr(int64(*c.Memory))
	}
	if len(c.Environment) > 0 {
		out.Environment = make(map[string]string, len(c.Environment))
		for _, kv := range c.Environment {
			out.Environment[kv.Name] = kv.Value
		}
	}
	for _, f := range c.EnvironmentFiles {
		out.EnvironmentFiles = append(out.EnvironmentFiles, acs.EnvironmentFile{Value: f.Value, Type: f.Type})
	}
	for _, pm := range c.PortMappings {
		p := acs.PortMapping{ContainerPortRange: pm.ContainerPortRange, Protocol: pm.Protocol}
		if pm.ContainerPort != nil {
			p.ContainerPort = ptr(int64(*pm.ContainerPort))
		}
		if pm.HostPort != nil {
			p.HostPort = ptr(int64(*pm.HostPort))
		}
		out.PortMappings = append(out.PortMappings, p)
	}
	for _, mp := range c.MountPoints {
		out.MountPoints = append(out.MountPoints, acs.MountPoint{SourceVolume: mp.SourceVolume, ContainerPath: mp.ContainerPath,
			ReadOnly: mp.ReadOnly != nil && *mp.ReadOnly})
	}
	for _, vf := range c.VolumesFrom {
		out.VolumesFrom = append(out.VolumesFrom, acs.VolumeFrom{SourceContainer: vf.SourceContainer,
			ReadOnly: vf.ReadOnly != nil && *vf.ReadOnly})
	}
	if lp := c.LinuxParameters; lp != nil {
		alp := &acs.LinuxParameters{InitProcessEnabled: lp.InitProcessEnabled}
		if lp.Capabilities != nil {
			alp.Capabilities = &acs.KernelCapabilities{Add: lp.Capabilities.Add, Drop: lp.Capabilities.Drop}
		}
		for _, d := range lp.Devices {
			alp.Devices = append(alp.Devices, acs.Device{HostPath: d.HostPath, ContainerPath: d.ContainerPath, Permissions: d.Permissions})
		}
		if lp.SharedMemorySize != nil {
			alp.SharedMemorySize = ptr(int64(*lp.SharedMemorySize))
		}
		if lp.MaxSwap != nil {
			alp.MaxSwap = ptr(int64(*lp.MaxSwap))
		}
		if lp.Swappiness != nil {
			alp.Swappiness = ptr(int64(*lp.Swappiness))
		}
		for _, tm := range lp.Tmpfs {
			alp.Tmpfs = append(alp.Tmpfs, acs.Tmpfs{ContainerPath: tm.ContainerPath, Size: int64(tm.Size), MountOptions: tm.MountOptions})
		}
		out.LinuxParameters = alp
	}
	if c.HealthCheck != nil {
		out.HealthCheckType = acs.HealthCheckTypeDocker
	}
	for _, s := range c.Secrets {
		out.Secrets = append(out.Secrets, acsSecret(s, "CONTAINER", region))
	}
	if lc := c.LogConfiguration; lc != nil {
		for _, s := range lc.SecretOptions {
			out.Secrets = append(out.Secrets, acsSecret(s, "LOG_DRIVER", region))
		}
		if lc.LogDriver == "awslogs" && td.ExecutionRoleARN != "" {
			out.LogsAuthStrategy = "ExecutionRole"
		}
	}
	for _, d := range c.DependsOn {
		out.DependsOn = append(out.DependsOn, acs.ContainerDependency{ContainerName: d.ContainerName, Condition: d.Condition})
	}
	if c.StartTimeout != nil {
		out.StartTimeout = ptr(int64(*c.StartTimeout))
	}
	if c.StopTimeout != nil {
		out.StopTimeout = ptr(int64(*c.StopTimeout))
	}
	if rp := c.RestartPolicy; rp != nil {
		arp := &acs.RestartPolicy{Enabled: rp.Enabled != nil && *rp.Enabled}
		for _, code := range rp.IgnoredExitCodes {
			arp.IgnoredExitCodes = append(arp.IgnoredExitCodes, int64(code))
		}
		if rp.RestartAttemptPeriod != nil {
			arp.RestartAttemptPeriod = ptr(int64(*rp.RestartAttemptPeriod))
		} else if arp.Enabled {
			arp.RestartAttemptPeriod = ptr(int64(300))
		}
		out.RestartPolicy = arp
	}
	if fc := c.FirelensConfiguration; fc != nil {
		out.FirelensConfiguration = &acs.FirelensConfiguration{Type: fc.Type, Options: fc.Options}
	}
	return out
}

// acsSecret is a secret as the agent fetches it: from Secrets Manager for
// a secretsmanager ARN, else from SSM Parameter Store, in the ARN's region.
func acsSecret(s ecs.Secret, target, region string) acs.Secret {
	out := acs.Secret{Name: s.Name, ValueFrom: s.ValueFrom, Type: "ENVIRONMENT_VARIABLE", Target: target, Provider: "ssm", Region: region}
	if parts := strings.SplitN(s.ValueFrom, ":", 6); len(parts) == 6 && parts[0] == "arn" {
		if parts[3] != "" {
			out.Region = parts[3]
		}
		if parts[2] == "secretsmanager" {
			out.Provider = "asm"
		}
	}
	return out
}

// registryAuth says how the agent authenticates the image pull: a Secrets
// Manager secret when the container names one, ECR for ECR images.
func registryAuth(c ecs.ContainerDefinition, td *ecs.TaskDefinition) *acs.RegistryAuthenticationData {
	if rc := c.RepositoryCredentials; rc != nil {
		region := ""
		if parts := strings.SplitN(rc.CredentialsParameter, ":", 6); len(parts) == 6 {
			region = parts[3]
		}
		return &acs.RegistryAuthenticationData{Type: acs.RegistryAuthASM,
			ASMAuthData: &acs.ASMAuthData{CredentialsParameter: rc.CredentialsParameter, Region: region}}
	}
	if !isECRImage(c.Image) {
		return nil
	}
	host, _, _ := strings.Cut(c.Image, "/")
	labels := strings.Split(host, ".") // ACCOUNT.dkr.ecr.REGION.amazonaws.com
	data := &acs.ECRAuthData{RegistryID: labels[0], UseExecutionRole: td.ExecutionRoleARN != ""}
	if len(labels) > 3 {
		data.Region = labels[3]
	}
	return &acs.RegistryAuthenticationData{Type: acs.RegistryAuthECR, ECRAuthData: data}
}

// The Docker Engine API documents of dockerConfig, with the keys ECS puts
// there.
type (
	dockerContainerConfig struct {
		Hostname        string             `json:",omitempty"`
		User            string             `json:",omitempty"`
		WorkingDir      string             `json:",omitempty"`
		Labels          map[string]string  `json:",omitempty"`
		Tty             bool               `json:",omitempty"`
		OpenStdin       bool               `json:",omitempty"`
		NetworkDisabled bool               `json:",omitempty"`
		Healthcheck     *dockerHealthcheck `json:",omitempty"`
	}
	// dockerHealthcheck times are in nanoseconds.
	dockerHealthcheck struct {
		Test        []string
		Interval    int64
		Timeout     int64
		StartPeriod int64
		Retries     int32
	}
	dockerHostConfig struct {
		CapAdd            []string
		CapDrop           []string
		Dns               []string          `json:",omitempty"`
		DnsSearch         []string          `json:",omitempty"`
		ExtraHosts        []string          `json:",omitempty"`
		ReadonlyRootfs    bool              `json:",omitempty"`
		SecurityOpt       []string          `json:",omitempty"`
		Sysctls           map[string]string `json:",omitempty"`
		Ulimits           []dockerUlimit    `json:",omitempty"`
		LogConfig         *dockerLogConfig  `json:",omitempty"`
		MemoryReservation int64             `json:",omitempty"`
	}
	dockerUlimit struct {
		Name string
		Soft int64
		Hard int64
	}
	dockerLogConfig struct {
		Type   string
		Config map[string]string
	}
)

// dockerAPIVersion is the Docker API version the documents are written for.
const dockerAPIVersion = "1.17"

const mib = 1 << 20

func dockerConfig(c ecs.ContainerDefinition) *acs.DockerConfig {
	cfg := dockerContainerConfig{
		Hostname:        c.Hostname,
		User:            c.User,
		WorkingDir:      c.WorkingDirectory,
		Labels:          c.DockerLabels,
		Tty:             c.PseudoTerminal != nil && *c.PseudoTerminal,
		OpenStdin:       c.Interactive != nil && *c.Interactive,
		NetworkDisabled: c.DisableNetworking != nil && *c.DisableNetworking,
	}
	if hc := c.HealthCheck; hc != nil {
		seconds := func(v *int32, def int32) int64 {
			if v == nil {
				return int64(def) * int64(time.Second)
			}
			return int64(*v) * int64(time.Second)
		}
		cfg.Healthcheck = &dockerHealthcheck{
			Test:        hc.Command,
			Interval:    seconds(hc.Interval, 30),
			Timeout:     seconds(hc.Timeout, 5),
			StartPeriod: seconds(hc.StartPeriod, 0),
			Retries:     3,
		}
		if hc.Retries != nil {
			cfg.Healthcheck.Retries = *hc.Retries
		}
	}
	host := dockerHostConfig{
		CapAdd:         []string{},
		CapDrop:        []string{},
		Dns:            c.DNSServers,
		DnsSearch:      c.DNSSearchDomains,
		ReadonlyRootfs: c.ReadonlyRootFilesystem != nil && *c.ReadonlyRootFilesystem,
		SecurityOpt:    c.DockerSecurityOptions,
	}
	for _, h := range c.ExtraHosts {
		host.ExtraHosts = append(host.ExtraHosts, h.Hostname+":"+h.IPAddress)
	}
	if len(c.SystemControls) > 0 {
		host.Sysctls = map[string]string{}
		for _, s := range c.SystemControls {
			host.Sysctls[s.Namespace] = s.Value
		}
	}
	for _, u := range c.Ulimits {
		host.Ulimits = append(host.Ulimits, dockerUlimit{Name: u.Name, Soft: int64(u.SoftLimit), Hard: int64(u.HardLimit)})
	}
	if lc := c.LogConfiguration; lc != nil {
		opts := lc.Options
		if opts == nil {
			opts = map[string]string{}
		}
		host.LogConfig = &dockerLogConfig{Type: lc.LogDriver, Config: opts}
	}
	if c.MemoryReservation != nil {
		host.MemoryReservation = int64(*c.MemoryReservation) * mib
	}
	cb, _ := json.Marshal(cfg)
	hb, _ := json.Marshal(host)
	return &acs.DockerConfig{Config: string(cb), HostConfig: string(hb), Version: dockerAPIVersion}
}
