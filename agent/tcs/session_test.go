package tcs

import (
	"encoding/json"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/ecsd-project/ecsd/wire/tcs"
)

// TestPublishesSignedFrames: every frame is signed for the handshake URL;
// metrics, health and instance status arrive with the stock agent's
// shapes and the server's acks keep the connection alive.
func TestPublishesSignedFrames(t *testing.T) {
	f := newFakeTCS(t, false)
	s := startSession(t, f, newFakeSource(), nil)

	var metrics tcs.PublishMetricsRequest
	eventually(t, "a metrics request with task metrics", func() bool {
		for _, m := range f.ofType(tcs.TypePublishMetricsRequest) {
			var req tcs.PublishMetricsRequest
			if err := json.Unmarshal(m.Message, &req); err != nil {
				t.Fatal(err)
			}
			if len(req.TaskMetrics) > 0 {
				metrics = req
				return true
			}
		}
		return false
	})
	if md := metrics.Metadata; md.Cluster != testCluster || md.ContainerInstance != testInstance || md.MessageID == "" || md.Idle || !md.Fin {
		t.Errorf("metadata %+v", md)
	}
	tm := metrics.TaskMetrics[0]
	if tm.TaskARN != "arn:aws:ecs:us-east-1:111122223333:task/default/t1" || tm.TaskDefinitionFamily != "web" || tm.TaskDefinitionVersion != "3" || tm.ClusterARN != testCluster {
		t.Errorf("task metric %+v", tm)
	}
	cm := tm.ContainerMetrics[0]
	if cm.ContainerName != "web" || cm.ContainerARN == "" {
		t.Errorf("container metric %+v", cm)
	}
	if c := cm.CPUStatsSet; c == nil || c.SampleCount < 2 || c.Min != 25 || c.Max != 25 || c.Sum != 25*float64(c.SampleCount) {
		t.Errorf("cpu stats %+v, want 25%% per sample", c)
	}
	if m := cm.MemoryStatsSet; m == nil || m.SampleCount < 2 || m.Min != 64 || m.Max != 64 {
		t.Errorf("memory stats %+v, want 64 MiB", m)
	}

	eventually(t, "health and instance status", func() bool {
		return len(f.ofType(tcs.TypePublishHealthRequest)) > 0 && len(f.ofType(tcs.TypePublishInstanceStatusRequest)) > 0
	})
	var health tcs.PublishHealthRequest
	if err := json.Unmarshal(f.ofType(tcs.TypePublishHealthRequest)[0].Message, &health); err != nil {
		t.Fatal(err)
	}
	if len(health.Tasks) != 1 || !health.Metadata.Fin || health.Tasks[0].Containers[0].HealthStatus != tcs.HealthHealthy ||
		!health.Tasks[0].Containers[0].StatusSince.Equal(time.UnixMilli(1700000000123)) {
		t.Errorf("health %+v", health)
	}
	var status tcs.PublishInstanceStatusRequest
	if err := json.Unmarshal(f.ofType(tcs.TypePublishInstanceStatusRequest)[0].Message, &status); err != nil {
		t.Fatal(err)
	}
	if status.Metadata.RequestID == "" || len(status.Statuses) != 1 || status.Statuses[0].Status != tcs.InstanceStatusOK ||
		status.Statuses[0].Type != tcs.InstanceStatusContainerRuntime {
		t.Errorf("instance status %+v", status)
	}

	f.mu.Lock()
	bad, q := f.badFrame, f.queries[0]
	f.mu.Unlock()
	if len(bad) > 0 {
		t.Errorf("frames that failed verification: %v", bad)
	}
	vals, _ := url.ParseQuery(q)
	if vals.Get("cluster") != testCluster || vals.Get("containerInstance") != testInstance ||
		vals.Get("agentVersion") != "1.0.0" || vals.Get("agentHash") != "abc1234" {
		t.Errorf("handshake query %q", q)
	}
	if !s.Connected() || f.connections() != 1 {
		t.Errorf("connected %v after %d connections", s.Connected(), f.connections())
	}
}

// TestServerGarbageIsNotFatal: malformed, unknown and exception frames are
// logged and skipped; the connection stays up and keeps publishing.
func TestServerGarbageIsNotFatal(t *testing.T) {
	f := newFakeTCS(t, false)
	startSession(t, f, newFakeSource(), nil)
	eventually(t, "a connection", func() bool { return f.connections() == 1 && f.send("") == nil })
	for _, frame := range []string{
		`not json`, `{}`, `[1,2]`, `{"type":"NoSuchMessage","message":{}}`,
		`{"type":"HeartbeatMessage","message":"nope"}`,
		`{"type":"AckPublishMetric","message":[]}`,
		`{"type":"ServerException","message":{"message":"boom"}}`,
		`{"BadRequestException":"bad"}`,
		`{"type":"StopTelemetrySessionMessage","message":7}`,
	} {
		if err := f.send(frame); err != nil {
			t.Fatal(err)
		}
	}
	n := len(f.ofType(tcs.TypePublishInstanceStatusRequest))
	eventually(t, "more publishing", func() bool { return len(f.ofType(tcs.TypePublishInstanceStatusRequest)) >= n+3 })
	if f.connections() != 1 {
		t.Errorf("%d connections: garbage ended one", f.connections())
	}
}

// TestHeartbeatTimeoutReconnects: without heartbeats or acks the session
// closes the connection and dials again.
func TestHeartbeatTimeoutReconnects(t *testing.T) {
	f := newFakeTCS(t, true)
	startSession(t, f, newFakeSource(), func(c *Config) {
		c.HeartbeatTimeout, c.HeartbeatJitter = 150*time.Millisecond, time.Nanosecond
	})
	eventually(t, "a reconnect", func() bool { return f.connections() >= 2 })
}

// TestHeartbeatKeepsConnection: HeartbeatMessage alone resets the timer.
func TestHeartbeatKeepsConnection(t *testing.T) {
	f := newFakeTCS(t, true)
	startSession(t, f, newFakeSource(), func(c *Config) {
		c.HeartbeatTimeout, c.HeartbeatJitter = 300*time.Millisecond, time.Nanosecond
	})
	eventually(t, "a connection", func() bool { return f.connections() == 1 && f.send("") == nil })
	for range 15 {
		if err := f.send(`{"type":"HeartbeatMessage","message":{"healthy":true}}`); err != nil {
			t.Fatal(err)
		}
		time.Sleep(50 * time.Millisecond)
	}
	if n := f.connections(); n != 1 {
		t.Errorf("%d connections despite heartbeats", n)
	}
}

// TestStopTelemetrySession: the server's StopTelemetrySessionMessage ends
// the connection; the session dials again.
func TestStopTelemetrySession(t *testing.T) {
	f := newFakeTCS(t, false)
	startSession(t, f, newFakeSource(), nil)
	eventually(t, "a connection", func() bool { return f.connections() == 1 && f.send("") == nil })
	if err := f.send(`{"type":"StopTelemetrySessionMessage","message":{"message":"bye"}}`); err != nil {
		t.Fatal(err)
	}
	eventually(t, "a reconnect", func() bool { return f.connections() >= 2 })
}

// TestIdleInstance: with no task the metrics set is one idle, fin request
// and there is no health request.
func TestIdleInstance(t *testing.T) {
	f := newFakeTCS(t, false)
	src := newFakeSource()
	src.tasks = nil
	startSession(t, f, src, nil)
	eventually(t, "instance status", func() bool { return len(f.ofType(tcs.TypePublishInstanceStatusRequest)) >= 2 })
	ms := f.ofType(tcs.TypePublishMetricsRequest)
	if len(ms) == 0 {
		t.Fatal("no metrics request")
	}
	var req tcs.PublishMetricsRequest
	if err := json.Unmarshal(ms[0].Message, &req); err != nil {
		t.Fatal(err)
	}
	if !req.Metadata.Idle || !req.Metadata.Fin || len(req.TaskMetrics) != 0 {
		t.Errorf("idle request %+v", req)
	}
	if n := len(f.ofType(tcs.TypePublishHealthRequest)); n != 0 {
		t.Errorf("%d health requests for an idle instance", n)
	}
}

// TestDisableMetrics: with ECS_DISABLE_METRICS nothing is sampled and no
// metrics go out; health and instance status still do.
func TestDisableMetrics(t *testing.T) {
	f := newFakeTCS(t, false)
	src := newFakeSource()
	startSession(t, f, src, func(c *Config) { c.DisableMetrics = true })
	eventually(t, "health and instance status", func() bool {
		return len(f.ofType(tcs.TypePublishInstanceStatusRequest)) >= 2 && len(f.ofType(tcs.TypePublishHealthRequest)) >= 2
	})
	if n := len(f.ofType(tcs.TypePublishMetricsRequest)); n != 0 {
		t.Errorf("%d metrics requests with metrics disabled", n)
	}
	src.mu.Lock()
	defer src.mu.Unlock()
	if len(src.calls) != 0 {
		t.Errorf("containers sampled with metrics disabled: %v", src.calls)
	}
}

// TestDisabled: a disabled session needs nothing and does nothing.
func TestDisabled(t *testing.T) {
	s, err := New(Config{Disabled: true})
	if err != nil {
		t.Fatal(err)
	}
	if err := s.Run(t.Context()); err != nil {
		t.Fatal(err)
	}
}

func TestConfigErrors(t *testing.T) {
	_, err := New(Config{})
	if err == nil {
		t.Fatal("empty config accepted")
	}
	for _, want := range []string{"no Endpoint", "no Cluster", "no ContainerInstanceARN", "no Region", "no Credentials", "no Source"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error %q lacks %q", err, want)
		}
	}
}
