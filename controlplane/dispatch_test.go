package controlplane

import (
	"errors"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ecs"
	"github.com/ecsd-project/ecsd/wire/acs"
)

func TestAgentHooks(t *testing.T) {
	h := newHarness(t)
	h.createCluster("c")
	inst := h.registerInstance("c", 2048, 2048, nil)
	h.registerTaskDef("t", 64)

	// The agent is away: dispatching fails and the tasks wait.
	h.disp.setFail(true)
	run, err := h.ecs.RunTask(ctx, &ecs.RunTaskInput{Cluster: aws.String("c"), TaskDefinition: aws.String("t"), Count: aws.Int32(2)})
	ok(t, err)
	a, b := aws.ToString(run.Tasks[0].TaskArn), aws.ToString(run.Tasks[1].TaskArn)
	if got := h.cp.PendingFor(inst); len(got) != 2 || got[0].DesiredStatus != "RUNNING" {
		t.Errorf("pending: %+v", got)
	}
	manifest := h.cp.Manifest(inst)
	if len(manifest) != 2 || manifest[0].DesiredStatus != "RUNNING" || manifest[0].TaskClusterARN != "arn:aws:ecs:us-east-1:000000000000:cluster/c" {
		t.Errorf("manifest: %+v", manifest)
	}

	// The agent connects: OnConnect hands it what it missed.
	h.disp.setFail(false)
	h.cp.OnConnect(ctx, inst)
	if sent := h.disp.take(inst); len(sent) != 2 {
		t.Fatalf("re-dispatched: %+v", sent)
	}
	if got := h.cp.PendingFor(inst); len(got) != 0 {
		t.Errorf("still pending after OnConnect: %+v", got)
	}
	if ci := h.describeInstance("c", inst); !ci.AgentConnected {
		t.Error("agentConnected false after OnConnect")
	}
	h.cp.OnConnect(ctx, inst)
	if sent := h.disp.take(inst); len(sent) != 0 {
		t.Errorf("acknowledged tasks re-sent: %+v", sent)
	}

	// A stop while the agent is away reaches it when it is back.
	h.cp.OnDisconnect(inst)
	if ci := h.describeInstance("c", inst); ci.AgentConnected {
		t.Error("agentConnected after OnDisconnect")
	}
	h.disp.setFail(true)
	_, err = h.ecs.StopTask(ctx, &ecs.StopTaskInput{Cluster: aws.String("c"), Task: aws.String(a)})
	ok(t, err)
	if got := h.cp.PendingFor(inst); len(got) != 1 || got[0].ARN != a || got[0].DesiredStatus != "STOPPED" {
		t.Errorf("pending stop: %+v", got)
	}
	h.disp.setFail(false)
	h.cp.OnConnect(ctx, inst)
	if sent := h.disp.take(inst); len(sent) != 1 || sent[0].DesiredStatus != "STOPPED" {
		t.Errorf("stop re-dispatched: %+v", sent)
	}

	// Stop verification: unknown tasks and stopped ones stop, wanted ones stay.
	stop := h.cp.StopVerification(inst, []acs.TaskIdentifier{{TaskARN: a}, {TaskARN: b}, {TaskARN: "arn:aws:ecs:us-east-1:000000000000:task/c/orphan"}})
	if len(stop) != 2 || stop[0].TaskARN != a || stop[1].TaskARN != "arn:aws:ecs:us-east-1:000000000000:task/c/orphan" || stop[0].DesiredStatus != "STOPPED" {
		t.Errorf("stop verification: %+v", stop)
	}
	if status, err := h.cp.InstanceStatus(inst); err != nil || status != "ACTIVE" {
		t.Errorf("instance status %q %v", status, err)
	}
	h.cp.OnConnect(ctx, "arn:aws:ecs:us-east-1:000000000000:container-instance/c/nope")
	if _, err := h.cp.InstanceStatus("arn:aws:ecs:us-east-1:000000000000:container-instance/c/nope"); !errors.Is(err, ErrUnknownInstance) {
		t.Errorf("unknown instance status: %v", err)
	}
}

func TestReconcileRefreshesCredentialsAndForgetsStoppedTasks(t *testing.T) {
	h := newHarness(t)
	h.createCluster("c")
	inst := h.registerInstance("c", 2048, 2048, nil)
	h.registerTaskDef("t", 64, func(in *ecs.RegisterTaskDefinitionInput) {
		in.TaskRoleArn = aws.String("arn:aws:iam::000000000000:role/app")
	})
	run, err := h.ecs.RunTask(ctx, &ecs.RunTaskInput{Cluster: aws.String("c"), TaskDefinition: aws.String("t"), Count: aws.Int32(2)})
	ok(t, err)
	keep, done := aws.ToString(run.Tasks[0].TaskArn), aws.ToString(run.Tasks[1].TaskArn)
	first := map[string]*acs.IAMRoleCredentials{}
	for _, task := range h.disp.take(inst) {
		first[task.ARN] = task.RoleCredentials
	}
	h.cp.OnConnect(ctx, inst)
	h.report("c", keep, "RUNNING")
	h.report("c", done, "STOPPED")

	// Nothing to do yet.
	ok(t, h.cp.Reconcile(ctx))
	if sent := h.disp.take(inst); len(sent) != 0 {
		t.Errorf("reconcile sent %+v", sent)
	}

	h.clock.Advance(4 * time.Hour)
	ok(t, h.cp.Reconcile(ctx))
	sent := h.disp.take(inst)
	if len(sent) != 1 || sent[0].ARN != keep {
		t.Fatalf("refresh sent %+v", sent)
	}
	fresh, old := sent[0].RoleCredentials, first[keep]
	if fresh.CredentialsID != old.CredentialsID || fresh.AccessKeyID == old.AccessKeyID || fresh.Expiration == old.Expiration {
		t.Errorf("refreshed credentials: old %+v new %+v", old, fresh)
	}
	// The stopped task is forgotten once its retention has passed.
	out, err := h.ecs.DescribeTasks(ctx, &ecs.DescribeTasksInput{Cluster: aws.String("c"), Tasks: []string{done, keep}})
	ok(t, err)
	if len(out.Tasks) != 1 || aws.ToString(out.Tasks[0].TaskArn) != keep || len(out.Failures) != 1 {
		t.Errorf("after retention: %+v", out)
	}
}

func TestRunStopsWithContext(t *testing.T) {
	h := newHarness(t, func(c *Config) { c.ReconcileInterval = 10 * time.Millisecond })
	rctx, cancel := contextWithCancel()
	done := make(chan error, 1)
	go func() { done <- h.cp.Run(rctx) }()
	time.Sleep(50 * time.Millisecond)
	cancel()
	select {
	case err := <-done:
		ok(t, err)
	case <-time.After(5 * time.Second):
		t.Fatal("Run did not return after cancel")
	}
}
