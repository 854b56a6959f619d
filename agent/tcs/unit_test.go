package tcs

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"flag"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/ecsd-project/ecsd/agent/task"
	"github.com/ecsd-project/ecsd/agent/wsclient"
	"github.com/ecsd-project/ecsd/runtime"
	"github.com/ecsd-project/ecsd/wire/acs"
	"github.com/ecsd-project/ecsd/wire/tcs"
)

var update = flag.Bool("update", false, "rewrite the golden files in testdata")

// golden compares got with testdata/name, or rewrites it with -update.
func golden(t *testing.T, name string, got []byte) {
	t.Helper()
	path := filepath.Join("testdata", name)
	if *update {
		if err := os.WriteFile(path, got, 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(got, want) {
		t.Errorf("%s differs:\n got %s\nwant %s", name, got, want)
	}
}

var goldenNow = time.UnixMilli(1700000000123).UTC()

// goldenTasks: a running task with two containers (one with a health
// check and a restart policy), and a stopped task that is left out.
func goldenTasks() []*task.Task {
	return []*task.Task{
		{
			ARN: "arn:aws:ecs:us-east-1:111122223333:task/default/9a8b", Cluster: testCluster, Family: "nginx", Version: "3",
			Known: task.TaskRunning,
			Containers: []*task.Container{
				{Name: "web", Known: task.ContainerRunning, RuntimeID: "9a8b-web",
					Def: acs.Container{ContainerARN: "arn:aws:ecs:us-east-1:111122223333:container/default/9a8b/web",
						HealthCheckType: acs.HealthCheckTypeDocker, RestartPolicy: &acs.RestartPolicy{Enabled: true}},
					Health: task.HealthUnhealthy, HealthSince: time.UnixMilli(1699999990500), HealthOutput: "exit status 1", RestartCount: 2},
				{Name: "sidecar", Known: task.ContainerRunning, RuntimeID: "9a8b-sidecar",
					Def: acs.Container{ContainerARN: "arn:aws:ecs:us-east-1:111122223333:container/default/9a8b/sidecar"}},
			},
		},
		{ARN: "arn:aws:ecs:us-east-1:111122223333:task/default/old", Known: task.TaskStopped,
			Containers: []*task.Container{{Name: "x", Known: task.ContainerStopped, RuntimeID: "old-x"}}},
	}
}

// goldenCollector holds three readings of each running container.
func goldenCollector() *collector {
	c := newCollector(80)
	base := time.Unix(1700000000, 0)
	for i := range 3 {
		at := base.Add(time.Duration(i) * time.Second)
		net := map[string]runtime.NetworkStats{"eth0": {RxBytes: uint64(1000 * i * i), RxPackets: uint64(10 * i), TxBytes: uint64(500 * i), TxPackets: uint64(5 * i)}}
		c.add("9a8b-web", runtime.Stats{Time: at, CPUUsageNanos: uint64(i*i) * 500_000_000, MemoryUsage: uint64(100+i) << 20,
			IOReadBytes: uint64(4096 * i), IOWriteBytes: uint64(8192 * i), Networks: net})
		c.add("9a8b-sidecar", runtime.Stats{Time: at, CPUUsageNanos: uint64(i) * 10_000_000, MemoryUsage: 8 << 20})
	}
	return c
}

func TestGoldenMetricsRequest(t *testing.T) {
	reqs := metricsRequests(testCluster, testInstance, goldenTasks(), goldenCollector().take, goldenNow)
	if len(reqs) != 1 {
		t.Fatalf("%d requests", len(reqs))
	}
	reqs[0].Metadata.MessageID = "4f6a0f6e-1c1d-4d5e-9a7b-0c9d8e7f6a5b"
	b, err := wsclient.Encode(tcs.TypePublishMetricsRequest, reqs[0])
	if err != nil {
		t.Fatal(err)
	}
	golden(t, "publish_metrics.json", append(b, '\n'))

	// The signed frame of that envelope, byte for byte.
	frame, err := signFrame(context.Background(), testCreds,
		"https://ecs-t-1.us-east-1.amazonaws.com/ws?agentHash=abc1234&agentVersion=1.0.0&cluster=default&containerInstance=arn%3Aaws%3Aecs%3Aus-east-1%3A111122223333%3Acontainer-instance%2Fdefault%2F0123abcd",
		testRegion, b, goldenNow)
	if err != nil {
		t.Fatal(err)
	}
	golden(t, "publish_metrics.frame", frame)
}

func TestGoldenHealthRequest(t *testing.T) {
	reqs := healthRequests(testCluster, testInstance, goldenTasks(), goldenNow)
	if len(reqs) != 1 {
		t.Fatalf("%d requests", len(reqs))
	}
	reqs[0].Metadata.MessageID = "0b1c2d3e-4f50-4617-8293-a4b5c6d7e8f9"
	b, err := wsclient.Encode(tcs.TypePublishHealthRequest, reqs[0])
	if err != nil {
		t.Fatal(err)
	}
	golden(t, "publish_health.json", append(b, '\n'))
}

func TestGoldenInstanceStatusRequest(t *testing.T) {
	s := &Session{cfg: Config{Peer: wsclient.Peer{Cluster: testCluster, ContainerInstanceARN: testInstance}}, inst: &instanceStatus{}, log: testLog(t)}
	s.instanceStatusRequest(context.Background(), goldenNow.Add(-time.Minute))
	req := s.instanceStatusRequest(context.Background(), goldenNow)
	req.Metadata.RequestID = "9c8b7a6f-5e4d-4c3b-8a29-180f7e6d5c4b"
	b, err := wsclient.Encode(tcs.TypePublishInstanceStatusRequest, req)
	if err != nil {
		t.Fatal(err)
	}
	golden(t, "publish_instance_status.json", append(b, '\n'))

	s.cfg.CheckRuntime = func(context.Context) error { return context.DeadlineExceeded }
	req = s.instanceStatusRequest(context.Background(), goldenNow.Add(time.Second))
	if st := req.Statuses[0]; st.Status != tcs.InstanceStatusImpaired || !st.LastStatusChange.Equal(goldenNow.Add(time.Second)) {
		t.Errorf("after a failed runtime check: %+v", st)
	}
}

// TestGoldenRequestsDecodeStrictly: the fixtures use only the model's
// field names.
func TestGoldenRequestsDecodeStrictly(t *testing.T) {
	for name, v := range map[string]any{
		"publish_metrics.json":         &tcs.PublishMetricsRequest{},
		"publish_health.json":          &tcs.PublishHealthRequest{},
		"publish_instance_status.json": &tcs.PublishInstanceStatusRequest{},
	} {
		data, err := os.ReadFile(filepath.Join("testdata", name))
		if err != nil {
			t.Fatal(err)
		}
		msg, err := wsclient.DecodeFrame(data)
		if err != nil {
			t.Fatal(err)
		}
		dec := json.NewDecoder(bytes.NewReader(msg.Message))
		dec.DisallowUnknownFields()
		if err := dec.Decode(v); err != nil {
			t.Errorf("%s: %v", name, err)
		}
		again, _ := wsclient.Encode(msg.Type, v)
		if !bytes.Equal(append(again, '\n'), data) {
			t.Errorf("%s does not survive a round trip:\n%s", name, again)
		}
	}
}

// TestServerMessages: each server message of testdata/server_messages.jsonl
// is handled as the stock agent does.
func TestServerMessages(t *testing.T) {
	f, err := os.Open(filepath.Join("testdata", "server_messages.jsonl"))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	s := &Session{log: testLog(t)}
	want := map[string]struct {
		alive bool
		err   error
	}{
		tcs.TypeHeartbeatMessage:            {alive: true},
		tcs.TypeAckPublishMetric:            {alive: true},
		tcs.TypeAckPublishHealth:            {alive: true},
		tcs.TypeAckPublishInstanceStatus:    {alive: true},
		tcs.TypeStopTelemetrySessionMessage: {err: errStopped},
		tcs.TypeBadRequestException:         {},
		tcs.TypeServerException:             {},
		tcs.TypeInvalidParameterException:   {},
		tcs.TypeResourceValidationException: {},
	}
	sc := bufio.NewScanner(f)
	seen := 0
	for sc.Scan() {
		line := strings.TrimSpace(sc.Text())
		if line == "" {
			continue
		}
		msg, err := wsclient.DecodeFrame([]byte(line))
		if err != nil {
			t.Fatalf("%s: %v", line, err)
		}
		w, ok := want[msg.Type]
		if !ok {
			t.Fatalf("unexpected type %s", msg.Type)
		}
		var body tcs.Exception // every server shape but the heartbeat is {"message":...}
		var target any = &body
		if msg.Type == tcs.TypeHeartbeatMessage {
			target = &tcs.HeartbeatMessage{}
		}
		dec := json.NewDecoder(bytes.NewReader(msg.Message))
		dec.DisallowUnknownFields()
		if err := dec.Decode(target); err != nil {
			t.Errorf("%s: %v", line, err)
		}
		alive, err := s.handleFrame([]byte(line))
		if alive != w.alive || err != w.err {
			t.Errorf("%s: alive %v err %v, want %v %v", msg.Type, alive, err, w.alive, w.err)
		}
		seen++
	}
	if seen < len(want) {
		t.Errorf("only %d messages in the fixture", seen)
	}
}

func TestMetricsSplitting(t *testing.T) {
	var tasks []*task.Task
	c := newCollector(10)
	base := time.Unix(1700000000, 0)
	for i := range 23 {
		id := string(rune('a'+i%26)) + "-" + strings.Repeat("x", i)
		tasks = append(tasks, &task.Task{ARN: "arn:task/" + id, Known: task.TaskRunning,
			Containers: []*task.Container{{Name: "c", Known: task.ContainerRunning, RuntimeID: id}}})
		for j := range 3 {
			c.add(id, runtime.Stats{Time: base.Add(time.Duration(j) * time.Second), CPUUsageNanos: uint64(j) * 1e6})
		}
	}
	reqs := metricsRequests(testCluster, testInstance, tasks, c.take, goldenNow)
	if len(reqs) != 3 {
		t.Fatalf("%d requests for 23 tasks, want 3", len(reqs))
	}
	total := 0
	for i, r := range reqs {
		total += len(r.TaskMetrics)
		if len(r.TaskMetrics) > tcs.MaxTasksPerRequest {
			t.Errorf("request %d has %d tasks", i, len(r.TaskMetrics))
		}
		if r.Metadata.Fin != (i == len(reqs)-1) || r.Metadata.Idle {
			t.Errorf("request %d metadata %+v", i, r.Metadata)
		}
	}
	if total != 23 {
		t.Errorf("%d tasks in all", total)
	}
	// The samples went out: the next set is idle.
	reqs = metricsRequests(testCluster, testInstance, tasks, c.take, goldenNow)
	if len(reqs) != 1 || !reqs[0].Metadata.Idle || !reqs[0].Metadata.Fin {
		t.Errorf("second set %+v", reqs)
	}
}

func TestMetricsSplitBySize(t *testing.T) {
	var tasks []*task.Task
	c := newCollector(10)
	base := time.Unix(1700000000, 0)
	big := strings.Repeat("n", 300<<10) // each task's JSON is over 300 KiB
	for i := range 5 {
		id := string(rune('a' + i))
		tasks = append(tasks, &task.Task{ARN: "arn:task/" + id, Known: task.TaskRunning,
			Containers: []*task.Container{{Name: big, Known: task.ContainerRunning, RuntimeID: id}}})
		for j := range 3 {
			c.add(id, runtime.Stats{Time: base.Add(time.Duration(j) * time.Second)})
		}
	}
	reqs := metricsRequests(testCluster, testInstance, tasks, c.take, goldenNow)
	if len(reqs) != 2 {
		t.Fatalf("%d requests, want 2 (3 tasks + 2 tasks)", len(reqs))
	}
	for i, r := range reqs {
		b, _ := wsclient.Encode(tcs.TypePublishMetricsRequest, r)
		if len(b) > tcs.MaxRequestBytes {
			t.Errorf("request %d is %d bytes", i, len(b))
		}
	}
	if !reqs[1].Metadata.Fin || reqs[0].Metadata.Fin {
		t.Error("fin is not on the last request only")
	}
}

func TestHealthChunks(t *testing.T) {
	var tasks []*task.Task
	for i := range 12 {
		tasks = append(tasks, &task.Task{ARN: "arn:task/" + string(rune('a'+i)), Known: task.TaskRunning,
			Containers: []*task.Container{
				{Name: "checked", Known: task.ContainerRunning, Def: acs.Container{HealthCheckType: "docker"}, Health: task.HealthUnknown},
				{Name: "unchecked", Known: task.ContainerRunning},
			}})
	}
	tasks = append(tasks, &task.Task{ARN: "arn:task/none", Known: task.TaskRunning,
		Containers: []*task.Container{{Name: "unchecked", Known: task.ContainerRunning}}})
	reqs := healthRequests(testCluster, testInstance, tasks, goldenNow)
	if len(reqs) != 2 || len(reqs[0].Tasks) != 10 || len(reqs[1].Tasks) != 2 {
		t.Fatalf("chunks %+v", reqs)
	}
	if reqs[0].Metadata.Fin || !reqs[1].Metadata.Fin {
		t.Error("fin is not on the last request only")
	}
	for _, r := range reqs {
		for _, th := range r.Tasks {
			if len(th.Containers) != 1 || th.Containers[0].ContainerName != "checked" || th.Containers[0].HealthStatus != tcs.HealthUnknown {
				t.Errorf("task health %+v", th)
			}
		}
	}
	if reqs := healthRequests(testCluster, testInstance, nil, goldenNow); len(reqs) != 0 {
		t.Errorf("health requests with no health checks: %+v", reqs)
	}
}

func TestCollector(t *testing.T) {
	c := newCollector(4)
	base := time.Unix(1700000000, 0)
	add := func(sec float64, cpuMs uint64) {
		c.add("x", runtime.Stats{Time: base.Add(time.Duration(sec * float64(time.Second))), CPUUsageNanos: cpuMs * 1e6, MemoryUsage: 3 << 20})
	}
	add(0, 0)
	if got := c.take("x"); got != nil {
		t.Fatalf("a baseline alone gave samples %+v", got)
	}
	add(1, 500) // 50 %
	if got := c.take("x"); got != nil {
		t.Fatalf("one sample is not enough: %+v", got)
	}
	add(1.5, 1500) // 200 %: two cores
	got := c.take("x")
	set := cwStats(got, func(s sample) float64 { return s.cpuPercent })
	if set.SampleCount != 2 || set.Min != 50 || set.Max != 200 || set.Sum != 250 {
		t.Errorf("cpu %+v", set)
	}
	if mem := cwStats(got, func(s sample) float64 { return s.memoryMiB }); mem.Min != 3 || mem.Max != 3 {
		t.Errorf("memory %+v", mem)
	}
	if again := c.take("x"); again != nil {
		t.Errorf("sent samples came back: %+v", again)
	}
	// A counter that goes backwards (a restart) only resets the baseline.
	add(2, 10)
	add(3, 110)
	add(4, 210)
	if got := c.take("x"); len(got) != 2 || got[0].cpuPercent != 10 {
		t.Errorf("after a restart: %+v", got)
	}
	// The queue is bounded.
	for i := range 10 {
		add(5+float64(i), 210+uint64(i))
	}
	c.mu.Lock()
	n := len(c.queues["x"].samples)
	c.mu.Unlock()
	if n != 4 {
		t.Errorf("queue holds %d samples, want 4", n)
	}
	c.retain(map[string]bool{})
	if c.take("x") != nil || len(c.queues) != 0 {
		t.Error("retain kept a gone container")
	}
}

func TestPollURL(t *testing.T) {
	s := &Session{cfg: Config{Peer: wsclient.Peer{Cluster: "default", ContainerInstanceARN: testInstance, AgentVersion: "1.0.0", AgentHash: "abc1234"}}}
	for in, want := range map[string]string{
		"https://ecs-t-1.us-east-1.amazonaws.com":  "https://ecs-t-1.us-east-1.amazonaws.com/ws?",
		"https://ecs-t-1.us-east-1.amazonaws.com/": "https://ecs-t-1.us-east-1.amazonaws.com/ws?",
		"http://127.0.0.1:8080/tcs":                "http://127.0.0.1:8080/tcs/ws?",
		"wss://x.example/":                         "https://x.example/ws?",
		"ecs-t-1.us-east-1.amazonaws.com":          "https://ecs-t-1.us-east-1.amazonaws.com/ws?",
	} {
		u, err := s.pollURL(in)
		if err != nil {
			t.Fatalf("%s: %v", in, err)
		}
		wantQ := "agentHash=abc1234&agentVersion=1.0.0&cluster=default&containerInstance=arn%3Aaws%3Aecs%3Aus-east-1%3A111122223333%3Acontainer-instance%2Fdefault%2F0123abcd"
		if u.String() != want+wantQ {
			t.Errorf("%s: %s", in, u)
		}
	}
	for _, bad := range []string{"ftp://x/", "https://", "http://[::1"} {
		if _, err := s.pollURL(bad); err == nil {
			t.Errorf("%s accepted", bad)
		}
	}
}
