package tcs

import (
	"context"
	"crypto/rand"
	"encoding/json"
	"fmt"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/ecsd-project/ecsd/agent/task"
	"github.com/ecsd-project/ecsd/wire/tcs"
)

// publishLoop publishes every PublishInterval until ctx is done.
func (s *Session) publishLoop(ctx context.Context, out sender) {
	for {
		select {
		case <-ctx.Done():
			return
		case <-s.clock.After(s.cfg.PublishInterval):
		}
		s.publish(ctx, out)
	}
}

// publish sends one metrics message set (unless DisableMetrics), one
// health message set and the instance status. A failed send ends the round: the read loop notices a
// dead connection by itself.
func (s *Session) publish(ctx context.Context, out sender) {
	now := s.clock.Now()
	tasks := s.cfg.Source.Tasks()
	slices.SortFunc(tasks, func(a, b *task.Task) int { return strings.Compare(a.ARN, b.ARN) })

	var metrics []tcs.PublishMetricsRequest
	if !s.cfg.DisableMetrics {
		metrics = metricsRequests(s.cfg.Cluster, s.cfg.ContainerInstanceARN, tasks, s.stats.take, now)
	}
	for _, req := range metrics {
		if err := out.send(ctx, tcs.TypePublishMetricsRequest, req); err != nil {
			s.log.Warn("publish metrics", keyError, err)
			return
		}
	}
	health := healthRequests(s.cfg.Cluster, s.cfg.ContainerInstanceARN, tasks, now)
	for _, req := range health {
		if err := out.send(ctx, tcs.TypePublishHealthRequest, req); err != nil {
			s.log.Warn("publish health", keyError, err)
			return
		}
	}
	status := s.instanceStatusRequest(ctx, now)
	if err := out.send(ctx, tcs.TypePublishInstanceStatusRequest, status); err != nil {
		s.log.Warn("publish instance status", keyError, err)
		return
	}
	s.log.Debug("published telemetry", "metricsRequests", len(metrics), "healthRequests", len(health))
}

// metricsRequests builds one metrics message set: the statistics of every
// running container with enough unsent samples (take returns them), in
// requests of at most MaxTasksPerRequest tasks and MaxRequestBytes of
// JSON, Fin on the last. With nothing to report it is one request marked
// idle and fin.
func metricsRequests(cluster, instance string, tasks []*task.Task, take func(runtimeID string) []sample, now time.Time) []tcs.PublishMetricsRequest {
	var all []tcs.TaskMetric
	for _, t := range tasks {
		if t.Known >= task.TaskStopped {
			continue
		}
		tm := tcs.TaskMetric{TaskARN: t.ARN, ClusterARN: t.Cluster, TaskDefinitionFamily: t.Family, TaskDefinitionVersion: t.Version}
		for _, c := range t.Containers {
			if c.Known != task.ContainerRunning || c.RuntimeID == "" {
				continue
			}
			if samples := take(c.RuntimeID); samples != nil {
				tm.ContainerMetrics = append(tm.ContainerMetrics, containerMetric(c, samples))
			}
		}
		if len(tm.ContainerMetrics) > 0 {
			all = append(all, tm)
		}
	}
	meta := func(idle, fin bool) *tcs.MetricsMetadata {
		return &tcs.MetricsMetadata{Cluster: cluster, ContainerInstance: instance, MessageID: newID(), Idle: idle, Fin: fin}
	}
	if len(all) == 0 {
		return []tcs.PublishMetricsRequest{{Metadata: meta(true, true), Timestamp: tcs.At(now)}}
	}
	var out []tcs.PublishMetricsRequest
	var cur []tcs.TaskMetric
	for _, tm := range all {
		next := append(slices.Clone(cur), tm)
		if len(cur) > 0 && (len(next) > tcs.MaxTasksPerRequest || encodedSize(tcs.PublishMetricsRequest{Metadata: meta(false, false), TaskMetrics: next, Timestamp: tcs.At(now)}) > tcs.MaxRequestBytes) {
			out = append(out, tcs.PublishMetricsRequest{Metadata: meta(false, false), TaskMetrics: cur, Timestamp: tcs.At(now)})
			next = []tcs.TaskMetric{tm}
		}
		cur = next
	}
	out = append(out, tcs.PublishMetricsRequest{Metadata: meta(false, true), TaskMetrics: cur, Timestamp: tcs.At(now)})
	return out
}

// encodedSize is the length of v's envelope.
func encodedSize(v any) int {
	b, err := json.Marshal(v)
	if err != nil {
		return 0
	}
	return len(b) + len(`{"type":"PublishMetricsRequest","message":}`)
}

// healthRequests builds one health message set: the containers that have a
// health check, in requests of at most MaxTasksPerRequest tasks, Fin on
// the last. With no such container there is nothing to send.
func healthRequests(cluster, instance string, tasks []*task.Task, now time.Time) []tcs.PublishHealthRequest {
	var all []tcs.TaskHealth
	for _, t := range tasks {
		if t.Known >= task.TaskStopped {
			continue
		}
		th := tcs.TaskHealth{TaskARN: t.ARN, ClusterARN: t.Cluster, TaskDefinitionFamily: t.Family, TaskDefinitionVersion: t.Version}
		for _, c := range t.Containers {
			if c.Def.HealthCheckType == "" || c.Known != task.ContainerRunning {
				continue
			}
			ch := tcs.ContainerHealth{ContainerName: c.Name, HealthStatus: healthStatus(c.Health), StatusMessage: c.HealthOutput}
			if !c.HealthSince.IsZero() {
				ch.StatusSince = tcs.At(c.HealthSince)
			}
			th.Containers = append(th.Containers, ch)
		}
		if len(th.Containers) > 0 {
			all = append(all, th)
		}
	}
	var out []tcs.PublishHealthRequest
	for chunk := range slices.Chunk(all, tcs.MaxTasksPerRequest) {
		out = append(out, tcs.PublishHealthRequest{
			Metadata: &tcs.HealthMetadata{Cluster: cluster, ContainerInstance: instance, MessageID: newID()},
			Tasks:    chunk, Timestamp: tcs.At(now),
		})
	}
	if len(out) > 0 {
		out[len(out)-1].Metadata.Fin = true
	}
	return out
}

func healthStatus(h task.HealthStatus) string {
	switch h {
	case task.HealthHealthy:
		return tcs.HealthHealthy
	case task.HealthUnhealthy:
		return tcs.HealthUnhealthy
	default:
		return tcs.HealthUnknown
	}
}

// instanceStatus remembers the container runtime check's last result and
// when it changed.
type instanceStatus struct {
	mu      sync.Mutex
	status  string
	changed time.Time
}

// observe records status at now and returns when it last changed.
func (i *instanceStatus) observe(status string, now time.Time) time.Time {
	i.mu.Lock()
	defer i.mu.Unlock()
	if status != i.status {
		i.status, i.changed = status, now
	}
	return i.changed
}

// instanceStatusRequest checks the container runtime and reports it.
func (s *Session) instanceStatusRequest(ctx context.Context, now time.Time) tcs.PublishInstanceStatusRequest {
	status := tcs.InstanceStatusOK
	if s.cfg.CheckRuntime != nil {
		cctx, cancel := context.WithTimeout(ctx, DefaultStatsCheckTimeout)
		err := s.cfg.CheckRuntime(cctx)
		cancel()
		if err != nil {
			s.log.Warn("container runtime check failed", keyError, err)
			status = tcs.InstanceStatusImpaired
		}
	}
	changed := s.inst.observe(status, now)
	return tcs.PublishInstanceStatusRequest{
		Metadata: &tcs.InstanceStatusMetadata{Cluster: s.cfg.Cluster, ContainerInstance: s.cfg.ContainerInstanceARN, RequestID: newID()},
		Statuses: []tcs.InstanceStatus{{Type: tcs.InstanceStatusContainerRuntime, Status: status,
			LastUpdated: tcs.At(now), LastStatusChange: tcs.At(changed)}},
		Timestamp: tcs.At(now),
	}
}

// newID is a random UUID (version 4), the form of TCS message IDs.
func newID() string {
	var b [16]byte
	_, _ = rand.Read(b[:])
	b[6] = b[6]&0x0f | 0x40
	b[8] = b[8]&0x3f | 0x80
	return fmt.Sprintf("%x-%x-%x-%x-%x", b[0:4], b[4:6], b[6:8], b[8:10], b[10:])
}
