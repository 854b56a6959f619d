package controlplane

import (
	"encoding/json"
	"slices"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ecs"
	"github.com/aws/aws-sdk-go-v2/service/ecs/types"
	"github.com/ecsd-project/ecsd/wire/acs"
)

// placementCluster has two instances: small (1024 CPU, 1024 MiB,
// stack=prod) and big (2048 CPU, 4096 MiB, stack=dev).
func placementCluster(t *testing.T) (h *harness, small, big string) {
	h = newHarness(t)
	h.createCluster("c")
	small = h.registerInstance("c", 1024, 1024, map[string]string{"stack": "prod"})
	big = h.registerInstance("c", 2048, 4096, map[string]string{"stack": "dev"})
	h.registerTaskDef("t", 256)
	return h, small, big
}

func placed(out *ecs.RunTaskOutput) []string {
	var arns []string
	for _, t := range out.Tasks {
		arns = append(arns, aws.ToString(t.ContainerInstanceArn))
	}
	return arns
}

func TestRunTaskPlacement(t *testing.T) {
	t.Run("binpack memory", func(t *testing.T) {
		h, small, _ := placementCluster(t)
		out, err := h.ecs.RunTask(ctx, &ecs.RunTaskInput{Cluster: aws.String("c"), TaskDefinition: aws.String("t"), Count: aws.Int32(3),
			PlacementStrategy: []types.PlacementStrategy{{Type: types.PlacementStrategyTypeBinpack, Field: aws.String("memory")}}})
		ok(t, err)
		// The small instance has the least memory left, until it is full.
		if got := placed(out); len(got) != 3 || got[0] != small || got[1] != small || got[2] != small {
			t.Errorf("placed on %v, want the small instance", got)
		}
		if r := remaining(h.describeInstance("c", small), "MEMORY"); r.IntegerValue != 1024-3*256 {
			t.Errorf("remaining memory %d", r.IntegerValue)
		}
	})
	t.Run("spread instanceId", func(t *testing.T) {
		h, small, big := placementCluster(t)
		out, err := h.ecs.RunTask(ctx, &ecs.RunTaskInput{Cluster: aws.String("c"), TaskDefinition: aws.String("t"), Count: aws.Int32(4),
			PlacementStrategy: []types.PlacementStrategy{{Type: types.PlacementStrategyTypeSpread, Field: aws.String("instanceId")}}})
		ok(t, err)
		got := placed(out)
		n := map[string]int{}
		for _, a := range got {
			n[a]++
		}
		if len(got) != 4 || n[small] != 2 || n[big] != 2 {
			t.Errorf("placed: %v", n)
		}
	})
	t.Run("distinctInstance", func(t *testing.T) {
		h, _, _ := placementCluster(t)
		out, err := h.ecs.RunTask(ctx, &ecs.RunTaskInput{Cluster: aws.String("c"), TaskDefinition: aws.String("t"), Count: aws.Int32(3),
			PlacementConstraints: []types.PlacementConstraint{{Type: types.PlacementConstraintTypeDistinctInstance}}})
		ok(t, err)
		if got := placed(out); len(got) != 2 || got[0] == got[1] {
			t.Errorf("placed: %v", got)
		}
		if len(out.Failures) != 2 || aws.ToString(out.Failures[0].Reason) != reasonDistinctInstance {
			t.Errorf("failures: %+v", out.Failures)
		}
	})
	t.Run("memberOf", func(t *testing.T) {
		h, small, _ := placementCluster(t)
		out, err := h.ecs.RunTask(ctx, &ecs.RunTaskInput{Cluster: aws.String("c"), TaskDefinition: aws.String("t"), Count: aws.Int32(2),
			PlacementConstraints: []types.PlacementConstraint{{Type: types.PlacementConstraintTypeMemberOf, Expression: aws.String("attribute:stack == prod")}}})
		ok(t, err)
		if got := placed(out); len(got) != 2 || got[0] != small || got[1] != small {
			t.Errorf("placed: %v", got)
		}
		_, err = h.ecs.RunTask(ctx, &ecs.RunTaskInput{Cluster: aws.String("c"), TaskDefinition: aws.String("t"),
			PlacementConstraints: []types.PlacementConstraint{{Type: types.PlacementConstraintTypeMemberOf, Expression: aws.String("attribute:stack = = x")}}})
		wantAPIError(t, err, "InvalidParameterException")
	})
	t.Run("task definition memberOf", func(t *testing.T) {
		h, _, big := placementCluster(t)
		h.registerTaskDef("dev", 64, func(in *ecs.RegisterTaskDefinitionInput) {
			in.PlacementConstraints = []types.TaskDefinitionPlacementConstraint{{Type: types.TaskDefinitionPlacementConstraintTypeMemberOf,
				Expression: aws.String("attribute:stack in [dev, test]")}}
		})
		out, err := h.ecs.RunTask(ctx, &ecs.RunTaskInput{Cluster: aws.String("c"), TaskDefinition: aws.String("dev"), Count: aws.Int32(2)})
		ok(t, err)
		if got := placed(out); len(got) != 2 || got[0] != big || got[1] != big {
			t.Errorf("placed: %v", got)
		}
	})
	t.Run("insufficient memory", func(t *testing.T) {
		h, small, big := placementCluster(t)
		h.registerTaskDef("huge", 8192)
		out, err := h.ecs.RunTask(ctx, &ecs.RunTaskInput{Cluster: aws.String("c"), TaskDefinition: aws.String("huge")})
		ok(t, err)
		if len(out.Tasks) != 0 || len(out.Failures) != 2 {
			t.Fatalf("out: %+v", out)
		}
		for _, f := range out.Failures {
			if aws.ToString(f.Reason) != "RESOURCE:MEMORY" || (aws.ToString(f.Arn) != small && aws.ToString(f.Arn) != big) {
				t.Errorf("failure: %+v", f)
			}
		}
	})
	t.Run("insufficient cpu", func(t *testing.T) {
		h, _, _ := placementCluster(t)
		h.registerTaskDef("cpu", 64, func(in *ecs.RegisterTaskDefinitionInput) { in.ContainerDefinitions[0].Cpu = 4096 })
		out, err := h.ecs.RunTask(ctx, &ecs.RunTaskInput{Cluster: aws.String("c"), TaskDefinition: aws.String("cpu")})
		ok(t, err)
		if len(out.Tasks) != 0 || len(out.Failures) != 2 || aws.ToString(out.Failures[0].Reason) != "RESOURCE:CPU" {
			t.Errorf("out: %+v", out)
		}
	})
	t.Run("ports", func(t *testing.T) {
		h, _, _ := placementCluster(t)
		h.registerTaskDef("web", 64, func(in *ecs.RegisterTaskDefinitionInput) {
			in.ContainerDefinitions[0].PortMappings = []types.PortMapping{{ContainerPort: aws.Int32(80), HostPort: aws.Int32(8080)}}
		})
		out, err := h.ecs.RunTask(ctx, &ecs.RunTaskInput{Cluster: aws.String("c"), TaskDefinition: aws.String("web"), Count: aws.Int32(3)})
		ok(t, err)
		if len(out.Tasks) != 2 || len(out.Failures) != 2 || aws.ToString(out.Failures[0].Reason) != "RESOURCE:PORTS" {
			t.Errorf("out: %+v", out)
		}
		ports := remaining(h.describeInstance("c", aws.ToString(out.Tasks[0].ContainerInstanceArn)), "PORTS").StringSetValue
		if !slices.Contains(ports, "8080") || !slices.Contains(ports, "22") {
			t.Errorf("ports taken: %v", ports)
		}
		// A reserved port.
		h.registerTaskDef("ssh", 64, func(in *ecs.RegisterTaskDefinitionInput) {
			in.ContainerDefinitions[0].PortMappings = []types.PortMapping{{ContainerPort: aws.Int32(22), HostPort: aws.Int32(22)}}
		})
		out, err = h.ecs.RunTask(ctx, &ecs.RunTaskInput{Cluster: aws.String("c"), TaskDefinition: aws.String("ssh")})
		ok(t, err)
		if len(out.Tasks) != 0 {
			t.Errorf("placed on a reserved port: %+v", out.Tasks)
		}
	})
	t.Run("required attributes", func(t *testing.T) {
		h, _, _ := placementCluster(t)
		h.registerTaskDef("priv", 64, func(in *ecs.RegisterTaskDefinitionInput) { in.ContainerDefinitions[0].Privileged = aws.Bool(true) })
		out, err := h.ecs.RunTask(ctx, &ecs.RunTaskInput{Cluster: aws.String("c"), TaskDefinition: aws.String("priv")})
		ok(t, err)
		if len(out.Tasks) != 0 || len(out.Failures) != 2 || aws.ToString(out.Failures[0].Reason) != "ATTRIBUTE" {
			t.Errorf("out: %+v", out)
		}
	})
	t.Run("errors", func(t *testing.T) {
		h, _, _ := placementCluster(t)
		_, err := h.ecs.RunTask(ctx, &ecs.RunTaskInput{Cluster: aws.String("c"), TaskDefinition: aws.String("missing")})
		wantAPIError(t, err, "ClientException")
		_, err = h.ecs.RunTask(ctx, &ecs.RunTaskInput{Cluster: aws.String("c"), TaskDefinition: aws.String("t"), Count: aws.Int32(11)})
		wantAPIError(t, err, "InvalidParameterException")
		_, err = h.ecs.RunTask(ctx, &ecs.RunTaskInput{Cluster: aws.String("c"), TaskDefinition: aws.String("t"), LaunchType: types.LaunchTypeFargate})
		wantAPIError(t, err, "InvalidParameterException")
		_, err = h.ecs.RunTask(ctx, &ecs.RunTaskInput{Cluster: aws.String("c"), TaskDefinition: aws.String("t"),
			PlacementStrategy: []types.PlacementStrategy{{Type: types.PlacementStrategyTypeBinpack, Field: aws.String("ports")}}})
		wantAPIError(t, err, "InvalidParameterException")
	})
}

func TestStartTask(t *testing.T) {
	h, small, big := placementCluster(t)
	out, err := h.ecs.StartTask(ctx, &ecs.StartTaskInput{Cluster: aws.String("c"), TaskDefinition: aws.String("t"),
		ContainerInstances: []string{big, "0000"}, StartedBy: aws.String("me")})
	ok(t, err)
	if len(out.Tasks) != 1 || aws.ToString(out.Tasks[0].ContainerInstanceArn) != big || aws.ToString(out.Tasks[0].StartedBy) != "me" ||
		len(out.Failures) != 1 || aws.ToString(out.Failures[0].Reason) != "MISSING" {
		t.Errorf("start: %+v", out)
	}
	if got := h.disp.take(big); len(got) != 1 || got[0].DesiredStatus != "RUNNING" {
		t.Errorf("dispatched: %+v", got)
	}
	h.registerTaskDef("huge", 2048)
	out, err = h.ecs.StartTask(ctx, &ecs.StartTaskInput{Cluster: aws.String("c"), TaskDefinition: aws.String("huge"), ContainerInstances: []string{small}})
	ok(t, err)
	if len(out.Tasks) != 0 || aws.ToString(out.Failures[0].Reason) != "RESOURCE:MEMORY" {
		t.Errorf("start too big: %+v", out)
	}
}

// TestDispatchedTaskShape checks the task the agent receives: the task
// definition in ACS's shape, with the Docker settings in dockerConfig.
func TestDispatchedTaskShape(t *testing.T) {
	h := newHarness(t)
	h.createCluster("c")
	inst := h.registerInstance("c", 4096, 4096, nil)
	tdOut, err := h.ecs.RegisterTaskDefinition(ctx, &ecs.RegisterTaskDefinitionInput{
		Family:           aws.String("full"),
		TaskRoleArn:      aws.String("arn:aws:iam::000000000000:role/app"),
		ExecutionRoleArn: aws.String("arn:aws:iam::000000000000:role/exec"),
		Cpu:              aws.String("512"),
		Memory:           aws.String("1024"),
		Volumes: []types.Volume{
			{Name: aws.String("data"), Host: &types.HostVolumeProperties{SourcePath: aws.String("/srv/data")}},
			{Name: aws.String("scratch")},
		},
		ContainerDefinitions: []types.ContainerDefinition{{
			Name:                   aws.String("web"),
			Image:                  aws.String("nginx:1"),
			Cpu:                    256,
			Memory:                 aws.Int32(512),
			MemoryReservation:      aws.Int32(256),
			EntryPoint:             []string{"/docker-entrypoint.sh"},
			Command:                []string{"nginx", "-g", "daemon off;"},
			Environment:            []types.KeyValuePair{{Name: aws.String("A"), Value: aws.String("1")}, {Name: aws.String("B"), Value: aws.String("2")}},
			PortMappings:           []types.PortMapping{{ContainerPort: aws.Int32(80), HostPort: aws.Int32(8080)}, {ContainerPort: aws.Int32(53), Protocol: types.TransportProtocolUdp}},
			MountPoints:            []types.MountPoint{{SourceVolume: aws.String("data"), ContainerPath: aws.String("/data"), ReadOnly: aws.Bool(true)}},
			DependsOn:              []types.ContainerDependency{{ContainerName: aws.String("side"), Condition: types.ContainerConditionHealthy}},
			Links:                  []string{"side:side"},
			HealthCheck:            &types.HealthCheck{Command: []string{"CMD-SHELL", "curl -f http://localhost/"}, Interval: aws.Int32(10), Retries: aws.Int32(2)},
			User:                   aws.String("101"),
			WorkingDirectory:       aws.String("/srv"),
			DockerLabels:           map[string]string{"l": "v"},
			Ulimits:                []types.Ulimit{{Name: types.UlimitNameNofile, SoftLimit: 1024, HardLimit: 4096}},
			ReadonlyRootFilesystem: aws.Bool(true),
			ExtraHosts:             []types.HostEntry{{Hostname: aws.String("db"), IpAddress: aws.String("10.0.0.5")}},
			DnsServers:             []string{"1.1.1.1"},
			LogConfiguration:       &types.LogConfiguration{LogDriver: types.LogDriverAwslogs, Options: map[string]string{"awslogs-group": "g"}},
			LinuxParameters:        &types.LinuxParameters{InitProcessEnabled: aws.Bool(true), Capabilities: &types.KernelCapabilities{Add: []string{"NET_ADMIN"}}},
			StopTimeout:            aws.Int32(20),
			RestartPolicy:          &types.ContainerRestartPolicy{Enabled: aws.Bool(true), IgnoredExitCodes: []int32{0}},
		}, {
			Name: aws.String("side"), Image: aws.String("busybox"), Memory: aws.Int32(64), Essential: aws.Bool(false),
			VolumesFrom: []types.VolumeFrom{{SourceContainer: aws.String("web")}},
			MountPoints: []types.MountPoint{{SourceVolume: aws.String("scratch"), ContainerPath: aws.String("/tmp/s")}},
		}},
	})
	ok(t, err)
	td := tdOut.TaskDefinition
	if hc := td.ContainerDefinitions[0].HealthCheck; aws.ToInt32(hc.Timeout) != 5 || aws.ToInt32(hc.Interval) != 10 {
		t.Errorf("health check defaults: %+v", hc)
	}
	run, err := h.ecs.RunTask(ctx, &ecs.RunTaskInput{Cluster: aws.String("c"), TaskDefinition: aws.String("full"),
		Overrides: &types.TaskOverride{ContainerOverrides: []types.ContainerOverride{{Name: aws.String("web"),
			Environment: []types.KeyValuePair{{Name: aws.String("B"), Value: aws.String("override")}}}}}})
	ok(t, err)
	if len(run.Tasks) != 1 {
		t.Fatalf("run: %s", aws.ToString(run.Failures[0].Reason))
	}
	rt := run.Tasks[0]
	if aws.ToString(rt.LastStatus) != "PENDING" || aws.ToString(rt.DesiredStatus) != "RUNNING" || aws.ToString(rt.Cpu) != "512" ||
		len(rt.Containers) != 2 || aws.ToString(rt.Containers[0].LastStatus) != "PENDING" || rt.LaunchType != types.LaunchTypeExternal ||
		aws.ToString(rt.Group) != "family:full" || rt.Version != 1 || rt.HealthStatus != types.HealthStatusUnknown {
		t.Errorf("run task: %+v", rt)
	}

	sent := h.disp.take(inst)
	if len(sent) != 1 {
		t.Fatalf("dispatched: %+v", sent)
	}
	task := sent[0]
	// The whole task survives the ACS wire format.
	b, err := json.Marshal(acs.PayloadMessage{Tasks: sent})
	ok(t, err)
	var back acs.PayloadMessage
	ok(t, json.Unmarshal(b, &back))
	if back.Tasks[0].RoleCredentials == nil || string(back.Tasks[0].RoleCredentials.SecretAccessKey) == "" {
		t.Errorf("credentials lost on the wire: %s", b)
	}

	if task.ARN != aws.ToString(rt.TaskArn) || task.Family != "full" || task.Version != "1" || task.DesiredStatus != "RUNNING" ||
		task.NetworkMode != "bridge" || task.LaunchType != "EXTERNAL" || *task.CPU != 0.5 || *task.Memory != 1024 ||
		task.TaskDefinitionAccountID != "000000000000" || task.TaskClusterARN != "arn:aws:ecs:us-east-1:000000000000:cluster/c" {
		t.Errorf("task: %+v", task)
	}
	if len(task.Volumes) != 2 || task.Volumes[0].Type != "host" || task.Volumes[0].Host.SourcePath != "/srv/data" ||
		task.Volumes[1].Host == nil || task.Volumes[1].Host.SourcePath != "" {
		t.Errorf("volumes: %+v", task.Volumes)
	}
	rc, ec := task.RoleCredentials, task.ExecutionRoleCredentials
	if rc == nil || ec == nil || rc.RoleARN != "arn:aws:iam::000000000000:role/app" || ec.RoleARN != "arn:aws:iam::000000000000:role/exec" ||
		rc.CredentialsID == "" || rc.AccessKeyID[:4] != "ASIA" || rc.SessionToken == "" || rc.CredentialsID == ec.CredentialsID {
		t.Fatalf("credentials: %+v %+v", rc, ec)
	}
	exp, err := time.Parse(time.RFC3339, rc.Expiration)
	if err != nil || exp.Before(time.Now().Add(5*time.Hour)) {
		t.Errorf("expiration %q: %v", rc.Expiration, err)
	}
	// The task role credentials sign requests ecs-local accepts.
	roleClient := h.client(rc.AccessKeyID, string(rc.SecretAccessKey), string(rc.SessionToken))
	_, err = roleClient.ListClusters(ctx, &ecs.ListClustersInput{})
	ok(t, err)

	web := task.Containers[0]
	if web.Name != "web" || web.Image != "nginx:1" || *web.CPU != 256 || *web.Memory != 512 || !*web.Essential ||
		web.Environment["A"] != "1" || web.Environment["B"] != "override" || len(web.Command) != 3 || web.EntryPoint[0] != "/docker-entrypoint.sh" ||
		web.HealthCheckType != "docker" || *web.StopTimeout != 20 || web.Links[0] != "side:side" ||
		web.DependsOn[0].ContainerName != "side" || web.DependsOn[0].Condition != "HEALTHY" ||
		!web.MountPoints[0].ReadOnly || web.LinuxParameters == nil || !*web.LinuxParameters.InitProcessEnabled ||
		web.LinuxParameters.Capabilities.Add[0] != "NET_ADMIN" || web.LogsAuthStrategy != "ExecutionRole" ||
		web.RestartPolicy == nil || !web.RestartPolicy.Enabled || *web.RestartPolicy.RestartAttemptPeriod != 300 ||
		web.ContainerARN != aws.ToString(rt.Containers[0].ContainerArn) {
		t.Errorf("web container: %+v", web)
	}
	if len(web.PortMappings) != 2 || *web.PortMappings[0].ContainerPort != 80 || *web.PortMappings[0].HostPort != 8080 ||
		web.PortMappings[0].Protocol != "tcp" || web.PortMappings[1].HostPort != nil || web.PortMappings[1].Protocol != "udp" {
		t.Errorf("port mappings: %+v", web.PortMappings)
	}
	if web.DockerConfig == nil || web.DockerConfig.Version != "1.17" {
		t.Fatalf("docker config: %+v", web.DockerConfig)
	}
	var config struct {
		User, WorkingDir string
		Labels           map[string]string
		Healthcheck      struct {
			Test                           []string
			Interval, Timeout, StartPeriod int64
			Retries                        int
		}
	}
	ok(t, json.Unmarshal([]byte(web.DockerConfig.Config), &config))
	hcWant := []string{"CMD-SHELL", "curl -f http://localhost/"}
	if config.User != "101" || config.WorkingDir != "/srv" || config.Labels["l"] != "v" || !slices.Equal(config.Healthcheck.Test, hcWant) ||
		config.Healthcheck.Interval != int64(10*time.Second) || config.Healthcheck.Timeout != int64(5*time.Second) ||
		config.Healthcheck.Retries != 2 || config.Healthcheck.StartPeriod != 0 {
		t.Errorf("config: %s", web.DockerConfig.Config)
	}
	var host struct {
		CapAdd, CapDrop []string
		Ulimits         []struct {
			Name       string
			Soft, Hard int64
		}
		ReadonlyRootfs  bool
		ExtraHosts, Dns []string
		LogConfig       struct {
			Type   string
			Config map[string]string
		}
		MemoryReservation int64
	}
	ok(t, json.Unmarshal([]byte(web.DockerConfig.HostConfig), &host))
	if host.CapAdd == nil || host.CapDrop == nil || len(host.Ulimits) != 1 || host.Ulimits[0].Name != "nofile" || host.Ulimits[0].Hard != 4096 ||
		!host.ReadonlyRootfs || host.ExtraHosts[0] != "db:10.0.0.5" || host.Dns[0] != "1.1.1.1" || host.LogConfig.Type != "awslogs" ||
		host.LogConfig.Config["awslogs-group"] != "g" || host.MemoryReservation != 256<<20 {
		t.Errorf("hostConfig: %s", web.DockerConfig.HostConfig)
	}
	side := task.Containers[1]
	if *side.Essential || side.VolumesFrom[0].SourceContainer != "web" || side.HealthCheckType != "" || side.DockerConfig.Config != "{}" {
		t.Errorf("side container: %+v", side)
	}
}

func TestTaskStateChanges(t *testing.T) {
	h := newHarness(t)
	h.createCluster("c")
	inst := h.registerInstance("c", 1024, 1024, nil)
	h.registerTaskDef("t", 256, func(in *ecs.RegisterTaskDefinitionInput) {
		in.ContainerDefinitions[0].PortMappings = []types.PortMapping{{ContainerPort: aws.Int32(80)}}
		in.ContainerDefinitions = append(in.ContainerDefinitions, types.ContainerDefinition{
			Name: aws.String("helper"), Image: aws.String("busybox"), Memory: aws.Int32(32), Essential: aws.Bool(false)})
	})
	run, err := h.ecs.RunTask(ctx, &ecs.RunTaskInput{Cluster: aws.String("c"), TaskDefinition: aws.String("t")})
	ok(t, err)
	arn := aws.ToString(run.Tasks[0].TaskArn)

	pullStart := time.Now().Add(-2 * time.Second).Truncate(time.Millisecond)
	_, err = h.ecs.SubmitTaskStateChange(ctx, &ecs.SubmitTaskStateChangeInput{
		Cluster: aws.String("c"), Task: aws.String(arn), Status: aws.String("RUNNING"), Reason: aws.String(""),
		PullStartedAt: aws.Time(pullStart), PullStoppedAt: aws.Time(pullStart.Add(time.Second)),
		Containers: []types.ContainerStateChange{{
			ContainerName: aws.String("app"), Status: aws.String("RUNNING"), RuntimeId: aws.String("c0ffee"),
			ImageDigest:     aws.String("sha256:abc"),
			NetworkBindings: []types.NetworkBinding{{BindIP: aws.String("0.0.0.0"), ContainerPort: aws.Int32(80), HostPort: aws.Int32(32768), Protocol: types.TransportProtocolTcp}},
		}, {ContainerName: aws.String("helper"), Status: aws.String("RUNNING"), RuntimeId: aws.String("beef")}},
	})
	ok(t, err)
	task := h.describeTask("c", arn)
	app := task.Containers[0]
	if aws.ToString(task.LastStatus) != "RUNNING" || task.StartedAt == nil || !aws.ToTime(task.PullStartedAt).Equal(pullStart) ||
		aws.ToString(app.LastStatus) != "RUNNING" || aws.ToString(app.RuntimeId) != "c0ffee" || aws.ToString(app.ImageDigest) != "sha256:abc" ||
		len(app.NetworkBindings) != 1 || aws.ToInt32(app.NetworkBindings[0].HostPort) != 32768 {
		t.Errorf("running: %+v %+v", task, app)
	}
	// The dynamic port the agent bound is taken on the instance.
	if ports := remaining(h.describeInstance("c", inst), "PORTS").StringSetValue; !slices.Contains(ports, "32768") {
		t.Errorf("ports: %v", ports)
	}
	desc, err := h.ecs.DescribeClusters(ctx, &ecs.DescribeClustersInput{Clusters: []string{"c"}})
	ok(t, err)
	if desc.Clusters[0].RunningTasksCount != 1 {
		t.Errorf("cluster counts: %+v", desc.Clusters[0])
	}

	// An essential container exits: the agent reports the task STOPPED.
	h.report("c", arn, "STOPPED",
		types.ContainerStateChange{ContainerName: aws.String("app"), Status: aws.String("STOPPED"), ExitCode: aws.Int32(3)},
		types.ContainerStateChange{ContainerName: aws.String("helper"), Status: aws.String("STOPPED"), ExitCode: aws.Int32(137)})
	task = h.describeTask("c", arn)
	if aws.ToString(task.LastStatus) != "STOPPED" || aws.ToString(task.DesiredStatus) != "STOPPED" || task.StoppedAt == nil ||
		aws.ToString(task.StoppedReason) != "Essential container in task exited" || task.StopCode != types.TaskStopCodeEssentialContainerExited ||
		aws.ToInt32(task.Containers[0].ExitCode) != 3 || aws.ToInt32(task.Containers[1].ExitCode) != 137 || task.Version < 3 {
		t.Errorf("stopped: %+v", task)
	}
	// A late RUNNING report does not move it back.
	h.report("c", arn, "RUNNING")
	if task := h.describeTask("c", arn); aws.ToString(task.LastStatus) != "STOPPED" {
		t.Errorf("status moved back: %s", aws.ToString(task.LastStatus))
	}
	ci := h.describeInstance("c", inst)
	if remaining(ci, "MEMORY").IntegerValue != 1024 || ci.RunningTasksCount != 0 || slices.Contains(remaining(ci, "PORTS").StringSetValue, "32768") {
		t.Errorf("resources not released: %+v", ci.RemainingResources)
	}

	list := func(status types.DesiredStatus) []string {
		out, err := h.ecs.ListTasks(ctx, &ecs.ListTasksInput{Cluster: aws.String("c"), DesiredStatus: status})
		ok(t, err)
		return out.TaskArns
	}
	if got := list(""); len(got) != 0 {
		t.Errorf("running tasks: %v", got)
	}
	if got := list(types.DesiredStatusStopped); len(got) != 1 || got[0] != arn {
		t.Errorf("stopped tasks: %v", got)
	}

	_, err = h.ecs.SubmitTaskStateChange(ctx, &ecs.SubmitTaskStateChangeInput{Cluster: aws.String("c"),
		Task: aws.String("arn:aws:ecs:us-east-1:000000000000:task/c/nope"), Status: aws.String("RUNNING")})
	wantAPIError(t, err, "InvalidParameterException")

	// The legacy container call.
	run, err = h.ecs.RunTask(ctx, &ecs.RunTaskInput{Cluster: aws.String("c"), TaskDefinition: aws.String("t")})
	ok(t, err)
	arn = aws.ToString(run.Tasks[0].TaskArn)
	_, err = h.ecs.SubmitContainerStateChange(ctx, &ecs.SubmitContainerStateChangeInput{Cluster: aws.String("c"), Task: aws.String(arn),
		ContainerName: aws.String("helper"), Status: aws.String("STOPPED"), ExitCode: aws.Int32(0), Reason: aws.String("done")})
	ok(t, err)
	if c := h.describeTask("c", arn).Containers[1]; aws.ToString(c.LastStatus) != "STOPPED" || aws.ToInt32(c.ExitCode) != 0 || c.ExitCode == nil {
		t.Errorf("container change: %+v", c)
	}
}

func TestTaskFailedToStart(t *testing.T) {
	h := newHarness(t)
	h.createCluster("c")
	h.registerInstance("c", 1024, 1024, nil)
	h.registerTaskDef("t", 64)
	run, err := h.ecs.RunTask(ctx, &ecs.RunTaskInput{Cluster: aws.String("c"), TaskDefinition: aws.String("t")})
	ok(t, err)
	arn := aws.ToString(run.Tasks[0].TaskArn)
	h.report("c", arn, "STOPPED", types.ContainerStateChange{ContainerName: aws.String("app"), Status: aws.String("STOPPED"),
		Reason: aws.String("CannotPullContainerError: not found")})
	task := h.describeTask("c", arn)
	if aws.ToString(task.StoppedReason) != "CannotPullContainerError: not found" || task.StopCode != types.TaskStopCodeTaskFailedToStart {
		t.Errorf("stopped: %q %q", aws.ToString(task.StoppedReason), task.StopCode)
	}
}

func TestStopTask(t *testing.T) {
	h := newHarness(t)
	h.createCluster("c")
	inst := h.registerInstance("c", 1024, 1024, nil)
	h.registerTaskDef("t", 64)
	run, err := h.ecs.RunTask(ctx, &ecs.RunTaskInput{Cluster: aws.String("c"), TaskDefinition: aws.String("t")})
	ok(t, err)
	arn := aws.ToString(run.Tasks[0].TaskArn)
	h.disp.take(inst)
	h.report("c", arn, "RUNNING")

	out, err := h.ecs.StopTask(ctx, &ecs.StopTaskInput{Cluster: aws.String("c"), Task: aws.String(arn), Reason: aws.String("maintenance")})
	ok(t, err)
	if aws.ToString(out.Task.DesiredStatus) != "STOPPED" || aws.ToString(out.Task.LastStatus) != "RUNNING" || out.Task.StoppingAt == nil {
		t.Errorf("stop: %+v", out.Task)
	}
	sent := h.disp.take(inst)
	if len(sent) != 1 || sent[0].ARN != arn || sent[0].DesiredStatus != "STOPPED" || len(sent[0].Containers) != 1 {
		t.Fatalf("dispatched: %+v", sent)
	}
	// Stopping twice sends nothing more.
	_, err = h.ecs.StopTask(ctx, &ecs.StopTaskInput{Cluster: aws.String("c"), Task: aws.String(arn)})
	ok(t, err)
	if sent := h.disp.take(inst); len(sent) != 0 {
		t.Errorf("second stop dispatched: %+v", sent)
	}
	h.report("c", arn, "STOPPED", types.ContainerStateChange{ContainerName: aws.String("app"), Status: aws.String("STOPPED"), ExitCode: aws.Int32(143)})
	task := h.describeTask("c", arn)
	if aws.ToString(task.LastStatus) != "STOPPED" || aws.ToString(task.StoppedReason) != "maintenance" || task.StopCode != types.TaskStopCodeUserInitiated {
		t.Errorf("stopped: %+v", task)
	}

	// A task no agent has acknowledged stops at once.
	h.disp.setFail(true)
	run, err = h.ecs.RunTask(ctx, &ecs.RunTaskInput{Cluster: aws.String("c"), TaskDefinition: aws.String("t")})
	ok(t, err)
	arn = aws.ToString(run.Tasks[0].TaskArn)
	out, err = h.ecs.StopTask(ctx, &ecs.StopTaskInput{Cluster: aws.String("c"), Task: aws.String(arn[len(arn)-32:])})
	ok(t, err)
	if aws.ToString(out.Task.LastStatus) != "STOPPED" || aws.ToString(out.Task.StoppedReason) != "Task stopped by user" {
		t.Errorf("unacknowledged stop: %+v", out.Task)
	}
	_, err = h.ecs.StopTask(ctx, &ecs.StopTaskInput{Cluster: aws.String("c"), Task: aws.String("ffff")})
	wantAPIError(t, err, "InvalidParameterException")
}
