package engine

import (
	"crypto/rand"
	"fmt"
	"maps"

	"github.com/ecsd-project/ecsd/agent/task"
)

// TaskEndpointHost is where containers reach the task endpoint; the host
// redirects it to ecsd (runtime/network's redirect).
const TaskEndpointHost = "169.254.170.2"

// Variables injected into containers for the task endpoint, as the ECS
// agent names them (ecs-agent-protocol.md §4.3, §5.1).
const (
	EnvCredentialsURI = "AWS_CONTAINER_CREDENTIALS_RELATIVE_URI"
	EnvMetadataURI    = "ECS_CONTAINER_METADATA_URI"
	EnvMetadataURIV4  = "ECS_CONTAINER_METADATA_URI_V4"
	EnvAgentURI       = "ECS_AGENT_URI"
)

// TaskEndpointEnv is what a container learns of the task endpoint: the
// task role's credentials URI when the task has a role (never the
// execution role's), and its metadata URIs when it has an endpoint id.
func TaskEndpointEnv(credentialsID, endpointID string) map[string]string {
	env := map[string]string{}
	if credentialsID != "" {
		env[EnvCredentialsURI] = "/v2/credentials/" + credentialsID
	}
	if endpointID != "" {
		base := "http://" + TaskEndpointHost
		env[EnvMetadataURI] = base + "/v3/" + endpointID
		env[EnvMetadataURIV4] = base + "/v4/" + endpointID
		env[EnvAgentURI] = base + "/api/" + endpointID
	}
	return env
}

// withTaskEndpointEnv is base plus TaskEndpointEnv, which wins.
func withTaskEndpointEnv(base map[string]string, credentialsID, endpointID string) map[string]string {
	env := TaskEndpointEnv(credentialsID, endpointID)
	if len(env) == 0 {
		return base
	}
	out := maps.Clone(base)
	if out == nil {
		out = map[string]string{}
	}
	maps.Copy(out, env)
	return out
}

// assignEndpointIDs gives each container without one a random endpoint id
// (a UUID, as the ECS agent's), before the task is first persisted.
func assignEndpointIDs(t *task.Task) error {
	for _, c := range t.Containers {
		if c.EndpointID != "" {
			continue
		}
		id, err := newUUID()
		if err != nil {
			return fmt.Errorf("endpoint id for container %s of task %s: %w", c.Name, t.ARN, err)
		}
		c.EndpointID = id
	}
	return nil
}

// newUUID is a random (version 4) UUID.
func newUUID() (string, error) {
	var b [16]byte
	if _, err := rand.Read(b[:]); err != nil {
		return "", err
	}
	b[6] = b[6]&0x0f | 0x40
	b[8] = b[8]&0x3f | 0x80
	return fmt.Sprintf("%x-%x-%x-%x-%x", b[0:4], b[4:6], b[6:8], b[8:10], b[10:16]), nil
}
