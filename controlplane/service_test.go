package controlplane

import (
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ecs"
	"github.com/aws/aws-sdk-go-v2/service/ecs/types"
	"github.com/ecsd-project/ecsd/wire/acs"
)

// serviceTasks lists the live tasks of a service.
func (h *harness) serviceTasks(cluster, service string) []types.Task {
	h.t.Helper()
	out, err := h.ecs.ListTasks(ctx, &ecs.ListTasksInput{Cluster: aws.String(cluster), ServiceName: aws.String(service)})
	ok(h.t, err)
	if len(out.TaskArns) == 0 {
		return nil
	}
	desc, err := h.ecs.DescribeTasks(ctx, &ecs.DescribeTasksInput{Cluster: aws.String(cluster), Tasks: out.TaskArns})
	ok(h.t, err)
	return desc.Tasks
}

// runAll reports every dispatched task that should run as RUNNING, and every
// one that should stop as STOPPED, as an agent would.
func (h *harness) runAll(cluster string) map[string]acs.Task {
	h.t.Helper()
	sent := h.disp.all()
	for arn, t := range sent {
		switch t.DesiredStatus {
		case "RUNNING":
			h.report(cluster, arn, "RUNNING")
		case "STOPPED":
			h.report(cluster, arn, "STOPPED")
		}
	}
	return sent
}

func TestServiceKeepsDesiredCount(t *testing.T) {
	h := newHarness(t)
	h.createCluster("c")
	a := h.registerInstance("c", 2048, 2048, nil)
	b := h.registerInstance("c", 2048, 2048, nil)
	h.registerTaskDef("web", 128)

	out, err := h.ecs.CreateService(ctx, &ecs.CreateServiceInput{Cluster: aws.String("c"), ServiceName: aws.String("web"),
		TaskDefinition: aws.String("web"), DesiredCount: aws.Int32(2)})
	ok(t, err)
	svc := out.Service
	if aws.ToString(svc.ServiceArn) != "arn:aws:ecs:us-east-1:000000000000:service/c/web" || aws.ToString(svc.Status) != "ACTIVE" ||
		svc.DesiredCount != 2 || svc.PendingCount != 2 || len(svc.Deployments) != 1 || svc.SchedulingStrategy != types.SchedulingStrategyReplica ||
		aws.ToInt32(svc.DeploymentConfiguration.MaximumPercent) != 200 || aws.ToInt32(svc.DeploymentConfiguration.MinimumHealthyPercent) != 100 {
		t.Fatalf("created: %+v", svc)
	}
	sent := h.runAll("c")
	if len(sent) != 2 {
		t.Fatalf("dispatched: %v", sent)
	}
	// Spread over both instances.
	on := map[string]bool{}
	for _, task := range h.serviceTasks("c", "web") {
		on[aws.ToString(task.ContainerInstanceArn)] = true
		if aws.ToString(task.Group) != "service:web" || !strings.HasPrefix(aws.ToString(task.StartedBy), "ecs-svc/") {
			t.Errorf("service task: %+v", task)
		}
	}
	if !on[a] || !on[b] {
		t.Errorf("placed on %v", on)
	}
	svc2 := h.describeService("c", "web")
	if svc2.RunningCount != 2 || svc2.PendingCount != 0 || svc2.Deployments[0].RolloutState != types.DeploymentRolloutStateCompleted ||
		!strings.Contains(aws.ToString(svc2.Events[0].Message), "has reached a steady state") {
		t.Errorf("steady: %+v %v", svc2, svc2.Events)
	}

	// A task stops on its own: a replacement starts.
	victim := aws.ToString(h.serviceTasks("c", "web")[0].TaskArn)
	h.report("c", victim, "STOPPED", types.ContainerStateChange{ContainerName: aws.String("app"), Status: aws.String("STOPPED"), ExitCode: aws.Int32(137)})
	tasks := h.serviceTasks("c", "web")
	if len(tasks) != 2 {
		t.Fatalf("after a task stopped: %d tasks", len(tasks))
	}
	sent = h.runAll("c")
	if len(sent) != 1 {
		t.Errorf("replacement dispatched: %v", sent)
	}
	for arn := range sent {
		if arn == victim {
			t.Error("the stopped task was re-sent")
		}
	}
	svc2 = h.describeService("c", "web")
	if svc2.RunningCount != 2 || svc2.Deployments[0].FailedTasks != 1 {
		t.Errorf("after replacement: running %d, failed %d", svc2.RunningCount, svc2.Deployments[0].FailedTasks)
	}

	// Scale in.
	up, err := h.ecs.UpdateService(ctx, &ecs.UpdateServiceInput{Cluster: aws.String("c"), Service: aws.String("web"), DesiredCount: aws.Int32(1)})
	ok(t, err)
	if up.Service.DesiredCount != 1 {
		t.Errorf("update: %+v", up.Service)
	}
	sent = h.runAll("c")
	if len(sent) != 1 {
		t.Fatalf("scale in dispatched: %v", sent)
	}
	for _, task := range sent {
		if task.DesiredStatus != "STOPPED" {
			t.Errorf("scale in sent %s", task.DesiredStatus)
		}
	}
	if n := len(h.serviceTasks("c", "web")); n != 1 {
		t.Errorf("after scale in: %d tasks", n)
	}

	// Delete: only when scaled to zero, unless forced.
	_, err = h.ecs.DeleteService(ctx, &ecs.DeleteServiceInput{Cluster: aws.String("c"), Service: aws.String("web")})
	wantAPIError(t, err, "InvalidParameterException")
	del, err := h.ecs.DeleteService(ctx, &ecs.DeleteServiceInput{Cluster: aws.String("c"), Service: aws.String("web"), Force: aws.Bool(true)})
	ok(t, err)
	if aws.ToString(del.Service.Status) != "DRAINING" {
		t.Errorf("deleted: %+v", del.Service)
	}
	_, err = h.ecs.UpdateService(ctx, &ecs.UpdateServiceInput{Cluster: aws.String("c"), Service: aws.String("web"), DesiredCount: aws.Int32(1)})
	wantAPIError(t, err, "ServiceNotActiveException")
	h.runAll("c")
	if s := h.describeService("c", "web"); aws.ToString(s.Status) != "INACTIVE" {
		t.Errorf("after the last task stopped: %s", aws.ToString(s.Status))
	}
	list, err := h.ecs.ListServices(ctx, &ecs.ListServicesInput{Cluster: aws.String("c")})
	ok(t, err)
	if len(list.ServiceArns) != 0 {
		t.Errorf("list: %v", list.ServiceArns)
	}
	_, err = h.ecs.UpdateService(ctx, &ecs.UpdateServiceInput{Cluster: aws.String("c"), Service: aws.String("nope"), DesiredCount: aws.Int32(1)})
	wantAPIError(t, err, "ServiceNotFoundException")
	desc, err := h.ecs.DescribeServices(ctx, &ecs.DescribeServicesInput{Cluster: aws.String("c"), Services: []string{"nope"}})
	ok(t, err)
	if len(desc.Failures) != 1 || aws.ToString(desc.Failures[0].Reason) != "MISSING" {
		t.Errorf("describe missing: %+v", desc)
	}
	// The name is free again.
	_, err = h.ecs.CreateService(ctx, &ecs.CreateServiceInput{Cluster: aws.String("c"), ServiceName: aws.String("web"),
		TaskDefinition: aws.String("web"), DesiredCount: aws.Int32(0)})
	ok(t, err)
	_, err = h.ecs.CreateService(ctx, &ecs.CreateServiceInput{Cluster: aws.String("c"), ServiceName: aws.String("web"),
		TaskDefinition: aws.String("web"), DesiredCount: aws.Int32(0)})
	wantAPIError(t, err, "InvalidParameterException")
}

func TestServiceWaitsForCapacity(t *testing.T) {
	h := newHarness(t)
	h.createCluster("c")
	h.registerTaskDef("web", 512)
	_, err := h.ecs.CreateService(ctx, &ecs.CreateServiceInput{Cluster: aws.String("c"), ServiceName: aws.String("web"),
		TaskDefinition: aws.String("web"), DesiredCount: aws.Int32(2)})
	ok(t, err)
	svc := h.describeService("c", "web")
	if svc.PendingCount != 0 || !strings.Contains(aws.ToString(svc.Events[0].Message), "was unable to place a task") {
		t.Errorf("no instances: %+v", svc.Events)
	}
	// An instance registers: the tasks that fit start.
	h.registerInstance("c", 1024, 600, nil)
	if n := len(h.serviceTasks("c", "web")); n != 1 {
		t.Errorf("after one small instance: %d tasks", n)
	}
	h.registerInstance("c", 1024, 600, nil)
	if n := len(h.serviceTasks("c", "web")); n != 2 {
		t.Errorf("after two: %d tasks", n)
	}
}

func TestDrainingInstance(t *testing.T) {
	h := newHarness(t)
	h.createCluster("c")
	a := h.registerInstance("c", 2048, 2048, nil)
	b := h.registerInstance("c", 2048, 2048, nil)
	h.registerTaskDef("web", 128)
	_, err := h.ecs.CreateService(ctx, &ecs.CreateServiceInput{Cluster: aws.String("c"), ServiceName: aws.String("web"),
		TaskDefinition: aws.String("web"), DesiredCount: aws.Int32(2)})
	ok(t, err)
	h.runAll("c")
	var onA string
	for _, task := range h.serviceTasks("c", "web") {
		if aws.ToString(task.ContainerInstanceArn) == a {
			onA = aws.ToString(task.TaskArn)
		}
	}
	if onA == "" {
		t.Fatal("no service task on instance a")
	}

	_, err = h.ecs.UpdateContainerInstancesState(ctx, &ecs.UpdateContainerInstancesStateInput{Cluster: aws.String("c"),
		ContainerInstances: []string{a}, Status: types.ContainerInstanceStatusDraining})
	ok(t, err)
	// A replacement starts on b; the task on a keeps running until it does
	// (minimumHealthyPercent 100).
	sentB := h.disp.take(b)
	if len(sentB) != 1 || sentB[0].DesiredStatus != "RUNNING" {
		t.Fatalf("replacement on b: %+v", sentB)
	}
	if sentA := h.disp.take(a); len(sentA) != 0 {
		t.Fatalf("a was sent %+v before the replacement ran", sentA)
	}
	// No new task goes to a draining instance.
	run, err := h.ecs.RunTask(ctx, &ecs.RunTaskInput{Cluster: aws.String("c"), TaskDefinition: aws.String("web"), Count: aws.Int32(4)})
	ok(t, err)
	for _, task := range run.Tasks {
		if aws.ToString(task.ContainerInstanceArn) != b {
			t.Errorf("RunTask placed a task on the draining instance")
		}
	}
	h.disp.take(b)

	h.report("c", sentB[0].ARN, "RUNNING")
	sentA := h.disp.take(a)
	if len(sentA) != 1 || sentA[0].ARN != onA || sentA[0].DesiredStatus != "STOPPED" {
		t.Fatalf("task on the draining instance: %+v", sentA)
	}
	h.report("c", onA, "STOPPED")
	for _, task := range h.serviceTasks("c", "web") {
		if aws.ToString(task.ContainerInstanceArn) != b {
			t.Errorf("service task left on a: %s", aws.ToString(task.TaskArn))
		}
	}
	if svc := h.describeService("c", "web"); svc.RunningCount != 2 {
		t.Errorf("running %d", svc.RunningCount)
	}
	if ci := h.describeInstance("c", a); ci.RunningTasksCount != 0 || ci.PendingTasksCount != 0 {
		t.Errorf("drained instance still has tasks: %+v", ci)
	}
}

func TestServiceDeployment(t *testing.T) {
	h := newHarness(t)
	h.createCluster("c")
	h.registerInstance("c", 4096, 4096, nil)
	h.registerTaskDef("web", 128)
	_, err := h.ecs.CreateService(ctx, &ecs.CreateServiceInput{Cluster: aws.String("c"), ServiceName: aws.String("web"),
		TaskDefinition: aws.String("web"), DesiredCount: aws.Int32(2)})
	ok(t, err)
	h.runAll("c")
	v2 := h.registerTaskDef("web", 256)
	up, err := h.ecs.UpdateService(ctx, &ecs.UpdateServiceInput{Cluster: aws.String("c"), Service: aws.String("web"), TaskDefinition: aws.String("web")})
	ok(t, err)
	if aws.ToString(up.Service.TaskDefinition) != v2 || len(up.Service.Deployments) != 2 || aws.ToString(up.Service.Deployments[0].Status) != "PRIMARY" {
		t.Fatalf("update: %+v", up.Service)
	}
	// Roll until only the new revision runs.
	for i := 0; i < 5; i++ {
		h.runAll("c")
	}
	svc := h.describeService("c", "web")
	if len(svc.Deployments) != 1 || svc.RunningCount != 2 || svc.Deployments[0].RolloutState != types.DeploymentRolloutStateCompleted {
		t.Errorf("after the rollout: %+v", svc)
	}
	for _, task := range h.serviceTasks("c", "web") {
		if aws.ToString(task.TaskDefinitionArn) != v2 {
			t.Errorf("old revision still runs: %s", aws.ToString(task.TaskArn))
		}
	}
}

func TestDaemonService(t *testing.T) {
	h := newHarness(t)
	h.createCluster("c")
	a := h.registerInstance("c", 1024, 1024, nil)
	h.registerTaskDef("agent", 64)
	_, err := h.ecs.CreateService(ctx, &ecs.CreateServiceInput{Cluster: aws.String("c"), ServiceName: aws.String("agent"),
		TaskDefinition: aws.String("agent"), SchedulingStrategy: types.SchedulingStrategyDaemon})
	ok(t, err)
	b := h.registerInstance("c", 1024, 1024, nil)
	on := map[string]int{}
	for _, task := range h.serviceTasks("c", "agent") {
		on[aws.ToString(task.ContainerInstanceArn)]++
	}
	if on[a] != 1 || on[b] != 1 || len(on) != 2 {
		t.Errorf("daemon tasks: %v", on)
	}
	if svc := h.describeService("c", "agent"); svc.DesiredCount != 2 {
		t.Errorf("desired %d", svc.DesiredCount)
	}
}

// TestDrainingWithinDeploymentConfiguration: with minimumHealthyPercent 50
// and maximumPercent 100 the scheduler may stop the task on a draining
// instance first, but starts its replacement only once it has stopped
// (tasks being stopped count toward maximumPercent); a PENDING task on a
// draining instance is stopped at once.
func TestDrainingWithinDeploymentConfiguration(t *testing.T) {
	h := newHarness(t)
	h.createCluster("c")
	a := h.registerInstance("c", 2048, 2048, nil)
	b := h.registerInstance("c", 2048, 2048, nil)
	h.registerTaskDef("web", 128)
	_, err := h.ecs.CreateService(ctx, &ecs.CreateServiceInput{Cluster: aws.String("c"), ServiceName: aws.String("web"),
		TaskDefinition: aws.String("web"), DesiredCount: aws.Int32(2),
		DeploymentConfiguration: &types.DeploymentConfiguration{MinimumHealthyPercent: aws.Int32(50), MaximumPercent: aws.Int32(100)}})
	ok(t, err)
	h.runAll("c")
	var onA string
	for _, task := range h.serviceTasks("c", "web") {
		if aws.ToString(task.ContainerInstanceArn) == a {
			onA = aws.ToString(task.TaskArn)
		}
	}
	if onA == "" {
		t.Fatal("no service task on instance a")
	}

	_, err = h.ecs.UpdateContainerInstancesState(ctx, &ecs.UpdateContainerInstancesStateInput{Cluster: aws.String("c"),
		ContainerInstances: []string{a}, Status: types.ContainerInstanceStatusDraining})
	ok(t, err)
	sentA := h.disp.take(a)
	if len(sentA) != 1 || sentA[0].ARN != onA || sentA[0].DesiredStatus != "STOPPED" {
		t.Fatalf("task on the draining instance: %+v", sentA)
	}
	if sentB := h.disp.take(b); len(sentB) != 0 {
		t.Fatalf("a replacement started while the drained task still runs (maximumPercent 100): %+v", sentB)
	}
	// A reconcile round changes nothing while the task is stopping.
	ok(t, h.cp.Reconcile(ctx))
	if sentB := h.disp.take(b); len(sentB) != 0 {
		t.Fatalf("a replacement started on a reconcile round while the drained task still runs: %+v", sentB)
	}
	if svc := h.describeService("c", "web"); svc.RunningCount != 1 {
		t.Errorf("running %d while draining, want 1 (minimumHealthyPercent 50)", svc.RunningCount)
	}

	h.report("c", onA, "STOPPED")
	sentB := h.disp.take(b)
	if len(sentB) != 1 || sentB[0].DesiredStatus != "RUNNING" {
		t.Fatalf("replacement on b after the drained task stopped: %+v", sentB)
	}
	if tk := h.describeTask("c", onA); tk.StopCode != types.TaskStopCodeServiceSchedulerInitiated ||
		!strings.Contains(aws.ToString(tk.StoppedReason), "drained") {
		t.Errorf("drained task: stop code %s, reason %q", tk.StopCode, aws.ToString(tk.StoppedReason))
	}
	h.report("c", sentB[0].ARN, "RUNNING")
	if svc := h.describeService("c", "web"); svc.RunningCount != 2 {
		t.Errorf("running %d after the drain, want 2", svc.RunningCount)
	}

	// Back to ACTIVE, then drain again while a task is still PENDING there:
	// it is stopped at once, before its agent ever runs it.
	_, err = h.ecs.UpdateContainerInstancesState(ctx, &ecs.UpdateContainerInstancesStateInput{Cluster: aws.String("c"),
		ContainerInstances: []string{a}, Status: types.ContainerInstanceStatusActive})
	ok(t, err)
	_, err = h.ecs.UpdateService(ctx, &ecs.UpdateServiceInput{Cluster: aws.String("c"), Service: aws.String("web"), DesiredCount: aws.Int32(3)})
	ok(t, err)
	sentA = h.disp.take(a)
	if len(sentA) != 1 || sentA[0].DesiredStatus != "RUNNING" {
		t.Fatalf("third task on a: %+v", sentA)
	}
	_, err = h.ecs.UpdateContainerInstancesState(ctx, &ecs.UpdateContainerInstancesStateInput{Cluster: aws.String("c"),
		ContainerInstances: []string{a}, Status: types.ContainerInstanceStatusDraining})
	ok(t, err)
	if tk := h.describeTask("c", sentA[0].ARN); aws.ToString(tk.DesiredStatus) != "STOPPED" {
		t.Errorf("pending task on the draining instance is wanted %s", aws.ToString(tk.DesiredStatus))
	}
}
