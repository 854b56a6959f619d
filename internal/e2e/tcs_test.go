package e2e

import (
	"context"
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ecs"
	ecstypes "github.com/aws/aws-sdk-go-v2/service/ecs/types"

	"github.com/ecsd-project/ecsd/agent"
	"github.com/ecsd-project/ecsd/controlplane/tcsserver"
	"github.com/ecsd-project/ecsd/wire/tcs"
)

// TestTelemetry: ecsd publishes over TCS to ecs-local, every frame signed
// with its instance credentials: the metrics of a running task's container
// (CPU and memory from its cgroup), its health as the health check sees
// it, and the instance status; the status page shows them, and
// DescribeTasks the health.
func TestTelemetry(t *testing.T) {
	w := newWorld(t)
	const cluster = "telemetry"
	w.registerHost(cluster)
	w.tuneAgent = func(c *agent.Config) {
		c.TCS.PublishInterval = time.Second
		c.TCS.SampleInterval = 200 * time.Millisecond
	}
	w.startEcsd(cluster)

	_, err := w.ecs.RegisterTaskDefinition(context.Background(), &ecs.RegisterTaskDefinitionInput{
		Family: aws.String("telemetry-web"),
		ContainerDefinitions: []ecstypes.ContainerDefinition{{
			Name: aws.String("web"), Image: aws.String(w.refs["health"]), Memory: aws.Int32(32), Essential: aws.Bool(true),
			HealthCheck: &ecstypes.HealthCheck{Command: []string{"CMD-SHELL", "test -f /tmp/healthy"},
				Interval: aws.Int32(5), Timeout: aws.Int32(2), Retries: aws.Int32(3)},
		}},
	})
	if err != nil {
		t.Fatal(err)
	}
	arn := w.runTask(cluster, "telemetry-web")
	w.awaitTask(cluster, arn, "RUNNING")

	var cm *tcs.ContainerMetric
	var health *tcs.ContainerHealth
	var got tcsserver.Telemetry
	deadline := time.Now().Add(60 * time.Second)
	for cm == nil || health == nil || health.HealthStatus != tcs.HealthHealthy || got.InstanceStatus == nil {
		if time.Now().After(deadline) {
			b, _ := json.MarshalIndent(got, "", " ")
			t.Fatalf("telemetry after 60s: %s", b)
		}
		time.Sleep(200 * time.Millisecond)
		got, _ = w.local.TCS.Latest(w.arn)
		cm, health = nil, nil
		for _, req := range got.Metrics {
			for _, tm := range req.TaskMetrics {
				for i := range tm.ContainerMetrics {
					if tm.TaskARN == arn && tm.ContainerMetrics[i].ContainerName == "web" {
						cm = &tm.ContainerMetrics[i]
					}
				}
			}
		}
		for _, req := range got.Health {
			for _, th := range req.Tasks {
				for i := range th.Containers {
					if th.TaskARN == arn && th.Containers[i].ContainerName == "web" {
						health = &th.Containers[i]
					}
				}
			}
		}
	}
	if !got.Connected || got.Principal == "" || got.Cluster != cluster {
		t.Errorf("session %+v", got)
	}
	if c := cm.CPUStatsSet; c == nil || c.SampleCount < 2 || c.Min < 0 || c.Max < c.Min {
		t.Errorf("cpu stats %+v", c)
	}
	if m := cm.MemoryStatsSet; m == nil || m.SampleCount < 2 || m.Max <= 0 {
		t.Errorf("memory stats %+v, want a usage above 0 MiB", m)
	}
	if !strings.Contains(cm.ContainerARN, ":container/") {
		t.Errorf("container arn %q", cm.ContainerARN)
	}
	if health.StatusSince.IsZero() {
		t.Errorf("health %+v has no statusSince", health)
	}
	st := got.InstanceStatus.Statuses
	if len(st) != 1 || st[0].Type != tcs.InstanceStatusContainerRuntime || st[0].Status != tcs.InstanceStatusOK {
		t.Errorf("instance status %+v", st)
	}

	// ECS shows the published health in DescribeTasks (ecs-local records
	// it just after it keeps the message).
	for {
		tk := w.describeTask(cluster, arn)
		if tk.HealthStatus == ecstypes.HealthStatusHealthy && len(tk.Containers) == 1 && tk.Containers[0].HealthStatus == ecstypes.HealthStatusHealthy {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("DescribeTasks health: task %s, containers %+v", tk.HealthStatus, tk.Containers)
		}
		time.Sleep(50 * time.Millisecond)
	}

	page := httpGet(t, w.srv.URL+"/status/telemetry")
	if !strings.Contains(page, w.arn) || !strings.Contains(page, arn) {
		t.Errorf("status page lacks the instance or the task:\n%.2000s", page)
	}
}
