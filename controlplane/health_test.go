package controlplane

import (
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	sdkecs "github.com/aws/aws-sdk-go-v2/service/ecs"
	"github.com/aws/aws-sdk-go-v2/service/ecs/types"

	"github.com/ecsd-project/ecsd/wire/ecs"
	"github.com/ecsd-project/ecsd/wire/tcs"
)

func TestTaskHealth(t *testing.T) {
	no := false
	td := &ecs.TaskDefinition{ContainerDefinitions: []ecs.ContainerDefinition{{Name: "web"}, {Name: "db"}, {Name: "side", Essential: &no}}}
	c := func(pairs ...string) []ecs.Container {
		var out []ecs.Container
		for i := 0; i < len(pairs); i += 2 {
			out = append(out, ecs.Container{Name: pairs[i], HealthStatus: pairs[i+1]})
		}
		return out
	}
	for _, tc := range []struct {
		containers []ecs.Container
		want       string
	}{
		{c("web", "HEALTHY", "db", "HEALTHY"), "HEALTHY"},
		{c("web", "HEALTHY", "db", "UNKNOWN"), "UNKNOWN"},
		{c("web", "HEALTHY", "db", "UNHEALTHY"), "UNHEALTHY"},
		{c("web", "HEALTHY", "db", ""), "HEALTHY"},            // db has no health check
		{c("web", "HEALTHY", "side", "UNHEALTHY"), "HEALTHY"}, // side is not essential
		{c("web", "", "db", ""), "UNKNOWN"},                   // nothing checked
		{c("web", "UNHEALTHY", "db", "HEALTHY"), "UNHEALTHY"},
	} {
		if got := taskHealth(tc.containers, td); got != tc.want {
			t.Errorf("%+v: got %s, want %s", tc.containers, got, tc.want)
		}
	}
}

// TestRecordHealth: health published by the task's own instance reaches
// DescribeTasks; the same report from another instance is ignored.
func TestRecordHealth(t *testing.T) {
	h := newHarness(t)
	h.createCluster("c")
	inst := h.registerInstance("c", 1024, 1024, nil)
	other := h.registerInstance("c", 1024, 1024, nil)
	h.registerTaskDef("checked", 64, func(in *sdkecs.RegisterTaskDefinitionInput) {
		in.ContainerDefinitions[0].HealthCheck = &types.HealthCheck{Command: []string{"CMD", "true"}}
	})
	out, err := h.ecs.RunTask(ctx, &sdkecs.RunTaskInput{Cluster: aws.String("c"), TaskDefinition: aws.String("checked")})
	ok(t, err)
	task := out.Tasks[0]
	arn, on := aws.ToString(task.TaskArn), aws.ToString(task.ContainerInstanceArn)
	if on == other {
		inst, other = other, inst
	}
	if on != inst {
		t.Fatalf("task placed on %s", on)
	}
	report := []tcs.TaskHealth{{TaskARN: arn, Containers: []tcs.ContainerHealth{{ContainerName: "app", HealthStatus: "HEALTHY"}}}}
	ok(t, h.cp.RecordHealth(ctx, other, report))
	if got := h.describeTask("c", arn); got.HealthStatus != types.HealthStatusUnknown {
		t.Errorf("another instance's report was taken: %s", got.HealthStatus)
	}
	ok(t, h.cp.RecordHealth(ctx, inst, report))
	if got := h.describeTask("c", arn); got.HealthStatus != types.HealthStatusHealthy || got.Containers[0].HealthStatus != types.HealthStatusHealthy {
		t.Errorf("health not recorded: task %s, container %s", got.HealthStatus, got.Containers[0].HealthStatus)
	}
}
