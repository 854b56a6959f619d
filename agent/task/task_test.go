package task

import (
	"encoding/json"
	"errors"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/ecsd-project/ecsd/wire/acs"
)

func ptr[T any](v T) *T { return &v }

func mkTask(t *testing.T, containers ...acs.Container) *Task {
	t.Helper()
	tk, err := FromACS("arn:aws:ecs:us-east-1:1:cluster/c", acs.Task{
		ARN: "arn:aws:ecs:us-east-1:1:task/c/abc", Family: "f", Version: "1", DesiredStatus: "RUNNING",
		Containers:      containers,
		RoleCredentials: &acs.IAMRoleCredentials{CredentialsID: "cid", AccessKeyID: "AKIA", SecretAccessKey: "secret"},
	})
	if err != nil {
		t.Fatal(err)
	}
	return tk
}

func ctr(name string, deps ...acs.ContainerDependency) acs.Container {
	return acs.Container{Name: name, Image: "busybox", DependsOn: deps}
}

func dep(name, cond string) acs.ContainerDependency {
	return acs.ContainerDependency{ContainerName: name, Condition: cond}
}

func stepsOf(steps []Step) []string {
	var out []string
	for _, s := range steps {
		out = append(out, s.Container+":"+s.Action.String())
	}
	return out
}

func TestFromACSRejects(t *testing.T) {
	for name, task := range map[string]acs.Task{
		"no arn":            {Containers: []acs.Container{ctr("a")}},
		"no containers":     {ARN: "x"},
		"unnamed":           {ARN: "x", Containers: []acs.Container{{Image: "i"}}},
		"duplicate names":   {ARN: "x", Containers: []acs.Container{ctr("a"), ctr("a")}},
		"no image":          {ARN: "x", Containers: []acs.Container{{Name: "a"}}},
		"unknown dep":       {ARN: "x", Containers: []acs.Container{ctr("a", dep("b", "START"))}},
		"bad condition":     {ARN: "x", Containers: []acs.Container{ctr("a", dep("b", "SOON")), ctr("b")}},
		"cycle":             {ARN: "x", Containers: []acs.Container{ctr("a", dep("b", "START")), ctr("b", dep("a", "START"))}},
		"healthy w/o check": {ARN: "x", Containers: []acs.Container{ctr("a", dep("b", "HEALTHY")), ctr("b")}},
		"bad desired":       {ARN: "x", DesiredStatus: "PAUSED", Containers: []acs.Container{ctr("a")}},
	} {
		if _, err := FromACS("c", task); !errors.Is(err, ErrInvalidTask) {
			t.Errorf("%s: err = %v", name, err)
		}
	}
}

func TestFromACSDropsSecrets(t *testing.T) {
	tk := mkTask(t, ctr("a"))
	b, _ := json.Marshal(tk)
	if tk.CredentialsID != "cid" || strings.Contains(string(b), "secret") || strings.Contains(string(b), "AKIA") {
		t.Fatalf("credentials leaked into the model: %s", b)
	}
}

func TestWantStatusOnlyForward(t *testing.T) {
	tk := mkTask(t, ctr("a"))
	if tk.WantStatus(TaskRunning) {
		t.Error("RUNNING again changed something")
	}
	if !tk.WantStatus(TaskStopped) || tk.Containers[0].Desired != ContainerStopped {
		t.Error("stop not applied")
	}
	if tk.WantStatus(TaskRunning) || tk.Desired != TaskStopped {
		t.Error("a stop was undone")
	}
}

func TestPlanProgression(t *testing.T) {
	tk := mkTask(t, ctr("a"))
	c := tk.Containers[0]
	for _, tc := range []struct {
		known ContainerStatus
		want  []string
	}{
		{ContainerNone, []string{"a:pull"}},
		{ContainerPulled, []string{"a:create"}},
		{ContainerCreated, []string{"a:start"}},
		{ContainerRunning, nil},
		{ContainerStopped, nil},
	} {
		c.Known = tc.known
		if got := stepsOf(Plan(tk, nil, PlanOptions{})); !slices.Equal(got, tc.want) {
			t.Errorf("known %s: %v, want %v", tc.known, got, tc.want)
		}
	}
	c.Known = ContainerPulled
	if got := Plan(tk, map[string]bool{"a": true}, PlanOptions{}); len(got) != 0 {
		t.Errorf("in-flight container planned again: %v", got)
	}
}

func TestPlanDependsOn(t *testing.T) {
	type state struct {
		known  ContainerStatus
		exit   *int
		health HealthStatus
	}
	tests := []struct {
		name string
		cond string
		dep  state
		want []string // steps for "app"
	}{
		{"START waits", "START", state{known: ContainerCreated}, nil},
		{"START met", "START", state{known: ContainerRunning}, []string{"app:pull"}},
		{"START met by an exited dep", "START", state{known: ContainerStopped, exit: ptr(0)}, []string{"app:pull"}},
		{"START never", "START", state{known: ContainerStopped}, []string{"app:fail-dependency"}},
		{"COMPLETE waits", "COMPLETE", state{known: ContainerRunning}, nil},
		{"COMPLETE met by failure", "COMPLETE", state{known: ContainerStopped, exit: ptr(3)}, []string{"app:pull"}},
		{"SUCCESS met", "SUCCESS", state{known: ContainerStopped, exit: ptr(0)}, []string{"app:pull"}},
		{"SUCCESS fails", "SUCCESS", state{known: ContainerStopped, exit: ptr(1)}, []string{"app:fail-dependency"}},
		{"HEALTHY waits", "HEALTHY", state{known: ContainerRunning, health: HealthUnknown}, nil},
		{"HEALTHY met", "HEALTHY", state{known: ContainerRunning, health: HealthHealthy}, []string{"app:pull"}},
		{"HEALTHY never", "HEALTHY", state{known: ContainerStopped, exit: ptr(0)}, []string{"app:fail-dependency"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			d := ctr("dep")
			d.HealthCheckType = "docker"
			d.Essential = ptr(false)
			tk := mkTask(t, d, ctr("app", dep("dep", tc.cond)))
			dc := tk.Container("dep")
			dc.Known, dc.ExitCode, dc.Health = tc.dep.known, tc.dep.exit, tc.dep.health
			var got []string
			for _, s := range stepsOf(Plan(tk, nil, PlanOptions{})) {
				if s[:4] == "app:" {
					got = append(got, s)
				}
			}
			if !slices.Equal(got, tc.want) {
				t.Errorf("got %v, want %v", got, tc.want)
			}
		})
	}
	// Pulls may go ahead of dependencies when asked; creation still waits.
	tk := mkTask(t, ctr("dep"), ctr("app", dep("dep", "START")))
	if got := stepsOf(Plan(tk, nil, PlanOptions{PullUpfront: true})); !slices.Equal(got, []string{"dep:pull", "app:pull"}) {
		t.Errorf("pull upfront: %v", got)
	}
	tk.Container("app").Known = ContainerPulled
	if got := stepsOf(Plan(tk, map[string]bool{"dep": true}, PlanOptions{PullUpfront: true})); len(got) != 0 {
		t.Errorf("create before dependency started: %v", got)
	}
}

func TestStopOrderIsReverse(t *testing.T) {
	tk := mkTask(t, ctr("db"), ctr("app", dep("db", "START")))
	for _, c := range tk.Containers {
		c.Known = ContainerRunning
	}
	tk.WantStatus(TaskStopped)
	if got := stepsOf(Plan(tk, nil, PlanOptions{})); !slices.Equal(got, []string{"app:stop"}) {
		t.Fatalf("first stop: %v", got)
	}
	tk.Container("app").Known = ContainerStopped
	if got := stepsOf(Plan(tk, nil, PlanOptions{})); !slices.Equal(got, []string{"db:stop"}) {
		t.Fatalf("then: %v", got)
	}
	// A container never created is marked stopped without a runtime call.
	tk2 := mkTask(t, ctr("a"))
	tk2.Containers[0].Known = ContainerPulled
	tk2.WantStatus(TaskStopped)
	if got := stepsOf(Plan(tk2, nil, PlanOptions{})); !slices.Equal(got, []string{"a:mark-stopped"}) {
		t.Fatalf("never created: %v", got)
	}
}

func TestReconcileEssential(t *testing.T) {
	side := ctr("side")
	side.Essential = ptr(false)
	tk := mkTask(t, ctr("main"), side)
	now := time.Unix(1700000000, 0)
	for _, c := range tk.Containers {
		c.Known = ContainerRunning
	}
	tk.Reconcile(now)
	if tk.Known != TaskRunning {
		t.Fatalf("known %s", tk.Known)
	}
	// A non-essential container stopping leaves the task running.
	tk.Container("side").Known = ContainerStopped
	tk.Reconcile(now)
	if tk.Desired != TaskRunning || tk.Known != TaskRunning {
		t.Fatalf("after non-essential exit: desired %s known %s", tk.Desired, tk.Known)
	}
	// The essential one stopping stops the task.
	tk.Container("main").Known = ContainerStopped
	tk.Reconcile(now)
	if tk.Desired != TaskStopped || tk.Known != TaskStopped || !tk.ExecutionStoppedAt.Equal(now) || !tk.KnownStoppedAt.Equal(now) {
		t.Fatalf("after essential exit: %+v", tk)
	}
}

func TestEssentialCascadeWaitsForOthers(t *testing.T) {
	side := ctr("side")
	side.Essential = ptr(false)
	tk := mkTask(t, ctr("main"), side)
	for _, c := range tk.Containers {
		c.Known = ContainerRunning
	}
	tk.Container("main").Known = ContainerStopped
	tk.Reconcile(time.Now())
	if tk.Desired != TaskStopped || tk.Known != TaskRunning {
		t.Fatalf("desired %s known %s", tk.Desired, tk.Known)
	}
	if got := stepsOf(Plan(tk, nil, PlanOptions{})); !slices.Equal(got, []string{"side:stop"}) {
		t.Fatalf("cascade: %v", got)
	}
}

func TestNextChangeQueuesOnce(t *testing.T) {
	tk := mkTask(t, ctr("a"))
	c := tk.Containers[0]
	if _, ok := tk.NextChange(); ok {
		t.Fatal("change with nothing to report")
	}
	c.Known = ContainerRunning
	tk.Reconcile(time.Now())
	ch, ok := tk.NextChange()
	if !ok || ch.Status != TaskRunning || len(ch.Containers) != 1 || ch.Containers[0].Status != ContainerRunning {
		t.Fatalf("running change: %+v %v", ch, ok)
	}
	if _, ok := tk.NextChange(); ok {
		t.Fatal("the same change queued twice")
	}
	c.Known, c.ExitCode = ContainerStopped, ptr(2)
	tk.Reconcile(time.Now())
	ch, ok = tk.NextChange()
	if !ok || ch.Status != TaskStopped || *ch.Containers[0].ExitCode != 2 {
		t.Fatalf("stopped change: %+v", ch)
	}
}

func TestStatusJSON(t *testing.T) {
	for _, s := range []ContainerStatus{ContainerNone, ContainerPulled, ContainerRunning, ContainerStopped} {
		b, _ := json.Marshal(s)
		var back ContainerStatus
		if err := json.Unmarshal(b, &back); err != nil || back != s {
			t.Errorf("%s round trip: %s %v", s, b, err)
		}
	}
	var ts TaskStatus
	if err := json.Unmarshal([]byte(`"DEAD"`), &ts); err != nil || ts != TaskStopped {
		t.Errorf("DEAD = %s %v", ts, err)
	}
	if TaskCreated.BackendStatus() != "PENDING" || TaskRunning.BackendStatus() != "RUNNING" {
		t.Error("backend status mapping")
	}
}
