package wsclient

import (
	"context"
	"errors"
	"fmt"
	"io"
	"sync"
	"time"

	"github.com/gorilla/websocket"
)

// expiredCloseText is the close frame text of a connection that reached
// its maximum lifetime, as the stock agent sends it.
const expiredCloseText = "ConnectionExpired: Reconnect to continue"

// Why Monitor ended a connection.
var (
	ErrIdle    = errors.New("no sign of life within the inactivity timeout")
	ErrExpired = errors.New("connection reached its maximum lifetime")
)

// Conn is one websocket connection. gorilla/websocket allows one writer
// and one reader at a time: every frame goes out through Write, under a
// lock, and one goroutine calls Read. Close may be called from any
// goroutine.
type Conn struct {
	ws           *websocket.Conn
	writeTimeout time.Duration
	mu           sync.Mutex
}

// NewConn wraps ws; each Write must finish within writeTimeout.
func NewConn(ws *websocket.Conn, writeTimeout time.Duration) *Conn {
	return &Conn{ws: ws, writeTimeout: writeTimeout}
}

// Write sends frame as one text message; msgType names it in errors.
func (c *Conn) Write(msgType string, frame []byte) error {
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

// Read returns the next message, which must arrive within timeout.
func (c *Conn) Read(timeout time.Duration) (messageType int, data []byte, err error) {
	if err := c.ws.SetReadDeadline(time.Now().Add(timeout)); err != nil {
		return 0, nil, fmt.Errorf("set read deadline: %w", err)
	}
	return c.ws.ReadMessage()
}

// Close sends a close frame (best effort, within a second) and closes the
// socket, which ends the read loop. gorilla/websocket allows it alongside
// a Write.
func (c *Conn) Close(code int, text string) {
	deadline := time.Now().Add(time.Second)
	_ = c.ws.WriteControl(websocket.CloseMessage, websocket.FormatCloseMessage(code, text), deadline)
	_ = c.ws.Close()
}

// Limits bound how long a connection lives.
type Limits struct {
	Clock Clock
	// Idle plus a random jitter up to IdleJitter without a sign of life
	// ends the connection.
	Idle, IdleJitter time.Duration
	// Lifetime plus a random jitter up to LifetimeJitter ends it too.
	Lifetime, LifetimeJitter time.Duration
}

// Monitor ends the connection, and returns why: ErrIdle when nothing came
// on alive within the idle timeout (close code 1000), ErrExpired when the
// connection reached its lifetime (1000, "ConnectionExpired: Reconnect to
// continue"), nil when ctx is done (1001) or once readDone is closed, the
// read loop having ended by itself.
func (c *Conn) Monitor(ctx context.Context, lim Limits, alive, readDone <-chan struct{}) error {
	idle := lim.Clock.After(jittered(lim.Idle, lim.IdleJitter))
	expire := lim.Clock.After(jittered(lim.Lifetime, lim.LifetimeJitter))
	for {
		select {
		case <-readDone:
			return nil
		case <-ctx.Done():
			c.Close(websocket.CloseGoingAway, "ecsd is stopping")
			return nil
		case <-alive:
			idle = lim.Clock.After(jittered(lim.Idle, lim.IdleJitter))
		case <-idle:
			c.Close(websocket.CloseNormalClosure, "")
			return ErrIdle
		case <-expire:
			c.Close(websocket.CloseNormalClosure, expiredCloseText)
			return ErrExpired
		}
	}
}

// ReconnectAtOnce tells the closes after which the stock agent reconnects
// without backoff: a normal, going-away, abnormal (1006) or internal-error
// close, EOF, or the connection's own lifetime expiry.
func ReconnectAtOnce(err error) bool {
	if errors.Is(err, io.EOF) || errors.Is(err, ErrExpired) {
		return true
	}
	return websocket.IsCloseError(err, websocket.CloseNormalClosure, websocket.CloseGoingAway,
		websocket.CloseAbnormalClosure, websocket.CloseInternalServerErr)
}
