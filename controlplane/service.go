package controlplane

import (
	"context"
	"crypto/rand"
	"errors"
	"math/big"
	"slices"
	"sort"
	"strings"

	"github.com/ecsd-project/ecsd/wire/ecs"
)

// newDeploymentID returns "ecs-svc/" and 19 random digits, as ECS names
// deployments (and the startedBy of their tasks).
func newDeploymentID() string {
	n, err := rand.Int(rand.Reader, big.NewInt(9e18))
	if err != nil {
		panic(err)
	}
	s := n.String()
	return "ecs-svc/" + strings.Repeat("0", 19-len(s)) + s
}

// resolveService finds a service by name or ARN.
func resolveService(st *state, cluster, ref string) (*serviceRecord, error) {
	name := ref
	if typ, rest, ok := resource(ref); ok && typ == "service" {
		c, n, ok := strings.Cut(rest, "/")
		if !ok {
			n = c // old format: service/NAME
		} else if c != cluster {
			return nil, errNotFound
		}
		name = n
	}
	return st.service(cluster, name)
}

func deploymentDefaults(dc *ecs.DeploymentConfiguration, daemon bool) *ecs.DeploymentConfiguration {
	out := &ecs.DeploymentConfiguration{}
	if dc != nil {
		*out = *dc
	}
	maxPct, minPct := int32(200), int32(100)
	if daemon {
		maxPct, minPct = 100, 0
	}
	if out.MaximumPercent == nil {
		out.MaximumPercent = ptr(maxPct)
	}
	if out.MinimumHealthyPercent == nil {
		out.MinimumHealthyPercent = ptr(minPct)
	}
	if out.DeploymentCircuitBreaker == nil {
		out.DeploymentCircuitBreaker = &ecs.DeploymentCircuitBreaker{}
	}
	return out
}

func validateDeploymentConfiguration(dc *ecs.DeploymentConfiguration) error {
	if *dc.MaximumPercent < 100 && *dc.MinimumHealthyPercent >= 100 {
		return invalidParam("maximumPercent must be at least 100 when minimumHealthyPercent is 100 or more.")
	}
	if *dc.MinimumHealthyPercent < 0 || *dc.MinimumHealthyPercent > 100 || *dc.MaximumPercent < *dc.MinimumHealthyPercent {
		return invalidParam("Invalid deployment configuration: minimumHealthyPercent must be 0 to 100 and not above maximumPercent.")
	}
	return nil
}

func (cp *ControlPlane) createService(ctx context.Context, in *ecs.CreateServiceRequest) (*ecs.CreateServiceResponse, error) {
	if !namePattern.MatchString(in.ServiceName) {
		return nil, invalidParam("Service name should match ^[a-zA-Z0-9_-]{1,255}$.")
	}
	if in.TaskDefinition == "" {
		return nil, invalidParam("TaskDefinition can not be blank.")
	}
	scheduling := in.SchedulingStrategy
	switch scheduling {
	case "":
		scheduling = ecs.SchedulingReplica
	case ecs.SchedulingReplica:
	case ecs.SchedulingDaemon:
		if in.DesiredCount != nil {
			return nil, invalidParam("The daemon scheduling strategy does not support a desired count for services.")
		}
		if len(in.PlacementStrategy) > 0 {
			return nil, invalidParam("The daemon scheduling strategy does not support placement strategies.")
		}
	default:
		return nil, invalidParam("Invalid schedulingStrategy %q.", in.SchedulingStrategy)
	}
	desired := int32(0)
	if in.DesiredCount != nil {
		desired = *in.DesiredCount
	}
	if desired < 0 {
		return nil, invalidParam("desiredCount can not be negative.")
	}
	launchType, err := checkLaunchType(in.LaunchType)
	if err != nil {
		return nil, err
	}
	if dc := in.DeploymentController; dc != nil && dc.Type != ecs.DeploymentControllerECS {
		return nil, apiErr(ecs.ErrUnsupportedFeatureException, "The %s deployment controller is not supported; only ECS.", dc.Type)
	}
	if _, err := parsePlacement(in.PlacementConstraints, in.PlacementStrategy); err != nil {
		return nil, err
	}
	dc := deploymentDefaults(in.DeploymentConfiguration, scheduling == ecs.SchedulingDaemon)
	if err := validateDeploymentConfiguration(dc); err != nil {
		return nil, err
	}
	if err := validateTags(in.Tags); err != nil {
		return nil, err
	}
	propagate := in.PropagateTags
	if propagate == "" {
		propagate = ecs.PropagateNone
	}
	var out ecs.Service
	err = cp.update(ctx, func(st *state) error {
		c, err := st.activeCluster(in.Cluster)
		if err != nil {
			return err
		}
		if old, err := st.service(c.ClusterName, in.ServiceName); err == nil && old.Service.Status != ecs.StatusInactive {
			return invalidParam("Creation of service was not idempotent.")
		} else if err != nil && !errors.Is(err, errNotFound) {
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
		now := ecs.At(st.now)
		svc := &serviceRecord{Cluster: c.ClusterName, Service: ecs.Service{
			ServiceARN:                    cp.serviceARN(c.ClusterName, in.ServiceName),
			ServiceName:                   in.ServiceName,
			ClusterARN:                    c.ClusterARN,
			Status:                        ecs.StatusActive,
			DesiredCount:                  desired,
			LaunchType:                    launchType,
			TaskDefinition:                td.TaskDefinitionARN,
			DeploymentConfiguration:       dc,
			CreatedAt:                     now,
			CreatedBy:                     principal(ctx),
			PlacementConstraints:          in.PlacementConstraints,
			PlacementStrategy:             in.PlacementStrategy,
			SchedulingStrategy:            scheduling,
			DeploymentController:          &ecs.DeploymentController{Type: ecs.DeploymentControllerECS},
			HealthCheckGracePeriodSeconds: in.HealthCheckGracePeriodSeconds,
			EnableECSManagedTags:          in.EnableECSManagedTags != nil && *in.EnableECSManagedTags,
			PropagateTags:                 propagate,
			EnableExecuteCommand:          in.EnableExecuteCommand != nil && *in.EnableExecuteCommand,
			Deployments: []ecs.Deployment{{
				ID: newDeploymentID(), Status: ecs.DeploymentPrimary, TaskDefinition: td.TaskDefinitionARN,
				DesiredCount: desired, CreatedAt: now, UpdatedAt: now, LaunchType: launchType,
				RolloutState: ecs.RolloutInProgress, RolloutStateReason: "ECS deployment in progress.",
			}},
		}}
		if err := st.putService(svc); err != nil {
			return err
		}
		if err := st.addTags(svc.Service.ServiceARN, in.Tags); err != nil {
			return err
		}
		if err := cp.reconcileCluster(st, c.ClusterName); err != nil {
			return err
		}
		if svc, err = st.service(c.ClusterName, in.ServiceName); err != nil {
			return err
		}
		out, err = cp.describeService(st, svc, true)
		return err
	})
	if err != nil {
		return nil, err
	}
	cp.log.Info("service created", keyService, out.ServiceARN, keyCount, out.DesiredCount)
	return &ecs.CreateServiceResponse{Service: &out}, nil
}

func (cp *ControlPlane) updateService(ctx context.Context, in *ecs.UpdateServiceRequest) (*ecs.UpdateServiceResponse, error) {
	if in.DesiredCount != nil && *in.DesiredCount < 0 {
		return nil, invalidParam("desiredCount can not be negative.")
	}
	if in.PlacementConstraints != nil || in.PlacementStrategy != nil {
		if _, err := parsePlacement(in.PlacementConstraints, in.PlacementStrategy); err != nil {
			return nil, err
		}
	}
	var out ecs.Service
	err := cp.update(ctx, func(st *state) error {
		c, err := st.activeCluster(in.Cluster)
		if err != nil {
			return err
		}
		svc, err := resolveService(st, c.ClusterName, in.Service)
		if errors.Is(err, errNotFound) {
			return errServiceNotFound()
		}
		if err != nil {
			return err
		}
		s := &svc.Service
		if s.Status != ecs.StatusActive {
			return errServiceNotActive()
		}
		daemon := s.SchedulingStrategy == ecs.SchedulingDaemon
		if in.DesiredCount != nil {
			if daemon {
				return invalidParam("The daemon scheduling strategy does not support a desired count for services.")
			}
			s.DesiredCount = *in.DesiredCount
		}
		if in.DeploymentConfiguration != nil {
			dc := deploymentDefaults(in.DeploymentConfiguration, daemon)
			if in.DeploymentConfiguration.MaximumPercent == nil {
				dc.MaximumPercent = s.DeploymentConfiguration.MaximumPercent
			}
			if in.DeploymentConfiguration.MinimumHealthyPercent == nil {
				dc.MinimumHealthyPercent = s.DeploymentConfiguration.MinimumHealthyPercent
			}
			if err := validateDeploymentConfiguration(dc); err != nil {
				return err
			}
			s.DeploymentConfiguration = dc
		}
		redeploy := in.ForceNewDeployment != nil && *in.ForceNewDeployment
		if in.TaskDefinition != "" {
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
			redeploy = redeploy || td.TaskDefinitionARN != s.TaskDefinition
			s.TaskDefinition = td.TaskDefinitionARN
		}
		if in.PlacementConstraints != nil {
			s.PlacementConstraints = in.PlacementConstraints
		}
		if in.PlacementStrategy != nil {
			s.PlacementStrategy = in.PlacementStrategy
		}
		if in.HealthCheckGracePeriodSeconds != nil {
			s.HealthCheckGracePeriodSeconds = in.HealthCheckGracePeriodSeconds
		}
		if in.EnableExecuteCommand != nil {
			s.EnableExecuteCommand = *in.EnableExecuteCommand
		}
		if in.EnableECSManagedTags != nil {
			s.EnableECSManagedTags = *in.EnableECSManagedTags
		}
		if in.PropagateTags != "" {
			s.PropagateTags = in.PropagateTags
		}
		now := ecs.At(st.now)
		if redeploy {
			for i := range s.Deployments {
				s.Deployments[i].Status = ecs.DeploymentActive
				s.Deployments[i].DesiredCount = 0
				s.Deployments[i].UpdatedAt = now
			}
			s.Deployments = append([]ecs.Deployment{{
				ID: newDeploymentID(), Status: ecs.DeploymentPrimary, TaskDefinition: s.TaskDefinition,
				CreatedAt: now, UpdatedAt: now, LaunchType: s.LaunchType,
				RolloutState: ecs.RolloutInProgress, RolloutStateReason: "ECS deployment in progress.",
			}}, s.Deployments...)
		}
		s.Deployments[0].DesiredCount = s.DesiredCount
		s.Deployments[0].UpdatedAt = now
		if err := st.putService(svc); err != nil {
			return err
		}
		if err := cp.reconcileCluster(st, c.ClusterName); err != nil {
			return err
		}
		if svc, err = st.service(c.ClusterName, s.ServiceName); err != nil {
			return err
		}
		out, err = cp.describeService(st, svc, false)
		return err
	})
	if err != nil {
		return nil, err
	}
	cp.log.Info("service updated", keyService, out.ServiceARN, keyCount, out.DesiredCount)
	return &ecs.UpdateServiceResponse{Service: &out}, nil
}

func (cp *ControlPlane) deleteService(ctx context.Context, in *ecs.DeleteServiceRequest) (*ecs.DeleteServiceResponse, error) {
	force := in.Force != nil && *in.Force
	var out ecs.Service
	err := cp.update(ctx, func(st *state) error {
		c, err := st.activeCluster(in.Cluster)
		if err != nil {
			return err
		}
		svc, err := resolveService(st, c.ClusterName, in.Service)
		if errors.Is(err, errNotFound) {
			return errServiceNotFound()
		}
		if err != nil {
			return err
		}
		s := &svc.Service
		if s.Status != ecs.StatusActive {
			return errServiceNotActive()
		}
		if s.DesiredCount > 0 && s.SchedulingStrategy != ecs.SchedulingDaemon && !force {
			return invalidParam("The service cannot be stopped while it is scaled above 0.")
		}
		s.Status = ecs.StatusDraining
		s.DesiredCount = 0
		if err := st.putService(svc); err != nil {
			return err
		}
		if err := cp.reconcileCluster(st, c.ClusterName); err != nil {
			return err
		}
		if svc, err = st.service(c.ClusterName, s.ServiceName); err != nil {
			return err
		}
		out, err = cp.describeService(st, svc, false)
		return err
	})
	if err != nil {
		return nil, err
	}
	cp.log.Info("service deleted", keyService, out.ServiceARN)
	return &ecs.DeleteServiceResponse{Service: &out}, nil
}

// describeService fills in the counts of a service and its deployments,
// and its tags if asked for.
func (cp *ControlPlane) describeService(st *state, svc *serviceRecord, withTags bool) (ecs.Service, error) {
	d := svc.Service
	d.Deployments = slices.Clone(d.Deployments)
	tasks, err := st.tasks(svc.Cluster)
	if err != nil {
		return d, err
	}
	for _, t := range tasks {
		if t.Service != svc.Service.ServiceName || !t.live() {
			continue
		}
		running := t.Task.LastStatus == ecs.StatusRunning
		if running {
			d.RunningCount++
		} else {
			d.PendingCount++
		}
		for i := range d.Deployments {
			if d.Deployments[i].ID == t.Deployment {
				if running {
					d.Deployments[i].RunningCount++
				} else {
					d.Deployments[i].PendingCount++
				}
			}
		}
	}
	if withTags {
		if d.Tags, err = st.tags(d.ServiceARN); err != nil {
			return d, err
		}
	}
	return d, nil
}

func (cp *ControlPlane) describeServices(ctx context.Context, in *ecs.DescribeServicesRequest) (*ecs.DescribeServicesResponse, error) {
	if len(in.Services) == 0 || len(in.Services) > 10 {
		return nil, invalidParam("Services must have between 1 and 10 items.")
	}
	out := &ecs.DescribeServicesResponse{Services: []ecs.Service{}, Failures: []ecs.Failure{}}
	err := cp.view(func(st *state) error {
		c, err := st.activeCluster(in.Cluster)
		if err != nil {
			return err
		}
		for _, ref := range in.Services {
			svc, err := resolveService(st, c.ClusterName, ref)
			if errors.Is(err, errNotFound) {
				out.Failures = append(out.Failures, missing(ref, func(id string) string { return cp.serviceARN(c.ClusterName, id) }))
				continue
			}
			if err != nil {
				return err
			}
			d, err := cp.describeService(st, svc, slices.Contains(in.Include, ecs.IncludeTags))
			if err != nil {
				return err
			}
			out.Services = append(out.Services, d)
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	return out, nil
}

func (cp *ControlPlane) listServices(ctx context.Context, in *ecs.ListServicesRequest) (*ecs.ListServicesResponse, error) {
	var arns []string
	err := cp.view(func(st *state) error {
		c, err := st.activeCluster(in.Cluster)
		if err != nil {
			return err
		}
		services, err := st.services(c.ClusterName)
		if err != nil {
			return err
		}
		for _, s := range services {
			switch {
			case s.Service.Status == ecs.StatusInactive,
				in.LaunchType != "" && s.Service.LaunchType != in.LaunchType,
				in.SchedulingStrategy != "" && s.Service.SchedulingStrategy != in.SchedulingStrategy:
				continue
			}
			arns = append(arns, s.Service.ServiceARN)
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
	return &ecs.ListServicesResponse{ServiceARNs: p, NextToken: next}, nil
}
