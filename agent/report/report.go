package report

import (
	"context"
	"errors"
	"log/slog"
	"math/rand/v2"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ecs"
	"github.com/aws/aws-sdk-go-v2/service/ecs/types"
	"github.com/aws/smithy-go"

	"github.com/ecsd-project/ecsd/agent/store"
	"github.com/ecsd-project/ecsd/agent/task"
)

// ECS is the call the reporter makes.
type ECS interface {
	SubmitTaskStateChange(ctx context.Context, in *ecs.SubmitTaskStateChangeInput, opts ...func(*ecs.Options)) (*ecs.SubmitTaskStateChangeOutput, error)
}

// Outbox is what the reporter needs of the store.
type Outbox interface {
	Pending(limit int) ([]store.Entry, error)
	Delivered(seqs ...uint64) error
}

// Config configures a Reporter.
type Config struct {
	ECS     ECS
	Outbox  Outbox
	Cluster string
	Log     *slog.Logger
	// OnDelivered is told each task whose change ECS accepted.
	OnDelivered func(taskARN string)
	// Poll is how often an idle reporter looks at the outbox; 0 = 1 s.
	Poll time.Duration
	// MaxBackoff caps the wait between retries; 0 = 30 s.
	MaxBackoff time.Duration
}

// Reporter delivers state changes. Run it once; Poke it when the outbox
// grows.
type Reporter struct {
	cfg    Config
	notify chan struct{}
}

// New builds a Reporter.
func New(cfg Config) *Reporter {
	if cfg.Log == nil {
		cfg.Log = slog.New(slog.DiscardHandler)
	}
	if cfg.Poll <= 0 {
		cfg.Poll = time.Second
	}
	if cfg.MaxBackoff <= 0 {
		cfg.MaxBackoff = 30 * time.Second
	}
	return &Reporter{cfg: cfg, notify: make(chan struct{}, 1)}
}

// Poke makes an idle reporter look at the outbox now.
func (r *Reporter) Poke() {
	select {
	case r.notify <- struct{}{}:
	default:
	}
}

// Run delivers changes until ctx ends. Changes go in outbox order, so
// each task's changes arrive in the order they happened; a failing task
// holds back only itself.
func (r *Reporter) Run(ctx context.Context) error {
	backoff := time.Second
	for {
		entries, err := r.cfg.Outbox.Pending(100)
		if err != nil {
			r.cfg.Log.Error("read outbox", "error", err)
		}
		blocked := map[string]bool{} // tasks with an undelivered earlier change
		failed := false
		for _, e := range entries {
			if blocked[e.Change.TaskARN] {
				continue
			}
			err := r.submit(ctx, e.Change)
			if ctx.Err() != nil {
				return nil
			}
			if err != nil && !permanent(err) {
				r.cfg.Log.Warn("submit state change, will retry", "task", e.Change.TaskARN, "status", e.Change.Status.String(), "error", err)
				blocked[e.Change.TaskARN] = true
				failed = true
				continue
			}
			if err != nil {
				r.cfg.Log.Error("state change refused by ECS, dropping it", "task", e.Change.TaskARN, "status", e.Change.Status.String(), "error", err)
			}
			if err := r.cfg.Outbox.Delivered(e.Seq); err != nil {
				r.cfg.Log.Error("mark delivered", "error", err)
				failed = true
				break
			}
			if r.cfg.OnDelivered != nil {
				r.cfg.OnDelivered(e.Change.TaskARN)
			}
		}
		wait := r.cfg.Poll
		if failed {
			wait = backoff + time.Duration(rand.Float64()*0.2*float64(backoff))
			backoff = min(time.Duration(float64(backoff)*1.3), r.cfg.MaxBackoff)
		} else {
			backoff = time.Second
			if len(entries) == 100 {
				continue // more waiting
			}
		}
		select {
		case <-time.After(wait):
		case <-r.notify:
			if failed {
				// Keep backing off a failing control plane even when poked.
				select {
				case <-time.After(wait):
				case <-ctx.Done():
					return nil
				}
			}
		case <-ctx.Done():
			return nil
		}
	}
}

// permanent: ECS refused the change itself; retrying cannot help.
func permanent(err error) bool {
	var ae smithy.APIError
	if errors.As(err, &ae) {
		switch ae.ErrorCode() {
		case "InvalidParameterException", "ClientException", "AccessDeniedException":
			return true
		}
	}
	return false
}

func (r *Reporter) submit(ctx context.Context, ch task.StateChange) error {
	cctx, cancel := context.WithTimeout(ctx, 42*time.Second)
	defer cancel()
	_, err := r.cfg.ECS.SubmitTaskStateChange(cctx, Input(r.cfg.Cluster, ch))
	return err
}

// Input is the SubmitTaskStateChange request for a change.
func Input(cluster string, ch task.StateChange) *ecs.SubmitTaskStateChangeInput {
	if ch.Cluster != "" {
		cluster = ch.Cluster
	}
	in := &ecs.SubmitTaskStateChangeInput{
		Cluster: aws.String(cluster),
		Task:    aws.String(ch.TaskARN),
		Status:  aws.String(ch.Status.BackendStatus()),
		Reason:  aws.String(truncate(ch.Reason, 1024)),
	}
	for _, t := range []struct {
		v   time.Time
		dst **time.Time
	}{{ch.PullStartedAt, &in.PullStartedAt}, {ch.PullStoppedAt, &in.PullStoppedAt}, {ch.ExecutionStoppedAt, &in.ExecutionStoppedAt}} {
		if !t.v.IsZero() {
			v := t.v.UTC()
			*t.dst = &v
		}
	}
	for _, c := range ch.Containers {
		cs := types.ContainerStateChange{
			ContainerName: aws.String(c.Name),
			Status:        aws.String(c.Status.BackendStatus()),
		}
		if c.RuntimeID != "" {
			cs.RuntimeId = aws.String(truncate(c.RuntimeID, 255))
		}
		if c.Reason != "" {
			cs.Reason = aws.String(truncate(c.Reason, 1024))
		}
		if c.ImageDigest != "" {
			cs.ImageDigest = aws.String(truncate(c.ImageDigest, 255))
		}
		if c.ExitCode != nil {
			cs.ExitCode = aws.Int32(int32(*c.ExitCode))
		}
		for _, b := range c.NetworkBindings {
			if b.BindIP == "::" {
				continue // ECS_EXCLUDE_IPV6_PORTBINDING defaults to true
			}
			nb := types.NetworkBinding{Protocol: types.TransportProtocol(b.Protocol)}
			if b.BindIP != "" {
				nb.BindIP = aws.String(b.BindIP)
			}
			if b.ContainerPortRange != "" {
				nb.ContainerPortRange = aws.String(b.ContainerPortRange)
				nb.HostPortRange = aws.String(b.HostPortRange)
			} else {
				nb.ContainerPort = aws.Int32(int32(b.ContainerPort))
				nb.HostPort = aws.Int32(int32(b.HostPort))
			}
			cs.NetworkBindings = append(cs.NetworkBindings, nb)
		}
		in.Containers = append(in.Containers, cs)
	}
	return in
}

func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return s[:n]
}
