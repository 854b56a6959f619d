package report

import (
	"bytes"
	"context"
	"encoding/json"
	"flag"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/ecs"

	"github.com/ecsd-project/ecsd/agent/store"
	"github.com/ecsd-project/ecsd/agent/task"
)

var update = flag.Bool("update", false, "rewrite the golden request files")

const taskARN = "arn:aws:ecs:us-east-1:111122223333:task/default/9a8b7c6d"

// ecsEndpoint is an HTTP server speaking ECS's JSON 1.1 protocol; answer
// picks the reply to each SubmitTaskStateChange body.
type ecsEndpoint struct {
	mu     sync.Mutex
	bodies [][]byte
	answer func(body []byte) (int, string)
}

func newEndpoint(t *testing.T, answer func([]byte) (int, string)) (*ecsEndpoint, *ecs.Client) {
	e := &ecsEndpoint{answer: answer}
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Header.Get("X-Amz-Target") != "AmazonEC2ContainerServiceV20141113.SubmitTaskStateChange" {
			w.WriteHeader(400)
			io.WriteString(w, `{"__type":"UnknownOperationException"}`)
			return
		}
		body, _ := io.ReadAll(r.Body)
		e.mu.Lock()
		e.bodies = append(e.bodies, body)
		e.mu.Unlock()
		status, resp := e.answer(body)
		w.Header().Set("Content-Type", "application/x-amz-json-1.1")
		w.WriteHeader(status)
		io.WriteString(w, resp)
	}))
	t.Cleanup(srv.Close)
	return e, ecs.New(ecs.Options{
		Region:       "us-east-1",
		Credentials:  credentials.NewStaticCredentialsProvider("AKIDEXAMPLE", "secret", ""),
		BaseEndpoint: aws.String(srv.URL),
		Retryer:      aws.NopRetryer{},
	})
}

func (e *ecsEndpoint) Bodies() [][]byte {
	e.mu.Lock()
	defer e.mu.Unlock()
	return append([][]byte(nil), e.bodies...)
}

const acked = `{"acknowledgment":"ok"}`

func indent(t *testing.T, b []byte) []byte {
	t.Helper()
	var v any
	if err := json.Unmarshal(b, &v); err != nil {
		t.Fatalf("not JSON: %v\n%s", err, b)
	}
	var out bytes.Buffer
	enc := json.NewEncoder(&out)
	enc.SetIndent("", " ")
	enc.Encode(v)
	return out.Bytes()
}

func checkGolden(t *testing.T, name string, body []byte) {
	t.Helper()
	got := indent(t, body)
	path := filepath.Join("testdata", name)
	if *update {
		os.WriteFile(path, got, 0o644)
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(indent(t, want), got) {
		t.Errorf("request differs from %s:\n got: %s\nwant: %s", path, got, want)
	}
}

func intp(i int) *int { return &i }

// TestSubmitWire: a RUNNING and a STOPPED change as the real SDK client
// puts them on the wire.
func TestSubmitWire(t *testing.T) {
	e, client := newEndpoint(t, func([]byte) (int, string) { return 200, acked })
	ctx := context.Background()
	running := task.StateChange{
		TaskARN: taskARN, Cluster: "arn:aws:ecs:us-east-1:111122223333:cluster/default", Status: task.TaskRunning,
		PullStartedAt: time.UnixMilli(1700000000123), PullStoppedAt: time.UnixMilli(1700000001500),
		Containers: []task.ContainerChange{
			{Name: "web", RuntimeID: "9a8b7c6d-web", Status: task.ContainerRunning,
				ImageDigest: "sha256:6d0b2e2bd2e1cd0b0c6cd3b1a8f5e0f5b1e2c3d4e5f60718293a4b5c6d7e8f90",
				NetworkBindings: []task.NetworkBinding{
					{BindIP: "0.0.0.0", ContainerPort: 80, HostPort: 32768, Protocol: "tcp"},
					{BindIP: "::", ContainerPort: 80, HostPort: 32768, Protocol: "tcp"},
				}},
			{Name: "sidecar", RuntimeID: "9a8b7c6d-sidecar", Status: task.ContainerRunning,
				NetworkBindings: []task.NetworkBinding{{BindIP: "0.0.0.0", ContainerPortRange: "9000-9001", HostPortRange: "42000-42001", Protocol: "udp"}}},
		},
	}
	stopped := task.StateChange{
		TaskARN: taskARN, Status: task.TaskStopped, Reason: "Essential container in task exited",
		ExecutionStoppedAt: time.Unix(1700000100, 0),
		Containers: []task.ContainerChange{{Name: "web", RuntimeID: "9a8b7c6d-web", Status: task.ContainerStopped,
			ExitCode: intp(137), Reason: "OutOfMemoryError: container killed due to memory usage"}},
	}
	for _, ch := range []task.StateChange{running, stopped} {
		if _, err := client.SubmitTaskStateChange(ctx, Input("default", ch)); err != nil {
			t.Fatal(err)
		}
	}
	bodies := e.Bodies()
	checkGolden(t, "submit_running.golden", bodies[0])
	checkGolden(t, "submit_stopped.golden", bodies[1])
}

func TestInputTruncates(t *testing.T) {
	long := strings.Repeat("x", 2000)
	in := Input("c", task.StateChange{TaskARN: taskARN, Status: task.TaskStopped, Reason: long,
		Containers: []task.ContainerChange{{Name: "a", Status: task.ContainerStopped, Reason: long, RuntimeID: long}}})
	if len(*in.Reason) != 1024 || len(*in.Containers[0].Reason) != 1024 || len(*in.Containers[0].RuntimeId) != 255 {
		t.Errorf("not truncated: %d %d %d", len(*in.Reason), len(*in.Containers[0].Reason), len(*in.Containers[0].RuntimeId))
	}
}

// outbox is an in-memory Outbox.
type outbox struct {
	mu      sync.Mutex
	entries []store.Entry
}

func (o *outbox) Pending(limit int) ([]store.Entry, error) {
	o.mu.Lock()
	defer o.mu.Unlock()
	return append([]store.Entry(nil), o.entries[:min(limit, len(o.entries))]...), nil
}

func (o *outbox) Delivered(seqs ...uint64) error {
	o.mu.Lock()
	defer o.mu.Unlock()
	for _, s := range seqs {
		for i, e := range o.entries {
			if e.Seq == s {
				o.entries = append(o.entries[:i], o.entries[i+1:]...)
				break
			}
		}
	}
	return nil
}

func (o *outbox) Len() int {
	o.mu.Lock()
	defer o.mu.Unlock()
	return len(o.entries)
}

// TestReporterOrderRetryAndDrop: a task whose change ECS fails to take
// holds back only its own later changes, which then arrive in order; a
// change ECS refuses as invalid is dropped, not retried for ever.
func TestReporterOrderRetryAndDrop(t *testing.T) {
	const a, b, bad = "arn:aws:ecs:us-east-1:1:task/c/a", "arn:aws:ecs:us-east-1:1:task/c/b", "arn:aws:ecs:us-east-1:1:task/c/bad"
	ob := &outbox{entries: []store.Entry{
		{Seq: 1, Change: task.StateChange{TaskARN: a, Status: task.TaskRunning}},
		{Seq: 2, Change: task.StateChange{TaskARN: bad, Status: task.TaskRunning}},
		{Seq: 3, Change: task.StateChange{TaskARN: b, Status: task.TaskRunning}},
		{Seq: 4, Change: task.StateChange{TaskARN: a, Status: task.TaskStopped}},
	}}
	var mu sync.Mutex
	failA := 2 // task a's first two attempts fail with a server error
	e, client := newEndpoint(t, func(body []byte) (int, string) {
		mu.Lock()
		defer mu.Unlock()
		switch {
		case strings.Contains(string(body), bad):
			return 400, `{"__type":"InvalidParameterException","message":"no such task"}`
		case strings.Contains(string(body), a+`"`) && failA > 0:
			failA--
			return 500, `{"__type":"ServerException","message":"try later"}`
		}
		return 200, acked
	})
	var delivered []string
	var dmu sync.Mutex
	r := New(Config{ECS: client, Outbox: ob, Cluster: "c", Poll: 10 * time.Millisecond, MaxBackoff: 20 * time.Millisecond,
		OnDelivered: func(arn string) { dmu.Lock(); delivered = append(delivered, arn); dmu.Unlock() }})
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { r.Run(ctx); close(done) }()
	deadline := time.Now().Add(20 * time.Second)
	for ob.Len() > 0 && time.Now().Before(deadline) {
		time.Sleep(5 * time.Millisecond)
	}
	cancel()
	<-done
	if ob.Len() != 0 {
		t.Fatalf("outbox still holds %d changes", ob.Len())
	}
	// What ECS accepted, in order.
	var accepted []string
	for _, body := range e.Bodies() {
		var in struct{ Task, Status string }
		json.Unmarshal(body, &in)
		accepted = append(accepted, in.Task[strings.LastIndex(in.Task, "/")+1:]+":"+in.Status)
	}
	got := strings.Join(accepted, " ")
	// b is not held back by a's failures; a's STOPPED never overtakes its
	// RUNNING.
	if !strings.HasPrefix(got, "a:RUNNING bad:RUNNING b:RUNNING") || !strings.HasSuffix(got, "a:RUNNING a:RUNNING a:STOPPED") {
		t.Errorf("submissions %q", got)
	}
	dmu.Lock()
	defer dmu.Unlock()
	if strings.Join(delivered, " ") != bad+" "+b+" "+a+" "+a {
		t.Errorf("delivered %v", delivered)
	}
}
