package agent

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strconv"

	"github.com/aws/aws-sdk-go-v2/aws"

	"github.com/ecsd-project/ecsd/agent/engine"
	"github.com/ecsd-project/ecsd/agent/store"
	"github.com/ecsd-project/ecsd/agent/task"
	"github.com/ecsd-project/ecsd/credentials"
	"github.com/ecsd-project/ecsd/wire/acs"
)

// metaManifestSeq is the store key of the latest ACS sequence number, as
// the ECS agent names it.
const metaManifestSeq = "task-manifest-seq-num"

// handler turns ACS messages into engine and credential-store calls.
type handler struct {
	eng     *engine.Engine
	store   *store.Store
	creds   *credentials.Store
	cluster string
	log     *slog.Logger
}

// Payload accepts a payload's tasks. A task that cannot be run as sent is
// accepted as a stopped task with the reason, so that ECS hears of it.
func (h *handler) Payload(ctx context.Context, msg *acs.PayloadMessage) error {
	var tasks []*task.Task
	for _, at := range msg.Tasks {
		h.storeCredentials(at)
		t, err := task.FromACS(h.cluster, at)
		if err != nil {
			h.log.Warn("task refused", "task", at.ARN, "error", err)
			if at.ARN == "" {
				continue
			}
			t = &task.Task{ARN: at.ARN, Cluster: h.cluster, Family: at.Family, Version: at.Version,
				Desired: task.TaskStopped, Reason: "UnrecognizedTaskError: Error loading task - " + err.Error()}
		}
		tasks = append(tasks, t)
	}
	if err := h.eng.Accept(ctx, tasks); err != nil {
		return fmt.Errorf("accept payload %s: %w", msg.MessageID, err)
	}
	if seq := msg.SeqNum; seq > h.ManifestSeq() {
		if err := h.SetManifestSeq(seq); err != nil {
			h.log.Warn("store sequence number", "error", err)
		}
	}
	return nil
}

func (h *handler) storeCredentials(at acs.Task) {
	for _, rc := range []struct {
		c    *acs.IAMRoleCredentials
		role string
	}{{at.RoleCredentials, credentials.RoleTask}, {at.ExecutionRoleCredentials, credentials.RoleExecution}} {
		if rc.c == nil || rc.c.CredentialsID == "" {
			continue
		}
		h.creds.Set(fromACS(at.ARN, rc.role, rc.c))
	}
}

func fromACS(taskARN, role string, c *acs.IAMRoleCredentials) credentials.Credentials {
	return credentials.Credentials{
		ID: c.CredentialsID, TaskARN: taskARN, RoleType: role, RoleARN: c.RoleARN,
		AccessKeyID: c.AccessKeyID, SecretAccessKey: string(c.SecretAccessKey), SessionToken: string(c.SessionToken),
		Expiration: c.Expiration,
	}
}

// Credentials stores refreshed credentials.
func (h *handler) Credentials(_ context.Context, msg *acs.IAMRoleCredentialsMessage) error {
	if msg.RoleCredentials == nil || msg.RoleCredentials.CredentialsID == "" {
		return errors.New("credentials message without credentials")
	}
	role := msg.RoleType
	if role == "" {
		role = credentials.RoleTask
	}
	h.creds.Set(fromACS(msg.TaskARN, role, msg.RoleCredentials))
	return nil
}

func (h *handler) ManifestSeq() int64 {
	v, err := h.store.Meta(metaManifestSeq)
	if err != nil || v == "" {
		return -1
	}
	n, err := strconv.ParseInt(v, 10, 64)
	if err != nil {
		return -1
	}
	return n
}

func (h *handler) SetManifestSeq(seq int64) error {
	return h.store.SetMeta(metaManifestSeq, strconv.FormatInt(seq, 10))
}

func (h *handler) RunningTasks() []acs.TaskIdentifier {
	var out []acs.TaskIdentifier
	for _, t := range h.eng.Tasks() {
		if t.Desired == task.TaskRunning {
			out = append(out, acs.TaskIdentifier{TaskARN: t.ARN, TaskClusterARN: t.Cluster, DesiredStatus: acs.DesiredStatusRunning})
		}
	}
	return out
}

func (h *handler) StopTasks(_ context.Context, tasks []acs.TaskIdentifier) error {
	for _, t := range tasks {
		if !h.eng.StopTask(t.TaskARN) {
			h.log.Warn("stop verification names an unknown task", "task", t.TaskARN)
		}
	}
	return nil
}

// execCredentials gives the engine a task's execution-role credentials in
// the SDK's shape.
type execCredentials struct{ store *credentials.Store }

func (e execCredentials) Get(id string) (aws.Credentials, bool) {
	c, ok := e.store.Get(id)
	if !ok {
		return aws.Credentials{}, false
	}
	return aws.Credentials{AccessKeyID: c.AccessKeyID, SecretAccessKey: c.SecretAccessKey, SessionToken: c.SessionToken, Source: "ecsd task execution role"}, true
}
