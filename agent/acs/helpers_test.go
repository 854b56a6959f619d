package acs

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"reflect"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	v4 "github.com/aws/aws-sdk-go-v2/aws/signer/v4"
	"github.com/gorilla/websocket"

	"github.com/ecsd-project/ecsd/agent/wsclient"
	"github.com/ecsd-project/ecsd/controlplane/acsserver"
	"github.com/ecsd-project/ecsd/wire/acs"
)

// The instance of the §11 examples.
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

// testLogger logs to the test's output and keeps the lines for checks.
type testLogger struct {
	mu  sync.Mutex
	buf bytes.Buffer
	out io.Writer
}

func (l *testLogger) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.buf.Write(p)
	return l.out.Write(p)
}

func (l *testLogger) contains(s string) bool {
	l.mu.Lock()
	defer l.mu.Unlock()
	return strings.Contains(l.buf.String(), s)
}

func newTestLogger(t *testing.T) (*slog.Logger, *testLogger) {
	tl := &testLogger{out: t.Output()}
	return slog.New(slog.NewTextHandler(tl, &slog.HandlerOptions{Level: slog.LevelDebug})), tl
}

// fakeClock moves only when told to.
type fakeClock struct {
	mu      sync.Mutex
	now     time.Time
	waiters []fakeWaiter
}

type fakeWaiter struct {
	at time.Time
	d  time.Duration
	ch chan time.Time
}

func newFakeClock() *fakeClock { return &fakeClock{now: time.Now()} }

func (c *fakeClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

func (c *fakeClock) After(d time.Duration) <-chan time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	ch := make(chan time.Time, 1)
	if d <= 0 {
		ch <- c.now
		return ch
	}
	c.waiters = append(c.waiters, fakeWaiter{at: c.now.Add(d), d: d, ch: ch})
	return ch
}

// Advance moves the clock and fires every wait that became due.
func (c *fakeClock) Advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.now = c.now.Add(d)
	kept := c.waiters[:0]
	for _, w := range c.waiters {
		if w.at.After(c.now) {
			kept = append(kept, w)
			continue
		}
		w.ch <- c.now
	}
	c.waiters = kept
}

// awaitWait waits until a pending wait satisfies match and returns its
// duration.
func (c *fakeClock) awaitWait(t *testing.T, what string, match func(time.Duration) bool) time.Duration {
	t.Helper()
	var got time.Duration
	eventually(t, what, func() bool {
		c.mu.Lock()
		defer c.mu.Unlock()
		for _, w := range c.waiters {
			if match(w.d) {
				got = w.d
				return true
			}
		}
		return false
	})
	return got
}

// fakeHandler keeps what the session handed it in maps.
type fakeHandler struct {
	mu          sync.Mutex
	payloads    map[string]*acs.PayloadMessage // by messageId
	creds       map[string]*acs.IAMRoleCredentialsMessage
	seq         int64
	seqSets     []int64
	running     map[string]acs.TaskIdentifier // by task ARN
	stopped     map[string]bool
	failPayload error
}

func newFakeHandler() *fakeHandler {
	return &fakeHandler{
		payloads: map[string]*acs.PayloadMessage{},
		creds:    map[string]*acs.IAMRoleCredentialsMessage{},
		seq:      -1,
		running:  map[string]acs.TaskIdentifier{},
		stopped:  map[string]bool{},
	}
}

func (h *fakeHandler) Payload(_ context.Context, msg *acs.PayloadMessage) error {
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.failPayload != nil {
		return h.failPayload
	}
	h.payloads[msg.MessageID] = msg
	for _, t := range msg.Tasks {
		if t.DesiredStatus == acs.DesiredStatusRunning {
			h.running[t.ARN] = acs.TaskIdentifier{TaskARN: t.ARN, TaskClusterARN: t.TaskClusterARN, DesiredStatus: t.DesiredStatus}
		}
	}
	return nil
}

func (h *fakeHandler) Credentials(_ context.Context, msg *acs.IAMRoleCredentialsMessage) error {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.creds[msg.RoleCredentials.CredentialsID] = msg
	return nil
}

func (h *fakeHandler) ManifestSeq() int64 {
	h.mu.Lock()
	defer h.mu.Unlock()
	return h.seq
}

func (h *fakeHandler) SetManifestSeq(seq int64) error {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.seq = seq
	h.seqSets = append(h.seqSets, seq)
	return nil
}

func (h *fakeHandler) RunningTasks() []acs.TaskIdentifier {
	h.mu.Lock()
	defer h.mu.Unlock()
	var out []acs.TaskIdentifier
	for _, t := range h.running {
		out = append(out, t)
	}
	slices.SortFunc(out, func(a, b acs.TaskIdentifier) int { return strings.Compare(a.TaskARN, b.TaskARN) })
	return out
}

func (h *fakeHandler) StopTasks(_ context.Context, tasks []acs.TaskIdentifier) error {
	h.mu.Lock()
	defer h.mu.Unlock()
	for _, t := range tasks {
		h.stopped[t.TaskARN] = true
		delete(h.running, t.TaskARN)
	}
	return nil
}

func (h *fakeHandler) has(f func(h *fakeHandler) bool) func() bool {
	return func() bool {
		h.mu.Lock()
		defer h.mu.Unlock()
		return f(h)
	}
}

// recorder keeps the frames the server received.
type recorder struct {
	mu   sync.Mutex
	msgs []acs.Message
}

func (r *recorder) add(_ string, msg acs.Message) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.msgs = append(r.msgs, msg)
}

// find returns the first frame of type typ whose messageId is id.
func (r *recorder) find(typ, id string) (acs.Message, bool) {
	r.mu.Lock()
	defer r.mu.Unlock()
	for _, m := range r.msgs {
		var body struct {
			MessageID string `json:"messageId"`
		}
		if m.Type == typ && json.Unmarshal(m.Message, &body) == nil && body.MessageID == id {
			return m, true
		}
	}
	return acs.Message{}, false
}

func (r *recorder) await(t *testing.T, typ, id string) acs.Message {
	t.Helper()
	var m acs.Message
	eventually(t, typ+" "+id, func() bool {
		var ok bool
		m, ok = r.find(typ, id)
		return ok
	})
	return m
}

// count is the number of frames of type typ.
func (r *recorder) count(typ string) int {
	r.mu.Lock()
	defer r.mu.Unlock()
	n := 0
	for _, m := range r.msgs {
		if m.Type == typ {
			n++
		}
	}
	return n
}

// handshake is what the server saw of one signed handshake.
type handshake struct {
	rawQuery string
	query    url.Values
	header   http.Header
}

// sigV4Verifier checks a handshake's signature by signing the same request
// again with the same credentials and comparing the Authorization header.
type sigV4Verifier struct {
	creds aws.Credentials

	mu         sync.Mutex
	handshakes []handshake
	// refuse, when set, refuses the next handshakes with it.
	refuse []error
}

func (v *sigV4Verifier) verify(r *http.Request) (string, error) {
	v.mu.Lock()
	v.handshakes = append(v.handshakes, handshake{rawQuery: r.URL.RawQuery, query: r.URL.Query(), header: r.Header.Clone()})
	var refusal error
	if len(v.refuse) > 0 {
		refusal, v.refuse = v.refuse[0], v.refuse[1:]
	}
	v.mu.Unlock()
	if err := checkSigV4(r, v.creds); err != nil {
		return "", err
	}
	if refusal != nil {
		return "", refusal
	}
	return v.creds.AccessKeyID, nil
}

func (v *sigV4Verifier) seen() []handshake {
	v.mu.Lock()
	defer v.mu.Unlock()
	return slices.Clone(v.handshakes)
}

func checkSigV4(r *http.Request, creds aws.Credentials) error {
	auth := r.Header.Get("Authorization")
	if auth == "" {
		return errors.New("request is not signed")
	}
	_, signed, ok := strings.Cut(auth, "SignedHeaders=")
	if !ok {
		return fmt.Errorf("no SignedHeaders in %q", auth)
	}
	signed, _, _ = strings.Cut(signed, ",")
	at, err := time.Parse("20060102T150405Z", r.Header.Get("X-Amz-Date"))
	if err != nil {
		return fmt.Errorf("X-Amz-Date: %w", err)
	}
	again, err := http.NewRequest(http.MethodGet, "https://"+r.Host+r.URL.RequestURI(), nil)
	if err != nil {
		return err
	}
	for _, h := range strings.Split(signed, ";") {
		if h != "host" {
			again.Header[http.CanonicalHeaderKey(h)] = r.Header.Values(h)
		}
	}
	if err := v4.NewSigner().SignHTTP(context.Background(), creds, again, wsclient.EmptyPayloadHash, "ecs", testRegion, at); err != nil {
		return err
	}
	if got := again.Header.Get("Authorization"); got != auth {
		return fmt.Errorf("signature mismatch:\n got %s\nwant %s", auth, got)
	}
	return nil
}

// harness is an acsserver on an httptest TLS server and a Session
// connected to it, run until the test ends.
type harness struct {
	srv      *acsserver.Server
	hs       *httptest.Server
	verifier *sigV4Verifier
	rec      *recorder
	handler  *fakeHandler
	sess     *Session
	logs     *testLogger

	mu          sync.Mutex
	disconnects []error
}

type harnessOption struct {
	cfg    func(*Config)
	server func(*acsserver.Options)
	// refuse refuses the first handshakes with these errors.
	refuse []error
	// noSession starts the server only.
	noSession bool
}

func newHarness(t *testing.T, opt harnessOption) *harness {
	t.Helper()
	logger, logs := newTestLogger(t)
	h := &harness{
		verifier: &sigV4Verifier{creds: testCreds, refuse: opt.refuse},
		rec:      &recorder{},
		handler:  newFakeHandler(),
		logs:     logs,
	}
	sopts := acsserver.Options{
		Verify:    h.verifier.verify,
		Log:       logger.With("side", "server"),
		OnMessage: h.rec.add,
	}
	if opt.server != nil {
		opt.server(&sopts)
	}
	h.srv = acsserver.New(sopts)
	h.hs = httptest.NewUnstartedServer(h.srv)
	h.hs.Config.ErrorLog = log.New(io.Discard, "", 0)
	h.hs.StartTLS()
	t.Cleanup(h.hs.Close)
	t.Cleanup(func() { _ = h.srv.Close() })
	if opt.noSession {
		return h
	}

	cfg := Config{
		Endpoint: func(context.Context) (string, error) { return h.hs.URL, nil },
		Peer:     wsclient.Peer{Cluster: testCluster, ContainerInstanceARN: testInstance, Region: testRegion, Credentials: staticCreds(testCreds), AgentVersion: "0.1.0", AgentHash: "abc1234"},
		Handler:  h.handler,
		Log:      logger.With("side", "agent"),
		Settings: wsclient.Settings{InsecureSkipVerify: true},
		OnDisconnect: func(err error) {
			h.mu.Lock()
			defer h.mu.Unlock()
			h.disconnects = append(h.disconnects, err)
		},
	}
	if opt.cfg != nil {
		opt.cfg(&cfg)
	}
	sess, err := New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	h.sess = sess
	runSession(t, sess)
	return h
}

// runSession runs s until the test ends.
func runSession(t *testing.T, s *Session) {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- s.Run(ctx) }()
	t.Cleanup(func() {
		cancel()
		select {
		case err := <-done:
			if err != nil {
				t.Errorf("Run: %v", err)
			}
		case <-time.After(10 * time.Second):
			t.Error("Run did not return after cancel")
		}
	})
}

func (h *harness) awaitConnected(t *testing.T) {
	t.Helper()
	eventually(t, "agent connected", func() bool { return h.srv.Connected(testInstance) && h.sess.Connected() })
}

func (h *harness) disconnectErrs() []error {
	h.mu.Lock()
	defer h.mu.Unlock()
	return slices.Clone(h.disconnects)
}

// sendFixture sends a golden frame from testdata as it is.
func (h *harness) sendFixture(t *testing.T, name string) {
	t.Helper()
	var env acs.Message
	if err := json.Unmarshal(readFixture(t, name), &env); err != nil {
		t.Fatal(err)
	}
	if err := h.srv.Send(context.Background(), testInstance, env.Type, env.Message); err != nil {
		t.Fatal(err)
	}
}

func readFixture(t testing.TB, name string) []byte {
	t.Helper()
	data, err := os.ReadFile("testdata/" + name)
	if err != nil {
		t.Fatal(err)
	}
	return data
}

// assertGolden checks that msg, in its envelope, is the golden frame,
// modulo field order and whitespace.
func assertGolden(t *testing.T, msg acs.Message, name string) {
	t.Helper()
	frame, err := json.Marshal(msg)
	if err != nil {
		t.Fatal(err)
	}
	var got, want any
	if err := json.Unmarshal(frame, &got); err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal(readFixture(t, name), &want); err != nil {
		t.Fatalf("%s: %v", name, err)
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("frame differs from %s\n got: %s\nwant: %s", name, frame, readFixture(t, name))
	}
}

// scriptServer accepts websocket handshakes and hands each connection to
// the test, which scripts the server's side.
type scriptServer struct {
	hs      *httptest.Server
	conns   chan *websocket.Conn
	queries chan url.Values
	refuse  func(w http.ResponseWriter, r *http.Request) bool

	mu   sync.Mutex
	open []*websocket.Conn
}

func newScriptServer(t *testing.T, refuse func(w http.ResponseWriter, r *http.Request) bool) *scriptServer {
	t.Helper()
	ss := &scriptServer{conns: make(chan *websocket.Conn, 16), queries: make(chan url.Values, 16), refuse: refuse}
	ss.hs = httptest.NewUnstartedServer(http.HandlerFunc(ss.serve))
	ss.hs.Config.ErrorLog = log.New(io.Discard, "", 0)
	ss.hs.StartTLS()
	t.Cleanup(func() {
		ss.hs.Close()
		ss.mu.Lock()
		defer ss.mu.Unlock()
		for _, c := range ss.open {
			_ = c.Close()
		}
	})
	return ss
}

func (ss *scriptServer) serve(w http.ResponseWriter, r *http.Request) {
	select {
	case ss.queries <- r.URL.Query():
	default:
	}
	if ss.refuse != nil && ss.refuse(w, r) {
		return
	}
	up := websocket.Upgrader{}
	c, err := up.Upgrade(w, r, nil)
	if err != nil {
		return
	}
	ss.mu.Lock()
	ss.open = append(ss.open, c)
	ss.mu.Unlock()
	select {
	case ss.conns <- c:
	default:
		_ = c.Close()
	}
}

func (ss *scriptServer) accept(t *testing.T) *websocket.Conn {
	t.Helper()
	select {
	case c := <-ss.conns:
		return c
	case <-time.After(10 * time.Second):
		t.Fatal("no connection to the script server")
		return nil
	}
}

// readType reads frames from c until one of type typ and returns it.
func readType(t *testing.T, c *websocket.Conn, typ string) acs.Message {
	t.Helper()
	_ = c.SetReadDeadline(time.Now().Add(10 * time.Second))
	for {
		_, data, err := c.ReadMessage()
		if err != nil {
			t.Fatalf("waiting for %s: %v", typ, err)
		}
		var m acs.Message
		if err := json.Unmarshal(data, &m); err != nil {
			t.Fatalf("agent sent a malformed frame %q: %v", data, err)
		}
		if m.Type == typ {
			return m
		}
	}
}

// scriptSession is a Session pointed at a script server.
func scriptSession(t *testing.T, ss *scriptServer, h Handler, edit func(*Config)) *Session {
	t.Helper()
	logger, _ := newTestLogger(t)
	cfg := Config{
		Endpoint: func(context.Context) (string, error) { return ss.hs.URL, nil },
		Peer:     wsclient.Peer{Cluster: testCluster, ContainerInstanceARN: testInstance, Region: testRegion, Credentials: staticCreds(testCreds)},
		Handler:  h,
		Log:      logger,
		Settings: wsclient.Settings{InsecureSkipVerify: true},
	}
	if edit != nil {
		edit(&cfg)
	}
	s, err := New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

// connectProxy is a tiny HTTP CONNECT proxy.
type connectProxy struct {
	hs *httptest.Server
	// wg counts the pipe goroutines; Add happens under mu and never once
	// closed is set, so it cannot race with the clean-up's Wait.
	wg sync.WaitGroup

	mu      sync.Mutex
	targets []string
	closed  bool
}

func newConnectProxy(t *testing.T) *connectProxy {
	t.Helper()
	p := &connectProxy{}
	p.hs = httptest.NewServer(http.HandlerFunc(p.serve))
	t.Cleanup(func() {
		p.mu.Lock()
		p.closed = true
		p.mu.Unlock()
		p.hs.Close()
		p.wg.Wait()
	})
	return p
}

func (p *connectProxy) serve(w http.ResponseWriter, r *http.Request) {
	if r.Method != http.MethodConnect {
		http.Error(w, "CONNECT only", http.StatusMethodNotAllowed)
		return
	}
	p.mu.Lock()
	p.targets = append(p.targets, r.Host)
	p.mu.Unlock()
	upstream, err := net.Dial("tcp", r.Host)
	if err != nil {
		http.Error(w, err.Error(), http.StatusBadGateway)
		return
	}
	client, _, err := http.NewResponseController(w).Hijack()
	if err != nil {
		_ = upstream.Close()
		return
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.closed {
		_ = client.Close()
		_ = upstream.Close()
		return
	}
	_, _ = client.Write([]byte("HTTP/1.1 200 Connection established\r\n\r\n"))
	pipe := func(dst, src net.Conn) {
		defer p.wg.Done()
		_, _ = io.Copy(dst, src)
		_ = dst.Close()
		_ = src.Close()
	}
	p.wg.Add(2)
	go pipe(upstream, client)
	go pipe(client, upstream)
}

func (p *connectProxy) seen() []string {
	p.mu.Lock()
	defer p.mu.Unlock()
	return slices.Clone(p.targets)
}
