package engine_test

import (
	"bytes"
	"io"
	"strings"
	"testing"

	"github.com/ecsd-project/ecsd/agent/engine"
	"github.com/ecsd-project/ecsd/agent/task"
	"github.com/ecsd-project/ecsd/wire/acs"
)

// TestTaskEndpointInjection: every container of a task with a task role
// gets the credentials URI and its own metadata URIs, never the execution
// role's id; the endpoint ids are persisted and survive a restart.
func TestTaskEndpointInjection(t *testing.T) {
	out := &outputs{bufs: map[string]*bytes.Buffer{}}
	h := newHarness(t, func(h *harness, c *engine.Config) {
		c.Output = func(_, name string) (io.Writer, io.Writer) { return out.writer(name), out.writer(name) }
	})
	script := `env | grep -E '^(AWS_CONTAINER|ECS_)' | sort; echo done`
	arn := h.runTask(acs.Task{ARN: "arn:aws:ecs:us-east-1:111122223333:task/test/0123456789abcdef0123456789abcdef",
		Family: "roles", Version: "1", DesiredStatus: "RUNNING",
		RoleCredentials:          &acs.IAMRoleCredentials{CredentialsID: "task-cred-1", AccessKeyID: "ASIAT"},
		ExecutionRoleCredentials: &acs.IAMRoleCredentials{CredentialsID: "exec-cred-1", AccessKeyID: "ASIAE"},
		Containers:               []acs.Container{sh("a", script), sh("b", script)}})
	tk := h.awaitStatus(arn, task.TaskStopped)
	for _, name := range []string{"a", "b"} {
		c := tk.Container(name)
		got := out.get(name)
		want := strings.Join([]string{
			"AWS_CONTAINER_CREDENTIALS_RELATIVE_URI=/v2/credentials/task-cred-1",
			"ECS_AGENT_URI=http://169.254.170.2/api/" + c.EndpointID,
			"ECS_CONTAINER_METADATA_URI=http://169.254.170.2/v3/" + c.EndpointID,
			"ECS_CONTAINER_METADATA_URI_V4=http://169.254.170.2/v4/" + c.EndpointID,
			"done",
		}, "\n") + "\n"
		if c.EndpointID == "" || got != want {
			t.Errorf("container %s env:\n%s\nwant\n%s", name, got, want)
		}
		if strings.Contains(got, "exec-cred-1") {
			t.Errorf("container %s sees the execution role's credentials id", name)
		}
	}
	if tk.Container("a").EndpointID == tk.Container("b").EndpointID {
		t.Error("containers share an endpoint id")
	}
	h.restart()
	again, ok := h.eng.Task(arn)
	if !ok {
		t.Fatal("task lost across restart")
	}
	for _, name := range []string{"a", "b"} {
		if again.Container(name).EndpointID != tk.Container(name).EndpointID {
			t.Errorf("endpoint id of %s changed across restart: %q → %q", name, tk.Container(name).EndpointID, again.Container(name).EndpointID)
		}
	}
}
