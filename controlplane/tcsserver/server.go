package tcsserver

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"slices"
	"sync"
	"time"

	"github.com/ecsd-project/ecsd/controlplane/wsserver"
	"github.com/ecsd-project/ecsd/wire/tcs"
)

// Log attribute keys.
const (
	keyType      = "type"
	keyMessageID = "messageId"
	keyError     = "error"
)

// Defaults of Options.
const (
	DefaultHeartbeatInterval = 30 * time.Second
	DefaultWriteTimeout      = wsserver.DefaultWriteTimeout
	// maxFrame bounds one frame: a 1 MiB request plus its headers.
	maxFrame = 1<<20 + 64<<10
)

// Clock tells the time and waits; injected so tests control heartbeats.
type Clock = wsserver.Clock

// Options configures a Server.
type Options struct {
	// Verify checks a SigV4 signature (service ecs) and names the signer:
	// the handshake's with body nil, then each frame's, rebuilt as the GET
	// it signs, with the envelope as body. nil accepts everything.
	Verify func(r *http.Request, body []byte) (principal string, err error)
	Log    *slog.Logger // nil: discard
	Clock  Clock        // nil: the system clock
	// HeartbeatInterval is how often a HeartbeatMessage goes to each agent:
	// 0 means DefaultHeartbeatInterval, a negative value never.
	HeartbeatInterval time.Duration
	// WriteTimeout bounds each frame written (0: DefaultWriteTimeout).
	WriteTimeout time.Duration
	// OnHealth, if set, is given the tasks of each verified
	// PublishHealthRequest, on the connection's read goroutine, before the
	// ack is sent.
	OnHealth func(containerInstanceARN string, tasks []tcs.TaskHealth)
}

// Telemetry is what a container instance last published. Metrics and
// Health are the last complete message sets (up to the request marked
// fin).
type Telemetry struct {
	ContainerInstanceARN string                            `json:"containerInstanceArn"`
	Cluster              string                            `json:"cluster,omitempty"`
	Principal            string                            `json:"principal,omitempty"`
	Connected            bool                              `json:"connected"`
	Metrics              []tcs.PublishMetricsRequest       `json:"metrics,omitempty"`
	MetricsAt            time.Time                         `json:"metricsAt,omitzero"`
	Health               []tcs.PublishHealthRequest        `json:"health,omitempty"`
	HealthAt             time.Time                         `json:"healthAt,omitzero"`
	InstanceStatus       *tcs.PublishInstanceStatusRequest `json:"instanceStatus,omitempty"`
	InstanceStatusAt     time.Time                         `json:"instanceStatusAt,omitzero"`
}

// record is a container instance's telemetry and the sets being received.
type record struct {
	Telemetry
	metrics []tcs.PublishMetricsRequest
	health  []tcs.PublishHealthRequest
}

// Server is ecs-local's TCS endpoint: an http.Handler for the websocket.
type Server struct {
	opts  Options
	log   *slog.Logger
	clock Clock
	conns *wsserver.Server[*session]

	mu      sync.Mutex
	records map[string]*record // by container instance ARN
}

// New builds a Server.
func New(opts Options) *Server {
	if opts.HeartbeatInterval == 0 {
		opts.HeartbeatInterval = DefaultHeartbeatInterval
	}
	s := &Server{opts: opts, records: map[string]*record{}}
	s.conns = wsserver.New(wsserver.Options[*session]{
		Service:           "TCS",
		Log:               opts.Log,
		Clock:             opts.Clock,
		HeartbeatInterval: opts.HeartbeatInterval,
		Heartbeat: func() (string, any) {
			return tcs.TypeHeartbeatMessage, tcs.HeartbeatMessage{Healthy: true}
		},
		WriteTimeout: opts.WriteTimeout,
		ReadLimit:    maxFrame,
		OnFrame:      s.onFrame,
	})
	s.log, s.clock = s.conns.Log(), s.conns.Clock()
	return s
}

// session is one agent's connection.
type session struct {
	*wsserver.Conn
	handshake *http.Request
	principal string
}

// ServeHTTP verifies and upgrades an agent's handshake, then serves the
// connection until it ends.
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if r.Method != http.MethodGet {
		writeException(w, http.StatusMethodNotAllowed, tcs.TypeBadRequestException, "TCS handshake must be GET")
		return
	}
	principal := ""
	if s.opts.Verify != nil {
		p, err := s.opts.Verify(r, nil)
		if err != nil {
			s.log.Warn("TCS handshake refused", keyError, err)
			writeException(w, wsserver.DeniedStatus(r), tcs.TypeBadRequestException, err.Error())
			return
		}
		principal = p
	}
	q := r.URL.Query()
	cluster, arn := q.Get("cluster"), q.Get("containerInstance")
	if cluster == "" || arn == "" {
		writeException(w, http.StatusBadRequest, tcs.TypeBadRequestException, "cluster and containerInstance are required")
		return
	}
	newSession := func(c *wsserver.Conn) *session {
		s.mu.Lock()
		rec := s.recordLocked(arn)
		rec.Cluster, rec.Principal = cluster, principal
		s.mu.Unlock()
		return &session{Conn: c, handshake: r, principal: principal}
	}
	err := s.conns.Serve(w, r, arn, newSession, "agentVersion", q.Get("agentVersion"))
	if errors.Is(err, wsserver.ErrClosed) {
		writeException(w, http.StatusServiceUnavailable, tcs.TypeServerException, "server is shutting down")
	}
}

// onFrame verifies, records and acks each frame; a frame that fails is
// logged and answered with an exception, never fatal.
func (s *Server) onFrame(ctx context.Context, sess *session, data []byte) {
	log := sess.Log()
	if exType, msg := s.handleFrame(ctx, sess, log, data); exType != "" {
		log.Warn("frame from agent refused", keyType, exType, keyError, msg)
		if err := sess.Write(ctx, exType, tcs.Exception{Message: msg}); err != nil {
			log.Debug("send exception", keyError, err)
		}
	}
}

// handleFrame verifies one frame's signature, decodes it, stores it and
// acks it. It returns the exception type and message of a refused frame.
func (s *Server) handleFrame(ctx context.Context, sess *session, log *slog.Logger, data []byte) (string, string) {
	h, body, err := parseFrame(data)
	if err != nil {
		return tcs.TypeBadRequestException, err.Error()
	}
	if s.opts.Verify != nil {
		p, err := s.opts.Verify(frameRequest(sess.handshake, h), body)
		if err != nil {
			return tcs.TypeBadRequestException, "frame signature: " + err.Error()
		}
		if p != sess.principal {
			return tcs.TypeBadRequestException, "frame signed by a different principal than the handshake"
		}
	}
	var msg tcs.Message
	if err := json.Unmarshal(body, &msg); err != nil || msg.Type == "" {
		return tcs.TypeBadRequestException, fmt.Sprintf("malformed envelope: %v", err)
	}
	now := s.clock.Now()
	var ackType, ackID string
	switch msg.Type {
	case tcs.TypePublishMetricsRequest:
		var req tcs.PublishMetricsRequest
		if err := json.Unmarshal(msg.Message, &req); err != nil {
			return tcs.TypeBadRequestException, "malformed PublishMetricsRequest: " + err.Error()
		}
		if req.Metadata == nil || req.Metadata.MessageID == "" {
			return tcs.TypeInvalidParameterException, "metadata.messageId is required"
		}
		if len(req.TaskMetrics) > tcs.MaxTasksPerRequest {
			return tcs.TypeInvalidParameterException, fmt.Sprintf("%d task metrics, at most %d allowed", len(req.TaskMetrics), tcs.MaxTasksPerRequest)
		}
		s.storeMetrics(sess.Instance(), req, now)
		ackType, ackID = tcs.TypeAckPublishMetric, req.Metadata.MessageID
	case tcs.TypePublishHealthRequest:
		var req tcs.PublishHealthRequest
		if err := json.Unmarshal(msg.Message, &req); err != nil {
			return tcs.TypeBadRequestException, "malformed PublishHealthRequest: " + err.Error()
		}
		if req.Metadata == nil || req.Metadata.MessageID == "" {
			return tcs.TypeInvalidParameterException, "metadata.messageId is required"
		}
		s.storeHealth(sess.Instance(), req, now)
		if s.opts.OnHealth != nil {
			s.opts.OnHealth(sess.Instance(), req.Tasks)
		}
		ackType, ackID = tcs.TypeAckPublishHealth, req.Metadata.MessageID
	case tcs.TypePublishInstanceStatusRequest:
		var req tcs.PublishInstanceStatusRequest
		if err := json.Unmarshal(msg.Message, &req); err != nil {
			return tcs.TypeBadRequestException, "malformed PublishInstanceStatusRequest: " + err.Error()
		}
		if req.Metadata == nil || req.Metadata.RequestID == "" {
			return tcs.TypeInvalidParameterException, "metadata.requestId is required"
		}
		s.mu.Lock()
		rec := s.recordLocked(sess.Instance())
		rec.InstanceStatus, rec.InstanceStatusAt = &req, now
		s.mu.Unlock()
		ackType, ackID = tcs.TypeAckPublishInstanceStatus, req.Metadata.RequestID
	default:
		log.Warn("unknown message type from agent", keyType, msg.Type)
		return "", ""
	}
	if err := sess.Write(ctx, ackType, struct {
		Message string `json:"message"`
	}{ackID}); err != nil {
		log.Debug("send ack", keyType, ackType, keyMessageID, ackID, keyError, err)
	}
	return "", ""
}

// storeMetrics adds req to the instance's set being received; the request
// marked fin completes it.
func (s *Server) storeMetrics(arn string, req tcs.PublishMetricsRequest, now time.Time) {
	s.mu.Lock()
	defer s.mu.Unlock()
	rec := s.recordLocked(arn)
	rec.metrics = append(rec.metrics, req)
	if req.Metadata.Fin {
		rec.Metrics, rec.MetricsAt, rec.metrics = rec.metrics, now, nil
	}
}

// storeHealth adds req to the instance's health set being received; the
// request marked fin completes it.
func (s *Server) storeHealth(arn string, req tcs.PublishHealthRequest, now time.Time) {
	s.mu.Lock()
	defer s.mu.Unlock()
	rec := s.recordLocked(arn)
	rec.health = append(rec.health, req)
	if req.Metadata.Fin {
		rec.Health, rec.HealthAt, rec.health = rec.health, now, nil
	}
}

// recordLocked returns the instance's record, made if new; s.mu is held.
func (s *Server) recordLocked(arn string) *record {
	rec := s.records[arn]
	if rec == nil {
		rec = &record{Telemetry: Telemetry{ContainerInstanceARN: arn}}
		s.records[arn] = rec
	}
	return rec
}

// Latest returns what the container instance last published.
func (s *Server) Latest(containerInstanceARN string) (Telemetry, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	rec, ok := s.records[containerInstanceARN]
	if !ok {
		return Telemetry{}, false
	}
	t := rec.Telemetry
	t.Connected = s.conns.Connected(containerInstanceARN)
	return t, true
}

// All returns the latest telemetry of every container instance, by ARN.
func (s *Server) All() []Telemetry {
	s.mu.Lock()
	arns := make([]string, 0, len(s.records))
	for arn := range s.records {
		arns = append(arns, arn)
	}
	s.mu.Unlock()
	slices.Sort(arns)
	out := make([]Telemetry, 0, len(arns))
	for _, arn := range arns {
		if t, ok := s.Latest(arn); ok {
			out = append(out, t)
		}
	}
	return out
}

// Connected reports whether an agent is connected for the instance.
func (s *Server) Connected(containerInstanceARN string) bool {
	return s.conns.Connected(containerInstanceARN)
}

// StopSession sends StopTelemetrySessionMessage to the instance's agent.
func (s *Server) StopSession(ctx context.Context, containerInstanceARN, reason string) error {
	sess, ok := s.conns.Lookup(containerInstanceARN)
	if !ok {
		return fmt.Errorf("stop telemetry session of %s: not connected", containerInstanceARN)
	}
	return sess.Write(ctx, tcs.TypeStopTelemetrySessionMessage, tcs.StopTelemetrySessionMessage{Message: reason})
}

// StatusHandler serves GET with the latest telemetry of every container
// instance as JSON: {"containerInstances":[Telemetry...]}.
func (s *Server) StatusHandler() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method != http.MethodGet && r.Method != http.MethodHead {
			w.Header().Set("Allow", "GET, HEAD")
			http.Error(w, "method not allowed", http.StatusMethodNotAllowed)
			return
		}
		w.Header().Set("Content-Type", "application/json")
		enc := json.NewEncoder(w)
		enc.SetIndent("", "  ")
		_ = enc.Encode(struct {
			ContainerInstances []Telemetry `json:"containerInstances"`
		}{s.All()})
	})
}

// Close disconnects every agent, refuses new handshakes and waits for the
// connections' goroutines.
func (s *Server) Close() error {
	return s.conns.Close()
}

// writeException refuses a handshake with a framed exception body.
func writeException(w http.ResponseWriter, status int, typ, msg string) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	inner, _ := json.Marshal(tcs.Exception{Message: msg})
	_ = json.NewEncoder(w).Encode(tcs.Message{Type: typ, Message: inner})
}
