package wsserver

import (
	"context"
	"errors"
	"io"
	"log"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/gorilla/websocket"
)

// testSession is a protocol's session as the protocols write one: a
// *Conn and what the protocol keeps beside it.
type testSession struct {
	*Conn
	label string
}

// tickClock fires a heartbeat wait only when the test sends on ticks;
// asked counts the waits.
type tickClock struct {
	ticks chan time.Time
	asked atomic.Int32
}

func (c *tickClock) Now() time.Time { return time.Unix(1700000000, 0) }

func (c *tickClock) After(time.Duration) <-chan time.Time {
	c.asked.Add(1)
	return c.ticks
}

type harness struct {
	srv    *Server[*testSession]
	hs     *httptest.Server
	clk    *tickClock
	frames chan string // "label:data" per frame OnFrame saw
}

// newHarness serves a Server at /?instance=I&label=L; edit adjusts its
// Options (heartbeats are off unless edit turns them on).
func newHarness(t *testing.T, edit func(*Options[*testSession])) *harness {
	t.Helper()
	h := &harness{clk: &tickClock{ticks: make(chan time.Time)}, frames: make(chan string, 16)}
	opts := Options[*testSession]{
		Service:           "TEST",
		Log:               slog.New(slog.NewTextHandler(t.Output(), &slog.HandlerOptions{Level: slog.LevelDebug})),
		Clock:             h.clk,
		HeartbeatInterval: -1,
		Heartbeat:         func() (string, any) { return "HeartbeatMessage", map[string]bool{"healthy": true} },
		OnFrame: func(_ context.Context, sess *testSession, data []byte) {
			h.frames <- sess.label + ":" + string(data)
		},
	}
	if edit != nil {
		edit(&opts)
	}
	h.srv = New(opts)
	h.hs = httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		q := r.URL.Query()
		newSession := func(c *Conn) *testSession { return &testSession{Conn: c, label: q.Get("label")} }
		if err := h.srv.Serve(w, r, q.Get("instance"), newSession); errors.Is(err, ErrClosed) {
			http.Error(w, err.Error(), http.StatusServiceUnavailable)
		}
	}))
	h.hs.Config.ErrorLog = log.New(io.Discard, "", 0)
	h.hs.Start()
	t.Cleanup(h.hs.Close)
	t.Cleanup(func() { _ = h.srv.Close() })
	return h
}

func (h *harness) url(instance, label string) string {
	return "ws" + strings.TrimPrefix(h.hs.URL, "http") + "/?instance=" + instance + "&label=" + label
}

// dial connects as the agent of instance and waits until its session,
// named label, is the instance's.
func (h *harness) dial(t *testing.T, instance, label string) *websocket.Conn {
	t.Helper()
	c, resp, err := websocket.DefaultDialer.Dial(h.url(instance, label), nil)
	if err != nil {
		t.Fatalf("dial: %v (%v)", err, resp)
	}
	t.Cleanup(func() { _ = c.Close() })
	eventually(t, "session "+label, func() bool {
		sess, ok := h.srv.Lookup(instance)
		return ok && sess.label == label
	})
	return c
}

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

func (h *harness) frame(t *testing.T) string {
	t.Helper()
	select {
	case f := <-h.frames:
		return f
	case <-time.After(10 * time.Second):
		t.Fatal("no frame reached OnFrame")
		return ""
	}
}

func readText(t *testing.T, c *websocket.Conn) string {
	t.Helper()
	_ = c.SetReadDeadline(time.Now().Add(10 * time.Second))
	_, data, err := c.ReadMessage()
	if err != nil {
		t.Fatalf("read: %v", err)
	}
	return string(data)
}

// readClose reads until the connection ends and returns its close code,
// or -1 when it ended without a close frame.
func readClose(t *testing.T, c *websocket.Conn) int {
	t.Helper()
	_ = c.SetReadDeadline(time.Now().Add(10 * time.Second))
	for {
		if _, _, err := c.ReadMessage(); err != nil {
			var ce *websocket.CloseError
			if errors.As(err, &ce) {
				return ce.Code
			}
			return -1
		}
	}
}

func TestFramesInAndOut(t *testing.T) {
	h := newHarness(t, nil)
	c := h.dial(t, "i-1", "a")

	for _, m := range []struct {
		typ  int
		data string
	}{{websocket.TextMessage, "hello"}, {websocket.BinaryMessage, "skipped"}, {websocket.TextMessage, "again"}} {
		if err := c.WriteMessage(m.typ, []byte(m.data)); err != nil {
			t.Fatal(err)
		}
	}
	if got := h.frame(t); got != "a:hello" {
		t.Errorf("first frame %q", got)
	}
	if got := h.frame(t); got != "a:again" {
		t.Errorf("second frame %q: the binary one should have been skipped", got)
	}

	sess, ok := h.srv.Lookup("i-1")
	if !ok || sess.Instance() != "i-1" || !h.srv.Connected("i-1") || h.srv.Connected("i-2") {
		t.Fatalf("lookup: %v %v", sess, ok)
	}
	if err := sess.Write(t.Context(), "Ping", map[string]int{"n": 1}); err != nil {
		t.Fatal(err)
	}
	if got := readText(t, c); got != `{"type":"Ping","message":{"n":1}}` {
		t.Errorf("frame written: %s", got)
	}
}

func TestWriteFailures(t *testing.T) {
	h := newHarness(t, nil)
	c := h.dial(t, "i-1", "a")
	sess, _ := h.srv.Lookup("i-1")

	ctx, cancel := context.WithCancel(t.Context())
	cancel()
	if err := sess.Write(ctx, "Ping", struct{}{}); !errors.Is(err, context.Canceled) {
		t.Errorf("write with a done ctx: %v", err)
	}
	if err := sess.Write(t.Context(), "Bad", make(chan int)); err == nil || !strings.Contains(err.Error(), "encode Bad") {
		t.Errorf("write of an unencodable body: %v", err)
	}

	_ = c.Close()
	select {
	case <-sess.Done():
	case <-time.After(10 * time.Second):
		t.Fatal("Done not closed after the agent left")
	}
	eventually(t, "unregistered", func() bool { return !h.srv.Connected("i-1") })
	if err := sess.Write(t.Context(), "Ping", struct{}{}); err == nil {
		t.Error("write on an ended connection succeeded")
	}
}

func TestNewConnectionReplacesOld(t *testing.T) {
	var mu sync.Mutex
	ctxs := map[string]context.Context{}
	h := newHarness(t, func(o *Options[*testSession]) {
		o.OnConnect = func(ctx context.Context, sess *testSession) {
			mu.Lock()
			ctxs[sess.label] = ctx
			mu.Unlock()
			<-ctx.Done()
		}
	})
	first := h.dial(t, "i-1", "a")
	old, _ := h.srv.Lookup("i-1")
	second := h.dial(t, "i-1", "b")

	if code := readClose(t, first); code != websocket.CloseNormalClosure {
		t.Errorf("old connection closed with %d, want 1000", code)
	}
	select {
	case <-old.Done():
	case <-time.After(10 * time.Second):
		t.Fatal("old connection did not end")
	}
	eventually(t, "old OnConnect ctx ended", func() bool {
		mu.Lock()
		defer mu.Unlock()
		return ctxs["a"] != nil && ctxs["a"].Err() != nil
	})
	// The old connection's end leaves the new one registered.
	if sess, ok := h.srv.Lookup("i-1"); !ok || sess.label != "b" {
		t.Fatalf("after the old ended: %v %v", sess, ok)
	}
	if err := second.WriteMessage(websocket.TextMessage, []byte("x")); err != nil {
		t.Fatal(err)
	}
	if got := h.frame(t); got != "b:x" {
		t.Errorf("frame %q", got)
	}
}

func TestHeartbeats(t *testing.T) {
	h := newHarness(t, func(o *Options[*testSession]) { o.HeartbeatInterval = time.Minute })
	c := h.dial(t, "i-1", "a")
	for range 2 {
		h.clk.ticks <- time.Time{}
		if got := readText(t, c); got != `{"type":"HeartbeatMessage","message":{"healthy":true}}` {
			t.Fatalf("heartbeat %s", got)
		}
	}
}

func TestNoHeartbeatsWhenOff(t *testing.T) {
	h := newHarness(t, nil) // HeartbeatInterval -1
	c := h.dial(t, "i-1", "a")
	if err := c.WriteMessage(websocket.TextMessage, []byte("x")); err != nil {
		t.Fatal(err)
	}
	h.frame(t)
	if n := h.clk.asked.Load(); n != 0 {
		t.Errorf("%d heartbeat waits with heartbeats off", n)
	}
}

func TestFailedHeartbeatEndsConnection(t *testing.T) {
	h := newHarness(t, func(o *Options[*testSession]) {
		o.HeartbeatInterval = time.Minute
		o.Heartbeat = func() (string, any) { return "HeartbeatMessage", make(chan int) } // cannot be encoded
	})
	c := h.dial(t, "i-1", "a")
	h.clk.ticks <- time.Time{}
	readClose(t, c)
	eventually(t, "unregistered", func() bool { return !h.srv.Connected("i-1") })
}

func TestReadLimit(t *testing.T) {
	h := newHarness(t, func(o *Options[*testSession]) { o.ReadLimit = 16 })
	c := h.dial(t, "i-1", "a")
	if err := c.WriteMessage(websocket.TextMessage, []byte(strings.Repeat("x", 100))); err != nil {
		t.Fatal(err)
	}
	if code := readClose(t, c); code != websocket.CloseMessageTooBig {
		t.Errorf("close code %d, want %d", code, websocket.CloseMessageTooBig)
	}
	eventually(t, "unregistered", func() bool { return !h.srv.Connected("i-1") })
	select {
	case f := <-h.frames:
		t.Errorf("an oversized frame reached OnFrame: %.20s", f)
	default:
	}
}

func TestCloseRefusesAndWaits(t *testing.T) {
	ended := make(chan struct{})
	h := newHarness(t, func(o *Options[*testSession]) {
		o.OnConnect = func(ctx context.Context, _ *testSession) {
			<-ctx.Done()
			close(ended)
		}
	})
	c := h.dial(t, "i-1", "a")
	if err := h.srv.Close(); err != nil {
		t.Fatal(err)
	}
	select {
	case <-ended:
	default:
		t.Error("Close returned before OnConnect did")
	}
	if code := readClose(t, c); code != websocket.CloseGoingAway {
		t.Errorf("close code %d, want 1001", code)
	}
	if h.srv.Connected("i-1") {
		t.Error("still connected after Close")
	}
	_, resp, err := websocket.DefaultDialer.Dial(h.url("i-1", "b"), nil)
	if err == nil || resp == nil || resp.StatusCode != http.StatusServiceUnavailable {
		t.Errorf("handshake after Close: %v %v", err, resp)
	}
}

func TestFailedUpgradeIsNotRegistered(t *testing.T) {
	h := newHarness(t, nil)
	resp, err := http.Get(h.hs.URL + "/?instance=i-1&label=a") // no Upgrade header
	if err != nil {
		t.Fatal(err)
	}
	_ = resp.Body.Close()
	if resp.StatusCode != http.StatusBadRequest || h.srv.Connected("i-1") {
		t.Errorf("plain GET: %d, connected %v", resp.StatusCode, h.srv.Connected("i-1"))
	}
}

func TestDefaults(t *testing.T) {
	srv := New(Options[*testSession]{})
	defer srv.Close()
	if srv.Log() == nil || srv.Clock() != (SystemClock{}) || srv.opts.WriteTimeout != DefaultWriteTimeout {
		t.Errorf("defaults: log %v clock %v write timeout %v", srv.Log(), srv.Clock(), srv.opts.WriteTimeout)
	}
}

func TestDeniedStatus(t *testing.T) {
	for _, tc := range []struct {
		auth string
		want int
	}{{"", http.StatusUnauthorized}, {"AWS4-HMAC-SHA256 Credential=x", http.StatusForbidden}} {
		r := httptest.NewRequest(http.MethodGet, "/ws", nil)
		if tc.auth != "" {
			r.Header.Set("Authorization", tc.auth)
		}
		if got := DeniedStatus(r); got != tc.want {
			t.Errorf("Authorization %q: %d, want %d", tc.auth, got, tc.want)
		}
	}
}
