package controlplane

import (
	"context"
	"errors"
	"math/rand/v2"
	"slices"
	"sort"
	"strconv"
	"strings"

	"github.com/ecsd-project/ecsd/wire/ecs"
)

// taskSpec is what a new task is made of.
type taskSpec struct {
	td                   *ecs.TaskDefinition
	overrides            *ecs.TaskOverride
	startedBy            string
	group                string
	launchType           string
	enableExecuteCommand bool
	service              string
	deployment           string
	tags                 []ecs.Tag
}

// runnable checks that the task definition can run on external instances.
func runnable(td *ecs.TaskDefinition) error {
	if td.Status != ecs.StatusActive {
		return clientErr("TaskDefinition is inactive")
	}
	if td.NetworkMode == ecs.NetworkModeAWSVPC {
		return invalidParam("Task definitions with networkMode awsvpc are not supported on EXTERNAL container instances.")
	}
	return nil
}

func checkLaunchType(lt string) (string, error) {
	switch lt {
	case "", ecs.LaunchTypeExternal:
		return ecs.LaunchTypeExternal, nil
	case ecs.LaunchTypeEC2:
		return ecs.LaunchTypeEC2, nil
	}
	return "", invalidParam("Launch type %s is not supported: this cluster has only EXTERNAL container instances.", lt)
}

// candidates returns the placement views of the cluster's ACTIVE container
// instances, and the cluster's tasks.
func (cp *ControlPlane) candidates(st *state, cluster string) ([]*candidate, []*taskRecord, error) {
	instances, err := st.instances(cluster)
	if err != nil {
		return nil, nil, err
	}
	tasks, err := st.tasks(cluster)
	if err != nil {
		return nil, nil, err
	}
	var out []*candidate
	for _, i := range instances {
		if i.Instance.Status == ecs.StatusActive {
			out = append(out, newCandidate(i, tasks))
		}
	}
	return out, tasks, nil
}

// createTask stores a new task of spec on the instance and queues it for
// the instance's agent.
func (cp *ControlPlane) createTask(st *state, c *ecs.Cluster, spec *taskSpec, instanceARN string) (*taskRecord, error) {
	td, ov := spec.td, spec.overrides
	id := newID()
	t := &taskRecord{
		Cluster:    c.ClusterName,
		Service:    spec.service,
		Deployment: spec.deployment,
		Reserved:   taskDemand(td, ov),
		Task: ecs.Task{
			TaskARN:              cp.taskARN(c.ClusterName, id),
			ClusterARN:           c.ClusterARN,
			TaskDefinitionARN:    td.TaskDefinitionARN,
			ContainerInstanceARN: instanceARN,
			Overrides:            ov,
			LastStatus:           ecs.StatusPending,
			DesiredStatus:        ecs.StatusRunning,
			CPU:                  td.CPU,
			Memory:               td.Memory,
			StartedBy:            spec.startedBy,
			Group:                spec.group,
			LaunchType:           spec.launchType,
			Connectivity:         "CONNECTED",
			ConnectivityAt:       ecs.At(st.now),
			CreatedAt:            ecs.At(st.now),
			EnableExecuteCommand: spec.enableExecuteCommand,
		},
	}
	if ov != nil && ov.CPU != "" {
		t.Task.CPU = ov.CPU
	}
	if ov != nil && ov.Memory != "" {
		t.Task.Memory = ov.Memory
	}
	health := false
	for _, cd := range td.ContainerDefinitions {
		cd = applyContainerOverride(cd, ov)
		ct := ecs.Container{
			ContainerARN: cp.containerARN(c.ClusterName, id),
			TaskARN:      t.Task.TaskARN,
			Name:         cd.Name,
			Image:        cd.Image,
			LastStatus:   ecs.StatusPending,
			CPU:          strconv.Itoa(int(cd.CPU)),
		}
		if cd.Memory != nil {
			ct.Memory = strconv.Itoa(int(*cd.Memory))
		}
		if cd.MemoryReservation != nil {
			ct.MemoryReservation = strconv.Itoa(int(*cd.MemoryReservation))
		}
		if cd.HealthCheck != nil {
			ct.HealthStatus = ecs.HealthUnknown
			health = true
		}
		t.Task.Containers = append(t.Task.Containers, ct)
	}
	if health {
		t.Task.HealthStatus = ecs.HealthUnknown
	}
	roleARN, execARN := td.TaskRoleARN, td.ExecutionRoleARN
	if ov != nil && ov.TaskRoleARN != "" {
		roleARN = ov.TaskRoleARN
	}
	if ov != nil && ov.ExecutionRoleARN != "" {
		execARN = ov.ExecutionRoleARN
	}
	var err error
	if roleARN != "" {
		if t.RoleCredentials, err = cp.issueCredentials(st, roleARN, ""); err != nil {
			return nil, err
		}
	}
	if execARN != "" {
		if t.ExecutionRoleCredentials, err = cp.issueCredentials(st, execARN, ""); err != nil {
			return nil, err
		}
	}
	if err := st.addTags(t.Task.TaskARN, spec.tags); err != nil {
		return nil, err
	}
	if err := st.putTask(t); err != nil {
		return nil, err
	}
	st.fx.send(instanceARN, acsTask(t, td, cp.cfg.AccountID, cp.cfg.Region))
	return t, nil
}

// taskTags are the tags of a new task: its own, those propagated from the
// task definition or service, and ECS's managed tags.
func taskTags(st *state, own []ecs.Tag, propagate string, td *ecs.TaskDefinition, serviceARN, cluster, service string, managed bool) ([]ecs.Tag, error) {
	tags := slices.Clone(own)
	from := ""
	switch propagate {
	case ecs.PropagateTaskDefinition:
		from = td.TaskDefinitionARN
	case ecs.PropagateService:
		from = serviceARN
	}
	if from != "" {
		more, err := st.tags(from)
		if err != nil {
			return nil, err
		}
		for _, t := range more {
			if !containsKey(tags, t.Key) {
				tags = append(tags, t)
			}
		}
	}
	if managed {
		tags = append(tags, ecs.Tag{Key: "aws:ecs:clusterName", Value: cluster})
		if service != "" {
			tags = append(tags, ecs.Tag{Key: "aws:ecs:serviceName", Value: service})
		}
	}
	return tags, nil
}

func (cp *ControlPlane) runTask(ctx context.Context, in *ecs.RunTaskRequest) (*ecs.RunTaskResponse, error) {
	count := int32(1)
	if in.Count != nil {
		count = *in.Count
	}
	if count < 1 || count > 10 {
		return nil, invalidParam("Count must be between 1 and 10.")
	}
	if in.TaskDefinition == "" {
		return nil, invalidParam("TaskDefinition can not be blank.")
	}
	launchType, err := checkLaunchType(in.LaunchType)
	if err != nil {
		return nil, err
	}
	constraints, err := parsePlacement(in.PlacementConstraints, in.PlacementStrategy)
	if err != nil {
		return nil, err
	}
	if err := validateTags(in.Tags); err != nil {
		return nil, err
	}
	out := &ecs.RunTaskResponse{Tasks: []ecs.Task{}, Failures: []ecs.Failure{}}
	err = cp.update(ctx, func(st *state) error {
		c, err := st.activeCluster(in.Cluster)
		if err != nil {
			return err
		}
		td, err := cp.resolveTaskDef(st, in.TaskDefinition)
		if errors.Is(err, errNotFound) {
			return clientErr("TaskDefinition not found.")
		}
		if err != nil {
			return err
		}
		if err := runnable(td); err != nil {
			return err
		}
		cands, _, err := cp.candidates(st, c.ClusterName)
		if err != nil {
			return err
		}
		if len(cands) == 0 {
			return invalidParam("No Container Instances were found in your cluster.")
		}
		tags, err := taskTags(st, in.Tags, in.PropagateTags, td, "", c.ClusterName, "", in.EnableECSManagedTags != nil && *in.EnableECSManagedTags)
		if err != nil {
			return err
		}
		spec := &taskSpec{
			td: td, overrides: in.Overrides, startedBy: in.StartedBy, group: in.Group, launchType: launchType,
			enableExecuteCommand: in.EnableExecuteCommand != nil && *in.EnableExecuteCommand, tags: tags,
		}
		if spec.group == "" {
			spec.group = "family:" + td.Family
		}
		d := &demand{
			res:         taskDemand(td, in.Overrides),
			requires:    td.RequiresAttributes,
			group:       spec.group,
			constraints: append(constraints, taskDefConstraints(td)...),
			strategies:  in.PlacementStrategy,
		}
		rnd := rand.New(rand.NewPCG(uint64(st.now.UnixNano()), 0))
		for range count {
			chosen, failures := place(cands, d, rnd)
			if chosen == nil {
				out.Failures = failures
				break
			}
			chosen.take(d)
			t, err := cp.createTask(st, c, spec, chosen.arn)
			if err != nil {
				return err
			}
			out.Tasks = append(out.Tasks, cp.taskView(t, tags))
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	for _, t := range out.Tasks {
		cp.log.Info("task started", keyTask, t.TaskARN, keyInstance, t.ContainerInstanceARN)
	}
	return out, nil
}

// taskView is the task as the API shows it, with the given tags.
func (cp *ControlPlane) taskView(t *taskRecord, tags []ecs.Tag) ecs.Task {
	v := t.Task
	v.Tags = tags
	return v
}

func (cp *ControlPlane) startTask(ctx context.Context, in *ecs.StartTaskRequest) (*ecs.StartTaskResponse, error) {
	if len(in.ContainerInstances) < 1 || len(in.ContainerInstances) > 10 {
		return nil, invalidParam("ContainerInstances must have between 1 and 10 items.")
	}
	if err := validateTags(in.Tags); err != nil {
		return nil, err
	}
	out := &ecs.StartTaskResponse{Tasks: []ecs.Task{}, Failures: []ecs.Failure{}}
	err := cp.update(ctx, func(st *state) error {
		c, err := st.activeCluster(in.Cluster)
		if err != nil {
			return err
		}
		td, err := cp.resolveTaskDef(st, in.TaskDefinition)
		if errors.Is(err, errNotFound) {
			return clientErr("TaskDefinition not found.")
		}
		if err != nil {
			return err
		}
		if err := runnable(td); err != nil {
			return err
		}
		cands, _, err := cp.candidates(st, c.ClusterName)
		if err != nil {
			return err
		}
		tags, err := taskTags(st, in.Tags, in.PropagateTags, td, "", c.ClusterName, "", in.EnableECSManagedTags != nil && *in.EnableECSManagedTags)
		if err != nil {
			return err
		}
		spec := &taskSpec{
			td: td, overrides: in.Overrides, startedBy: in.StartedBy, group: in.Group, launchType: ecs.LaunchTypeExternal,
			enableExecuteCommand: in.EnableExecuteCommand != nil && *in.EnableExecuteCommand, tags: tags,
		}
		if spec.group == "" {
			spec.group = "family:" + td.Family
		}
		d := &demand{res: taskDemand(td, in.Overrides), requires: td.RequiresAttributes, group: spec.group,
			constraints: taskDefConstraints(td)}
		for _, ref := range in.ContainerInstances {
			_, id := splitID(ref, "container-instance")
			arn := cp.instanceARN(c.ClusterName, id)
			i := slices.IndexFunc(cands, func(k *candidate) bool { return k.arn == arn })
			if i < 0 {
				out.Failures = append(out.Failures, ecs.Failure{ARN: ref, Reason: ecs.ReasonMissing})
				continue
			}
			if why := cands[i].why(d); why != "" {
				out.Failures = append(out.Failures, ecs.Failure{ARN: arn, Reason: why})
				continue
			}
			cands[i].take(d)
			t, err := cp.createTask(st, c, spec, arn)
			if err != nil {
				return err
			}
			out.Tasks = append(out.Tasks, cp.taskView(t, tags))
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	return out, nil
}

// resolveTask finds a task by ARN or ID in the cluster the parameter names;
// an ARN naming another cluster is not found. With no cluster parameter an
// ARN's own cluster counts, and a bare ID is looked up in the default
// cluster.
func resolveTask(st *state, clusterParam, ref string) (*taskRecord, error) {
	cluster, id := splitID(ref, "task")
	if cluster == "" {
		cluster = clusterName(clusterParam)
	} else if clusterParam != "" && cluster != clusterName(clusterParam) {
		return nil, errNotFound
	}
	return st.task(cluster, id)
}

func (cp *ControlPlane) stopTask(ctx context.Context, in *ecs.StopTaskRequest) (*ecs.StopTaskResponse, error) {
	if in.Task == "" {
		return nil, invalidParam("Task can not be blank.")
	}
	var out ecs.Task
	err := cp.update(ctx, func(st *state) error {
		c, err := st.activeCluster(in.Cluster)
		if err != nil {
			return err
		}
		t, err := resolveTask(st, c.ClusterName, in.Task)
		if errors.Is(err, errNotFound) {
			return invalidParam("The referenced task was not found.")
		}
		if err != nil {
			return err
		}
		reason := in.Reason
		if reason == "" {
			reason = "Task stopped by user"
		}
		if err := cp.stopTaskRecord(st, t, reason, ecs.StopCodeUserInitiated); err != nil {
			return err
		}
		if t.Service != "" {
			if err := cp.reconcileCluster(st, c.ClusterName); err != nil {
				return err
			}
		}
		out = cp.taskView(t, nil)
		return nil
	})
	if err != nil {
		return nil, err
	}
	cp.log.Info("task stop requested", keyTask, out.TaskARN)
	return &ecs.StopTaskResponse{Task: &out}, nil
}

// stopTaskRecord makes a task's desired status STOPPED (a stop is never
// undone) and tells its agent; a task no agent has acknowledged stops at
// once.
func (cp *ControlPlane) stopTaskRecord(st *state, t *taskRecord, reason, code string) error {
	if t.Task.DesiredStatus == ecs.StatusStopped {
		return nil
	}
	t.Task.DesiredStatus = ecs.StatusStopped
	t.StopRequested = true
	t.Task.StoppedReason = reason
	t.Task.StopCode = code
	t.Task.StoppingAt = ecs.At(st.now)
	if t.Acked == "" || t.Task.LastStatus == ecs.StatusStopped {
		markStopped(t, st.now)
		return st.putTask(t)
	}
	if err := st.putTask(t); err != nil {
		return err
	}
	return cp.queue(st, t)
}

// queue queues t, as it now stands, for its agent.
func (cp *ControlPlane) queue(st *state, t *taskRecord) error {
	td, err := cp.resolveTaskDef(st, t.Task.TaskDefinitionARN)
	if err != nil {
		return err
	}
	st.fx.send(t.Task.ContainerInstanceARN, acsTask(t, td, cp.cfg.AccountID, cp.cfg.Region))
	return nil
}

func (cp *ControlPlane) describeTasks(ctx context.Context, in *ecs.DescribeTasksRequest) (*ecs.DescribeTasksResponse, error) {
	if len(in.Tasks) == 0 {
		return nil, invalidParam("Tasks cannot be empty.")
	}
	if len(in.Tasks) > 100 {
		return nil, invalidParam("Tasks can have at most 100 items.")
	}
	out := &ecs.DescribeTasksResponse{Tasks: []ecs.Task{}, Failures: []ecs.Failure{}}
	err := cp.view(func(st *state) error {
		c, err := st.activeCluster(in.Cluster)
		if err != nil {
			return err
		}
		for _, ref := range in.Tasks {
			t, err := resolveTask(st, c.ClusterName, ref)
			if errors.Is(err, errNotFound) {
				out.Failures = append(out.Failures, missing(ref, func(id string) string { return cp.taskARN(c.ClusterName, id) }))
				continue
			}
			if err != nil {
				return err
			}
			var tags []ecs.Tag
			if slices.Contains(in.Include, ecs.IncludeTags) {
				if tags, err = st.tags(t.Task.TaskARN); err != nil {
					return err
				}
			}
			out.Tasks = append(out.Tasks, cp.taskView(t, tags))
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	return out, nil
}

// family is the family of a task definition ARN.
func family(taskDefARN string) string {
	_, rest, _ := resource(taskDefARN)
	f, _, _ := strings.Cut(rest, ":")
	return f
}

func (cp *ControlPlane) listTasks(ctx context.Context, in *ecs.ListTasksRequest) (*ecs.ListTasksResponse, error) {
	desired := in.DesiredStatus
	if desired == "" {
		desired = ecs.StatusRunning
	}
	switch desired {
	case ecs.StatusRunning, ecs.StatusPending, ecs.StatusStopped:
	default:
		return nil, invalidParam("Invalid desiredStatus %q.", in.DesiredStatus)
	}
	var arns []string
	err := cp.view(func(st *state) error {
		c, err := st.activeCluster(in.Cluster)
		if err != nil {
			return err
		}
		instanceARN := ""
		if in.ContainerInstance != "" {
			_, id := splitID(in.ContainerInstance, "container-instance")
			instanceARN = cp.instanceARN(c.ClusterName, id)
		}
		tasks, err := st.tasks(c.ClusterName)
		if err != nil {
			return err
		}
		for _, t := range tasks {
			switch {
			case t.Task.DesiredStatus != desired,
				instanceARN != "" && t.Task.ContainerInstanceARN != instanceARN,
				in.Family != "" && family(t.Task.TaskDefinitionARN) != in.Family,
				in.StartedBy != "" && t.Task.StartedBy != in.StartedBy,
				in.ServiceName != "" && t.Service != in.ServiceName,
				in.LaunchType != "" && t.Task.LaunchType != in.LaunchType:
				continue
			}
			arns = append(arns, t.Task.TaskARN)
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	sort.Strings(arns)
	p, next, err := page(arns, in.MaxResults, in.NextToken, 100)
	if err != nil {
		return nil, err
	}
	return &ecs.ListTasksResponse{TaskARNs: p, NextToken: next}, nil
}
