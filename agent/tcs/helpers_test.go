package tcs

import (
	"bufio"
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/textproto"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	v4 "github.com/aws/aws-sdk-go-v2/aws/signer/v4"
	"github.com/gorilla/websocket"

	"github.com/ecsd-project/ecsd/agent/task"
	"github.com/ecsd-project/ecsd/agent/wsclient"
	"github.com/ecsd-project/ecsd/runtime"
	"github.com/ecsd-project/ecsd/wire/acs"
	"github.com/ecsd-project/ecsd/wire/tcs"
)

const (
	testCluster  = "arn:aws:ecs:us-east-1:111122223333:cluster/default"
	testInstance = "arn:aws:ecs:us-east-1:111122223333:container-instance/default/0123abcd"
	testRegion   = "us-east-1"
)

var testCreds = aws.Credentials{
	AccessKeyID:     "AKIDEXAMPLE",
	SecretAccessKey: "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY",
	SessionToken:    "session-token",
	Source:          "test",
}

func staticCreds(c aws.Credentials) aws.CredentialsProvider {
	return aws.CredentialsProviderFunc(func(context.Context) (aws.Credentials, error) { return c, nil })
}

// eventually polls cond until it holds or 10 s passed.
func eventually(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// verifySignature recomputes the SigV4 signature of r (signed with
// testCreds for body) and compares it with r's Authorization header.
func verifySignature(r *http.Request, body []byte) error {
	authz := r.Header.Get("Authorization")
	date := r.Header.Get("X-Amz-Date")
	if authz == "" || date == "" {
		return fmt.Errorf("unsigned: Authorization %q, X-Amz-Date %q", authz, date)
	}
	if r.Header.Get("X-Amz-Security-Token") != testCreds.SessionToken {
		return fmt.Errorf("X-Amz-Security-Token %q", r.Header.Get("X-Amz-Security-Token"))
	}
	if !strings.Contains(authz, "/"+testRegion+"/ecs/aws4_request") {
		return fmt.Errorf("credential scope of %q is not %s/ecs", authz, testRegion)
	}
	signedAt, err := time.Parse("20060102T150405Z", date)
	if err != nil {
		return err
	}
	u := *r.URL
	u.Scheme, u.Host = "http", r.Host
	req, _ := http.NewRequest(http.MethodGet, u.String(), nil)
	sum := sha256.Sum256(body)
	if err := v4.NewSigner().SignHTTP(context.Background(), testCreds, req, hex.EncodeToString(sum[:]), "ecs", testRegion, signedAt); err != nil {
		return err
	}
	if want := req.Header.Get("Authorization"); want != authz {
		return fmt.Errorf("signature mismatch:\n got %s\nwant %s", authz, want)
	}
	return nil
}

// splitFrame splits a signed frame into its headers and envelope.
func splitFrame(data []byte) (http.Header, []byte, error) {
	block, body, ok := bytes.Cut(data, []byte("\r\n\r\n"))
	if !ok {
		return nil, nil, fmt.Errorf("no header block in %.80q", data)
	}
	h, err := textproto.NewReader(bufio.NewReader(bytes.NewReader(append(bytes.Clone(block), "\r\n\r\n"...)))).ReadMIMEHeader()
	if err != nil {
		return nil, nil, err
	}
	return http.Header(h), body, nil
}

// fakeTCS is an in-test TCS server: it checks the handshake's and every
// frame's signature, records the envelopes and acks each publish.
type fakeTCS struct {
	t   *testing.T
	srv *httptest.Server
	// noAcks turns off acks (to test the heartbeat timeout).
	noAcks bool

	mu       sync.Mutex
	conns    int
	frames   []tcs.Message
	badFrame []string
	queries  []string
	ws       *websocket.Conn
}

func newFakeTCS(t *testing.T, noAcks bool) *fakeTCS {
	f := &fakeTCS{t: t, noAcks: noAcks}
	up := websocket.Upgrader{}
	f.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path != "/ws" {
			http.NotFound(w, r)
			return
		}
		if err := verifySignature(r, nil); err != nil {
			t.Errorf("handshake: %v", err)
			w.WriteHeader(http.StatusForbidden)
			fmt.Fprintf(w, `{"BadRequestException":%q}`, err.Error())
			return
		}
		ws, err := up.Upgrade(w, r, nil)
		if err != nil {
			return
		}
		f.mu.Lock()
		f.conns++
		f.queries = append(f.queries, r.URL.RawQuery)
		f.ws = ws
		f.mu.Unlock()
		defer ws.Close()
		var wmu sync.Mutex
		for {
			_, data, err := ws.ReadMessage()
			if err != nil {
				return
			}
			h, body, err := splitFrame(data)
			if err == nil {
				fr := &http.Request{Method: http.MethodGet, URL: r.URL, Host: h.Get("Host"), Header: h}
				err = verifySignature(fr, body)
			}
			var msg tcs.Message
			if err == nil {
				err = json.Unmarshal(body, &msg)
			}
			if err != nil {
				f.mu.Lock()
				f.badFrame = append(f.badFrame, err.Error())
				f.mu.Unlock()
				continue
			}
			f.mu.Lock()
			f.frames = append(f.frames, msg)
			f.mu.Unlock()
			if f.noAcks {
				continue
			}
			var ack tcs.Message
			switch msg.Type {
			case tcs.TypePublishMetricsRequest:
				var req tcs.PublishMetricsRequest
				_ = json.Unmarshal(msg.Message, &req)
				ack = envelope(tcs.TypeAckPublishMetric, tcs.AckPublishMetric{Message: req.Metadata.MessageID})
			case tcs.TypePublishHealthRequest:
				var req tcs.PublishHealthRequest
				_ = json.Unmarshal(msg.Message, &req)
				ack = envelope(tcs.TypeAckPublishHealth, tcs.AckPublishHealth{Message: req.Metadata.MessageID})
			case tcs.TypePublishInstanceStatusRequest:
				var req tcs.PublishInstanceStatusRequest
				_ = json.Unmarshal(msg.Message, &req)
				ack = envelope(tcs.TypeAckPublishInstanceStatus, tcs.AckPublishInstanceStatus{Message: req.Metadata.RequestID})
			}
			b, _ := json.Marshal(ack)
			wmu.Lock()
			_ = ws.WriteMessage(websocket.TextMessage, b)
			wmu.Unlock()
		}
	}))
	t.Cleanup(f.srv.Close)
	return f
}

func envelope(typ string, body any) tcs.Message {
	b, _ := json.Marshal(body)
	return tcs.Message{Type: typ, Message: b}
}

// send writes raw text to the current connection.
func (f *fakeTCS) send(data string) error {
	f.mu.Lock()
	ws := f.ws
	f.mu.Unlock()
	if ws == nil {
		return fmt.Errorf("not connected")
	}
	return ws.WriteMessage(websocket.TextMessage, []byte(data))
}

func (f *fakeTCS) connections() int {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.conns
}

// ofType returns the recorded frames of type typ.
func (f *fakeTCS) ofType(typ string) []tcs.Message {
	f.mu.Lock()
	defer f.mu.Unlock()
	var out []tcs.Message
	for _, m := range f.frames {
		if m.Type == typ {
			out = append(out, m)
		}
	}
	return out
}

// fakeSource is one task with one running container whose CPU counter
// grows by 250 ms per 1 s of wall time (25 %) and which uses 64 MiB.
type fakeSource struct {
	mu    sync.Mutex
	tasks []*task.Task
	calls map[string]int
}

func newFakeSource() *fakeSource {
	return &fakeSource{calls: map[string]int{}, tasks: []*task.Task{{
		ARN: "arn:aws:ecs:us-east-1:111122223333:task/default/t1", Cluster: testCluster, Family: "web", Version: "3",
		Known: task.TaskRunning,
		Containers: []*task.Container{{
			Name: "web", Known: task.ContainerRunning, RuntimeID: "t1-web",
			Def:    acs.Container{ContainerARN: "arn:aws:ecs:us-east-1:111122223333:container/c1", HealthCheckType: acs.HealthCheckTypeDocker},
			Health: task.HealthHealthy, HealthSince: time.UnixMilli(1700000000123), HealthOutput: "ok",
		}},
	}}}
}

func (f *fakeSource) Tasks() []*task.Task {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.tasks
}

func (f *fakeSource) Stats(_ context.Context, id string) (runtime.Stats, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	n := f.calls[id]
	f.calls[id]++
	base := time.Unix(1700000000, 0)
	return runtime.Stats{Time: base.Add(time.Duration(n) * time.Second), CPUUsageNanos: uint64(n) * 250_000_000,
		MemoryUsage: 64 << 20}, nil
}

func testLog(t *testing.T) *slog.Logger {
	return slog.New(slog.NewTextHandler(testWriter{t}, &slog.HandlerOptions{Level: slog.LevelDebug}))
}

type testWriter struct{ t *testing.T }

func (w testWriter) Write(p []byte) (int, error) {
	w.t.Log(strings.TrimRight(string(p), "\n"))
	return len(p), nil
}

// startSession runs a session against f until the test ends.
func startSession(t *testing.T, f *fakeTCS, src Source, tune func(*Config)) *Session {
	t.Helper()
	cfg := Config{
		Endpoint:        func(context.Context) (string, error) { return f.srv.URL, nil },
		Peer:            wsclient.Peer{Cluster: testCluster, ContainerInstanceARN: testInstance, Region: testRegion, Credentials: staticCreds(testCreds), AgentVersion: "1.0.0", AgentHash: "abc1234"},
		Source:          src,
		Log:             testLog(t),
		PublishInterval: 100 * time.Millisecond,
		SampleInterval:  10 * time.Millisecond,
		Settings:        wsclient.Settings{BackoffMin: 10 * time.Millisecond, BackoffMax: 50 * time.Millisecond},
	}
	if tune != nil {
		tune(&cfg)
	}
	s, err := New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { _ = s.Run(ctx); close(done) }()
	t.Cleanup(func() {
		cancel()
		select {
		case <-done:
		case <-time.After(10 * time.Second):
			t.Error("session did not stop within 10s")
		}
	})
	return s
}
