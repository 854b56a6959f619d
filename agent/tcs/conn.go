package tcs

import (
	"context"
	"fmt"
	"net/url"
	"sync"

	"github.com/gorilla/websocket"

	"github.com/ecsd-project/ecsd/agent/wsclient"
)

// sender writes one signed frame to TCS; a connection is one, and so is a
// test's recorder.
type sender interface {
	send(ctx context.Context, msgType string, body any) error
}

// conn is one websocket connection to TCS; every frame goes through send.
type conn struct {
	*wsclient.Conn
	s   *Session
	url string // the https URL every frame is signed for
}

// send signs and writes one {"type","message"} frame.
func (c *conn) send(ctx context.Context, msgType string, body any) error {
	envelope, err := wsclient.Encode(msgType, body)
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
	return c.Write(msgType, frame)
}

// serve publishes on the connection and reads the server's frames until
// the connection ends, and returns why: a read error, errHeartbeat,
// wsclient.ErrExpired or errStopped.
func (s *Session) serve(ctx context.Context, ws *websocket.Conn, u *url.URL) error {
	c := &conn{Conn: wsclient.NewConn(ws, s.cfg.WriteTimeout), s: s, url: u.String()}
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
		typ, data, err := c.Read(s.cfg.ReadTimeout)
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
			c.Close(websocket.CloseNormalClosure, "")
			return err
		}
	}
}

// monitor ends the connection when no heartbeat or ack arrived within the
// heartbeat timeout, when the connection reached its lifetime, or when ctx
// is done; it returns nil once ctx is done or the read loop ended.
func (s *Session) monitor(ctx context.Context, readDone <-chan struct{}, c *conn, alive <-chan struct{}) error {
	err := c.Monitor(ctx, wsclient.Limits{Clock: s.clock,
		Idle: s.cfg.HeartbeatTimeout, IdleJitter: s.cfg.HeartbeatJitter,
		Lifetime: s.cfg.ConnectionLifetime, LifetimeJitter: s.cfg.LifetimeJitter,
	}, alive, readDone)
	switch err {
	case wsclient.ErrIdle:
		s.log.Warn("no heartbeat from TCS within the heartbeat timeout; reconnecting")
		return errHeartbeat
	case wsclient.ErrExpired:
		s.log.Info("TCS connection reached its maximum lifetime; reconnecting")
	}
	return err
}
