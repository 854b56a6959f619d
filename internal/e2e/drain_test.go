package e2e

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ecs"
	ecstypes "github.com/aws/aws-sdk-go-v2/service/ecs/types"

	"github.com/ecsd-project/ecsd/agent"
	"github.com/ecsd-project/ecsd/internal/testenv"
	"github.com/ecsd-project/ecsd/runtime"
)

// TestDrainingMovesServiceTasks: two hosts (two ecsd on one containerd, in
// their own containerd namespaces and CNI bridges) in one cluster run a
// service of 3 web tasks; the first host is set to DRAINING through the
// ECS API. ecs-local starts replacements on the second host and, with the
// default deployment configuration (minimumHealthyPercent 100), stops the
// drained tasks only once they run, so fewer than 3 never run; the drained
// host ends with no task and no container, the 3 tasks run on the second
// host and serve through its mapped ports, and RunTask no longer places on
// the drained host.
func TestDrainingMovesServiceTasks(t *testing.T) {
	w := newWorld(t)
	// Stopped tasks' containers are removed soon, so that "gone from the
	// drained host" can be seen in containerd.
	w.tuneAgent = func(c *agent.Config) { c.Engine.CleanupWait = time.Second }
	const cluster = "drain"
	w.registerHost(cluster)
	w.startEcsd(cluster)
	a := w.primary()
	a.arn = w.arn
	b := w.addHost(cluster)
	if a.arn == b.arn {
		t.Fatalf("both hosts registered as %s", a.arn)
	}
	ctx := context.Background()

	// A web server on a dynamic host port: any number fit on one host.
	_, err := w.ecs.RegisterTaskDefinition(ctx, &ecs.RegisterTaskDefinitionInput{
		Family: aws.String("drain-web"), NetworkMode: ecstypes.NetworkModeBridge,
		RequiresCompatibilities: []ecstypes.Compatibility{ecstypes.CompatibilityExternal},
		ContainerDefinitions: []ecstypes.ContainerDefinition{{
			Name: aws.String("web"), Image: aws.String(w.refs["health"]), Memory: aws.Int32(32), Essential: aws.Bool(true),
			PortMappings: []ecstypes.PortMapping{{ContainerPort: aws.Int32(8080), HostPort: aws.Int32(0), Protocol: ecstypes.TransportProtocolTcp}},
			// httpd as PID 1 ignores SIGTERM: do not wait the agent's 5 s.
			StopTimeout: aws.Int32(1),
		}},
	})
	if err != nil {
		t.Fatal(err)
	}
	const desired = 3
	if _, err := w.ecs.CreateService(ctx, &ecs.CreateServiceInput{Cluster: aws.String(cluster), ServiceName: aws.String("web"),
		TaskDefinition: aws.String("drain-web"), DesiredCount: aws.Int32(desired)}); err != nil {
		t.Fatal(err)
	}
	before := w.awaitRunningCount(cluster, desired, nil)
	var onA []string
	for _, arn := range before {
		if aws.ToString(w.describeTask(cluster, arn).ContainerInstanceArn) == a.arn {
			onA = append(onA, arn)
		}
	}
	// Placement spreads a service over instances by default.
	if len(onA) == 0 || len(onA) == desired {
		t.Fatalf("%d of %d service tasks on the first host; want them spread", len(onA), desired)
	}
	// Each ecsd sees only its own namespace: restarting the first one
	// (recovery lists containerd's containers and stops those it does not
	// know) leaves the second host's tasks alone.
	rtA, rtB := a.runtime(), b.runtime()
	checkNamespaces := func(when string) {
		t.Helper()
		if n := countRunning(t, rtA); n != len(onA) {
			t.Fatalf("%s: %d containers run in the first host's namespace, want %d", when, n, len(onA))
		}
		if n := countRunning(t, rtB); n != desired-len(onA) {
			t.Fatalf("%s: %d containers run in the second host's namespace, want %d", when, n, desired-len(onA))
		}
	}
	checkNamespaces("before a restart")
	w.stopEcsd()
	w.startEcsd(cluster)
	if w.arn != a.arn {
		t.Fatalf("container instance changed across restart: %s → %s", a.arn, w.arn)
	}
	checkNamespaces("after the first host's ecsd restarted")
	w.awaitRunningCount(cluster, desired, func(arns []string) bool {
		return slices.Equal(slices.Sorted(slices.Values(arns)), slices.Sorted(slices.Values(before)))
	})

	out, err := w.ecs.UpdateContainerInstancesState(ctx, &ecs.UpdateContainerInstancesStateInput{Cluster: aws.String(cluster),
		ContainerInstances: []string{a.arn}, Status: ecstypes.ContainerInstanceStatusDraining})
	if err != nil {
		t.Fatal(err)
	}
	if len(out.ContainerInstances) != 1 || aws.ToString(out.ContainerInstances[0].Status) != "DRAINING" {
		t.Fatalf("UpdateContainerInstancesState: %+v %+v", out.ContainerInstances, out.Failures)
	}

	// Watch the move through the ECS API: never fewer than desired
	// RUNNING (minimumHealthyPercent 100), until desired run, all on b.
	deadline := time.Now().Add(90 * time.Second)
	var after []ecstypes.Task
	for {
		running := w.serviceTasks(cluster, "web", "RUNNING")
		if len(running) < desired {
			t.Fatalf("%d tasks RUNNING during the drain, below minimumHealthyPercent 100 of %d", len(running), desired)
		}
		allOnB := len(running) == desired
		for _, tk := range running {
			if aws.ToString(tk.ContainerInstanceArn) != b.arn {
				allOnB = false
			}
		}
		if allOnB {
			after = running
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("after 90s: %d tasks RUNNING, not %d all on the second host", len(running), desired)
		}
		time.Sleep(100 * time.Millisecond)
	}
	for _, arn := range onA {
		tk := w.awaitTask(cluster, arn, "STOPPED")
		if tk.StopCode != ecstypes.TaskStopCodeServiceSchedulerInitiated || !strings.Contains(aws.ToString(tk.StoppedReason), "drained") {
			t.Errorf("drained task %s: stop code %s, reason %q", arn, tk.StopCode, aws.ToString(tk.StoppedReason))
		}
	}
	for _, tk := range after {
		hp := aws.ToInt32(tk.Containers[0].NetworkBindings[0].HostPort)
		if int(hp) < b.ports[0] || int(hp) > b.ports[1] {
			t.Errorf("task %s on host port %d, outside the second host's range %v", aws.ToString(tk.TaskArn), hp, b.ports)
		}
		if page := httpGet(t, fmt.Sprintf("http://127.0.0.1:%d/", hp)); !strings.Contains(page, testenv.HealthPage) {
			t.Errorf("page through host port %d: %q", hp, page)
		}
	}

	// Containerd agrees: the drained host's namespace empties (stopped
	// containers are removed after CleanupWait), the second host's runs
	// the service.
	for deadline := time.Now().Add(30 * time.Second); ; time.Sleep(200 * time.Millisecond) {
		cs, err := rtA.List(ctx)
		if err != nil {
			t.Fatal(err)
		}
		if len(cs) == 0 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("containers left in the drained host's namespace: %+v", cs)
		}
	}
	if n := countRunning(t, rtB); n != desired {
		t.Errorf("%d containers run in the second host's namespace, want %d", n, desired)
	}
	ci := w.containerInstance(cluster, a.arn)
	if aws.ToString(ci.Status) != "DRAINING" || ci.RunningTasksCount != 0 || ci.PendingTasksCount != 0 {
		t.Errorf("drained instance: status %s, running %d, pending %d", aws.ToString(ci.Status), ci.RunningTasksCount, ci.PendingTasksCount)
	}

	// RunTask places only on the host that is still ACTIVE.
	run, err := w.ecs.RunTask(ctx, &ecs.RunTaskInput{Cluster: aws.String(cluster), TaskDefinition: aws.String("drain-web"), Count: aws.Int32(2)})
	if err != nil {
		t.Fatal(err)
	}
	if len(run.Tasks) != 2 || len(run.Failures) != 0 {
		t.Fatalf("RunTask: %d tasks, failures %+v", len(run.Tasks), run.Failures)
	}
	for _, tk := range run.Tasks {
		if aws.ToString(tk.ContainerInstanceArn) != b.arn {
			t.Errorf("RunTask placed %s on %s, not the active host", aws.ToString(tk.TaskArn), aws.ToString(tk.ContainerInstanceArn))
		}
	}
	for _, tk := range run.Tasks {
		arn := aws.ToString(tk.TaskArn)
		w.awaitTask(cluster, arn, "RUNNING")
		if _, err := w.ecs.StopTask(ctx, &ecs.StopTaskInput{Cluster: aws.String(cluster), Task: aws.String(arn)}); err != nil {
			t.Fatal(err)
		}
		w.awaitTask(cluster, arn, "STOPPED")
	}

	// Scale the service away so that the hosts end with nothing running.
	if _, err := w.ecs.DeleteService(ctx, &ecs.DeleteServiceInput{Cluster: aws.String(cluster), Service: aws.String("web"), Force: aws.Bool(true)}); err != nil {
		t.Fatal(err)
	}
	for _, tk := range after {
		w.awaitTask(cluster, aws.ToString(tk.TaskArn), "STOPPED")
	}
}

// serviceTasks describes the tasks of a service whose last status is
// status, whichever their desired status (a task being stopped is still
// RUNNING until its agent says otherwise). Tasks wanted RUNNING are listed
// first: a task only ever moves from there to wanted STOPPED, so none that
// existed before the call is missed.
func (w *world) serviceTasks(cluster, service, status string) []ecstypes.Task {
	w.t.Helper()
	ctx := context.Background()
	var arns []string
	for _, ds := range []ecstypes.DesiredStatus{ecstypes.DesiredStatusRunning, ecstypes.DesiredStatusStopped} {
		out, err := w.ecs.ListTasks(ctx, &ecs.ListTasksInput{Cluster: aws.String(cluster), ServiceName: aws.String(service), DesiredStatus: ds})
		if err != nil {
			w.t.Fatal(err)
		}
		for _, a := range out.TaskArns {
			if !slices.Contains(arns, a) {
				arns = append(arns, a)
			}
		}
	}
	if len(arns) == 0 {
		return nil
	}
	d, err := w.ecs.DescribeTasks(ctx, &ecs.DescribeTasksInput{Cluster: aws.String(cluster), Tasks: arns})
	if err != nil {
		w.t.Fatal(err)
	}
	return slices.DeleteFunc(d.Tasks, func(tk ecstypes.Task) bool { return aws.ToString(tk.LastStatus) != status })
}

// countRunning counts the running containers of a runtime's namespace.
func countRunning(t *testing.T, rt *runtime.Runtime) int {
	t.Helper()
	cs, err := rt.List(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	n := 0
	for _, c := range cs {
		if c.Status == runtime.StatusRunning {
			n++
		}
	}
	return n
}
