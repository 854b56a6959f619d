package controlplane

import (
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"strconv"
	"strings"
)

// ARNs in the long format ECS uses today:
//
//	arn:aws:ecs:REGION:ACCOUNT:cluster/NAME
//	arn:aws:ecs:REGION:ACCOUNT:task-definition/FAMILY:REVISION
//	arn:aws:ecs:REGION:ACCOUNT:task/CLUSTER/ID
//	arn:aws:ecs:REGION:ACCOUNT:container-instance/CLUSTER/ID
//	arn:aws:ecs:REGION:ACCOUNT:container/CLUSTER/TASKID/UUID
//	arn:aws:ecs:REGION:ACCOUNT:service/CLUSTER/NAME
const defaultCluster = "default"

func (cp *ControlPlane) arn(resource string) string {
	return "arn:aws:ecs:" + cp.cfg.Region + ":" + cp.cfg.AccountID + ":" + resource
}

func (cp *ControlPlane) clusterARN(name string) string { return cp.arn("cluster/" + name) }

func (cp *ControlPlane) taskDefARN(family string, revision int32) string {
	return cp.arn("task-definition/" + family + ":" + strconv.Itoa(int(revision)))
}

func (cp *ControlPlane) taskARN(cluster, id string) string {
	return cp.arn("task/" + cluster + "/" + id)
}

func (cp *ControlPlane) instanceARN(cluster, id string) string {
	return cp.arn("container-instance/" + cluster + "/" + id)
}

func (cp *ControlPlane) serviceARN(cluster, name string) string {
	return cp.arn("service/" + cluster + "/" + name)
}

func (cp *ControlPlane) containerARN(cluster, taskID string) string {
	return cp.arn("container/" + cluster + "/" + taskID + "/" + newUUID())
}

// resource splits an ECS ARN into its resource type and the rest:
// "arn:aws:ecs:r:a:task/c/id" → "task", "c/id".
func resource(arn string) (typ, rest string, ok bool) {
	parts := strings.SplitN(arn, ":", 6)
	if len(parts) != 6 || parts[0] != "arn" || parts[2] != "ecs" {
		return "", "", false
	}
	typ, rest, ok = strings.Cut(parts[5], "/")
	return typ, rest, ok && rest != ""
}

// clusterName resolves a cluster parameter: empty is the default cluster,
// an ARN gives its name.
func clusterName(param string) string {
	if param == "" {
		return defaultCluster
	}
	if typ, name, ok := resource(param); ok && typ == "cluster" {
		return name
	}
	return param
}

// splitID resolves a task or container instance parameter, an ARN of type
// typ or a bare ID, to its cluster (empty for a bare ID or an old-format
// ARN) and ID.
func splitID(param, typ string) (cluster, id string) {
	t, rest, ok := resource(param)
	if !ok || t != typ {
		return "", param
	}
	if c, id, ok := strings.Cut(rest, "/"); ok {
		return c, id
	}
	return "", rest
}

// newID returns 32 random hex digits, the form of task and container
// instance IDs.
func newID() string {
	var b [16]byte
	if _, err := rand.Read(b[:]); err != nil {
		panic(fmt.Sprintf("crypto/rand: %v", err))
	}
	return hex.EncodeToString(b[:])
}

// newUUID returns a random (version 4) UUID.
func newUUID() string {
	var b [16]byte
	if _, err := rand.Read(b[:]); err != nil {
		panic(fmt.Sprintf("crypto/rand: %v", err))
	}
	b[6] = b[6]&0x0f | 0x40
	b[8] = b[8]&0x3f | 0x80
	h := hex.EncodeToString(b[:])
	return h[0:8] + "-" + h[8:12] + "-" + h[12:16] + "-" + h[16:20] + "-" + h[20:]
}
