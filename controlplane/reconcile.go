package controlplane

import (
	"context"
	"fmt"
	"math/rand/v2"
	"sort"
	"strings"

	"github.com/ecsd-project/ecsd/wire/ecs"
)

// maxEvents is how many events a service keeps.
const maxEvents = 100

// Reasons the scheduler gives when it stops a service's task.
const (
	reasonScaling  = "Scaling activity initiated by (deployment %s)"
	reasonDraining = "Container instance is being drained; the service scheduler stopped the task"
)

// Reconcile runs one round of what Run does every ReconcileInterval.
func (cp *ControlPlane) Reconcile(ctx context.Context) error {
	return cp.update(ctx, func(st *state) error {
		clusters, err := scan[ecs.Cluster](st, bucketClusters, "")
		if err != nil {
			return err
		}
		for _, c := range clusters {
			if c.Status != ecs.StatusActive {
				continue
			}
			if err := cp.reconcileCluster(st, c.ClusterName); err != nil {
				return fmt.Errorf("reconcile cluster %s: %w", c.ClusterName, err)
			}
			if err := cp.maintainTasks(st, c.ClusterName); err != nil {
				return fmt.Errorf("maintain tasks of cluster %s: %w", c.ClusterName, err)
			}
		}
		return cp.pruneCredentials(st)
	})
}

// maintainTasks re-sends unacknowledged tasks to connected agents,
// refreshes task credentials past half their life, and forgets tasks
// stopped longer than StoppedTaskRetention.
func (cp *ControlPlane) maintainTasks(st *state, cluster string) error {
	instances, err := st.instances(cluster)
	if err != nil {
		return err
	}
	connected := map[string]bool{}
	for _, i := range instances {
		connected[i.Instance.ContainerInstanceARN] = i.Instance.AgentConnected && i.Instance.Status != ecs.StatusInactive
	}
	tasks, err := st.tasks(cluster)
	if err != nil {
		return err
	}
	refreshAt := st.now.Add(cp.cfg.CredentialsTTL / 2)
	for _, t := range tasks {
		if !t.holding() {
			if st.now.Sub(t.Task.StoppedAt.Time) > cp.cfg.StoppedTaskRetention {
				if err := del(st, bucketTasks, t.Cluster+"/"+t.id()); err != nil {
					return err
				}
				if err := del(st, bucketTags, t.Task.TaskARN); err != nil {
					return err
				}
			}
			continue
		}
		refreshed := false
		for _, ic := range []**issuedCredentials{&t.RoleCredentials, &t.ExecutionRoleCredentials} {
			if *ic == nil || (*ic).Expiration.After(refreshAt) {
				continue
			}
			fresh, err := cp.issueCredentials(st, (*ic).RoleARN, (*ic).CredentialsID)
			if err != nil {
				return err
			}
			*ic, refreshed = fresh, true
		}
		if refreshed {
			if err := st.storeTask(t); err != nil {
				return err
			}
		}
		if connected[t.Task.ContainerInstanceARN] && (refreshed || t.pending()) {
			if err := cp.queue(st, t); err != nil {
				return err
			}
		}
	}
	return nil
}

// reconcileCluster brings every service of the cluster toward its desired
// count.
func (cp *ControlPlane) reconcileCluster(st *state, cluster string) error {
	services, err := st.services(cluster)
	if err != nil {
		return err
	}
	for _, svc := range services {
		if svc.Service.Status == ecs.StatusInactive {
			continue
		}
		if err := cp.reconcileService(st, svc); err != nil {
			return fmt.Errorf("service %s: %w", svc.Service.ServiceName, err)
		}
	}
	return nil
}

// reconcileService stops the tasks a service no longer wants (extra ones,
// those of old deployments and those on instances that are not ACTIVE, as
// far as minimumHealthyPercent allows) and starts new ones (as far as
// maximumPercent allows) until desiredCount tasks of the current
// deployment run on ACTIVE instances.
func (cp *ControlPlane) reconcileService(st *state, svc *serviceRecord) error {
	s := &svc.Service
	c, err := st.cluster(svc.Cluster)
	if err != nil {
		return err
	}
	cands, tasks, err := cp.candidates(st, svc.Cluster)
	if err != nil {
		return err
	}
	active := map[string]bool{}
	for _, k := range cands {
		active[k.arn] = true
	}
	primary := &s.Deployments[0]
	td, err := cp.resolveTaskDef(st, primary.TaskDefinition)
	if err != nil {
		return err
	}
	constraints, err := parsePlacement(s.PlacementConstraints, s.PlacementStrategy)
	if err != nil {
		return err
	}
	group := "service:" + s.ServiceName
	d := &demand{
		res:         taskDemand(td, nil),
		requires:    td.RequiresAttributes,
		group:       group,
		constraints: append(constraints, taskDefConstraints(td)...),
		strategies:  s.PlacementStrategy,
	}
	daemon := s.SchedulingStrategy == ecs.SchedulingDaemon

	var live, current, outdated []*taskRecord
	for _, t := range tasks {
		if t.Service != s.ServiceName || !t.live() {
			continue
		}
		live = append(live, t)
		switch {
		case !active[t.Task.ContainerInstanceARN], t.Deployment != primary.ID:
			outdated = append(outdated, t)
		default:
			current = append(current, t)
		}
	}
	desired := int(s.DesiredCount)
	if s.Status != ecs.StatusActive {
		desired = 0
	}
	if daemon && s.Status == ecs.StatusActive {
		desired = 0
		for _, k := range cands {
			probe := *d
			probe.res = resources{}
			probe.constraints = nil
			for _, pc := range d.constraints {
				if !pc.distinct {
					probe.constraints = append(probe.constraints, pc)
				}
			}
			if k.why(&probe) == "" {
				desired++
			}
		}
		s.DesiredCount = int32(desired)
		primary.DesiredCount = int32(desired)
	}
	dc := s.DeploymentConfiguration
	maxTotal := desired * int(*dc.MaximumPercent) / 100
	if maxTotal < desired {
		maxTotal = desired
	}
	minHealthy := (desired*int(*dc.MinimumHealthyPercent) + 99) / 100
	healthy := 0
	for _, t := range live {
		if t.Task.LastStatus == ecs.StatusRunning {
			healthy++
		}
	}

	var stopped []string
	stop := func(t *taskRecord, reason string) error {
		if t.Task.LastStatus == ecs.StatusRunning {
			healthy--
		}
		stopped = append(stopped, t.id())
		return cp.stopTaskRecord(st, t, reason, ecs.StopCodeServiceSchedulerInitiated)
	}
	// Pending tasks go first, then the newest.
	order := func(ts []*taskRecord) {
		sort.SliceStable(ts, func(i, j int) bool {
			ri, rj := ts[i].Task.LastStatus == ecs.StatusRunning, ts[j].Task.LastStatus == ecs.StatusRunning
			if ri != rj {
				return !ri
			}
			return ts[i].Task.CreatedAt.After(ts[j].Task.CreatedAt.Time)
		})
	}

	// Scale in.
	if daemon {
		seen := map[string]bool{}
		var keep []*taskRecord
		for _, t := range current {
			if seen[t.Task.ContainerInstanceARN] {
				if err := stop(t, fmt.Sprintf(reasonScaling, primary.ID)); err != nil {
					return err
				}
				continue
			}
			seen[t.Task.ContainerInstanceARN] = true
			keep = append(keep, t)
		}
		current = keep
	}
	if len(current) > desired {
		order(current)
		for _, t := range current[:len(current)-desired] {
			if err := stop(t, fmt.Sprintf(reasonScaling, primary.ID)); err != nil {
				return err
			}
		}
		current = current[len(current)-desired:]
	}
	// Replace outdated tasks, never going below minimumHealthyPercent.
	order(outdated)
	var remaining []*taskRecord
	for _, t := range outdated {
		switch {
		case !active[t.Task.ContainerInstanceARN] && (t.Task.LastStatus != ecs.StatusRunning || healthy-1 >= minHealthy):
			if err := stop(t, reasonDraining); err != nil {
				return err
			}
		case t.Task.LastStatus != ecs.StatusRunning || healthy-1 >= minHealthy || daemon:
			if err := stop(t, fmt.Sprintf(reasonScaling, primary.ID)); err != nil {
				return err
			}
		default:
			remaining = append(remaining, t)
		}
	}
	// Scale out. maximumPercent bounds the tasks in PENDING or RUNNING,
	// those being stopped included: with 100% a drained or replaced task
	// must have stopped before its replacement starts.
	need := desired - len(current)
	if room := maxTotal - holdingCount(tasks, s.ServiceName); need > room {
		need = room
	}
	var started []string
	var failure string
	if need > 0 {
		tags, err := taskTags(st, nil, s.PropagateTags, td, s.ServiceARN, svc.Cluster, s.ServiceName, s.EnableECSManagedTags)
		if err != nil {
			return err
		}
		spec := &taskSpec{
			td: td, startedBy: primary.ID, group: group, launchType: s.LaunchType,
			enableExecuteCommand: s.EnableExecuteCommand, service: s.ServiceName, deployment: primary.ID, tags: tags,
		}
		if daemon {
			d.constraints = append(d.constraints, constraint{distinct: true})
		}
		rnd := rand.New(rand.NewPCG(uint64(st.now.UnixNano()), 1))
		for range need {
			chosen, failures := place(cands, d, rnd)
			if chosen == nil {
				failure = placementFailure(s.ServiceName, failures)
				break
			}
			chosen.take(d)
			t, err := cp.createTask(st, c, spec, chosen.arn)
			if err != nil {
				return err
			}
			started = append(started, t.id())
		}
	}

	// Events and deployments.
	if len(stopped) > 0 {
		addEvent(st, s, fmt.Sprintf("(service %s) has stopped %d running tasks: %s.", s.ServiceName, len(stopped), taskList(stopped)))
	}
	if len(started) > 0 {
		addEvent(st, s, fmt.Sprintf("(service %s) has started %d tasks: %s.", s.ServiceName, len(started), taskList(started)))
	}
	if failure != "" {
		addEvent(st, s, failure)
	}
	liveByDeployment := map[string]int{}
	runningPrimary := 0
	for _, t := range live {
		if t.live() {
			liveByDeployment[t.Deployment]++
			if t.Deployment == primary.ID && active[t.Task.ContainerInstanceARN] && t.Task.LastStatus == ecs.StatusRunning {
				runningPrimary++
			}
		}
	}
	keep := s.Deployments[:1]
	for _, dep := range s.Deployments[1:] {
		if liveByDeployment[dep.ID] > 0 {
			keep = append(keep, dep)
		}
	}
	s.Deployments = keep
	primary = &s.Deployments[0]
	steady := len(s.Deployments) == 1 && runningPrimary == desired && len(remaining) == 0
	if steady && primary.RolloutState == ecs.RolloutInProgress {
		primary.RolloutState = ecs.RolloutCompleted
		primary.RolloutStateReason = "ECS deployment " + primary.ID + " completed."
		primary.UpdatedAt = ecs.At(st.now)
		addEvent(st, s, fmt.Sprintf("(service %s) has reached a steady state.", s.ServiceName))
	}
	if s.Status == ecs.StatusDraining && !anyHolding(tasks, s.ServiceName) {
		s.Status = ecs.StatusInactive
	}
	return st.putService(svc)
}

// placementFailure is the event ECS logs when it cannot place a task.
func placementFailure(service string, failures []ecs.Failure) string {
	if len(failures) == 0 {
		return fmt.Sprintf("(service %s) was unable to place a task because no container instance met all of its requirements. "+
			"Reason: No Container Instances were found in your cluster.", service)
	}
	reasons := map[string]bool{}
	var list []string
	for _, f := range failures {
		if !reasons[f.Reason] {
			reasons[f.Reason] = true
			list = append(list, f.Reason)
		}
	}
	return fmt.Sprintf("(service %s) was unable to place a task because no container instance met all of its requirements. Reasons: %s",
		service, strings.Join(list, ", "))
}

func taskList(ids []string) string {
	parts := make([]string, len(ids))
	for i, id := range ids {
		parts[i] = "(task " + id + ")"
	}
	return strings.Join(parts, " ")
}

// addEvent adds an event to the service's log, newest first, unless it
// repeats the newest one.
func addEvent(st *state, s *ecs.Service, msg string) {
	if len(s.Events) > 0 && s.Events[0].Message == msg {
		return
	}
	ev := ecs.ServiceEvent{ID: newUUID(), CreatedAt: ecs.At(st.now), Message: msg}
	s.Events = append([]ecs.ServiceEvent{ev}, s.Events...)
	if len(s.Events) > maxEvents {
		s.Events = s.Events[:maxEvents]
	}
}

// countFailure counts a service task that stopped on its own against its
// deployment.
func countFailure(st *state, t *taskRecord) error {
	svc, err := st.service(t.Cluster, t.Service)
	if err != nil {
		return err
	}
	for i := range svc.Service.Deployments {
		if svc.Service.Deployments[i].ID == t.Deployment {
			svc.Service.Deployments[i].FailedTasks++
		}
	}
	return st.putService(svc)
}

// anyHolding reports whether a task of the service has not stopped yet.
func anyHolding(tasks []*taskRecord, service string) bool {
	return holdingCount(tasks, service) > 0
}

// holdingCount is how many tasks of the service have not stopped yet
// (PENDING or RUNNING, whether wanted running or being stopped).
func holdingCount(tasks []*taskRecord, service string) int {
	n := 0
	for _, t := range tasks {
		if t.Service == service && t.holding() {
			n++
		}
	}
	return n
}
