package controlplane

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ecs"
)

func TestStateSurvivesRestart(t *testing.T) {
	h := newHarness(t)
	credsBefore, err := os.ReadFile(filepath.Join(h.dir, "credentials"))
	ok(t, err)
	h.createCluster("c")
	inst := h.registerInstance("c", 2048, 2048, map[string]string{"stack": "prod"})
	h.registerTaskDef("web", 128, func(in *ecs.RegisterTaskDefinitionInput) {
		in.TaskRoleArn = aws.String("arn:aws:iam::000000000000:role/app")
	})
	run, err := h.ecs.RunTask(ctx, &ecs.RunTaskInput{Cluster: aws.String("c"), TaskDefinition: aws.String("web")})
	ok(t, err)
	taskARN := aws.ToString(run.Tasks[0].TaskArn)
	h.report("c", taskARN, "RUNNING")
	_, err = h.ecs.CreateService(ctx, &ecs.CreateServiceInput{Cluster: aws.String("c"), ServiceName: aws.String("svc"),
		TaskDefinition: aws.String("web"), DesiredCount: aws.Int32(1)})
	ok(t, err)
	sent := h.disp.take(inst)
	var roleKey, roleSecret, roleToken string
	for _, task := range sent {
		if task.ARN == taskARN {
			roleKey, roleSecret, roleToken = task.RoleCredentials.AccessKeyID, string(task.RoleCredentials.SecretAccessKey), string(task.RoleCredentials.SessionToken)
		}
	}
	if roleKey == "" {
		t.Fatalf("no role credentials dispatched: %+v", sent)
	}

	h.restart()

	credsAfter, err := os.ReadFile(filepath.Join(h.dir, "credentials"))
	ok(t, err)
	if string(credsAfter) != string(credsBefore) {
		t.Error("admin credentials changed on restart")
	}
	task := h.describeTask("c", taskARN)
	if aws.ToString(task.LastStatus) != "RUNNING" || aws.ToString(task.ContainerInstanceArn) != inst {
		t.Errorf("task after restart: %+v", task)
	}
	ci := h.describeInstance("c", inst)
	if remaining(ci, "MEMORY").IntegerValue != 2048-2*128 || ci.RunningTasksCount != 1 || ci.PendingTasksCount != 1 {
		t.Errorf("instance after restart: %+v", ci)
	}
	if svc := h.describeService("c", "svc"); svc.DesiredCount != 1 || svc.PendingCount != 1 {
		t.Errorf("service after restart: %+v", svc)
	}
	td, err := h.ecs.DescribeTaskDefinition(ctx, &ecs.DescribeTaskDefinitionInput{TaskDefinition: aws.String("web")})
	ok(t, err)
	if td.TaskDefinition.Revision != 1 {
		t.Errorf("task definition after restart: %+v", td.TaskDefinition)
	}
	// The next revision continues the count.
	if arn := h.registerTaskDef("web", 64); arn != "arn:aws:ecs:us-east-1:000000000000:task-definition/web:2" {
		t.Errorf("next revision %s", arn)
	}
	// Issued task credentials still verify.
	_, err = h.client(roleKey, roleSecret, roleToken).ListClusters(ctx, &ecs.ListClustersInput{})
	ok(t, err)
	// The re-registering agent keeps its ARN.
	out, err := h.ecs.RegisterContainerInstance(ctx, &ecs.RegisterContainerInstanceInput{Cluster: aws.String("c"),
		ContainerInstanceArn: aws.String(inst), TotalResources: totalResources(2048, 2048)})
	ok(t, err)
	if aws.ToString(out.ContainerInstance.ContainerInstanceArn) != inst {
		t.Errorf("re-registered as %s", aws.ToString(out.ContainerInstance.ContainerInstanceArn))
	}
}

// A second ecs-local on the same data directory fails instead of hanging.
func TestDataDirLocked(t *testing.T) {
	h := newHarness(t)
	cfg := h.cfg
	_, err := New(cfg)
	if err == nil {
		t.Fatal("second New on the same data dir succeeded")
	}
}
