package acsserver

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/gorilla/websocket"

	"github.com/ecsd-project/ecsd/wire/acs"
)

const (
	testCluster  = "arn:aws:ecs:us-east-1:111122223333:cluster/default"
	testInstance = "arn:aws:ecs:us-east-1:111122223333:container-instance/default/0123abcd"
)

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

// fakeClock fires its waits only when advanced.
type fakeClock struct {
	mu      sync.Mutex
	now     time.Time
	waiters []chan time.Time
	dues    []time.Time
}

func (c *fakeClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

func (c *fakeClock) After(d time.Duration) <-chan time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	ch := make(chan time.Time, 1)
	c.waiters = append(c.waiters, ch)
	c.dues = append(c.dues, c.now.Add(d))
	return ch
}

func (c *fakeClock) Advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.now = c.now.Add(d)
	var ws []chan time.Time
	var ds []time.Time
	for i, w := range c.waiters {
		if c.dues[i].After(c.now) {
			ws, ds = append(ws, w), append(ds, c.dues[i])
			continue
		}
		w <- c.now
	}
	c.waiters, c.dues = ws, ds
}

func (c *fakeClock) pending() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return len(c.waiters)
}

type received struct {
	mu   sync.Mutex
	msgs []acs.Message
}

func (r *received) add(_ string, m acs.Message) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.msgs = append(r.msgs, m)
}

func (r *received) types() []string {
	r.mu.Lock()
	defer r.mu.Unlock()
	var out []string
	for _, m := range r.msgs {
		out = append(out, m.Type)
	}
	return out
}

type fixture struct {
	srv  *Server
	hs   *httptest.Server
	recv *received
	clk  *fakeClock
}

func newFixture(t *testing.T, edit func(*Options)) *fixture {
	t.Helper()
	f := &fixture{recv: &received{}, clk: &fakeClock{now: time.Unix(1700000000, 0)}}
	opts := Options{
		Log:       slog.New(slog.NewTextHandler(t.Output(), &slog.HandlerOptions{Level: slog.LevelDebug})),
		Clock:     f.clk,
		OnMessage: f.recv.add,
		Verify: func(r *http.Request) (string, error) {
			if r.Header.Get("Authorization") != "good" {
				return "", errors.New("signature mismatch")
			}
			return "AKIDEXAMPLE", nil
		},
	}
	if edit != nil {
		edit(&opts)
	}
	f.srv = New(opts)
	f.hs = httptest.NewUnstartedServer(f.srv)
	f.hs.Config.ErrorLog = log.New(io.Discard, "", 0)
	f.hs.Start()
	t.Cleanup(f.hs.Close)
	t.Cleanup(func() { _ = f.srv.Close() })
	return f
}

func (f *fixture) url(instance string) string {
	q := url.Values{
		"clusterArn": {testCluster}, "containerInstanceArn": {instance}, "agentVersion": {"0.1.0"},
		"agentHash": {"abc1234"}, "dockerVersion": {"containerd"}, "protocolVersion": {"2"},
		"sendCredentials": {"true"}, "seqNum": {"1"},
	}
	return "ws" + strings.TrimPrefix(f.hs.URL, "http") + "/ws?" + q.Encode()
}

// dial connects a raw websocket client as the agent of instance.
func (f *fixture) dial(t *testing.T, instance string) *websocket.Conn {
	t.Helper()
	c, resp, err := websocket.DefaultDialer.Dial(f.url(instance), http.Header{"Authorization": {"good"}})
	if err != nil {
		t.Fatalf("dial: %v (%v)", err, resp)
	}
	t.Cleanup(func() { _ = c.Close() })
	eventually(t, "registered", func() bool { return f.srv.Connected(instance) })
	return c
}

func read(t *testing.T, c *websocket.Conn) acs.Message {
	t.Helper()
	_ = c.SetReadDeadline(time.Now().Add(10 * time.Second))
	_, data, err := c.ReadMessage()
	if err != nil {
		t.Fatalf("read: %v", err)
	}
	var m acs.Message
	if err := json.Unmarshal(data, &m); err != nil {
		t.Fatalf("frame %q: %v", data, err)
	}
	return m
}

func write(t *testing.T, c *websocket.Conn, typ string, body any) {
	t.Helper()
	inner, _ := json.Marshal(body)
	frame, _ := json.Marshal(acs.Message{Type: typ, Message: inner})
	if err := c.WriteMessage(websocket.TextMessage, frame); err != nil {
		t.Fatal(err)
	}
}

func TestHandshakeRefusals(t *testing.T) {
	f := newFixture(t, func(o *Options) {
		verify := o.Verify
		o.Verify = func(r *http.Request) (string, error) {
			if r.URL.Query().Get("containerInstanceArn") == "inactive" {
				return "", &Exception{Status: http.StatusBadRequest, Type: acs.TypeInactiveInstanceException, Message: "deregistered"}
			}
			return verify(r)
		}
	})
	for _, tc := range []struct {
		name   string
		method string
		target string
		auth   string
		status int
		body   string
	}{
		{"unsigned", http.MethodGet, f.url(testInstance), "", 401, `{"AccessDeniedException":"signature mismatch"}`},
		{"bad signature", http.MethodGet, f.url(testInstance), "bad", 403, `{"AccessDeniedException":"signature mismatch"}`},
		{"inactive", http.MethodGet, f.url("inactive"), "good", 400, `{"InactiveInstanceException":"deregistered"}`},
		{"no instance", http.MethodGet, f.url(""), "good", 400, `{"BadRequestException":"clusterArn and containerInstanceArn are required"}`},
		{"not GET", http.MethodPost, f.url(testInstance), "good", 405, `{"BadRequestException":"ACS handshake must be GET"}`},
	} {
		req, _ := http.NewRequest(tc.method, "http"+strings.TrimPrefix(tc.target, "ws"), nil)
		if tc.auth != "" {
			req.Header.Set("Authorization", tc.auth)
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		body, _ := io.ReadAll(resp.Body)
		_ = resp.Body.Close()
		if resp.StatusCode != tc.status || string(body) != tc.body {
			t.Errorf("%s: %d %s, want %d %s", tc.name, resp.StatusCode, body, tc.status, tc.body)
		}
	}
}

func TestHeartbeatsSentOnInterval(t *testing.T) {
	f := newFixture(t, func(o *Options) { o.HeartbeatInterval = time.Minute })
	c := f.dial(t, testInstance)
	for i := range 2 {
		eventually(t, "heartbeat timer", func() bool { return f.clk.pending() > 0 })
		f.clk.Advance(time.Minute)
		m := read(t, c)
		var hb acs.HeartbeatMessage
		if err := json.Unmarshal(m.Message, &hb); err != nil || m.Type != acs.TypeHeartbeatMessage || !hb.Healthy || hb.MessageID == "" {
			t.Fatalf("heartbeat %d: %s %s", i, m.Type, m.Message)
		}
		write(t, c, acs.TypeHeartbeatAckRequest, acs.HeartbeatAckRequest{MessageID: hb.MessageID})
	}
	eventually(t, "acks seen", func() bool { return len(f.recv.types()) == 2 })
}

func TestDeliverWaitsForAck(t *testing.T) {
	f := newFixture(t, func(o *Options) { o.HeartbeatInterval = -1 })
	if err := f.srv.Deliver(t.Context(), testInstance, acs.PayloadMessage{}); !errors.Is(err, ErrNotConnected) {
		t.Fatalf("deliver to nobody: %v", err)
	}
	c := f.dial(t, testInstance)

	var seqs []int64
	for range 2 {
		done := make(chan error, 1)
		go func() {
			done <- f.srv.Deliver(context.Background(), testInstance, acs.PayloadMessage{Tasks: []acs.Task{{ARN: "t1"}}})
		}()
		m := read(t, c)
		var p acs.PayloadMessage
		if err := json.Unmarshal(m.Message, &p); err != nil || m.Type != acs.TypePayloadMessage {
			t.Fatalf("payload: %s %s", m.Type, m.Message)
		}
		if p.MessageID == "" || p.ClusterARN != testCluster || p.ContainerInstanceARN != testInstance ||
			p.GeneratedAt != f.clk.Now().UnixMilli() || len(p.Tasks) != 1 {
			t.Errorf("payload fields: %+v", p)
		}
		seqs = append(seqs, p.SeqNum)
		select {
		case err := <-done:
			t.Fatalf("Deliver returned before the ack: %v", err)
		case <-time.After(20 * time.Millisecond):
		}
		write(t, c, acs.TypeAckRequest, acs.AckRequest{Cluster: testCluster, ContainerInstance: testInstance, MessageID: "someone-else"})
		write(t, c, acs.TypeAckRequest, acs.AckRequest{Cluster: testCluster, ContainerInstance: testInstance, MessageID: p.MessageID})
		if err := <-done; err != nil {
			t.Fatal(err)
		}
	}
	if seqs[0] != f.clk.Now().Unix() || seqs[1] != seqs[0]+1 {
		t.Errorf("seqNums %v: want the Unix time, then +1", seqs)
	}

	// No ack within ctx.
	ctx, cancel := context.WithTimeout(t.Context(), 50*time.Millisecond)
	defer cancel()
	if err := f.srv.Deliver(ctx, testInstance, acs.PayloadMessage{}); !errors.Is(err, context.DeadlineExceeded) {
		t.Errorf("no ack: %v", err)
	}
	read(t, c)

	// The connection ends while waiting.
	done := make(chan error, 1)
	go func() { done <- f.srv.Deliver(context.Background(), testInstance, acs.PayloadMessage{}) }()
	read(t, c)
	_ = c.Close()
	if err := <-done; !errors.Is(err, ErrDisconnected) {
		t.Errorf("disconnected: %v", err)
	}
	eventually(t, "unregistered", func() bool { return !f.srv.Connected(testInstance) })
	if err := f.srv.Send(t.Context(), testInstance, acs.TypeHeartbeatMessage, acs.HeartbeatMessage{}); !errors.Is(err, ErrNotConnected) {
		t.Errorf("send after disconnect: %v", err)
	}
}

func TestGarbageFromAgentIsSkipped(t *testing.T) {
	f := newFixture(t, func(o *Options) { o.HeartbeatInterval = -1 })
	c := f.dial(t, testInstance)
	for _, g := range []string{`{oops`, `[]`, `{"message":{}}`, `{"type":"WhatIsThis","message":{}}`, `{"type":"AckRequest","message":"x"}`} {
		if err := c.WriteMessage(websocket.TextMessage, []byte(g)); err != nil {
			t.Fatal(err)
		}
	}
	if err := c.WriteMessage(websocket.BinaryMessage, []byte{1, 2, 3}); err != nil {
		t.Fatal(err)
	}
	write(t, c, acs.TypeIAMRoleCredentialsAckRequest, acs.IAMRoleCredentialsAckRequest{MessageID: "p1", CredentialsID: "c1", Expiration: "2024-01-01T06:00:00Z"})
	eventually(t, "credentials ack", func() bool {
		ack, ok := f.srv.CredentialsAck("c1")
		return ok && ack.MessageID == "p1" && ack.Expiration == "2024-01-01T06:00:00Z"
	})
	if !f.srv.Connected(testInstance) {
		t.Fatal("garbage ended the connection")
	}
	got := fmt.Sprint(f.recv.types())
	if got != "[WhatIsThis AckRequest IAMRoleCredentialsAckRequest]" {
		t.Errorf("OnMessage saw %s", got)
	}
}

func TestNewConnectionReplacesOld(t *testing.T) {
	var mu sync.Mutex
	var connects []string
	var ended []context.Context
	f := newFixture(t, func(o *Options) {
		o.HeartbeatInterval = -1
		o.OnConnect = func(ctx context.Context, arn string) {
			mu.Lock()
			connects = append(connects, arn)
			ended = append(ended, ctx)
			mu.Unlock()
		}
	})
	first := f.dial(t, testInstance)
	eventually(t, "OnConnect", func() bool { mu.Lock(); defer mu.Unlock(); return len(connects) == 1 })
	second, _, err := websocket.DefaultDialer.Dial(f.url(testInstance), http.Header{"Authorization": {"good"}})
	if err != nil {
		t.Fatal(err)
	}
	defer second.Close()

	_ = first.SetReadDeadline(time.Now().Add(10 * time.Second))
	_, _, err = first.ReadMessage()
	var ce *websocket.CloseError
	if !errors.As(err, &ce) || ce.Code != websocket.CloseNormalClosure {
		t.Fatalf("old connection: %v", err)
	}
	eventually(t, "second OnConnect", func() bool { mu.Lock(); defer mu.Unlock(); return len(connects) == 2 })
	mu.Lock()
	firstCtx := ended[0]
	mu.Unlock()
	eventually(t, "first ctx ended", func() bool { return firstCtx.Err() != nil })
	if !f.srv.Connected(testInstance) {
		t.Fatal("the new connection was dropped with the old one")
	}
	if err := f.srv.Send(t.Context(), testInstance, acs.TypeHeartbeatMessage, acs.HeartbeatMessage{MessageID: "h1"}); err != nil {
		t.Fatal(err)
	}
	if m := read(t, second); m.Type != acs.TypeHeartbeatMessage {
		t.Errorf("second got %s", m.Type)
	}
	info, ok := f.srv.Info(testInstance)
	if !ok || info.Principal != "AKIDEXAMPLE" || info.Cluster != testCluster || info.AgentVersion != "0.1.0" || !info.SendCredentials || info.ProtocolVersion != 2 {
		t.Errorf("info: %+v", info)
	}
}

func TestSendManifestTimelineFollowsPayloads(t *testing.T) {
	f := newFixture(t, func(o *Options) { o.HeartbeatInterval = -1 })
	c := f.dial(t, testInstance)
	go func() { _ = f.srv.Deliver(t.Context(), testInstance, acs.PayloadMessage{}) }()
	var p acs.PayloadMessage
	_ = json.Unmarshal(read(t, c).Message, &p)
	write(t, c, acs.TypeAckRequest, acs.AckRequest{MessageID: p.MessageID})

	if err := f.srv.SendManifest(t.Context(), testInstance, []acs.TaskIdentifier{{TaskARN: "t1", DesiredStatus: "RUNNING"}}); err != nil {
		t.Fatal(err)
	}
	m := read(t, c)
	var man acs.TaskManifestMessage
	if err := json.Unmarshal(m.Message, &man); err != nil || m.Type != acs.TypeTaskManifestMessage {
		t.Fatalf("manifest: %s %s", m.Type, m.Message)
	}
	if man.Timeline == nil || *man.Timeline != p.SeqNum+1 || man.MessageID == "" || man.ClusterARN != testCluster ||
		man.ContainerInstanceARN != testInstance || len(man.Tasks) != 1 {
		t.Errorf("manifest fields: %+v (payload seq %d)", man, p.SeqNum)
	}
}

func TestDisconnectAndClose(t *testing.T) {
	f := newFixture(t, func(o *Options) { o.HeartbeatInterval = -1 })
	c := f.dial(t, testInstance)
	if err := f.srv.Disconnect(testInstance); err != nil {
		t.Fatal(err)
	}
	_ = c.SetReadDeadline(time.Now().Add(10 * time.Second))
	if _, _, err := c.ReadMessage(); !websocket.IsCloseError(err, websocket.CloseNormalClosure) {
		t.Errorf("disconnect: %v", err)
	}
	eventually(t, "unregistered", func() bool { return !f.srv.Connected(testInstance) })
	if err := f.srv.Disconnect(testInstance); !errors.Is(err, ErrNotConnected) {
		t.Errorf("second disconnect: %v", err)
	}

	c2 := f.dial(t, "other")
	if err := f.srv.Close(); err != nil {
		t.Fatal(err)
	}
	_ = c2.SetReadDeadline(time.Now().Add(10 * time.Second))
	if _, _, err := c2.ReadMessage(); !websocket.IsCloseError(err, websocket.CloseGoingAway) {
		t.Errorf("close: %v", err)
	}
	_, resp, err := websocket.DefaultDialer.Dial(f.url(testInstance), http.Header{"Authorization": {"good"}})
	if err == nil || resp == nil || resp.StatusCode != http.StatusServiceUnavailable {
		t.Errorf("handshake after Close: %v %v", err, resp)
	}
}

func TestNewIDIsUUIDv4(t *testing.T) {
	id := newID()
	if len(id) != 36 || id[14] != '4' || strings.Count(id, "-") != 4 || !strings.ContainsAny(id[19:20], "89ab") {
		t.Errorf("id %q", id)
	}
	if newID() == id {
		t.Error("ids repeat")
	}
}
