package tcsserver

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	v4 "github.com/aws/aws-sdk-go-v2/aws/signer/v4"
	"github.com/gorilla/websocket"

	"github.com/ecsd-project/ecsd/controlplane/auth"
	"github.com/ecsd-project/ecsd/wire/tcs"
)

const (
	testInstance = "arn:aws:ecs:us-east-1:000000000000:container-instance/c/abc"
	region       = "us-east-1"
)

var (
	agentCreds = aws.Credentials{AccessKeyID: "AKIDAGENT", SecretAccessKey: "agent-secret", SessionToken: "agent-token"}
	otherCreds = aws.Credentials{AccessKeyID: "AKIDOTHER", SecretAccessKey: "other-secret"}
)

// setup serves a Server whose keyring knows agentCreds (principal
// mi-agent) and otherCreds (principal mi-other).
func setup(t *testing.T, opts Options) (*Server, *httptest.Server) {
	t.Helper()
	kr := auth.NewKeyring(nil)
	kr.Add(auth.Credential{AccessKeyID: agentCreds.AccessKeyID, SecretAccessKey: agentCreds.SecretAccessKey, SessionToken: agentCreds.SessionToken, Principal: "mi-agent"})
	kr.Add(auth.Credential{AccessKeyID: otherCreds.AccessKeyID, SecretAccessKey: otherCreds.SecretAccessKey, Principal: "mi-other"})
	opts.Verify = func(r *http.Request, body []byte) (string, error) { return kr.Verify(r, body, "ecs") }
	srv := New(opts)
	mux := http.NewServeMux()
	mux.Handle("/tcs/ws", srv)
	mux.Handle("/status/telemetry", srv.StatusHandler())
	hs := httptest.NewServer(mux)
	t.Cleanup(func() { hs.CloseClientConnections(); hs.Close(); srv.Close() })
	return srv, hs
}

// agent is a test agent: it signs its handshake and frames.
type agent struct {
	t   *testing.T
	ws  *websocket.Conn
	url string
}

func signed(t *testing.T, creds aws.Credentials, u string, body []byte) http.Header {
	t.Helper()
	req, _ := http.NewRequest(http.MethodGet, u, nil)
	sum := sha256.Sum256(body)
	if err := v4.NewSigner().SignHTTP(context.Background(), creds, req, hex.EncodeToString(sum[:]), "ecs", region, time.Now()); err != nil {
		t.Fatal(err)
	}
	return req.Header
}

func dial(t *testing.T, hs *httptest.Server, creds aws.Credentials) *agent {
	t.Helper()
	u := hs.URL + "/tcs/ws?" + url.Values{"cluster": {"c"}, "containerInstance": {testInstance}, "agentVersion": {"1.0.0"}, "agentHash": {"h"}}.Encode()
	ws, resp, err := websocket.DefaultDialer.Dial("ws"+strings.TrimPrefix(u, "http"), signed(t, creds, u, nil))
	if err != nil {
		t.Fatalf("dial: %v (%v)", err, resp)
	}
	t.Cleanup(func() { ws.Close() })
	return &agent{t: t, ws: ws, url: u}
}

// frame is a signed frame carrying msg.
func (a *agent) frame(creds aws.Credentials, typ string, msg any) []byte {
	inner, _ := json.Marshal(msg)
	env, _ := json.Marshal(tcs.Message{Type: typ, Message: inner})
	h := signed(a.t, creds, a.url, env)
	u, _ := url.Parse(a.url)
	h.Set("Host", u.Host)
	var buf bytes.Buffer
	_ = h.Write(&buf)
	buf.WriteString("\r\n")
	buf.Write(env)
	return buf.Bytes()
}

func (a *agent) send(data []byte) {
	a.t.Helper()
	if err := a.ws.WriteMessage(websocket.TextMessage, data); err != nil {
		a.t.Fatal(err)
	}
}

// next reads the next frame that is not a heartbeat.
func (a *agent) next() tcs.Message {
	a.t.Helper()
	for {
		_ = a.ws.SetReadDeadline(time.Now().Add(5 * time.Second))
		_, data, err := a.ws.ReadMessage()
		if err != nil {
			a.t.Fatal(err)
		}
		var msg tcs.Message
		if err := json.Unmarshal(data, &msg); err != nil {
			a.t.Fatalf("%s: %v", data, err)
		}
		if msg.Type != tcs.TypeHeartbeatMessage {
			return msg
		}
	}
}

func (a *agent) expect(typ, message string) {
	a.t.Helper()
	msg := a.next()
	var body tcs.Exception
	_ = json.Unmarshal(msg.Message, &body)
	if msg.Type != typ || (message != "" && body.Message != message) {
		a.t.Fatalf("got %s %s, want %s %q", msg.Type, msg.Message, typ, message)
	}
}

func metrics(id string, fin bool) tcs.PublishMetricsRequest {
	return tcs.PublishMetricsRequest{
		Metadata: &tcs.MetricsMetadata{Cluster: "c", ContainerInstance: testInstance, MessageID: id, Fin: fin},
		TaskMetrics: []tcs.TaskMetric{{TaskARN: "arn:task/" + id, ContainerMetrics: []tcs.ContainerMetric{{ContainerName: "web",
			CPUStatsSet: &tcs.CWStatsSet{Min: 1, Max: 2, SampleCount: 2, Sum: 3}}}}},
		Timestamp: tcs.At(time.Now()),
	}
}

func TestAcksAndKeepsLatest(t *testing.T) {
	srv, hs := setup(t, Options{HeartbeatInterval: -1})
	a := dial(t, hs, agentCreds)

	a.send(a.frame(agentCreds, tcs.TypePublishMetricsRequest, metrics("m1", false)))
	a.expect(tcs.TypeAckPublishMetric, "m1")
	if got, ok := srv.Latest(testInstance); !ok || len(got.Metrics) != 0 {
		t.Errorf("an unfinished set is already latest: %+v", got)
	}
	a.send(a.frame(agentCreds, tcs.TypePublishMetricsRequest, metrics("m2", true)))
	a.expect(tcs.TypeAckPublishMetric, "m2")
	a.send(a.frame(agentCreds, tcs.TypePublishHealthRequest, tcs.PublishHealthRequest{
		Metadata: &tcs.HealthMetadata{MessageID: "h1", Fin: true},
		Tasks:    []tcs.TaskHealth{{TaskARN: "arn:task/m1", Containers: []tcs.ContainerHealth{{ContainerName: "web", HealthStatus: tcs.HealthHealthy}}}},
	}))
	a.expect(tcs.TypeAckPublishHealth, "h1")
	a.send(a.frame(agentCreds, tcs.TypePublishInstanceStatusRequest, tcs.PublishInstanceStatusRequest{
		Metadata: &tcs.InstanceStatusMetadata{RequestID: "r1"},
		Statuses: []tcs.InstanceStatus{{Type: tcs.InstanceStatusContainerRuntime, Status: tcs.InstanceStatusOK}},
	}))
	a.expect(tcs.TypeAckPublishInstanceStatus, "r1")

	got, ok := srv.Latest(testInstance)
	if !ok || !got.Connected || got.Principal != "mi-agent" || got.Cluster != "c" {
		t.Fatalf("latest %+v", got)
	}
	if len(got.Metrics) != 2 || got.Metrics[1].Metadata.MessageID != "m2" || got.MetricsAt.IsZero() {
		t.Errorf("metrics %+v", got.Metrics)
	}
	if len(got.Health) != 1 || got.Health[0].Tasks[0].Containers[0].HealthStatus != tcs.HealthHealthy {
		t.Errorf("health %+v", got.Health)
	}
	if got.InstanceStatus == nil || got.InstanceStatus.Statuses[0].Status != tcs.InstanceStatusOK {
		t.Errorf("instance status %+v", got.InstanceStatus)
	}

	resp, err := http.Get(hs.URL + "/status/telemetry")
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	var page struct {
		ContainerInstances []Telemetry `json:"containerInstances"`
	}
	if err := json.Unmarshal(body, &page); err != nil || len(page.ContainerInstances) != 1 ||
		page.ContainerInstances[0].ContainerInstanceARN != testInstance || len(page.ContainerInstances[0].Metrics) != 2 {
		t.Errorf("status page %s: %v", body, err)
	}
}

func TestRefusedFramesAreNotFatal(t *testing.T) {
	srv, hs := setup(t, Options{HeartbeatInterval: -1})
	a := dial(t, hs, agentCreds)

	// Unsigned: the bare envelope.
	env, _ := json.Marshal(tcs.Message{Type: tcs.TypePublishMetricsRequest, Message: json.RawMessage(`{"metadata":{"messageId":"x"}}`)})
	a.send(env)
	a.expect(tcs.TypeBadRequestException, "")
	// Tampered after signing.
	f := a.frame(agentCreds, tcs.TypePublishMetricsRequest, metrics("m1", true))
	a.send(bytes.Replace(f, []byte(`"min":1`), []byte(`"min":9`), 1))
	a.expect(tcs.TypeBadRequestException, "")
	// Signed by someone else.
	a.send(a.frame(otherCreds, tcs.TypePublishMetricsRequest, metrics("m1", true)))
	a.expect(tcs.TypeBadRequestException, "frame signed by a different principal than the handshake")
	// No messageId.
	a.send(a.frame(agentCreds, tcs.TypePublishMetricsRequest, tcs.PublishMetricsRequest{Metadata: &tcs.MetricsMetadata{Fin: true}}))
	a.expect(tcs.TypeInvalidParameterException, "metadata.messageId is required")
	// Garbage envelope, then an unknown type: skipped.
	a.send(a.frame(agentCreds, tcs.TypeStartTelemetrySessionRequest, tcs.StartTelemetrySessionRequest{Cluster: "c"}))
	if got, _ := srv.Latest(testInstance); len(got.Metrics) != 0 {
		t.Errorf("a refused frame was stored: %+v", got.Metrics)
	}
	// The connection still works.
	a.send(a.frame(agentCreds, tcs.TypePublishMetricsRequest, metrics("m3", true)))
	a.expect(tcs.TypeAckPublishMetric, "m3")
}

func TestHandshakeRefused(t *testing.T) {
	_, hs := setup(t, Options{})
	u := hs.URL + "/tcs/ws?cluster=c&containerInstance=x"
	_, resp, err := websocket.DefaultDialer.Dial("ws"+strings.TrimPrefix(u, "http"), nil)
	if err == nil || resp == nil || resp.StatusCode != http.StatusUnauthorized {
		t.Fatalf("unsigned handshake: %v %v", err, resp)
	}
	u = hs.URL + "/tcs/ws?cluster=c"
	_, resp, err = websocket.DefaultDialer.Dial("ws"+strings.TrimPrefix(u, "http"), signed(t, agentCreds, u, nil))
	if err == nil || resp == nil || resp.StatusCode != http.StatusBadRequest {
		t.Fatalf("handshake without containerInstance: %v %v", err, resp)
	}
}

func TestHeartbeats(t *testing.T) {
	_, hs := setup(t, Options{HeartbeatInterval: 20 * time.Millisecond})
	a := dial(t, hs, agentCreds)
	_ = a.ws.SetReadDeadline(time.Now().Add(5 * time.Second))
	_, data, err := a.ws.ReadMessage()
	if err != nil || string(data) != `{"type":"HeartbeatMessage","message":{"healthy":true}}` {
		t.Fatalf("%s %v", data, err)
	}
}

func TestParseFrame(t *testing.T) {
	h, body, err := parseFrame([]byte("Authorization: a\r\nHost: h:1\r\nX-Amz-Date: d\r\n\r\n{\"type\":\"x\"}"))
	if err != nil || h.Get("Host") != "h:1" || h.Get("X-Amz-Date") != "d" || string(body) != `{"type":"x"}` {
		t.Errorf("%v %q %v", h, body, err)
	}
	for _, bad := range []string{`{"type":"x"}`, "no block", "bad header line\r\n\r\n{}"} {
		if _, _, err := parseFrame([]byte(bad)); err == nil {
			t.Errorf("%q accepted", bad)
		}
	}
}
