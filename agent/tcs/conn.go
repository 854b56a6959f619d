package tcs

import (
	"context"
	"encoding/json"
	"fmt"
	"net/url"
	"sync"
	"time"

	"github.com/gorilla/websocket"

	"github.com/ecsd-project/ecsd/wire/tcs"
)

// expiredCloseText is the close frame text of a connection that reached
// its maximum lifetime, as the stock agent sends it.
const expiredCloseText = "ConnectionExpired: Reconnect to continue"

// sender writes one signed frame to TCS; a connection is one, and so is a
// test's recorder.
type sender interface {
	send(ctx context.Context, msgType string, body any) error
}

// conn is one websocket connection to TCS. gorilla/websocket allows one
// writer at a time: every frame goes through send, under mu.
type conn struct {
	s   *Session
	ws  *websocket.Conn
	url string // the https URL every frame is signed for
	mu  sync.Mutex
}

// send signs and writes one {"type","message"} frame.
func (c *conn) send(ctx context.Context, msgType string, body any) error {
	envelope, err := encode(msgType, body)
	if err != nil {
		return err
	}
	creds, err := c.s.cfg.Credentials.Retrieve(ctx)
	if err != nil {
		return fmt.Errorf("retrieve credentials to sign %s: %w", msgType, err)
	}
	frame, err := signFrame(ctx, creds, c.url, c.s.cfg.Region, envelope, c.s.clock.Now())
	if err != nil {
		return fmt.Errorf("%s: %w", msgType, err)
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	// Socket deadlines are wall-clock by nature.
	if err := c.ws.SetWriteDeadline(time.Now().Add(c.s.cfg.WriteTimeout)); err != nil {
		return fmt.Errorf("write %s: %w", msgType, err)
	}
	if err := c.ws.WriteMessage(websocket.TextMessage, frame); err != nil {
		return fmt.Errorf("write %s: %w", msgType, err)
	}
	return nil
}

// encode returns the envelope of body.
func encode(msgType string, body any) ([]byte, error) {
	inner, err := json.Marshal(body)
	if err != nil {
		return nil, fmt.Errorf("encode %s: %w", msgType, err)
	}
	envelope, err := json.Marshal(tcs.Message{Type: msgType, Message: inner})
	if err != nil {
		return nil, fmt.Errorf("encode %s envelope: %w", msgType, err)
	}
	return envelope, nil
}

// close sends a close frame (best effort) and closes the socket, which
// ends the read loop.
func (c *conn) close(code int, text string) {
	c.mu.Lock()
	_ = c.ws.WriteControl(websocket.CloseMessage, websocket.FormatCloseMessage(code, text), time.Now().Add(time.Second))
	c.mu.Unlock()
	_ = c.ws.Close()
}

// serve publishes on the connection and reads the server's frames until
// the connection ends, and returns why: a read error, errHeartbeat,
// errExpired or errStopped.
func (s *Session) serve(ctx context.Context, ws *websocket.Conn, u *url.URL) error {
	c := &conn{s: s, ws: ws, url: u.String()}
	alive := make(chan struct{}, 1)
	readDone := make(chan struct{})
	monErr := make(chan error, 1)
	pubCtx, stopPublishing := context.WithCancel(ctx)
	var wg sync.WaitGroup
	wg.Go(func() { monErr <- s.monitor(ctx, readDone, c, alive) })
	wg.Go(func() { s.publishLoop(pubCtx, c) })

	err := s.readLoop(c, alive)
	close(readDone)
	stopPublishing()
	wg.Wait()
	_ = ws.Close()
	if merr := <-monErr; merr != nil {
		return merr
	}
	return err
}

// readLoop reads and handles frames; a heartbeat or an ack is signalled on
// alive.
func (s *Session) readLoop(c *conn, alive chan<- struct{}) error {
	for {
		if err := c.ws.SetReadDeadline(time.Now().Add(s.cfg.ReadTimeout)); err != nil {
			return fmt.Errorf("set read deadline: %w", err)
		}
		typ, data, err := c.ws.ReadMessage()
		if err != nil {
			return err
		}
		if typ != websocket.TextMessage {
			s.log.Warn("non-text TCS frame skipped", keyType, typ, "bytes", len(data))
			continue
		}
		keepAlive, err := s.handleFrame(data)
		if keepAlive {
			select {
			case alive <- struct{}{}:
			default:
			}
		}
		if err != nil {
			c.close(websocket.CloseNormalClosure, "")
			return err
		}
	}
}

// monitor ends the connection when no heartbeat or ack arrived within the
// heartbeat timeout, when the connection reached its lifetime, or when ctx
// is done; it returns nil once ctx is done or the read loop ended.
func (s *Session) monitor(ctx context.Context, readDone <-chan struct{}, c *conn, alive <-chan struct{}) error {
	idle := s.clock.After(jittered(s.cfg.HeartbeatTimeout, s.cfg.HeartbeatJitter))
	expire := s.clock.After(jittered(s.cfg.ConnectionLifetime, s.cfg.LifetimeJitter))
	for {
		select {
		case <-readDone:
			return nil
		case <-ctx.Done():
			c.close(websocket.CloseGoingAway, "ecsd is stopping")
			return nil
		case <-alive:
			idle = s.clock.After(jittered(s.cfg.HeartbeatTimeout, s.cfg.HeartbeatJitter))
		case <-idle:
			s.log.Warn("no heartbeat from TCS within the heartbeat timeout; reconnecting")
			c.close(websocket.CloseNormalClosure, "")
			return errHeartbeat
		case <-expire:
			s.log.Info("TCS connection reached its maximum lifetime; reconnecting")
			c.close(websocket.CloseNormalClosure, expiredCloseText)
			return errExpired
		}
	}
}
