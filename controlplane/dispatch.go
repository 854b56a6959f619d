package controlplane

import (
	"context"
	"errors"
	"fmt"

	"github.com/ecsd-project/ecsd/wire/acs"
	"github.com/ecsd-project/ecsd/wire/ecs"
	bolt "go.etcd.io/bbolt"
)

// ErrUnknownInstance is returned for a container instance ARN the control
// plane has never registered.
var ErrUnknownInstance = errors.New("unknown container instance")

// dispatch hands each batch to the Dispatcher and records what the agents
// acknowledged. A failed batch is logged and stays unacknowledged: Run
// re-sends it while the agent is connected, OnConnect when it reconnects.
func (cp *ControlPlane) dispatch(ctx context.Context, batches []dispatchBatch) {
	if cp.cfg.Dispatcher == nil {
		return
	}
	// The tasks are promised once committed, whether the caller waits or not.
	ctx = context.WithoutCancel(ctx)
	for _, b := range batches {
		dctx, cancel := context.WithTimeout(ctx, cp.cfg.DispatchTimeout)
		err := cp.cfg.Dispatcher.Dispatch(dctx, b.instanceARN, b.tasks)
		cancel()
		if err != nil {
			cp.log.Warn("dispatch failed; will retry", keyInstance, b.instanceARN, keyCount, len(b.tasks), keyError, err)
			continue
		}
		if err := cp.acknowledge(b.tasks); err != nil {
			cp.log.Error("record acknowledgement", keyInstance, b.instanceARN, keyError, err)
		}
	}
}

// acknowledge records that the agent has the tasks with their desired
// statuses.
func (cp *ControlPlane) acknowledge(tasks []acs.Task) error {
	return cp.db.Update(func(tx *bolt.Tx) error {
		st := &state{tx: tx, now: cp.now(), fx: &effects{}}
		for _, at := range tasks {
			cluster, id := splitID(at.ARN, "task")
			t, err := st.task(cluster, id)
			if errors.Is(err, errNotFound) {
				continue
			}
			if err != nil {
				return err
			}
			t.ack(at.DesiredStatus)
			if err := st.storeTask(t); err != nil {
				return err
			}
		}
		return nil
	})
}

// instanceByARN finds a registered container instance.
func (cp *ControlPlane) instanceByARN(st *state, arn string) (*instanceRecord, error) {
	cluster, id := splitID(arn, "container-instance")
	if cluster == "" || arn != cp.instanceARN(cluster, id) {
		return nil, fmt.Errorf("%w: %s", ErrUnknownInstance, arn)
	}
	rec, err := st.instance(cluster, id)
	if errors.Is(err, errNotFound) {
		return nil, fmt.Errorf("%w: %s", ErrUnknownInstance, arn)
	}
	return rec, err
}

// OnConnect is called by the ACS server when the agent of a container
// instance connects: the instance shows agentConnected, and the tasks whose
// desired status the agent has not acknowledged are dispatched to it again,
// before OnConnect returns. Call it where Dispatch can make progress (its
// own goroutine, not the one reading the agent's acknowledgements). An
// unknown instance is logged and ignored.
func (cp *ControlPlane) OnConnect(ctx context.Context, containerInstanceARN string) {
	err := cp.update(ctx, func(st *state) error {
		rec, err := cp.instanceByARN(st, containerInstanceARN)
		if err != nil {
			return err
		}
		if !rec.Instance.AgentConnected {
			rec.Instance.AgentConnected = true
			rec.Instance.Version++
			if err := st.putInstance(rec); err != nil {
				return err
			}
		}
		tasks, err := st.tasks(rec.Cluster)
		if err != nil {
			return err
		}
		for _, t := range tasks {
			if t.Task.ContainerInstanceARN == containerInstanceARN && t.pending() {
				if err := cp.queue(st, t); err != nil {
					return err
				}
			}
		}
		return nil
	})
	if err != nil {
		cp.log.Warn("agent connected", keyInstance, containerInstanceARN, keyError, err)
		return
	}
	cp.log.Info("agent connected", keyInstance, containerInstanceARN)
}

// OnDisconnect is called by the ACS server when the agent's connection
// ends (and no newer one replaced it): the instance shows agentConnected
// false. An unknown instance is logged and ignored.
func (cp *ControlPlane) OnDisconnect(containerInstanceARN string) {
	err := cp.update(context.Background(), func(st *state) error {
		rec, err := cp.instanceByARN(st, containerInstanceARN)
		if err != nil {
			return err
		}
		if !rec.Instance.AgentConnected {
			return nil
		}
		rec.Instance.AgentConnected = false
		rec.Instance.Version++
		return st.putInstance(rec)
	})
	if err != nil {
		cp.log.Warn("agent disconnected", keyInstance, containerInstanceARN, keyError, err)
		return
	}
	cp.log.Info("agent disconnected", keyInstance, containerInstanceARN)
}

// PendingFor returns the tasks of the instance whose desired status its
// agent has not acknowledged, as OnConnect would dispatch them. It changes
// nothing.
func (cp *ControlPlane) PendingFor(containerInstanceARN string) []acs.Task {
	var out []acs.Task
	err := cp.view(func(st *state) error {
		rec, err := cp.instanceByARN(st, containerInstanceARN)
		if err != nil {
			return err
		}
		tasks, err := st.tasks(rec.Cluster)
		if err != nil {
			return err
		}
		for _, t := range tasks {
			if t.Task.ContainerInstanceARN != containerInstanceARN || !t.pending() {
				continue
			}
			td, err := cp.resolveTaskDef(st, t.Task.TaskDefinitionARN)
			if err != nil {
				return err
			}
			out = append(out, acsTask(t, td, cp.cfg.AccountID, cp.cfg.Region))
		}
		return nil
	})
	if err != nil {
		cp.log.Warn("pending tasks", keyInstance, containerInstanceARN, keyError, err)
	}
	return out
}

// Manifest lists the tasks the instance should know about, every task
// placed on it that has not stopped, with its desired status: what ACS
// sends in a TaskManifestMessage.
func (cp *ControlPlane) Manifest(containerInstanceARN string) []acs.TaskIdentifier {
	out := []acs.TaskIdentifier{}
	err := cp.view(func(st *state) error {
		rec, err := cp.instanceByARN(st, containerInstanceARN)
		if err != nil {
			return err
		}
		tasks, err := st.tasks(rec.Cluster)
		if err != nil {
			return err
		}
		for _, t := range tasks {
			if t.Task.ContainerInstanceARN == containerInstanceARN && t.holding() {
				out = append(out, acs.TaskIdentifier{TaskARN: t.Task.TaskARN, TaskClusterARN: t.Task.ClusterARN, DesiredStatus: t.Task.DesiredStatus})
			}
		}
		return nil
	})
	if err != nil {
		cp.log.Warn("task manifest", keyInstance, containerInstanceARN, keyError, err)
	}
	return out
}

// StopVerification answers a TaskStopVerificationMessage: of the tasks the
// agent runs but did not find in the manifest, those to stop (all but the
// ones placed on this instance and still wanted RUNNING), with desired
// status STOPPED.
func (cp *ControlPlane) StopVerification(containerInstanceARN string, candidates []acs.TaskIdentifier) []acs.TaskIdentifier {
	out := []acs.TaskIdentifier{}
	err := cp.view(func(st *state) error {
		for _, c := range candidates {
			cluster, id := splitID(c.TaskARN, "task")
			t, err := st.task(cluster, id)
			if err != nil && !errors.Is(err, errNotFound) {
				return err
			}
			if err == nil && t.Task.ContainerInstanceARN == containerInstanceARN && t.Task.DesiredStatus == ecs.StatusRunning {
				continue
			}
			out = append(out, acs.TaskIdentifier{TaskARN: c.TaskARN, TaskClusterARN: c.TaskClusterARN, DesiredStatus: ecs.StatusStopped})
		}
		return nil
	})
	if err != nil {
		cp.log.Warn("stop verification", keyInstance, containerInstanceARN, keyError, err)
	}
	return out
}

// InstanceStatus returns the status of a container instance (ACTIVE,
// DRAINING or INACTIVE once deregistered), for the ACS server to refuse
// deregistered instances with InactiveInstanceException.
func (cp *ControlPlane) InstanceStatus(containerInstanceARN string) (string, error) {
	var status string
	err := cp.view(func(st *state) error {
		rec, err := cp.instanceByARN(st, containerInstanceARN)
		if err != nil {
			return err
		}
		status = rec.Instance.Status
		return nil
	})
	return status, err
}
