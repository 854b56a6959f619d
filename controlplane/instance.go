package controlplane

import (
	"context"
	"errors"
	"slices"
	"sort"
	"strings"

	"github.com/ecsd-project/ecsd/wire/ecs"
)

// Container instance statuses besides ACTIVE, DRAINING and INACTIVE, which
// ListContainerInstances accepts as filters.
var instanceStatuses = []string{ecs.StatusActive, ecs.StatusDraining, "REGISTERING", "DEREGISTERING", "REGISTRATION_FAILED"}

// managedInstanceID picks the managed instance ID (mi-…) out of the
// principal that registered an instance, if it names one.
func managedInstanceID(principal string) string {
	last := principal[strings.LastIndexAny(principal, "/:")+1:]
	if strings.HasPrefix(last, "mi-") {
		return last
	}
	return ""
}

func (cp *ControlPlane) registerContainerInstance(ctx context.Context, in *ecs.RegisterContainerInstanceRequest) (*ecs.RegisterContainerInstanceResponse, error) {
	for _, r := range in.TotalResources {
		if r.Name == "" || r.Type == "" {
			return nil, invalidParam("Each of totalResources needs a name and a type.")
		}
	}
	for _, a := range in.Attributes {
		if err := validateAttribute(a); err != nil {
			return nil, err
		}
	}
	if err := validateTags(in.Tags); err != nil {
		return nil, err
	}
	who := principal(ctx)
	var out ecs.ContainerInstance
	err := cp.update(ctx, func(st *state) error {
		c, err := st.activeCluster(in.Cluster)
		if err != nil {
			return err
		}
		var rec *instanceRecord
		if in.ContainerInstanceARN != "" {
			cluster, id := splitID(in.ContainerInstanceARN, "container-instance")
			if cluster != c.ClusterName || in.ContainerInstanceARN != cp.instanceARN(cluster, id) || id == "" {
				return invalidParam("Container instance %s does not belong to cluster %s.", in.ContainerInstanceARN, c.ClusterName)
			}
			rec, err = st.instance(cluster, id)
			switch {
			case errors.Is(err, errNotFound):
				// Re-registration after ecs-local lost its state: keep the ARN.
				rec = nil
			case err != nil:
				return err
			case rec.Instance.Status == ecs.StatusInactive:
				return clientErr("The referenced container instance %s is inactive (deregistered).", in.ContainerInstanceARN)
			}
		}
		if rec == nil && in.ContainerInstanceARN == "" && in.ClientToken != "" {
			if rec, err = sameToken(st, c.ClusterName, who, in.ClientToken); err != nil {
				return err
			}
		}
		if rec == nil {
			arn := in.ContainerInstanceARN
			if arn == "" {
				arn = cp.instanceARN(c.ClusterName, newID())
			}
			rec = &instanceRecord{Cluster: c.ClusterName, Instance: ecs.ContainerInstance{
				ContainerInstanceARN: arn,
				Status:               ecs.StatusActive,
				RegisteredAt:         ecs.At(st.now),
			}}
			if in.ContainerInstanceARN == "" {
				rec.ClientToken = in.ClientToken
			}
		}
		rec.Principal = who
		if id := managedInstanceID(who); id != "" {
			rec.Instance.EC2InstanceID = id
		}
		rec.Instance.RegisteredResources = in.TotalResources
		rec.Instance.VersionInfo = in.VersionInfo
		rec.Instance.Attributes = mergeAttributes(rec.Instance.Attributes, in.Attributes)
		rec.Instance.Version++
		if err := st.putInstance(rec); err != nil {
			return err
		}
		if err := st.addTags(rec.Instance.ContainerInstanceARN, in.Tags); err != nil {
			return err
		}
		if out, err = cp.describeInstance(st, rec, true); err != nil {
			return err
		}
		// New capacity may let waiting service tasks be placed.
		return cp.reconcileCluster(st, c.ClusterName)
	})
	if err != nil {
		return nil, err
	}
	cp.log.Info("container instance registered", keyInstance, out.ContainerInstanceARN, keyPrincipal, who)
	return &ecs.RegisterContainerInstanceResponse{ContainerInstance: &out}, nil
}

func validateAttribute(a ecs.Attribute) error {
	if a.Name == "" || len(a.Name) > 128 || len(a.Value) > 128 {
		return invalidParam("Attribute names must be 1 to 128 characters and values at most 128.")
	}
	return nil
}

// mergeAttributes sets each of set in have, replacing the value of an
// attribute of the same name; targets are not stored.
func mergeAttributes(have, set []ecs.Attribute) []ecs.Attribute {
	out := slices.Clone(have)
	for _, a := range set {
		a.TargetID, a.TargetType = "", ""
		if i := slices.IndexFunc(out, func(b ecs.Attribute) bool { return b.Name == a.Name }); i >= 0 {
			out[i] = a
		} else {
			out = append(out, a)
		}
	}
	return out
}

// describeInstance fills in an instance's counts and remaining resources,
// and its tags if asked for.
func (cp *ControlPlane) describeInstance(st *state, rec *instanceRecord, withTags bool) (ecs.ContainerInstance, error) {
	tasks, err := st.tasks(rec.Cluster)
	if err != nil {
		return ecs.ContainerInstance{}, err
	}
	d := rec.Instance
	_, d.RunningTasksCount, d.PendingTasksCount, _ = usage(tasks, d.ContainerInstanceARN)
	d.RemainingResources = remainingResources(rec, tasks)
	if withTags {
		if d.Tags, err = st.tags(d.ContainerInstanceARN); err != nil {
			return d, err
		}
	}
	return d, nil
}

// resolveInstance finds a container instance by ARN or ID.
func (cp *ControlPlane) resolveInstance(st *state, cluster, ref string) (*instanceRecord, error) {
	c, id := splitID(ref, "container-instance")
	if c != "" && c != cluster {
		return nil, errNotFound
	}
	return st.instance(cluster, id)
}

func (cp *ControlPlane) deregisterContainerInstance(ctx context.Context, in *ecs.DeregisterContainerInstanceRequest) (*ecs.DeregisterContainerInstanceResponse, error) {
	force := in.Force != nil && *in.Force
	var out ecs.ContainerInstance
	err := cp.update(ctx, func(st *state) error {
		c, err := st.activeCluster(in.Cluster)
		if err != nil {
			return err
		}
		rec, err := cp.resolveInstance(st, c.ClusterName, in.ContainerInstance)
		if errors.Is(err, errNotFound) || (err == nil && rec.Instance.Status == ecs.StatusInactive) {
			return invalidParam("The referenced container instance was not found.")
		}
		if err != nil {
			return err
		}
		tasks, err := st.tasks(c.ClusterName)
		if err != nil {
			return err
		}
		var on []*taskRecord
		for _, t := range tasks {
			if t.Task.ContainerInstanceARN == rec.Instance.ContainerInstanceARN && t.holding() {
				on = append(on, t)
			}
		}
		if len(on) > 0 && !force {
			return invalidParam("The container instance has %d tasks that are not stopped; deregister it with force to stop tracking them.", len(on))
		}
		for _, t := range on {
			if err := cp.stopTaskRecord(st, t, "Container instance deregistration forced by user", ecs.StopCodeUserInitiated); err != nil {
				return err
			}
			markStopped(t, st.now)
			if err := st.putTask(t); err != nil {
				return err
			}
		}
		rec.Instance.Status = ecs.StatusInactive
		rec.Instance.AgentConnected = false
		rec.Instance.Version++
		if err := st.putInstance(rec); err != nil {
			return err
		}
		if out, err = cp.describeInstance(st, rec, false); err != nil {
			return err
		}
		return cp.reconcileCluster(st, c.ClusterName)
	})
	if err != nil {
		return nil, err
	}
	cp.log.Info("container instance deregistered", keyInstance, out.ContainerInstanceARN)
	return &ecs.DeregisterContainerInstanceResponse{ContainerInstance: &out}, nil
}

func (cp *ControlPlane) describeContainerInstances(ctx context.Context, in *ecs.DescribeContainerInstancesRequest) (*ecs.DescribeContainerInstancesResponse, error) {
	if len(in.ContainerInstances) == 0 || len(in.ContainerInstances) > 100 {
		return nil, invalidParam("ContainerInstances must have between 1 and 100 items.")
	}
	out := &ecs.DescribeContainerInstancesResponse{ContainerInstances: []ecs.ContainerInstance{}, Failures: []ecs.Failure{}}
	err := cp.view(func(st *state) error {
		c, err := st.activeCluster(in.Cluster)
		if err != nil {
			return err
		}
		for _, ref := range in.ContainerInstances {
			rec, err := cp.resolveInstance(st, c.ClusterName, ref)
			if errors.Is(err, errNotFound) {
				out.Failures = append(out.Failures, missing(ref, func(id string) string { return cp.instanceARN(c.ClusterName, id) }))
				continue
			}
			if err != nil {
				return err
			}
			d, err := cp.describeInstance(st, rec, slices.Contains(in.Include, ecs.IncludeTags))
			if err != nil {
				return err
			}
			out.ContainerInstances = append(out.ContainerInstances, d)
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	return out, nil
}

func (cp *ControlPlane) listContainerInstances(ctx context.Context, in *ecs.ListContainerInstancesRequest) (*ecs.ListContainerInstancesResponse, error) {
	if in.Status != "" && !slices.Contains(instanceStatuses, in.Status) {
		return nil, invalidParam("Invalid status %q.", in.Status)
	}
	var filter query
	if in.Filter != "" {
		q, err := parseQuery(in.Filter)
		if err != nil {
			return nil, invalidParam("Invalid filter %q: %v", in.Filter, err)
		}
		filter = q
	}
	var arns []string
	err := cp.view(func(st *state) error {
		c, err := st.activeCluster(in.Cluster)
		if err != nil {
			return err
		}
		instances, err := st.instances(c.ClusterName)
		if err != nil {
			return err
		}
		tasks, err := st.tasks(c.ClusterName)
		if err != nil {
			return err
		}
		for _, i := range instances {
			s := i.Instance.Status
			if (in.Status == "" && s == ecs.StatusInactive) || (in.Status != "" && s != in.Status) {
				continue
			}
			if filter != nil && !filter.match(&newCandidate(i, tasks).view) {
				continue
			}
			arns = append(arns, i.Instance.ContainerInstanceARN)
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
	return &ecs.ListContainerInstancesResponse{ContainerInstanceARNs: p, NextToken: next}, nil
}

func (cp *ControlPlane) updateContainerInstancesState(ctx context.Context, in *ecs.UpdateContainerInstancesStateRequest) (*ecs.UpdateContainerInstancesStateResponse, error) {
	if in.Status != ecs.StatusActive && in.Status != ecs.StatusDraining {
		return nil, invalidParam("Container instances status should be one of [ACTIVE,DRAINING].")
	}
	if len(in.ContainerInstances) == 0 || len(in.ContainerInstances) > 10 {
		return nil, invalidParam("ContainerInstances must have between 1 and 10 items.")
	}
	out := &ecs.UpdateContainerInstancesStateResponse{ContainerInstances: []ecs.ContainerInstance{}, Failures: []ecs.Failure{}}
	var changed []*instanceRecord
	err := cp.update(ctx, func(st *state) error {
		c, err := st.activeCluster(in.Cluster)
		if err != nil {
			return err
		}
		for _, ref := range in.ContainerInstances {
			rec, err := cp.resolveInstance(st, c.ClusterName, ref)
			if errors.Is(err, errNotFound) || (err == nil && rec.Instance.Status == ecs.StatusInactive) {
				out.Failures = append(out.Failures, ecs.Failure{ARN: ref, Reason: ecs.ReasonMissing})
				continue
			}
			if err != nil {
				return err
			}
			if rec.Instance.Status != in.Status {
				rec.Instance.Status = in.Status
				rec.Instance.Version++
				if err := st.putInstance(rec); err != nil {
					return err
				}
			}
			changed = append(changed, rec)
		}
		// Draining moves service tasks away; activating may place waiting ones.
		if err := cp.reconcileCluster(st, c.ClusterName); err != nil {
			return err
		}
		for _, rec := range changed {
			d, err := cp.describeInstance(st, rec, false)
			if err != nil {
				return err
			}
			out.ContainerInstances = append(out.ContainerInstances, d)
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	for _, rec := range changed {
		cp.log.Info("container instance state set", keyInstance, rec.Instance.ContainerInstanceARN, keyStatus, in.Status)
	}
	return out, nil
}

func (cp *ControlPlane) putAttributes(ctx context.Context, in *ecs.PutAttributesRequest) (*ecs.PutAttributesResponse, error) {
	if len(in.Attributes) == 0 || len(in.Attributes) > 10 {
		return nil, invalidParam("Attributes must have between 1 and 10 items.")
	}
	for _, a := range in.Attributes {
		if err := validateAttribute(a); err != nil {
			return nil, err
		}
		if a.TargetID == "" {
			return nil, invalidParam("Attribute %s needs a targetId.", a.Name)
		}
		if a.TargetType != "" && a.TargetType != ecs.TargetTypeContainerInstance {
			return nil, invalidParam("Attribute targetType must be container-instance.")
		}
	}
	err := cp.update(ctx, func(st *state) error {
		c, err := st.activeCluster(in.Cluster)
		if err != nil {
			return err
		}
		for _, a := range in.Attributes {
			rec, err := cp.resolveInstance(st, c.ClusterName, a.TargetID)
			if errors.Is(err, errNotFound) {
				return invalidParam("Could not find %s in cluster %s.", a.TargetID, c.ClusterName)
			}
			if err != nil {
				return err
			}
			rec.Instance.Attributes = mergeAttributes(rec.Instance.Attributes, []ecs.Attribute{a})
			rec.Instance.Version++
			if err := st.putInstance(rec); err != nil {
				return err
			}
		}
		return cp.reconcileCluster(st, c.ClusterName)
	})
	if err != nil {
		return nil, err
	}
	return &ecs.PutAttributesResponse{Attributes: in.Attributes}, nil
}

func (cp *ControlPlane) discoverPollEndpoint(ctx context.Context, in *ecs.DiscoverPollEndpointRequest) (*ecs.DiscoverPollEndpointResponse, error) {
	base, _ := ctx.Value(baseURLKey{}).(string)
	out := &ecs.DiscoverPollEndpointResponse{Endpoint: cp.cfg.ACSEndpoint, TelemetryEndpoint: cp.cfg.TCSEndpoint, ServiceConnectEndpoint: base}
	if out.Endpoint == "" {
		out.Endpoint = base
	}
	if out.TelemetryEndpoint == "" {
		// Distinct from ACS's, so that the agents' TCS websocket (/tcs/ws)
		// does not collide with ACS's (/ws).
		out.TelemetryEndpoint = base + tcsPathPrefix
	}
	return out, nil
}

// sameToken finds the active instance that principal registered in the
// cluster with this client token, if any: the caller is retrying a call
// whose answer it lost.
func sameToken(st *state, cluster, principal, token string) (*instanceRecord, error) {
	all, err := st.instances(cluster)
	if err != nil {
		return nil, err
	}
	for _, i := range all {
		if i.ClientToken == token && i.Principal == principal && i.Instance.Status != ecs.StatusInactive {
			return i, nil
		}
	}
	return nil, nil
}
