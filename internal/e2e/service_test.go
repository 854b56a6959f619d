package e2e

import (
	"context"
	"net"
	"net/http"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ecs"
	ecstypes "github.com/aws/aws-sdk-go-v2/service/ecs/types"

	"github.com/ecsd-project/ecsd/controlplane"
	"github.com/ecsd-project/ecsd/runtime"
)

// TestServiceReplacesAKilledTask: a service of 3 tasks runs on ecsd; one
// container is killed by hand behind ecsd's back; ecsd reports the task
// STOPPED and ecs-local starts a replacement, back to 3 running.
func TestServiceReplacesAKilledTask(t *testing.T) {
	w := newWorld(t)
	const cluster = "svc"
	w.registerHost(cluster)
	w.startEcsd(cluster)
	ctx := context.Background()
	w.registerSleeper("svc-sleeper")
	if _, err := w.ecs.CreateService(ctx, &ecs.CreateServiceInput{Cluster: aws.String(cluster), ServiceName: aws.String("sleepers"),
		TaskDefinition: aws.String("svc-sleeper"), DesiredCount: aws.Int32(3)}); err != nil {
		t.Fatal(err)
	}
	running := w.awaitRunningCount(cluster, 3, nil)

	// Kill one task's container with containerd directly.
	victim := running[0]
	tk := w.describeTask(cluster, victim)
	rt, err := runtime.New(ctx, runtime.Config{Address: w.ctd.Address, StateDir: t.TempDir()})
	if err != nil {
		t.Fatal(err)
	}
	defer rt.Close()
	if err := rt.Stop(ctx, aws.ToString(tk.Containers[0].RuntimeId), 0); err != nil {
		t.Fatal(err)
	}
	w.awaitTask(cluster, victim, "STOPPED")
	w.awaitRunningCount(cluster, 3, func(arns []string) bool {
		for _, a := range arns {
			if a == victim {
				return false
			}
		}
		return true
	})
}

// TestECSLocalRestartMidRun: ecs-local goes away while a task runs and
// comes back from its data directory on the same address; ecsd reconnects,
// the task is still RUNNING, and its stop arrives.
func TestECSLocalRestartMidRun(t *testing.T) {
	w := newWorld(t)
	const cluster = "cprestart"
	w.registerHost(cluster)
	w.startEcsd(cluster)
	ctx := context.Background()
	w.registerSleeper("cp-sleeper")
	arn := w.runTask(cluster, "cp-sleeper")
	w.awaitTask(cluster, arn, "RUNNING")

	w.restartECSLocal()
	tk := w.describeTask(cluster, arn)
	if aws.ToString(tk.LastStatus) != "RUNNING" {
		t.Fatalf("after the control plane restarted the task is %s", aws.ToString(tk.LastStatus))
	}
	if _, err := w.ecs.StopTask(ctx, &ecs.StopTaskInput{Cluster: aws.String(cluster), Task: aws.String(arn)}); err != nil {
		t.Fatal(err)
	}
	w.awaitTask(cluster, arn, "STOPPED")
}

func (w *world) registerSleeper(family string) {
	w.t.Helper()
	_, err := w.ecs.RegisterTaskDefinition(context.Background(), &ecs.RegisterTaskDefinitionInput{
		Family: aws.String(family),
		ContainerDefinitions: []ecstypes.ContainerDefinition{{
			Name: aws.String("main"), Image: aws.String(w.refs["shell"]), Memory: aws.Int32(16),
			Command: []string{"sh", "-c", "trap 'exit 0' TERM; sleep 3600 & wait"},
		}},
	})
	if err != nil {
		w.t.Fatal(err)
	}
}

// awaitRunningCount waits until n tasks of the cluster are RUNNING (and
// accept, when given, agrees) and returns their ARNs.
func (w *world) awaitRunningCount(cluster string, n int, accept func([]string) bool) []string {
	w.t.Helper()
	deadline := time.Now().Add(90 * time.Second)
	for {
		out, err := w.ecs.ListTasks(context.Background(), &ecs.ListTasksInput{Cluster: aws.String(cluster), DesiredStatus: ecstypes.DesiredStatusRunning})
		if err != nil {
			w.t.Fatal(err)
		}
		var running []string
		if len(out.TaskArns) > 0 {
			d, err := w.ecs.DescribeTasks(context.Background(), &ecs.DescribeTasksInput{Cluster: aws.String(cluster), Tasks: out.TaskArns})
			if err != nil {
				w.t.Fatal(err)
			}
			for _, tk := range d.Tasks {
				if aws.ToString(tk.LastStatus) == "RUNNING" {
					running = append(running, aws.ToString(tk.TaskArn))
				}
			}
		}
		if len(running) == n && (accept == nil || accept(running)) {
			return running
		}
		if time.Now().After(deadline) {
			w.t.Fatalf("%d tasks RUNNING, want %d", len(running), n)
		}
		time.Sleep(200 * time.Millisecond)
	}
}

// restartECSLocal stops ecs-local and starts a new one from the same data
// directory on the same address.
func (w *world) restartECSLocal() {
	t := w.t
	addr := w.srv.Listener.Addr().String()
	w.cpStop()
	local, err := controlplane.NewLocal(controlplane.Config{DataDir: w.cpDir, Region: region,
		Log: testLog(t).With("side", "ecs-local-2"), ReconcileInterval: 500 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	var ln net.Listener
	deadline := time.Now().Add(10 * time.Second)
	for {
		ln, err = net.Listen("tcp", addr)
		if err == nil || time.Now().After(deadline) {
			break
		}
		time.Sleep(50 * time.Millisecond)
	}
	if err != nil {
		t.Fatalf("listen again on %s: %v", addr, err)
	}
	w.startECSLocal(local, ln)
}

var _ http.Handler = (*controlplane.Local)(nil)
