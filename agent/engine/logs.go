package engine

import (
	"context"
	"errors"
	"io"

	"github.com/aws/aws-sdk-go-v2/aws"

	"github.com/ecsd-project/ecsd/agent/task"
	"github.com/ecsd-project/ecsd/runtime/logs"
)

// Credentials looks up role credentials by id (the task's execution role,
// for awslogs).
type Credentials interface {
	Get(id string) (aws.Credentials, bool)
}

// output returns the writers for a container's stdout and stderr: its
// log driver's, opened once per container and kept across restarts in
// place. Config.Output, when set, replaces the drivers (tests).
func (w *worker) output(ctx context.Context, c *task.Container) (io.Writer, io.Writer, error) {
	if w.e.cfg.Output != nil {
		stdout, stderr := w.e.cfg.Output(w.t.ARN, c.Name)
		return stdout, stderr, nil
	}
	if lg := w.loggers[c.Name]; lg != nil {
		return lg.Stdout(), lg.Stderr(), nil
	}
	res, err := w.translate(ctx, c)
	if err != nil {
		return nil, nil, err
	}
	var creds aws.CredentialsProvider
	if id := w.t.ExecutionCredentialsID; id != "" && w.e.cfg.Credentials != nil {
		creds = aws.CredentialsProviderFunc(func(context.Context) (aws.Credentials, error) {
			if c, ok := w.e.cfg.Credentials.Get(id); ok {
				return c, nil
			}
			return aws.Credentials{}, errNoExecutionCredentials
		})
	}
	lg, err := logs.New(ctx, logs.Config{Driver: res.LogDriver, Options: res.LogOptions}, logs.Target{
		TaskARN: w.t.ARN, TaskID: w.t.ID(), Cluster: w.t.Cluster,
		ContainerName: c.Name, ContainerID: c.RuntimeID,
		Dir:         logs.ContainerDir(w.e.cfg.DataDir, w.t.ID(), c.Name),
		Credentials: creds, Region: w.e.cfg.Region, Enabled: w.e.cfg.LogDrivers,
		Log: w.log.With("container", c.Name),
	})
	if err != nil {
		return nil, nil, err
	}
	w.loggers[c.Name] = lg
	return lg.Stdout(), lg.Stderr(), nil
}

// closeLogs flushes and closes a stopped container's log driver, off the
// worker's path: awslogs may take a while to ship what it holds.
func (w *worker) closeLogs(c *task.Container) {
	lg := w.loggers[c.Name]
	if lg == nil {
		return
	}
	delete(w.loggers, c.Name)
	w.helpers.Add(1)
	go func() {
		defer w.helpers.Done()
		if err := lg.Close(); err != nil {
			w.log.Warn("close container log", "container", c.Name, "error", err)
		}
		if n := lg.Dropped(); n > 0 {
			w.log.Warn("container log lines dropped", "container", c.Name, "dropped", n)
		}
	}()
}

var errNoExecutionCredentials = errors.New("the task's execution role credentials have not arrived")
