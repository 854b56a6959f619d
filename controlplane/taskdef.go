package controlplane

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"sort"
	"strconv"
	"strings"

	"github.com/ecsd-project/ecsd/wire/ecs"
)

func atoi32(s string) int32 {
	n, err := strconv.ParseInt(s, 10, 32)
	if err != nil {
		return -1
	}
	return int32(n)
}

func ptr[T any](v T) *T { return &v }

func (cp *ControlPlane) registerTaskDefinition(ctx context.Context, in *ecs.RegisterTaskDefinitionRequest) (*ecs.RegisterTaskDefinitionResponse, error) {
	td, err := newTaskDefinition(in)
	if err != nil {
		return nil, err
	}
	if err := validateTags(in.Tags); err != nil {
		return nil, err
	}
	td.RegisteredBy = principal(ctx)
	err = cp.update(ctx, func(st *state) error {
		revs, err := st.revisions(td.Family)
		if err != nil {
			return err
		}
		td.Revision = 1
		if len(revs) > 0 {
			td.Revision = revs[len(revs)-1].Revision + 1
		}
		td.TaskDefinitionARN = cp.taskDefARN(td.Family, td.Revision)
		td.RegisteredAt = ecs.At(st.now)
		if err := st.putTaskDef(td); err != nil {
			return err
		}
		return st.addTags(td.TaskDefinitionARN, in.Tags)
	})
	if err != nil {
		return nil, err
	}
	cp.log.Info("task definition registered", keyTaskDefinition, td.TaskDefinitionARN)
	return &ecs.RegisterTaskDefinitionResponse{TaskDefinition: td, Tags: in.Tags}, nil
}

// newTaskDefinition validates a registration and returns the revision it
// registers (without its number), normalised as ECS stores it.
func newTaskDefinition(in *ecs.RegisterTaskDefinitionRequest) (*ecs.TaskDefinition, error) {
	if !namePattern.MatchString(in.Family) {
		return nil, clientErr("Family contains invalid characters or is empty; it must match ^[a-zA-Z0-9_-]{1,255}$.")
	}
	if len(in.ContainerDefinitions) == 0 {
		return nil, clientErr("Container definitions must contain at least one container.")
	}
	mode := in.NetworkMode
	switch mode {
	case "":
		mode = ecs.NetworkModeBridge
	case ecs.NetworkModeBridge, ecs.NetworkModeHost, ecs.NetworkModeNone, ecs.NetworkModeAWSVPC:
	default:
		return nil, clientErr("Invalid networkMode %q; it must be bridge, host, awsvpc or none.", in.NetworkMode)
	}
	if _, err := taskCPU(in.CPU); err != nil {
		return nil, err
	}
	taskMem, err := taskMemory(in.Memory)
	if err != nil {
		return nil, err
	}
	td := &ecs.TaskDefinition{
		Family:                  in.Family,
		Status:                  ecs.StatusActive,
		TaskRoleARN:             in.TaskRoleARN,
		ExecutionRoleARN:        in.ExecutionRoleARN,
		NetworkMode:             mode,
		Volumes:                 in.Volumes,
		PlacementConstraints:    in.PlacementConstraints,
		RequiresCompatibilities: in.RequiresCompatibilities,
		RuntimePlatform:         in.RuntimePlatform,
		CPU:                     in.CPU,
		Memory:                  in.Memory,
		PidMode:                 in.PidMode,
		IpcMode:                 in.IpcMode,
		EnableFaultInjection:    in.EnableFaultInjection,
	}
	volumes := map[string]bool{}
	for _, v := range in.Volumes {
		if v.Name == "" || volumes[v.Name] {
			return nil, clientErr("Volume names must be non-empty and unique; %q is not.", v.Name)
		}
		volumes[v.Name] = true
	}
	for _, pc := range in.PlacementConstraints {
		if pc.Type != ecs.ConstraintMemberOf {
			return nil, clientErr("Task definition placement constraints must be of type memberOf.")
		}
		if _, err := parseQuery(pc.Expression); err != nil {
			return nil, clientErr("Invalid placement constraint expression %q: %v", pc.Expression, err)
		}
	}
	names := map[string]bool{}
	essential := false
	for i := range in.ContainerDefinitions {
		c := in.ContainerDefinitions[i]
		if err := validateContainer(&c, mode, taskMem > 0, volumes); err != nil {
			return nil, err
		}
		if names[c.Name] {
			return nil, clientErr("Container names must be unique; %q is repeated.", c.Name)
		}
		names[c.Name] = true
		if c.Essential == nil {
			c.Essential = ptr(true)
		}
		essential = essential || *c.Essential
		td.ContainerDefinitions = append(td.ContainerDefinitions, c)
	}
	if !essential {
		return nil, clientErr("Task definition does not have any essential container.")
	}
	for _, c := range td.ContainerDefinitions {
		for _, d := range c.DependsOn {
			if !names[d.ContainerName] || d.ContainerName == c.Name {
				return nil, clientErr("Container %q depends on %q, which is not another container of the task definition.", c.Name, d.ContainerName)
			}
			switch d.Condition {
			case "START", "COMPLETE", "SUCCESS", "HEALTHY":
			default:
				return nil, clientErr("Container %q: dependency condition %q must be START, COMPLETE, SUCCESS or HEALTHY.", c.Name, d.Condition)
			}
		}
		for _, vf := range c.VolumesFrom {
			if !names[vf.SourceContainer] {
				return nil, clientErr("Container %q: volumesFrom names unknown container %q.", c.Name, vf.SourceContainer)
			}
		}
		for _, l := range c.Links {
			target, _, _ := strings.Cut(l, ":")
			if !names[target] {
				return nil, clientErr("Container %q links to unknown container %q.", c.Name, target)
			}
		}
	}
	td.Compatibilities = []string{ecs.LaunchTypeEC2, ecs.LaunchTypeExternal}
	if mode == ecs.NetworkModeAWSVPC {
		td.Compatibilities = []string{ecs.LaunchTypeEC2, ecs.LaunchTypeFargate}
	}
	for _, rc := range in.RequiresCompatibilities {
		if !slices.Contains(td.Compatibilities, rc) {
			return nil, clientErr("Task definition does not support launch_type %s.", rc)
		}
	}
	td.RequiresAttributes = requiredAttributes(td)
	return td, nil
}

func validateContainer(c *ecs.ContainerDefinition, mode string, taskMemory bool, volumes map[string]bool) error {
	if !namePattern.MatchString(c.Name) {
		return clientErr("Container name %q must match ^[a-zA-Z0-9_-]{1,255}$.", c.Name)
	}
	if c.Image == "" {
		return clientErr("Container.image should not be null or empty.")
	}
	if c.CPU < 0 {
		return clientErr("Invalid setting for container '%s'. 'cpu' must not be negative.", c.Name)
	}
	if !taskMemory && c.Memory == nil && c.MemoryReservation == nil {
		return clientErr("Invalid setting for container '%s'. At least one of 'memory' or 'memoryReservation' must be specified.", c.Name)
	}
	if c.Memory != nil && *c.Memory < 6 {
		return clientErr("Invalid setting for container '%s'. The 'memory' must be at least 6 MiB.", c.Name)
	}
	if c.Memory != nil && c.MemoryReservation != nil && *c.MemoryReservation > *c.Memory {
		return clientErr("Invalid setting for container '%s'. The 'memory' must be greater than or equal to 'memoryReservation'.", c.Name)
	}
	for i := range c.PortMappings {
		pm := &c.PortMappings[i]
		switch pm.Protocol {
		case "":
			pm.Protocol = ecs.ProtocolTCP
		case ecs.ProtocolTCP, ecs.ProtocolUDP:
		default:
			return clientErr("Invalid protocol %q for container '%s'.", pm.Protocol, c.Name)
		}
		if pm.ContainerPortRange != "" {
			if _, _, err := portRange(pm.ContainerPortRange); err != nil {
				return clientErr("Invalid containerPortRange for container '%s': %v", c.Name, err)
			}
			continue
		}
		if pm.ContainerPort == nil || *pm.ContainerPort < 1 || *pm.ContainerPort > 65535 {
			return clientErr("Invalid containerPort for container '%s'.", c.Name)
		}
		if pm.HostPort != nil && (*pm.HostPort < 0 || *pm.HostPort > 65535) {
			return clientErr("Invalid hostPort for container '%s'.", c.Name)
		}
		switch mode {
		case ecs.NetworkModeHost, ecs.NetworkModeAWSVPC:
			if pm.HostPort == nil || *pm.HostPort == 0 {
				pm.HostPort = ptr(*pm.ContainerPort)
			} else if *pm.HostPort != *pm.ContainerPort {
				return clientErr("When networkMode=%s, containerPort and hostPort must match for container '%s'.", mode, c.Name)
			}
		case ecs.NetworkModeNone:
			return clientErr("Port mappings are not allowed when networkMode=none (container '%s').", c.Name)
		}
	}
	for _, mp := range c.MountPoints {
		if !volumes[mp.SourceVolume] {
			return clientErr("Invalid 'sourceVolume' %q in container '%s': the task definition has no such volume.", mp.SourceVolume, c.Name)
		}
		if mp.ContainerPath == "" {
			return clientErr("Container '%s': a mount point needs a containerPath.", c.Name)
		}
	}
	if c.HealthCheck != nil {
		hc := *c.HealthCheck
		c.HealthCheck = &hc
		if len(hc.Command) == 0 {
			return clientErr("Container '%s': healthCheck.command must not be empty.", c.Name)
		}
		// ECS stores the defaults it applies.
		if hc.Interval == nil {
			hc.Interval = ptr(int32(30))
		}
		if hc.Timeout == nil {
			hc.Timeout = ptr(int32(5))
		}
		if hc.Retries == nil {
			hc.Retries = ptr(int32(3))
		}
		for _, b := range []struct {
			name     string
			v        *int32
			min, max int32
		}{{"interval", hc.Interval, 5, 300}, {"timeout", hc.Timeout, 2, 120}, {"retries", hc.Retries, 1, 10}, {"startPeriod", hc.StartPeriod, 0, 300}} {
			if b.v != nil && (*b.v < b.min || *b.v > b.max) {
				return clientErr("Container '%s': healthCheck.%s must be between %d and %d.", c.Name, b.name, b.min, b.max)
			}
		}
	}
	if lc := c.LogConfiguration; lc != nil && lc.LogDriver == "" {
		return clientErr("Container '%s': logConfiguration.logDriver must be set.", c.Name)
	}
	return nil
}

// portRange parses "8000-8010".
func portRange(s string) (int32, int32, error) {
	a, b, ok := strings.Cut(s, "-")
	lo, hi := atoi32(strings.TrimSpace(a)), atoi32(strings.TrimSpace(b))
	if !ok || lo < 1 || hi > 65535 || lo >= hi {
		return 0, 0, fmt.Errorf("%q is not a port range such as 8000-8010", s)
	}
	return lo, hi, nil
}

// taskCPU parses a task-level cpu, "256" (units) or "0.25 vcpu", into CPU
// units; empty is 0.
func taskCPU(s string) (int64, error) {
	s = strings.ToLower(strings.TrimSpace(s))
	if s == "" {
		return 0, nil
	}
	if v, ok := strings.CutSuffix(s, "vcpu"); ok {
		f, err := strconv.ParseFloat(strings.TrimSpace(v), 64)
		if err != nil || f <= 0 {
			return 0, clientErr("Invalid 'cpu' setting for task: %q.", s)
		}
		return int64(f * 1024), nil
	}
	n, err := strconv.ParseInt(s, 10, 64)
	if err != nil || n < 128 {
		return 0, clientErr("Invalid 'cpu' setting for task: %q; it must be at least 128 CPU units.", s)
	}
	return n, nil
}

// taskMemory parses a task-level memory, "512" (MiB) or "1 GB", into MiB;
// empty is 0.
func taskMemory(s string) (int64, error) {
	s = strings.ToLower(strings.TrimSpace(s))
	if s == "" {
		return 0, nil
	}
	if v, ok := strings.CutSuffix(s, "gb"); ok {
		f, err := strconv.ParseFloat(strings.TrimSpace(v), 64)
		if err != nil || f <= 0 {
			return 0, clientErr("Invalid 'memory' setting for task: %q.", s)
		}
		return int64(f * 1024), nil
	}
	n, err := strconv.ParseInt(strings.TrimSpace(strings.TrimSuffix(s, "mb")), 10, 64)
	if err != nil || n < 6 {
		return 0, clientErr("Invalid 'memory' setting for task: %q.", s)
	}
	return n, nil
}

// Capability attribute prefixes, as the agent advertises them.
const (
	legacyCapability = "com.amazonaws.ecs.capability."
	capability       = "ecs.capability."
)

// requiredAttributes computes requiresAttributes: the capabilities an
// instance must advertise to run td, as ECS derives them from the features
// the task definition uses.
func requiredAttributes(td *ecs.TaskDefinition) []ecs.Attribute {
	set := map[string]bool{}
	need := func(name string) { set[name] = true }
	if td.TaskRoleARN != "" {
		need(legacyCapability + "task-iam-role")
		if td.NetworkMode == ecs.NetworkModeHost {
			need(legacyCapability + "task-iam-role-network-host")
		}
	}
	if td.CPU != "" || td.Memory != "" {
		need(capability + "task-cpu-mem-limit")
	}
	for _, v := range td.Volumes {
		switch {
		case v.DockerVolumeConfiguration != nil:
			d := v.DockerVolumeConfiguration.Driver
			if d == "" {
				d = "local"
			}
			need(capability + "docker-plugin." + d)
		case v.EFSVolumeConfiguration != nil:
			need(capability + "efs")
			if a := v.EFSVolumeConfiguration.AuthorizationConfig; a != nil && (a.IAM == "ENABLED" || a.AccessPointID != "") {
				need(capability + "efsAuth")
			}
		}
	}
	for _, c := range td.ContainerDefinitions {
		if lc := c.LogConfiguration; lc != nil {
			need(legacyCapability + "docker-remote-api.1.18")
			need(legacyCapability + "logging-driver." + lc.LogDriver)
			if lc.LogDriver == "awslogs" {
				need(legacyCapability + "docker-remote-api.1.19")
				if td.ExecutionRoleARN != "" {
					need(capability + "execution-role-awslogs")
				}
			}
			if len(lc.SecretOptions) > 0 {
				need(secretCapability(lc.SecretOptions[0].ValueFrom) + ".bootstrap.log-driver")
			}
		}
		if c.HealthCheck != nil {
			need(capability + "container-health-check")
			need(legacyCapability + "docker-remote-api.1.24")
		}
		if len(c.DependsOn) > 0 || c.StartTimeout != nil || c.StopTimeout != nil {
			need(capability + "container-ordering")
		}
		if c.Privileged != nil && *c.Privileged {
			need(legacyCapability + "privileged-container")
		}
		if len(c.DockerLabels) > 0 || len(c.Ulimits) > 0 {
			need(legacyCapability + "docker-remote-api.1.18")
		}
		if lp := c.LinuxParameters; lp != nil && lp.InitProcessEnabled != nil && *lp.InitProcessEnabled {
			need(legacyCapability + "docker-remote-api.1.25")
		}
		if rp := c.RestartPolicy; rp != nil && rp.Enabled != nil && *rp.Enabled {
			need(capability + "container-restart-policy")
		}
		for _, s := range c.Secrets {
			need(secretCapability(s.ValueFrom) + ".environment-variables")
		}
		if len(c.EnvironmentFiles) > 0 {
			need(capability + "env-files.s3")
		}
		if c.RepositoryCredentials != nil {
			need(capability + "private-registry-authentication.secretsmanager")
		}
		if isECRImage(c.Image) {
			need(legacyCapability + "ecr-auth")
			if td.ExecutionRoleARN != "" {
				need(capability + "execution-role-ecr-pull")
			}
		}
		for _, pm := range c.PortMappings {
			if pm.ContainerPortRange != "" {
				need(capability + "network.container-port-range")
			}
		}
	}
	names := make([]string, 0, len(set))
	for n := range set {
		names = append(names, n)
	}
	sort.Strings(names)
	out := make([]ecs.Attribute, len(names))
	for i, n := range names {
		out[i] = ecs.Attribute{Name: n}
	}
	return out
}

// secretCapability is the capability prefix for secrets from valueFrom:
// Secrets Manager ARNs are "asm", everything else SSM Parameter Store.
func secretCapability(valueFrom string) string {
	if strings.HasPrefix(valueFrom, "arn:") && strings.Contains(valueFrom, ":secretsmanager:") {
		return capability + "secrets.asm"
	}
	return capability + "secrets.ssm"
}

// isECRImage reports whether image is in an Amazon ECR private registry.
func isECRImage(image string) bool {
	host, _, _ := strings.Cut(image, "/")
	return strings.Contains(host, ".dkr.ecr.") && strings.Contains(host, ".amazonaws.com")
}

// resolveTaskDef finds the revision a parameter names: "family" (its
// latest ACTIVE revision), "family:revision" or an ARN.
func (cp *ControlPlane) resolveTaskDef(st *state, param string) (*ecs.TaskDefinition, error) {
	ref := param
	if typ, rest, ok := resource(param); ok {
		if typ != "task-definition" {
			return nil, errNotFound
		}
		ref = rest
	}
	family, rev, hasRev := strings.Cut(ref, ":")
	if family == "" {
		return nil, errNotFound
	}
	if hasRev {
		return st.taskDef(family, atoi32(rev))
	}
	revs, err := st.revisions(family)
	if err != nil {
		return nil, err
	}
	for i := len(revs) - 1; i >= 0; i-- {
		if revs[i].Status == ecs.StatusActive {
			return revs[i], nil
		}
	}
	return nil, errNotFound
}

func (cp *ControlPlane) deregisterTaskDefinition(ctx context.Context, in *ecs.DeregisterTaskDefinitionRequest) (*ecs.DeregisterTaskDefinitionResponse, error) {
	ref := in.TaskDefinition
	if _, rest, ok := resource(ref); ok {
		ref = rest
	}
	if !strings.Contains(ref, ":") {
		return nil, clientErr("Invalid revision number. Number: %s", ref)
	}
	var td *ecs.TaskDefinition
	err := cp.update(ctx, func(st *state) error {
		var err error
		td, err = cp.resolveTaskDef(st, in.TaskDefinition)
		if errors.Is(err, errNotFound) {
			return clientErr("The specified task definition does not exist.")
		}
		if err != nil {
			return err
		}
		if td.Status == ecs.StatusActive {
			td.Status = ecs.StatusInactive
			td.DeregisteredAt = ecs.At(st.now)
			return st.putTaskDef(td)
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	return &ecs.DeregisterTaskDefinitionResponse{TaskDefinition: td}, nil
}

func (cp *ControlPlane) describeTaskDefinition(ctx context.Context, in *ecs.DescribeTaskDefinitionRequest) (*ecs.DescribeTaskDefinitionResponse, error) {
	out := &ecs.DescribeTaskDefinitionResponse{}
	err := cp.view(func(st *state) error {
		td, err := cp.resolveTaskDef(st, in.TaskDefinition)
		if errors.Is(err, errNotFound) {
			return clientErr("Unable to describe task definition.")
		}
		if err != nil {
			return err
		}
		out.TaskDefinition = td
		if slices.Contains(in.Include, ecs.IncludeTags) {
			out.Tags, err = st.tags(td.TaskDefinitionARN)
		}
		return err
	})
	if err != nil {
		return nil, err
	}
	return out, nil
}

func (cp *ControlPlane) listTaskDefinitions(ctx context.Context, in *ecs.ListTaskDefinitionsRequest) (*ecs.ListTaskDefinitionsResponse, error) {
	status := in.Status
	if status == "" {
		status = ecs.StatusActive
	}
	if status != ecs.StatusActive && status != ecs.StatusInactive {
		return nil, invalidParam("Invalid status %q.", in.Status)
	}
	var keys []string
	arns := map[string]string{}
	err := cp.view(func(st *state) error {
		prefix := ""
		if in.FamilyPrefix != "" {
			prefix = in.FamilyPrefix + ":"
		}
		tds, err := scan[ecs.TaskDefinition](st, bucketTaskDefs, prefix)
		if err != nil {
			return err
		}
		for _, td := range tds {
			if td.Status == status {
				k := taskDefKey(td.Family, td.Revision)
				keys = append(keys, k)
				arns[k] = td.TaskDefinitionARN
			}
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	switch in.Sort {
	case "", ecs.SortASC:
		sort.Strings(keys)
	case ecs.SortDESC:
		sort.Sort(sort.Reverse(sort.StringSlice(keys)))
	default:
		return nil, invalidParam("Invalid sort %q.", in.Sort)
	}
	// Page over positions: the keys are not in ascending order when DESC.
	pos := make([]string, len(keys))
	for i := range keys {
		pos[i] = fmt.Sprintf("%010d", i)
	}
	p, next, err := page(pos, in.MaxResults, in.NextToken, 100)
	if err != nil {
		return nil, err
	}
	out := &ecs.ListTaskDefinitionsResponse{TaskDefinitionARNs: []string{}, NextToken: next}
	for _, k := range p {
		out.TaskDefinitionARNs = append(out.TaskDefinitionARNs, arns[keys[atoi32(k)]])
	}
	return out, nil
}

func (cp *ControlPlane) listTaskDefinitionFamilies(ctx context.Context, in *ecs.ListTaskDefinitionFamiliesRequest) (*ecs.ListTaskDefinitionFamiliesResponse, error) {
	status := in.Status
	if status == "" {
		status = ecs.StatusActive
	}
	if status != ecs.StatusActive && status != ecs.StatusInactive && status != ecs.StatusAll {
		return nil, invalidParam("Invalid status %q.", in.Status)
	}
	active := map[string]bool{}
	var families []string
	err := cp.view(func(st *state) error {
		tds, err := scan[ecs.TaskDefinition](st, bucketTaskDefs, in.FamilyPrefix)
		if err != nil {
			return err
		}
		for _, td := range tds {
			if _, seen := active[td.Family]; !seen {
				families = append(families, td.Family)
			}
			active[td.Family] = active[td.Family] || td.Status == ecs.StatusActive
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	var keep []string
	for _, f := range families {
		if status == ecs.StatusAll || (status == ecs.StatusActive) == active[f] {
			keep = append(keep, f)
		}
	}
	sort.Strings(keep)
	p, next, err := page(keep, in.MaxResults, in.NextToken, 100)
	if err != nil {
		return nil, err
	}
	return &ecs.ListTaskDefinitionFamiliesResponse{Families: p, NextToken: next}, nil
}
