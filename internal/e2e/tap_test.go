package e2e

import (
	"bufio"
	"bytes"
	"encoding/json"
	"io"
	"net"
	"net/http"
	"regexp"
	"sync"
	"time"
)

// wireTap watches ecs-local's side of the wire, for benchmarks that time
// the agent alone: when a PayloadMessage carrying a task is written to an
// agent's websocket, and when the agent's SubmitTaskStateChange reporting
// the task RUNNING arrives. It changes nothing it sees.
type wireTap struct {
	mu        sync.Mutex
	delivered map[string]time.Time // task ARN → payload written
	running   map[string]time.Time // task ARN → RUNNING report received
}

func newWireTap() *wireTap {
	return &wireTap{delivered: map[string]time.Time{}, running: map[string]time.Time{}}
}

// times returns when the task's payload was written and when its RUNNING
// report came in; ok is false until both have happened.
func (p *wireTap) times(arn string) (delivered, running time.Time, ok bool) {
	p.mu.Lock()
	defer p.mu.Unlock()
	delivered, ok1 := p.delivered[arn]
	running, ok2 := p.running[arn]
	return delivered, running, ok1 && ok2
}

const submitTarget = "AmazonEC2ContainerServiceV20141113.SubmitTaskStateChange"

// wrap returns next with the tap in front of it.
func (p *wireTap) wrap(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		now := time.Now()
		if r.Header.Get("X-Amz-Target") == submitTarget {
			body, _ := io.ReadAll(r.Body)
			r.Body = io.NopCloser(bytes.NewReader(body))
			var in struct{ Task, Status string }
			if json.Unmarshal(body, &in) == nil && in.Status == "RUNNING" {
				p.mu.Lock()
				if _, seen := p.running[in.Task]; !seen {
					p.running[in.Task] = now
				}
				p.mu.Unlock()
			}
		}
		if r.Header.Get("Upgrade") != "" {
			w = hijackTap{ResponseWriter: w, tap: p}
		}
		next.ServeHTTP(w, r)
	})
}

type hijackTap struct {
	http.ResponseWriter
	tap *wireTap
}

func (h hijackTap) Hijack() (net.Conn, *bufio.ReadWriter, error) {
	c, rw, err := http.NewResponseController(h.ResponseWriter).Hijack()
	if err != nil {
		return nil, nil, err
	}
	return &tapConn{Conn: c, tap: h.tap}, rw, nil
}

// payloadTaskARN matches a task in a PayloadMessage: its ARN is the "arn"
// member (manifests and stop verifications say "taskArn").
var payloadTaskARN = regexp.MustCompile(`"arn":"(arn:aws:ecs:[^"]*:task/[^"]*)"`)

// tapConn records the payload tasks in what the server writes. Server
// frames are not masked and ecs-local does not compress, so the JSON is
// plain in the stream; the tail of the previous write is kept so that an
// ARN split across writes is still seen.
type tapConn struct {
	net.Conn
	tap  *wireTap
	mu   sync.Mutex
	tail []byte
}

func (c *tapConn) Write(b []byte) (int, error) {
	n, err := c.Conn.Write(b)
	now := time.Now()
	c.mu.Lock()
	buf := append(c.tail, b[:n]...)
	for _, m := range payloadTaskARN.FindAllSubmatch(buf, -1) {
		arn := string(m[1])
		c.tap.mu.Lock()
		if _, seen := c.tap.delivered[arn]; !seen {
			c.tap.delivered[arn] = now
		}
		c.tap.mu.Unlock()
	}
	if len(buf) > 512 {
		buf = buf[len(buf)-512:]
	}
	c.tail = append([]byte(nil), buf...)
	c.mu.Unlock()
	return n, err
}
