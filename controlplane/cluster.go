package controlplane

import (
	"context"
	"errors"
	"regexp"
	"slices"
	"sort"

	"github.com/ecsd-project/ecsd/wire/ecs"
)

var namePattern = regexp.MustCompile(`^[a-zA-Z0-9_-]{1,255}$`)

func (cp *ControlPlane) createCluster(ctx context.Context, in *ecs.CreateClusterRequest) (*ecs.CreateClusterResponse, error) {
	name := in.ClusterName
	if name == "" {
		name = defaultCluster
	}
	if !namePattern.MatchString(name) {
		return nil, invalidParam("Cluster name should match ^[a-zA-Z0-9_-]{1,255}$.")
	}
	if err := validateTags(in.Tags); err != nil {
		return nil, err
	}
	settings := in.Settings
	for _, s := range settings {
		if s.Name != "containerInsights" {
			return nil, invalidParam("Unsupported cluster setting %q.", s.Name)
		}
	}
	if len(settings) == 0 {
		settings = []ecs.ClusterSetting{{Name: "containerInsights", Value: "disabled"}}
	}
	var out ecs.Cluster
	err := cp.update(ctx, func(st *state) error {
		c, err := st.cluster(name)
		switch {
		case errors.Is(err, errNotFound) || (err == nil && c.Status != ecs.StatusActive):
			c = &ecs.Cluster{ClusterARN: cp.clusterARN(name), ClusterName: name, Status: ecs.StatusActive, Settings: settings}
			if err := st.putCluster(c); err != nil {
				return err
			}
			cp.log.Info("cluster created", keyCluster, name)
		case err != nil:
			return err
		}
		if err := st.addTags(c.ClusterARN, in.Tags); err != nil {
			return err
		}
		out, err = cp.describeCluster(st, c, true)
		return err
	})
	if err != nil {
		return nil, err
	}
	return &ecs.CreateClusterResponse{Cluster: &out}, nil
}

func (cp *ControlPlane) deleteCluster(ctx context.Context, in *ecs.DeleteClusterRequest) (*ecs.DeleteClusterResponse, error) {
	var out ecs.Cluster
	err := cp.update(ctx, func(st *state) error {
		c, err := st.activeCluster(in.Cluster)
		if err != nil {
			return err
		}
		instances, err := st.instances(c.ClusterName)
		if err != nil {
			return err
		}
		for _, i := range instances {
			if i.Instance.Status != ecs.StatusInactive {
				return apiErr(ecs.ErrClusterContainsContainerInstancesException,
					"The Cluster cannot be deleted while Container Instances are active or draining.")
			}
		}
		services, err := st.services(c.ClusterName)
		if err != nil {
			return err
		}
		for _, s := range services {
			if s.Service.Status != ecs.StatusInactive {
				return apiErr(ecs.ErrClusterContainsServicesException,
					"The Cluster cannot be deleted while Services are active.")
			}
		}
		tasks, err := st.tasks(c.ClusterName)
		if err != nil {
			return err
		}
		for _, t := range tasks {
			if t.holding() {
				return apiErr(ecs.ErrClusterContainsTasksException,
					"The Cluster cannot be deleted while Tasks are active.")
			}
		}
		c.Status = ecs.StatusInactive
		if err := st.putCluster(c); err != nil {
			return err
		}
		cp.log.Info("cluster deleted", keyCluster, c.ClusterName)
		out, err = cp.describeCluster(st, c, false)
		return err
	})
	if err != nil {
		return nil, err
	}
	return &ecs.DeleteClusterResponse{Cluster: &out}, nil
}

func (cp *ControlPlane) describeClusters(ctx context.Context, in *ecs.DescribeClustersRequest) (*ecs.DescribeClustersResponse, error) {
	names := in.Clusters
	if len(names) == 0 {
		names = []string{defaultCluster}
	}
	if len(names) > 100 {
		return nil, invalidParam("Clusters can have at most 100 items.")
	}
	out := &ecs.DescribeClustersResponse{Clusters: []ecs.Cluster{}, Failures: []ecs.Failure{}}
	err := cp.view(func(st *state) error {
		for _, n := range names {
			c, err := st.cluster(clusterName(n))
			if errors.Is(err, errNotFound) {
				out.Failures = append(out.Failures, ecs.Failure{ARN: cp.clusterARN(clusterName(n)), Reason: ecs.ReasonMissing})
				continue
			}
			if err != nil {
				return err
			}
			d, err := cp.describeCluster(st, c, slices.Contains(in.Include, ecs.IncludeTags))
			if err != nil {
				return err
			}
			out.Clusters = append(out.Clusters, d)
		}
		return nil
	})
	return out, err
}

// describeCluster fills in the counts of c, and its tags if asked for.
func (cp *ControlPlane) describeCluster(st *state, c *ecs.Cluster, withTags bool) (ecs.Cluster, error) {
	d := *c
	d.Statistics = nil
	d.CapacityProviders = []string{}
	if c.Status == ecs.StatusActive {
		instances, err := st.instances(c.ClusterName)
		if err != nil {
			return d, err
		}
		for _, i := range instances {
			if i.Instance.Status != ecs.StatusInactive {
				d.RegisteredContainerInstancesCount++
			}
		}
		tasks, err := st.tasks(c.ClusterName)
		if err != nil {
			return d, err
		}
		for _, t := range tasks {
			switch t.Task.LastStatus {
			case ecs.StatusRunning:
				d.RunningTasksCount++
			case ecs.StatusStopped:
			default:
				d.PendingTasksCount++
			}
		}
		services, err := st.services(c.ClusterName)
		if err != nil {
			return d, err
		}
		for _, s := range services {
			if s.Service.Status == ecs.StatusActive {
				d.ActiveServicesCount++
			}
		}
	}
	if withTags {
		tags, err := st.tags(c.ClusterARN)
		if err != nil {
			return d, err
		}
		d.Tags = tags
	}
	return d, nil
}

func (cp *ControlPlane) listClusters(ctx context.Context, in *ecs.ListClustersRequest) (*ecs.ListClustersResponse, error) {
	var arns []string
	err := cp.view(func(st *state) error {
		clusters, err := scan[ecs.Cluster](st, bucketClusters, "")
		if err != nil {
			return err
		}
		for _, c := range clusters {
			if c.Status == ecs.StatusActive {
				arns = append(arns, c.ClusterARN)
			}
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
	return &ecs.ListClustersResponse{ClusterARNs: p, NextToken: next}, nil
}
