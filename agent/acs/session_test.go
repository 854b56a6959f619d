package acs

import (
	"context"
	"encoding/json"
	"errors"
	"net"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/gorilla/websocket"

	"github.com/ecsd-project/ecsd/agent/wsclient"
	"github.com/ecsd-project/ecsd/controlplane/acsserver"
	"github.com/ecsd-project/ecsd/wire/acs"
)

func TestHandshakeIsSignedAndCarriesTheQuery(t *testing.T) {
	h := newHarness(t, harnessOption{})
	h.awaitConnected(t)

	hs := h.verifier.seen()
	if len(hs) != 1 {
		t.Fatalf("handshakes: %d", len(hs))
	}
	want := url.Values{
		"agentHash":            {"abc1234"},
		"agentVersion":         {"0.1.0"},
		"clusterArn":           {testCluster},
		"containerInstanceArn": {testInstance},
		"dockerVersion":        {"containerd"},
		"protocolVersion":      {"2"},
		"sendCredentials":      {"true"},
		"seqNum":               {"1"},
	}
	if got := hs[0].rawQuery; got != want.Encode() {
		t.Errorf("query\n got %s\nwant %s", got, want.Encode())
	}
	if got := hs[0].header.Get("X-Amz-Security-Token"); got != testCreds.SessionToken {
		t.Errorf("X-Amz-Security-Token = %q", got)
	}
	if auth := hs[0].header.Get("Authorization"); !strings.Contains(auth, "/us-east-1/ecs/aws4_request") {
		t.Errorf("Authorization not scoped to ecs in us-east-1: %q", auth)
	}
	info, ok := h.srv.Info(testInstance)
	if !ok || info.Principal != testCreds.AccessKeyID || !info.SendCredentials || info.DockerVersion != "containerd" || info.ProtocolVersion != 2 {
		t.Errorf("server info: %+v", info)
	}
}

func TestHandshakeWithWrongKeyIsDenied(t *testing.T) {
	h := newHarness(t, harnessOption{noSession: true})
	bad := testCreds
	bad.SecretAccessKey = "not-the-secret"
	logger, _ := newTestLogger(t)
	s, err := New(Config{
		Endpoint: func(context.Context) (string, error) { return h.hs.URL, nil },
		Peer:     wsclient.Peer{Cluster: testCluster, ContainerInstanceARN: testInstance, Region: testRegion, Credentials: staticCreds(bad)},
		Handler:  newFakeHandler(),
		Log:      logger,
		Settings: wsclient.Settings{InsecureSkipVerify: true},
	})
	if err != nil {
		t.Fatal(err)
	}
	_, err = s.connect(t.Context())
	var se *ServerError
	if !errors.Is(err, ErrAccessDenied) || !errors.As(err, &se) || se.StatusCode != http.StatusForbidden {
		t.Fatalf("connect with a wrong key: %v", err)
	}
	if !strings.Contains(se.Message, "signature mismatch") {
		t.Errorf("message: %q", se.Message)
	}
}

func TestPayloadAckedAfterHandlerWithCredentialAcks(t *testing.T) {
	h := newHarness(t, harnessOption{})
	h.awaitConnected(t)

	h.sendFixture(t, "payload.json")
	ack := h.rec.await(t, acs.TypeAckRequest, "6f1e...")
	assertGolden(t, ack, "payload_ack.json")
	credAck := h.rec.await(t, acs.TypeIAMRoleCredentialsAckRequest, "6f1e...")
	assertGolden(t, credAck, "payload_credentials_ack.json")

	if !h.handler.has(func(f *fakeHandler) bool { return f.payloads["6f1e..."] != nil })() {
		t.Fatal("acked before the handler had the payload")
	}
	if got, ok := h.srv.CredentialsAck("c1"); !ok || got.Expiration != "2024-01-01T06:00:00Z" {
		t.Errorf("server credentials ack: %+v %v", got, ok)
	}
	// The payload's seqNum (42) became the latest sequence number.
	if got := h.handler.ManifestSeq(); got != 42 {
		t.Errorf("manifest seq = %d, want 42", got)
	}
}

func TestDeliverWaitsForTheAck(t *testing.T) {
	h := newHarness(t, harnessOption{})
	h.awaitConnected(t)

	payload := acs.PayloadMessage{Tasks: []acs.Task{{
		ARN: "arn:aws:ecs:us-east-1:111122223333:task/default/t1", DesiredStatus: acs.DesiredStatusRunning,
		ExecutionRoleCredentials: &acs.IAMRoleCredentials{CredentialsID: "exec-1", Expiration: "2016-03-25T06:17:19.318+0000"},
	}}}
	ctx, cancel := context.WithTimeout(t.Context(), 10*time.Second)
	defer cancel()
	if err := h.srv.Deliver(ctx, testInstance, payload); err != nil {
		t.Fatal(err)
	}
	h.handler.mu.Lock()
	var got *acs.PayloadMessage
	for _, p := range h.handler.payloads {
		got = p
	}
	h.handler.mu.Unlock()
	if got == nil || got.ClusterARN != testCluster || got.ContainerInstanceARN != testInstance || got.SeqNum <= 0 || got.GeneratedAt <= 0 {
		t.Fatalf("handler got %+v", got)
	}
	eventually(t, "execution role credentials ack", func() bool {
		ack, ok := h.srv.CredentialsAck("exec-1")
		return ok && ack.MessageID == got.MessageID && ack.Expiration == "2016-03-25T06:17:19.318+0000"
	})
}

func TestPayloadNotAckedWhenHandlerFails(t *testing.T) {
	h := newHarness(t, harnessOption{})
	h.awaitConnected(t)
	h.handler.mu.Lock()
	h.handler.failPayload = errors.New("disk full")
	h.handler.mu.Unlock()

	ctx, cancel := context.WithTimeout(t.Context(), 300*time.Millisecond)
	defer cancel()
	err := h.srv.Deliver(ctx, testInstance, acs.PayloadMessage{Tasks: []acs.Task{{ARN: "t1", DesiredStatus: acs.DesiredStatusRunning}}})
	if !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("Deliver with a failing handler: %v", err)
	}
	if n := h.rec.count(acs.TypeAckRequest); n != 0 {
		t.Errorf("%d AckRequest sent for a payload the handler refused", n)
	}

	// The session is still up: the redelivery is acked once the handler
	// recovers.
	h.handler.mu.Lock()
	h.handler.failPayload = nil
	h.handler.mu.Unlock()
	ctx2, cancel2 := context.WithTimeout(t.Context(), 10*time.Second)
	defer cancel2()
	if err := h.srv.Deliver(ctx2, testInstance, acs.PayloadMessage{Tasks: []acs.Task{{ARN: "t1", DesiredStatus: acs.DesiredStatusRunning}}}); err != nil {
		t.Fatal(err)
	}
}

func TestPayloadWithoutIdentityDropped(t *testing.T) {
	h := newHarness(t, harnessOption{})
	h.awaitConnected(t)
	for _, p := range []acs.PayloadMessage{
		{ClusterARN: testCluster, ContainerInstanceARN: testInstance},
		{MessageID: "p2", ContainerInstanceARN: testInstance},
		{MessageID: "p3", ClusterARN: testCluster},
	} {
		if err := h.srv.Send(t.Context(), testInstance, acs.TypePayloadMessage, p); err != nil {
			t.Fatal(err)
		}
	}
	h.sendFixture(t, "heartbeat.json")
	h.rec.await(t, acs.TypeHeartbeatAckRequest, "h1")
	if n := h.rec.count(acs.TypeAckRequest); n != 0 {
		t.Errorf("%d payloads without identity acked", n)
	}
	if h.handler.has(func(f *fakeHandler) bool { return len(f.payloads) != 0 })() {
		t.Error("handler got a payload without identity")
	}
}

func TestHeartbeatAcked(t *testing.T) {
	h := newHarness(t, harnessOption{})
	h.awaitConnected(t)
	h.sendFixture(t, "heartbeat.json")
	assertGolden(t, h.rec.await(t, acs.TypeHeartbeatAckRequest, "h1"), "heartbeat_ack.json")
}

func TestServerHeartbeatsAreAcked(t *testing.T) {
	h := newHarness(t, harnessOption{server: func(o *acsserver.Options) { o.HeartbeatInterval = 20 * time.Millisecond }})
	h.awaitConnected(t)
	eventually(t, "three heartbeat acks", func() bool { return h.rec.count(acs.TypeHeartbeatAckRequest) >= 3 })
}

func TestCredentialsRefreshAcked(t *testing.T) {
	h := newHarness(t, harnessOption{})
	h.awaitConnected(t)
	msg := acs.IAMRoleCredentialsMessage{
		MessageID: "r1", TaskARN: "arn:aws:ecs:us-east-1:111122223333:task/default/t1", RoleType: acs.RoleTypeTaskApplication,
		RoleCredentials: &acs.IAMRoleCredentials{CredentialsID: "c9", AccessKeyID: "ASIA", SecretAccessKey: "s", Expiration: "2016-03-25T06:17:19.318+0000"},
	}
	if err := h.srv.Send(t.Context(), testInstance, acs.TypeIAMRoleCredentialsMessage, msg); err != nil {
		t.Fatal(err)
	}
	got := h.rec.await(t, acs.TypeIAMRoleCredentialsAckRequest, "r1")
	var ack acs.IAMRoleCredentialsAckRequest
	if err := json.Unmarshal(got.Message, &ack); err != nil {
		t.Fatal(err)
	}
	if ack != (acs.IAMRoleCredentialsAckRequest{MessageID: "r1", Expiration: "2016-03-25T06:17:19.318+0000", CredentialsID: "c9"}) {
		t.Errorf("ack: %+v", ack)
	}
	if !h.handler.has(func(f *fakeHandler) bool { return f.creds["c9"] != nil })() {
		t.Error("handler did not get the credentials")
	}
}

func TestManifestStopVerification(t *testing.T) {
	h := newHarness(t, harnessOption{})
	h.handler.mu.Lock()
	h.handler.running["arn:...:task/default/keep"] = acs.TaskIdentifier{TaskARN: "arn:...:task/default/keep", TaskClusterARN: "...", DesiredStatus: "RUNNING"}
	h.handler.running["arn:...:task/default/orphan"] = acs.TaskIdentifier{TaskARN: "arn:...:task/default/orphan", TaskClusterARN: "...", DesiredStatus: "RUNNING"}
	h.handler.seq = 42
	h.handler.mu.Unlock()
	h.awaitConnected(t)

	h.sendFixture(t, "manifest.json")
	assertGolden(t, h.rec.await(t, acs.TypeAckRequest, "m7"), "manifest_ack.json")
	assertGolden(t, h.rec.await(t, acs.TypeTaskStopVerificationMessage, "m7"), "stop_verification.json")
	if got := h.handler.ManifestSeq(); got != 43 {
		t.Errorf("manifest seq = %d, want 43", got)
	}

	// A verification for another manifest is ignored.
	stale := acs.TaskStopVerificationAck{MessageID: "m6", StopTasks: []acs.TaskIdentifier{{TaskARN: "arn:...:task/default/keep", DesiredStatus: "STOPPED"}}}
	if err := h.srv.Send(t.Context(), testInstance, acs.TypeTaskStopVerificationAck, stale); err != nil {
		t.Fatal(err)
	}
	h.sendFixture(t, "stop_verification_ack.json")
	eventually(t, "orphan stopped", h.handler.has(func(f *fakeHandler) bool { return f.stopped["arn:...:task/default/orphan"] }))
	if h.handler.has(func(f *fakeHandler) bool { return f.stopped["arn:...:task/default/keep"] })() {
		t.Error("a verification for another manifest stopped a task")
	}
}

func TestStaleManifestIgnored(t *testing.T) {
	h := newHarness(t, harnessOption{})
	h.handler.mu.Lock()
	h.handler.running["arn:...:task/default/orphan"] = acs.TaskIdentifier{TaskARN: "arn:...:task/default/orphan", DesiredStatus: "RUNNING"}
	h.handler.seq = 50
	h.handler.mu.Unlock()
	h.awaitConnected(t)

	h.sendFixture(t, "manifest.json") // timeline 43
	h.sendFixture(t, "heartbeat.json")
	h.rec.await(t, acs.TypeHeartbeatAckRequest, "h1")
	if _, ok := h.rec.find(acs.TypeAckRequest, "m7"); ok {
		t.Error("stale manifest acked")
	}
	if n := h.rec.count(acs.TypeTaskStopVerificationMessage); n != 0 {
		t.Errorf("%d stop verifications for a stale manifest", n)
	}
	if got := h.handler.ManifestSeq(); got != 50 {
		t.Errorf("manifest seq moved to %d", got)
	}
}

func TestManifestTimelineAboveDeliveredPayloads(t *testing.T) {
	h := newHarness(t, harnessOption{})
	h.awaitConnected(t)
	ctx, cancel := context.WithTimeout(t.Context(), 10*time.Second)
	defer cancel()
	if err := h.srv.Deliver(ctx, testInstance, acs.PayloadMessage{Tasks: []acs.Task{{ARN: "t1", DesiredStatus: acs.DesiredStatusRunning}}}); err != nil {
		t.Fatal(err)
	}
	if err := h.srv.SendManifest(ctx, testInstance, []acs.TaskIdentifier{{TaskARN: "t1", DesiredStatus: acs.DesiredStatusRunning}}); err != nil {
		t.Fatal(err)
	}
	eventually(t, "manifest acked", func() bool { return h.rec.count(acs.TypeAckRequest) == 2 })
	if n := h.rec.count(acs.TypeTaskStopVerificationMessage); n != 0 {
		t.Errorf("%d stop verifications though the manifest lists every task", n)
	}
}

func TestUpdateMessagesNackedAttachmentsAcked(t *testing.T) {
	h := newHarness(t, harnessOption{})
	h.awaitConnected(t)
	send := func(typ string, msg any) {
		t.Helper()
		if err := h.srv.Send(t.Context(), testInstance, typ, msg); err != nil {
			t.Fatal(err)
		}
	}
	info := &acs.UpdateInfo{Location: "https://example.com/agent.tar", Signature: "sig"}
	send(acs.TypeStageUpdateMessage, acs.StageUpdateMessage{ClusterARN: testCluster, ContainerInstanceARN: testInstance, MessageID: "u1", UpdateInfo: info})
	send(acs.TypePerformUpdateMessage, acs.PerformUpdateMessage{ClusterARN: testCluster, ContainerInstanceARN: testInstance, MessageID: "u2", UpdateInfo: info})
	send(acs.TypeAttachTaskNetworkInterfacesMessage, acs.AttachTaskNetworkInterfacesMessage{ClusterARN: testCluster, ContainerInstanceARN: testInstance, MessageID: "a1", TaskARN: "t1"})
	send(acs.TypeAttachInstanceNetworkInterfacesMessage, acs.AttachInstanceNetworkInterfacesMessage{ClusterARN: testCluster, ContainerInstanceARN: testInstance, MessageID: "a2"})
	send(acs.TypeConfirmAttachmentMessage, acs.ConfirmAttachmentMessage{ClusterARN: testCluster, ContainerInstanceARN: testInstance, MessageID: "a3"})

	for _, id := range []string{"u1", "u2"} {
		var nack acs.NackRequest
		if err := json.Unmarshal(h.rec.await(t, acs.TypeNackRequest, id).Message, &nack); err != nil {
			t.Fatal(err)
		}
		want := acs.NackRequest{Cluster: testCluster, ContainerInstance: testInstance, MessageID: id, Reason: updateNackReason}
		if nack != want {
			t.Errorf("nack %s: %+v", id, nack)
		}
	}
	for _, id := range []string{"a1", "a2", "a3"} {
		var ack acs.AckRequest
		if err := json.Unmarshal(h.rec.await(t, acs.TypeAckRequest, id).Message, &ack); err != nil {
			t.Fatal(err)
		}
		if ack != (acs.AckRequest{Cluster: testCluster, ContainerInstance: testInstance, MessageID: id}) {
			t.Errorf("ack %s: %+v", id, ack)
		}
	}
}

func TestMalformedAndUnknownFramesDoNotEndTheSession(t *testing.T) {
	ss := newScriptServer(t, nil)
	logger, logs := newTestLogger(t)
	s := scriptSession(t, ss, newFakeHandler(), func(c *Config) { c.Log = logger })
	runSession(t, s)
	c := ss.accept(t)

	for _, frame := range []string{
		`{not json`,
		`[1,2,3]`,
		`{"message":{}}`,
		`{"type":"FooMessage","message":{"x":1}}`,
		`{"type":"PayloadMessage","message":"not an object"}`,
		`{"type":"HeartbeatMessage","message":[]}`,
		`{"type":"TaskManifestMessage","message":{"timeline":"soon"}}`,
		`{"ServerException":"something broke"}`,
		`{"type":"CloseMessage","message":{"message":"bye"}}`,
		`{"type":"ErrorMessage","message":{"message":"oops"}}`,
	} {
		if err := c.WriteMessage(websocket.TextMessage, []byte(frame)); err != nil {
			t.Fatal(err)
		}
	}
	if err := c.WriteMessage(websocket.BinaryMessage, []byte{0, 1, 2}); err != nil {
		t.Fatal(err)
	}
	if err := c.WriteMessage(websocket.TextMessage, readFixture(t, "heartbeat.json")); err != nil {
		t.Fatal(err)
	}
	assertGolden(t, readType(t, c, acs.TypeHeartbeatAckRequest), "heartbeat_ack.json")
	if !logs.contains("level=WARN msg=\"unknown ACS message type ignored\" type=FooMessage") {
		t.Error("unknown type not logged at warn with its type")
	}
	if !logs.contains("malformed ACS frame skipped") || !logs.contains("malformed ACS message skipped") {
		t.Error("malformed frames not logged")
	}
	if !s.Connected() {
		t.Error("session dropped")
	}
}

func TestInactivityTimeoutReconnects(t *testing.T) {
	ss := newScriptServer(t, nil)
	s := scriptSession(t, ss, newFakeHandler(), func(c *Config) {
		c.InactivityTimeout = 400 * time.Millisecond
		c.InactivityJitter = time.Millisecond
		c.BackoffMin = time.Millisecond
		c.BackoffMax = 2 * time.Millisecond
	})
	start := time.Now()
	runSession(t, s)
	first := ss.accept(t)
	// A frame resets the timer: the connection outlives one timeout.
	time.Sleep(150 * time.Millisecond)
	if err := first.WriteMessage(websocket.TextMessage, readFixture(t, "heartbeat.json")); err != nil {
		t.Fatal(err)
	}
	readType(t, first, acs.TypeHeartbeatAckRequest)
	_ = first.SetReadDeadline(time.Now().Add(10 * time.Second))
	for {
		if _, _, err := first.ReadMessage(); err != nil {
			break
		}
	}
	if elapsed := time.Since(start); elapsed < 500*time.Millisecond {
		t.Errorf("connection closed after %v, before the reset timer expired", elapsed)
	}
	ss.accept(t)
}

func TestServerCloseReconnectsWithoutCredentialsRequest(t *testing.T) {
	clk := newFakeClock()
	h := newHarness(t, harnessOption{cfg: func(c *Config) { c.Clock = clk }})
	h.awaitConnected(t)
	if err := h.srv.Disconnect(testInstance); err != nil {
		t.Fatal(err)
	}
	// No clock advance: a clean close reconnects without waiting.
	eventually(t, "second handshake", func() bool { return len(h.verifier.seen()) == 2 })
	h.awaitConnected(t)
	hs := h.verifier.seen()
	if got := hs[0].query.Get("sendCredentials"); got != "true" {
		t.Errorf("first sendCredentials = %q", got)
	}
	if got := hs[1].query.Get("sendCredentials"); got != "false" {
		t.Errorf("second sendCredentials = %q", got)
	}
	errs := h.disconnectErrs()
	if len(errs) != 1 || !websocket.IsCloseError(errs[0], websocket.CloseNormalClosure) {
		t.Errorf("disconnect reasons: %v", errs)
	}
}

func TestNewConnectionReplacesOld(t *testing.T) {
	h := newHarness(t, harnessOption{})
	h.awaitConnected(t)
	// A second agent claiming the same instance takes over.
	other, err := New(Config{
		Endpoint: func(context.Context) (string, error) { return h.hs.URL, nil },
		Peer:     wsclient.Peer{Cluster: testCluster, ContainerInstanceARN: testInstance, Region: testRegion, Credentials: staticCreds(testCreds)},
		Handler:  newFakeHandler(),
		Settings: wsclient.Settings{InsecureSkipVerify: true},
	})
	if err != nil {
		t.Fatal(err)
	}
	ws, err := other.connect(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	defer ws.Close()
	eventually(t, "first session reconnects", func() bool { return len(h.verifier.seen()) >= 3 })
}

func TestLifetimeExpiryClosesWith1000AndReconnects(t *testing.T) {
	ss := newScriptServer(t, nil)
	clk := newFakeClock()
	s := scriptSession(t, ss, newFakeHandler(), func(c *Config) {
		c.Clock = clk
		c.InactivityTimeout = 10 * time.Hour
	})
	runSession(t, s)
	first := ss.accept(t)
	d := clk.awaitWait(t, "lifetime timer", func(d time.Duration) bool {
		return d >= DefaultConnectionLifetime && d < DefaultConnectionLifetime+DefaultLifetimeJitter
	})
	clk.Advance(d)
	_ = first.SetReadDeadline(time.Now().Add(10 * time.Second))
	_, _, err := first.ReadMessage()
	var ce *websocket.CloseError
	if !errors.As(err, &ce) || ce.Code != websocket.CloseNormalClosure || ce.Text != "ConnectionExpired: Reconnect to continue" {
		t.Fatalf("close on expiry: %v", err)
	}
	ss.accept(t) // at once: the clock did not move again
}

func TestReconnectBackoffGrowsWithinBounds(t *testing.T) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	dead := "https://" + l.Addr().String()
	_ = l.Close()
	clk := newFakeClock()
	logger, _ := newTestLogger(t)
	s, err := New(Config{
		Endpoint: func(context.Context) (string, error) { return dead, nil },
		Peer:     wsclient.Peer{Cluster: testCluster, ContainerInstanceARN: testInstance, Region: testRegion, Credentials: staticCreds(testCreds)},
		Handler:  newFakeHandler(), Clock: clk, Log: logger,
	})
	if err != nil {
		t.Fatal(err)
	}
	runSession(t, s)

	step := DefaultBackoffMin
	for i := range 20 {
		d := clk.awaitWait(t, "backoff", func(time.Duration) bool { return true })
		if d < step || d >= step+time.Duration(float64(step)*DefaultBackoffJitter) {
			t.Errorf("wait %d = %v, want [%v, %v)", i, d, step, step+time.Duration(float64(step)*DefaultBackoffJitter))
		}
		if d > time.Duration(float64(DefaultBackoffMax)*(1+DefaultBackoffJitter)) {
			t.Errorf("wait %d = %v beyond the maximum", i, d)
		}
		step = min(DefaultBackoffMax, time.Duration(float64(step)*DefaultBackoffMultiplier))
		clk.Advance(d)
	}
	if step != DefaultBackoffMax {
		t.Errorf("backoff never reached its maximum: %v", step)
	}
}

func TestInactiveInstancePauses(t *testing.T) {
	clk := newFakeClock()
	h := newHarness(t, harnessOption{
		cfg:    func(c *Config) { c.Clock = clk },
		refuse: []error{&acsserver.Exception{Status: http.StatusBadRequest, Type: acs.TypeInactiveInstanceException, Message: "instance deregistered"}},
	})

	// Refused at the handshake: pause one hour, then try again.
	clk.awaitWait(t, "inactive pause", func(d time.Duration) bool { return d == DefaultInactivePause })
	if n := len(h.verifier.seen()); n != 1 {
		t.Fatalf("%d handshakes during the pause", n)
	}
	if errs := h.disconnectErrs(); len(errs) != 1 || !errors.Is(errs[0], ErrInactiveInstance) {
		t.Fatalf("OnDisconnect: %v", errs)
	}
	clk.Advance(DefaultInactivePause - time.Second)
	time.Sleep(50 * time.Millisecond)
	if n := len(h.verifier.seen()); n != 1 {
		t.Fatalf("reconnected before the pause ended (%d handshakes)", n)
	}
	clk.Advance(time.Second)
	h.awaitConnected(t)

	// Told so in a frame: disconnect and pause again.
	if err := h.srv.Send(t.Context(), testInstance, acs.TypeInactiveInstanceException, acs.Exception{Message: "instance deregistered"}); err != nil {
		t.Fatal(err)
	}
	eventually(t, "disconnect", func() bool { return len(h.disconnectErrs()) == 2 })
	if err := h.disconnectErrs()[1]; !errors.Is(err, ErrInactiveInstance) {
		t.Fatalf("disconnect reason: %v", err)
	}
	eventually(t, "second pause", func() bool {
		clk.mu.Lock()
		defer clk.mu.Unlock()
		n := 0
		for _, w := range clk.waiters {
			if w.d == DefaultInactivePause {
				n++
			}
		}
		return n == 1 && !h.sess.Connected()
	})
	if n := len(h.verifier.seen()); n != 2 {
		t.Fatalf("%d handshakes, want 2", n)
	}
}

func TestHandshakeErrorBodiesAreTyped(t *testing.T) {
	bodies := map[string]string{
		"/unframed": `{"InvalidClusterException":"Invalid cluster"}`,
		"/framed":   `{"type":"InvalidInstanceException","message":{"message":"no such instance"}}`,
		"/garbage":  `<html>bad gateway</html>`,
	}
	ss := newScriptServer(t, func(w http.ResponseWriter, r *http.Request) bool {
		w.WriteHeader(http.StatusBadRequest)
		_, _ = w.Write([]byte(bodies[strings.TrimSuffix(r.URL.Path, "/ws")]))
		return true
	})
	connect := func(path string) error {
		s := scriptSession(t, ss, newFakeHandler(), func(c *Config) {
			c.Endpoint = func(context.Context) (string, error) { return ss.hs.URL + path, nil }
		})
		_, err := s.connect(t.Context())
		return err
	}
	var se *ServerError
	if err := connect("/unframed"); !errors.Is(err, ErrInvalidCluster) || !errors.As(err, &se) || se.Message != "Invalid cluster" || se.StatusCode != 400 {
		t.Errorf("unframed: %v", err)
	}
	if err := connect("/framed"); !errors.Is(err, ErrInvalidInstance) || !errors.As(err, &se) || se.Message != "no such instance" {
		t.Errorf("framed: %v", err)
	}
	if err := connect("/garbage"); err == nil || errors.As(err, &se) || !strings.Contains(err.Error(), "400") {
		t.Errorf("garbage: %v", err)
	}
}

func TestProxyIsUsedForTheWebsocket(t *testing.T) {
	proxy := newConnectProxy(t)
	proxyURL, _ := url.Parse(proxy.hs.URL)
	var asked []string
	h := newHarness(t, harnessOption{cfg: func(c *Config) {
		c.Proxy = func(r *http.Request) (*url.URL, error) {
			asked = append(asked, r.URL.Scheme+"://"+r.URL.Host)
			return proxyURL, nil
		}
	}})
	h.awaitConnected(t)
	target := strings.TrimPrefix(h.hs.URL, "https://")
	if got := proxy.seen(); len(got) != 1 || got[0] != target {
		t.Errorf("proxy CONNECTs: %v, want [%s]", got, target)
	}
	if len(asked) != 1 || asked[0] != h.hs.URL {
		t.Errorf("proxy func asked for %v", asked)
	}
	h.sendFixture(t, "heartbeat.json")
	h.rec.await(t, acs.TypeHeartbeatAckRequest, "h1")
}
