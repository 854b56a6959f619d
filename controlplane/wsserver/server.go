package wsserver

import (
	"context"
	"errors"
	"log/slog"
	"net/http"
	"sync"
	"time"

	"github.com/gorilla/websocket"
)

// DefaultWriteTimeout bounds each frame written when Options.WriteTimeout
// is unset.
const DefaultWriteTimeout = 10 * time.Second

// ErrClosed is Serve's answer once the Server is closed.
var ErrClosed = errors.New("server is shutting down")

// Log attribute keys, spelled as the rest of controlplane spells them.
const (
	keyInstance = "containerInstance"
	keyType     = "type"
	keyError    = "error"
)

// Session is a protocol's state of one connection. The protocol's session
// type embeds the *Conn that Serve hands to its constructor; that
// embedding is what makes it a Session.
type Session interface {
	conn() *Conn
}

// Options configures a Server; S is the protocol's session type.
type Options[S Session] struct {
	// Service names the endpoint in log lines: "ACS", "TCS".
	Service string
	Log     *slog.Logger // nil: discard
	Clock   Clock        // nil: SystemClock
	// HeartbeatInterval is how often Heartbeat goes to each agent; at or
	// below zero, never.
	HeartbeatInterval time.Duration
	// Heartbeat makes each heartbeat: its message type and body.
	Heartbeat func() (msgType string, body any)
	// WriteTimeout bounds each frame written (at or below zero:
	// DefaultWriteTimeout).
	WriteTimeout time.Duration
	// ReadLimit bounds one frame from an agent; a larger one ends the
	// connection. At or below zero: no limit.
	ReadLimit int64
	// OnConnect, if set, runs in its own goroutine once a session is its
	// instance's; ctx ends with the connection, and the connection's end
	// waits for OnConnect to return.
	OnConnect func(ctx context.Context, sess S)
	// OnFrame handles each text frame an agent sends, on the connection's
	// read goroutine; it may Write, and the next frame waits for it.
	// Frames of other kinds are logged and skipped.
	OnFrame func(ctx context.Context, sess S, data []byte)
}

// Server keeps one connection per container instance for one websocket
// endpoint.
type Server[S Session] struct {
	opts     Options[S]
	upgrader websocket.Upgrader

	wg sync.WaitGroup // connection goroutines

	mu       sync.Mutex
	closed   bool
	sessions map[string]S // by container instance ARN
}

// New builds a Server.
func New[S Session](opts Options[S]) *Server[S] {
	if opts.Log == nil {
		opts.Log = slog.New(slog.DiscardHandler)
	}
	if opts.Clock == nil {
		opts.Clock = SystemClock{}
	}
	if opts.WriteTimeout <= 0 {
		opts.WriteTimeout = DefaultWriteTimeout
	}
	return &Server[S]{
		opts:     opts,
		upgrader: websocket.Upgrader{ReadBufferSize: 32768, WriteBufferSize: 4096},
		sessions: map[string]S{},
	}
}

// Log is the Server's logger (a discarding one if Options.Log was nil).
func (s *Server[S]) Log() *slog.Logger { return s.opts.Log }

// Clock is the Server's clock (SystemClock if Options.Clock was nil).
func (s *Server[S]) Clock() Clock { return s.opts.Clock }

// Serve upgrades r, the handshake of instance's agent that the caller has
// verified, wraps the connection in the session newSession makes and
// serves it until it ends: it registers the session (closing the
// instance's older connection with code 1000), starts heartbeats and
// OnConnect, and hands every text frame to OnFrame. logAttrs go on the
// "agent connected" line.
//
// Once the Server is closed, Serve writes nothing and returns ErrClosed,
// so the caller refuses the handshake in its protocol's words. A failed
// upgrade is logged; gorilla/websocket has answered the request.
func (s *Server[S]) Serve(w http.ResponseWriter, r *http.Request, instance string, newSession func(*Conn) S, logAttrs ...any) error {
	s.mu.Lock()
	closed := s.closed
	if !closed {
		s.wg.Add(1)
	}
	s.mu.Unlock()
	if closed {
		return ErrClosed
	}
	defer s.wg.Done()

	ws, err := s.upgrader.Upgrade(w, r, nil)
	if err != nil {
		s.opts.Log.Warn(s.opts.Service+" upgrade failed", keyInstance, instance, keyError, err)
		return nil
	}
	if s.opts.ReadLimit > 0 {
		ws.SetReadLimit(s.opts.ReadLimit)
	}
	ctx, cancel := context.WithCancel(context.WithoutCancel(r.Context()))
	c := &Conn{
		instance:     instance,
		log:          s.opts.Log.With(keyInstance, instance),
		ws:           ws,
		writeTimeout: s.opts.WriteTimeout,
		cancel:       cancel,
		done:         make(chan struct{}),
	}
	s.serve(ctx, newSession(c), logAttrs)
	return nil
}

// serve registers sess (replacing an older connection of the same
// instance), starts its heartbeats and OnConnect, and reads its frames
// until the connection ends.
func (s *Server[S]) serve(ctx context.Context, sess S, logAttrs []any) {
	c := sess.conn()
	svc := s.opts.Service
	s.mu.Lock()
	if s.closed {
		s.mu.Unlock()
		c.cancel()
		c.Close(websocket.CloseGoingAway, "ecs-local is stopping")
		close(c.done)
		return
	}
	old, replaced := s.sessions[c.instance]
	s.sessions[c.instance] = sess
	s.mu.Unlock()
	if replaced {
		c.log.Info("new " + svc + " connection replaces the old one")
		old.conn().Close(websocket.CloseNormalClosure, "replaced by a new connection")
	}
	c.log.Info("agent connected to "+svc, logAttrs...)

	var wg sync.WaitGroup
	if s.opts.HeartbeatInterval > 0 && s.opts.Heartbeat != nil {
		wg.Go(func() { s.heartbeat(ctx, c) })
	}
	if s.opts.OnConnect != nil {
		wg.Go(func() { s.opts.OnConnect(ctx, sess) })
	}
	s.readLoop(ctx, sess)

	// Leave the map before the context ends, so that OnConnect, which
	// returns when it does, sees this instance disconnected (unless a newer
	// connection already replaced this one).
	s.mu.Lock()
	if cur, ok := s.sessions[c.instance]; ok && cur.conn() == c {
		delete(s.sessions, c.instance)
	}
	s.mu.Unlock()
	c.cancel()
	_ = c.ws.Close()
	close(c.done)
	wg.Wait()
	c.log.Info("agent disconnected from " + svc)
}

// readLoop hands each text frame to OnFrame until the connection ends;
// other frames are logged and skipped.
func (s *Server[S]) readLoop(ctx context.Context, sess S) {
	c := sess.conn()
	for {
		typ, data, err := c.ws.ReadMessage()
		if err != nil {
			c.log.Debug(s.opts.Service+" connection ended", keyError, err)
			return
		}
		if typ != websocket.TextMessage {
			c.log.Warn("non-text frame from agent skipped", keyType, typ)
			continue
		}
		if s.opts.OnFrame != nil {
			s.opts.OnFrame(ctx, sess, data)
		}
	}
}

// heartbeat sends a heartbeat every interval until ctx ends; a failed one
// closes the socket, which ends the connection.
func (s *Server[S]) heartbeat(ctx context.Context, c *Conn) {
	for {
		select {
		case <-ctx.Done():
			return
		case <-s.opts.Clock.After(s.opts.HeartbeatInterval):
		}
		msgType, body := s.opts.Heartbeat()
		if err := c.Write(ctx, msgType, body); err != nil {
			c.log.Warn("send "+s.opts.Service+" heartbeat", keyError, err)
			_ = c.ws.Close()
			return
		}
	}
}

// Lookup returns the session of the container instance's connected agent.
func (s *Server[S]) Lookup(instance string) (S, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	sess, ok := s.sessions[instance]
	return sess, ok
}

// Connected reports whether an agent is connected for the container
// instance.
func (s *Server[S]) Connected(instance string) bool {
	_, ok := s.Lookup(instance)
	return ok
}

// Close disconnects every agent (close code 1001), refuses new handshakes
// and waits for the connections' goroutines.
func (s *Server[S]) Close() error {
	s.mu.Lock()
	s.closed = true
	all := make([]S, 0, len(s.sessions))
	for _, sess := range s.sessions {
		all = append(all, sess)
	}
	s.mu.Unlock()
	for _, sess := range all {
		sess.conn().Close(websocket.CloseGoingAway, "ecs-local is stopping")
	}
	s.wg.Wait()
	return nil
}

// DeniedStatus is the HTTP status of a handshake whose signature did not
// verify: 401 when it carries no Authorization header, else 403.
func DeniedStatus(r *http.Request) int {
	if r.Header.Get("Authorization") == "" {
		return http.StatusUnauthorized
	}
	return http.StatusForbidden
}
