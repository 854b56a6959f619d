package acs

import (
	"context"
	"sync"

	"github.com/gorilla/websocket"

	"github.com/ecsd-project/ecsd/agent/wsclient"
)

// conn is one websocket connection to ACS; every frame goes through send.
type conn struct{ *wsclient.Conn }

// send writes one {"type","message"} frame.
func (c conn) send(msgType string, body any) error {
	frame, err := wsclient.Encode(msgType, body)
	if err != nil {
		return err
	}
	return c.Write(msgType, frame)
}

// serve reads and answers frames until the connection ends, and returns
// why: a read error, errInactivity, wsclient.ErrExpired, or the
// *ServerError of an InactiveInstanceException.
func (s *Session) serve(ctx context.Context, ws *websocket.Conn) error {
	c := conn{wsclient.NewConn(ws, s.cfg.WriteTimeout)}
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
func (s *Session) readLoop(ctx context.Context, c conn, activity chan<- struct{}) error {
	for {
		typ, data, err := c.Read(s.cfg.ReadTimeout)
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
			c.Close(websocket.CloseNormalClosure, "")
			return err
		}
	}
}

// monitor ends the connection when nothing arrived within the inactivity
// timeout, when the connection reached its lifetime, or when ctx is done;
// it returns nil once ctx is done or the read loop ended by itself.
func (s *Session) monitor(ctx context.Context, readDone <-chan struct{}, c conn, activity <-chan struct{}) error {
	err := c.Monitor(ctx, wsclient.Limits{Clock: s.clock,
		Idle: s.cfg.InactivityTimeout, IdleJitter: s.cfg.InactivityJitter,
		Lifetime: s.cfg.ConnectionLifetime, LifetimeJitter: s.cfg.LifetimeJitter,
	}, activity, readDone)
	switch err {
	case wsclient.ErrIdle:
		s.log.Warn("no message from ACS within the inactivity timeout; reconnecting")
		return errInactivity
	case wsclient.ErrExpired:
		s.log.Info("ACS connection reached its maximum lifetime; reconnecting")
	}
	return err
}
