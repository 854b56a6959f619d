package wsserver

import (
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"sync"
	"time"

	"github.com/gorilla/websocket"

	"github.com/ecsd-project/ecsd/wire/wsenvelope"
)

// Conn is one agent's websocket connection. gorilla/websocket allows one
// writer at a time: every frame goes out through Write, under a lock.
// Close may be called from any goroutine.
type Conn struct {
	instance     string
	log          *slog.Logger
	ws           *websocket.Conn
	writeTimeout time.Duration
	cancel       context.CancelFunc
	done         chan struct{} // closed when the connection ended

	wmu sync.Mutex // one writer at a time
}

// conn makes every type that embeds a *Conn a Session.
func (c *Conn) conn() *Conn { return c }

// Instance is the container instance ARN the connection serves.
func (c *Conn) Instance() string { return c.instance }

// Log is the Server's logger with the container instance attached.
func (c *Conn) Log() *slog.Logger { return c.log }

// Done is closed once the connection has ended.
func (c *Conn) Done() <-chan struct{} { return c.done }

// Write sends body as one frame {"type":msgType,"message":body}. It must
// be written within the Server's WriteTimeout and before ctx's deadline;
// it fails at once if ctx is done.
func (c *Conn) Write(ctx context.Context, msgType string, body any) error {
	inner, err := json.Marshal(body)
	if err != nil {
		return fmt.Errorf("encode %s: %w", msgType, err)
	}
	frame, err := json.Marshal(wsenvelope.Message{Type: msgType, Message: inner})
	if err != nil {
		return fmt.Errorf("encode %s envelope: %w", msgType, err)
	}
	if err := ctx.Err(); err != nil {
		return err
	}
	// Socket deadlines are wall-clock by nature.
	deadline := time.Now().Add(c.writeTimeout)
	if d, ok := ctx.Deadline(); ok && d.Before(deadline) {
		deadline = d
	}
	c.wmu.Lock()
	defer c.wmu.Unlock()
	if err := c.ws.SetWriteDeadline(deadline); err != nil {
		return err
	}
	return c.ws.WriteMessage(websocket.TextMessage, frame)
}

// Close sends a close frame (best effort, within a second) and closes the
// socket, which ends the connection's read loop. gorilla/websocket allows
// it alongside a Write.
func (c *Conn) Close(code int, text string) {
	_ = c.ws.WriteControl(websocket.CloseMessage, websocket.FormatCloseMessage(code, text), time.Now().Add(time.Second))
	_ = c.ws.Close()
}
