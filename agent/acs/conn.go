package acs

import (
	"context"
	"encoding/json"
	"fmt"
	"sync"
	"time"

	"github.com/gorilla/websocket"

	"github.com/ecsd-project/ecsd/wire/acs"
)

// expiredCloseText is the close frame text of a connection that reached
// its maximum lifetime, as the stock agent sends it.
const expiredCloseText = "ConnectionExpired: Reconnect to continue"

// conn is one websocket connection to ACS. gorilla/websocket allows one
// writer at a time: every frame goes through send, under mu.
type conn struct {
	ws           *websocket.Conn
	writeTimeout time.Duration
	mu           sync.Mutex
}

// send writes one {"type","message"} frame.
func (c *conn) send(msgType string, body any) error {
	inner, err := json.Marshal(body)
	if err != nil {
		return fmt.Errorf("encode %s: %w", msgType, err)
	}
	frame, err := json.Marshal(acs.Message{Type: msgType, Message: inner})
	if err != nil {
		return fmt.Errorf("encode %s envelope: %w", msgType, err)
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	// Socket deadlines are wall-clock by nature.
	if err := c.ws.SetWriteDeadline(time.Now().Add(c.writeTimeout)); err != nil {
		return fmt.Errorf("write %s: %w", msgType, err)
	}
	if err := c.ws.WriteMessage(websocket.TextMessage, frame); err != nil {
		return fmt.Errorf("write %s: %w", msgType, err)
	}
	return nil
}

// close sends a close frame (best effort) and closes the socket, which
// ends the read loop.
func (c *conn) close(code int, text string) {
	deadline := time.Now().Add(time.Second)
	_ = c.ws.WriteControl(websocket.CloseMessage, websocket.FormatCloseMessage(code, text), deadline)
	_ = c.ws.Close()
}

// serve reads and answers frames until the connection ends, and returns
// why: a read error, errInactivity, errExpired, or the *ServerError of an
// InactiveInstanceException.
func (s *Session) serve(ctx context.Context, ws *websocket.Conn) error {
	c := &conn{ws: ws, writeTimeout: s.cfg.WriteTimeout}
	activity := make(chan struct{}, 1)
	readDone := make(chan struct{})
	monErr := make(chan error, 1)
	var wg sync.WaitGroup
	wg.Go(func() { monErr <- s.monitor(ctx, readDone, c, activity) })

	err := s.readLoop(ctx, c, activity)
	close(readDone)
	wg.Wait()
	_ = ws.Close()
	if merr := <-monErr; merr != nil {
		return merr
	}
	return err
}

// readLoop reads frames, signals each on activity and dispatches it.
func (s *Session) readLoop(ctx context.Context, c *conn, activity chan<- struct{}) error {
	for {
		if err := c.ws.SetReadDeadline(time.Now().Add(s.cfg.ReadTimeout)); err != nil {
			return fmt.Errorf("set read deadline: %w", err)
		}
		typ, data, err := c.ws.ReadMessage()
		if err != nil {
			return err
		}
		select {
		case activity <- struct{}{}:
		default:
		}
		if typ != websocket.TextMessage {
			s.log.Warn("non-text ACS frame skipped", keyType, typ, "bytes", len(data))
			continue
		}
		if err := s.handleFrame(ctx, c, data); err != nil {
			c.close(websocket.CloseNormalClosure, "")
			return err
		}
	}
}

// monitor ends the connection when nothing arrived within the inactivity
// timeout, when the connection reached its lifetime, or when ctx is done;
// it returns nil once ctx is done or the read loop ended by itself.
func (s *Session) monitor(ctx context.Context, readDone <-chan struct{}, c *conn, activity <-chan struct{}) error {
	idle := s.clock.After(jittered(s.cfg.InactivityTimeout, s.cfg.InactivityJitter))
	expire := s.clock.After(jittered(s.cfg.ConnectionLifetime, s.cfg.LifetimeJitter))
	for {
		select {
		case <-readDone:
			return nil
		case <-ctx.Done():
			c.close(websocket.CloseGoingAway, "ecsd is stopping")
			return nil
		case <-activity:
			idle = s.clock.After(jittered(s.cfg.InactivityTimeout, s.cfg.InactivityJitter))
		case <-idle:
			s.log.Warn("no message from ACS within the inactivity timeout; reconnecting")
			c.close(websocket.CloseNormalClosure, "")
			return errInactivity
		case <-expire:
			s.log.Info("ACS connection reached its maximum lifetime; reconnecting")
			c.close(websocket.CloseNormalClosure, expiredCloseText)
			return errExpired
		}
	}
}
