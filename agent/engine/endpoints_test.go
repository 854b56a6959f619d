package engine

import (
	"maps"
	"regexp"
	"testing"

	"github.com/ecsd-project/ecsd/agent/task"
)

func TestTaskEndpointEnv(t *testing.T) {
	for _, tc := range []struct {
		name          string
		creds, id     string
		want          map[string]string
		base, merged  map[string]string
		mergedIsShare bool
	}{
		{name: "nothing", want: map[string]string{}},
		{name: "role and endpoint", creds: "c1", id: "e1", want: map[string]string{
			"AWS_CONTAINER_CREDENTIALS_RELATIVE_URI": "/v2/credentials/c1",
			"ECS_CONTAINER_METADATA_URI":             "http://169.254.170.2/v3/e1",
			"ECS_CONTAINER_METADATA_URI_V4":          "http://169.254.170.2/v4/e1",
			"ECS_AGENT_URI":                          "http://169.254.170.2/api/e1",
		}},
		{name: "endpoint only", id: "e2", want: map[string]string{
			"ECS_CONTAINER_METADATA_URI":    "http://169.254.170.2/v3/e2",
			"ECS_CONTAINER_METADATA_URI_V4": "http://169.254.170.2/v4/e2",
			"ECS_AGENT_URI":                 "http://169.254.170.2/api/e2",
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := TaskEndpointEnv(tc.creds, tc.id); !maps.Equal(got, tc.want) {
				t.Errorf("TaskEndpointEnv = %v, want %v", got, tc.want)
			}
		})
	}
	base := map[string]string{"X": "1", "AWS_CONTAINER_CREDENTIALS_RELATIVE_URI": "/stale"}
	got := withTaskEndpointEnv(base, "c1", "")
	if !maps.Equal(got, map[string]string{"X": "1", "AWS_CONTAINER_CREDENTIALS_RELATIVE_URI": "/v2/credentials/c1"}) {
		t.Errorf("merged %v", got)
	}
	if base["AWS_CONTAINER_CREDENTIALS_RELATIVE_URI"] != "/stale" {
		t.Error("the engine-wide env was changed")
	}
}

func TestAssignEndpointIDs(t *testing.T) {
	tk := &task.Task{ARN: "a", Containers: []*task.Container{{Name: "x"}, {Name: "y"}, {Name: "z", EndpointID: "kept"}}}
	if err := assignEndpointIDs(tk); err != nil {
		t.Fatal(err)
	}
	uuid := regexp.MustCompile(`^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$`)
	x, y := tk.Containers[0].EndpointID, tk.Containers[1].EndpointID
	if !uuid.MatchString(x) || !uuid.MatchString(y) || x == y {
		t.Errorf("ids %q %q", x, y)
	}
	if tk.Containers[2].EndpointID != "kept" {
		t.Errorf("an existing id was replaced: %q", tk.Containers[2].EndpointID)
	}
}
