package acsserver

import (
	"context"
	"crypto/rand"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"strconv"
	"sync"
	"time"

	"github.com/gorilla/websocket"

	"github.com/ecsd-project/ecsd/controlplane/wsserver"
	"github.com/ecsd-project/ecsd/wire/acs"
)

// Log attribute keys.
const (
	keyType      = "type"
	keyMessageID = "messageId"
	keyError     = "error"
)

// Defaults of Options.
const (
	DefaultHeartbeatInterval = time.Minute
	DefaultWriteTimeout      = wsserver.DefaultWriteTimeout
)

// Errors of Send and Deliver.
var (
	// ErrNotConnected: no agent is connected for the container instance.
	ErrNotConnected = errors.New("container instance not connected")
	// ErrDisconnected: the connection ended before the agent acknowledged.
	ErrDisconnected = errors.New("connection ended before the ack")
)

// Clock tells the time and waits; injected so tests control heartbeats.
type Clock = wsserver.Clock

// Options configures a Server.
type Options struct {
	// Verify checks the signed handshake and names the caller. An
	// *Exception it returns is sent as is (for example
	// InactiveInstanceException with status 400); any other error is sent as
	// AccessDeniedException, 401 when the request is unsigned, else 403.
	// nil accepts every request.
	Verify func(r *http.Request) (principal string, err error)
	Log    *slog.Logger // nil: discard
	Clock  Clock        // nil: the system clock
	// HeartbeatInterval is how often a HeartbeatMessage goes to each agent:
	// 0 means DefaultHeartbeatInterval, a negative value never.
	HeartbeatInterval time.Duration
	// WriteTimeout bounds each frame written (0: DefaultWriteTimeout).
	WriteTimeout time.Duration
	// OnConnect runs in its own goroutine once an agent is connected; ctx
	// ends with the connection.
	OnConnect func(ctx context.Context, containerInstanceARN string)
	// OnMessage sees every frame an agent sends (acks, nacks, stop
	// verifications), after the Server recorded it, on the connection's
	// read goroutine: it may call Send, but not wait for an ack.
	OnMessage func(containerInstanceARN string, msg acs.Message)
}

// Info describes a connected agent, from its handshake query.
type Info struct {
	Cluster              string
	ContainerInstanceARN string
	Principal            string
	AgentVersion         string
	AgentHash            string
	DockerVersion        string
	ProtocolVersion      int
	SendCredentials      bool
	ConnectedAt          time.Time
}

// Server is ecs-local's ACS endpoint: an http.Handler for GET /ws that
// keeps one websocket per container instance.
type Server struct {
	opts  Options
	log   *slog.Logger
	clock Clock
	conns *wsserver.Server[*session]

	mu       sync.Mutex
	seq      map[string]int64 // last seqNum/timeline per container instance
	credAcks map[string]acs.IAMRoleCredentialsAckRequest
}

// New builds a Server.
func New(opts Options) *Server {
	if opts.HeartbeatInterval == 0 {
		opts.HeartbeatInterval = DefaultHeartbeatInterval
	}
	s := &Server{
		opts:     opts,
		seq:      map[string]int64{},
		credAcks: map[string]acs.IAMRoleCredentialsAckRequest{},
	}
	wopts := wsserver.Options[*session]{
		Service:           "ACS",
		Log:               opts.Log,
		Clock:             opts.Clock,
		HeartbeatInterval: opts.HeartbeatInterval,
		Heartbeat: func() (string, any) {
			return acs.TypeHeartbeatMessage, acs.HeartbeatMessage{Healthy: true, MessageID: newID()}
		},
		WriteTimeout: opts.WriteTimeout,
		OnFrame:      s.onFrame,
	}
	if opts.OnConnect != nil {
		wopts.OnConnect = func(ctx context.Context, sess *session) { opts.OnConnect(ctx, sess.Instance()) }
	}
	s.conns = wsserver.New(wopts)
	s.log, s.clock = s.conns.Log(), s.conns.Clock()
	return s
}

// session is one agent's connection.
type session struct {
	*wsserver.Conn
	info Info

	mu      sync.Mutex
	waiters map[string]chan struct{} // by messageId, closed on its AckRequest
}

// ServeHTTP verifies and upgrades an agent's handshake, then serves the
// connection until it ends.
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if r.Method != http.MethodGet {
		writeException(w, &Exception{Status: http.StatusMethodNotAllowed, Type: acs.TypeBadRequestException, Message: "ACS handshake must be GET"})
		return
	}
	principal := ""
	if s.opts.Verify != nil {
		p, err := s.opts.Verify(r)
		if err != nil {
			var ex *Exception
			if !errors.As(err, &ex) {
				ex = &Exception{Status: wsserver.DeniedStatus(r), Type: acs.TypeAccessDeniedException, Message: err.Error()}
			}
			s.log.Warn("ACS handshake refused", keyType, ex.Type, keyError, ex.Message)
			writeException(w, ex)
			return
		}
		principal = p
	}
	q := r.URL.Query()
	info := Info{
		Cluster:              q.Get("clusterArn"),
		ContainerInstanceARN: q.Get("containerInstanceArn"),
		Principal:            principal,
		AgentVersion:         q.Get("agentVersion"),
		AgentHash:            q.Get("agentHash"),
		DockerVersion:        q.Get("dockerVersion"),
		SendCredentials:      q.Get("sendCredentials") == "true",
	}
	info.ProtocolVersion, _ = strconv.Atoi(q.Get("protocolVersion"))
	if info.Cluster == "" || info.ContainerInstanceARN == "" {
		writeException(w, &Exception{Status: http.StatusBadRequest, Type: acs.TypeBadRequestException,
			Message: "clusterArn and containerInstanceArn are required"})
		return
	}
	newSession := func(c *wsserver.Conn) *session {
		info.ConnectedAt = s.clock.Now()
		return &session{Conn: c, info: info, waiters: map[string]chan struct{}{}}
	}
	err := s.conns.Serve(w, r, info.ContainerInstanceARN, newSession,
		"agentVersion", info.AgentVersion, "sendCredentials", info.SendCredentials)
	if errors.Is(err, wsserver.ErrClosed) {
		writeException(w, &Exception{Status: http.StatusServiceUnavailable, Type: acs.TypeServerException, Message: "server is shutting down"})
	}
}

// onFrame records each frame the agent sends and passes it to OnMessage;
// garbage is logged and skipped.
func (s *Server) onFrame(_ context.Context, sess *session, data []byte) {
	var msg acs.Message
	if err := json.Unmarshal(data, &msg); err != nil || msg.Type == "" {
		sess.Log().Warn("malformed frame from agent skipped", keyError, err, "bytes", len(data))
		return
	}
	s.record(sess, msg)
	if s.opts.OnMessage != nil {
		s.opts.OnMessage(sess.Instance(), msg)
	}
}

// record notes acks: an AckRequest releases the Deliver waiting for it; a
// credentials ack is kept for CredentialsAck.
func (s *Server) record(sess *session, msg acs.Message) {
	log := sess.Log()
	switch msg.Type {
	case acs.TypeAckRequest:
		var ack acs.AckRequest
		if err := json.Unmarshal(msg.Message, &ack); err != nil {
			log.Warn("malformed AckRequest", keyError, err)
			return
		}
		sess.acked(ack.MessageID)
	case acs.TypeIAMRoleCredentialsAckRequest:
		var ack acs.IAMRoleCredentialsAckRequest
		if err := json.Unmarshal(msg.Message, &ack); err != nil {
			log.Warn("malformed IAMRoleCredentialsAckRequest", keyError, err)
			return
		}
		s.mu.Lock()
		s.credAcks[ack.CredentialsID] = ack
		s.mu.Unlock()
	case acs.TypeNackRequest:
		var nack acs.NackRequest
		if err := json.Unmarshal(msg.Message, &nack); err == nil {
			log.Info("agent refused a message", keyMessageID, nack.MessageID, "reason", nack.Reason)
		}
	case acs.TypeHeartbeatAckRequest, acs.TypeTaskStopVerificationMessage:
	default:
		log.Warn("unknown message type from agent", keyType, msg.Type)
	}
}

// Send writes one message of type msgType to the agent of the container
// instance.
func (s *Server) Send(ctx context.Context, containerInstanceARN, msgType string, msg any) error {
	sess, ok := s.conns.Lookup(containerInstanceARN)
	if !ok {
		return fmt.Errorf("send %s to %s: %w", msgType, containerInstanceARN, ErrNotConnected)
	}
	if err := sess.Write(ctx, msgType, msg); err != nil {
		return fmt.Errorf("send %s to %s: %w", msgType, containerInstanceARN, err)
	}
	return nil
}

// Deliver sends payload to the agent of the container instance with a new
// messageId, the next seqNum and generatedAt set (and its clusterArn and
// containerInstanceArn, if empty), then waits for the AckRequest with that
// messageId: the agent acks only once it persisted the tasks. It fails if
// the instance is not connected, the connection ends first, or ctx is done.
func (s *Server) Deliver(ctx context.Context, containerInstanceARN string, payload acs.PayloadMessage) error {
	sess, ok := s.conns.Lookup(containerInstanceARN)
	if !ok {
		return fmt.Errorf("deliver payload to %s: %w", containerInstanceARN, ErrNotConnected)
	}
	payload.MessageID = newID()
	payload.SeqNum = s.nextSeq(containerInstanceARN)
	payload.GeneratedAt = s.clock.Now().UnixMilli()
	if payload.ClusterARN == "" {
		payload.ClusterARN = sess.info.Cluster
	}
	if payload.ContainerInstanceARN == "" {
		payload.ContainerInstanceARN = containerInstanceARN
	}
	acked := sess.expect(payload.MessageID)
	defer sess.forget(payload.MessageID)
	if err := sess.Write(ctx, acs.TypePayloadMessage, payload); err != nil {
		return fmt.Errorf("deliver payload %s to %s: %w", payload.MessageID, containerInstanceARN, err)
	}
	select {
	case <-acked:
		return nil
	case <-sess.Done():
		return fmt.Errorf("deliver payload %s to %s: %w", payload.MessageID, containerInstanceARN, ErrDisconnected)
	case <-ctx.Done():
		return fmt.Errorf("deliver payload %s to %s: no ack: %w", payload.MessageID, containerInstanceARN, ctx.Err())
	}
}

// SendManifest sends a TaskManifestMessage listing tasks, with a new
// messageId and the next timeline, which is above every seqNum delivered
// before (the agent discards manifests not newer than its latest payload).
func (s *Server) SendManifest(ctx context.Context, containerInstanceARN string, tasks []acs.TaskIdentifier) error {
	sess, ok := s.conns.Lookup(containerInstanceARN)
	if !ok {
		return fmt.Errorf("send task manifest to %s: %w", containerInstanceARN, ErrNotConnected)
	}
	timeline := s.nextSeq(containerInstanceARN)
	msg := acs.TaskManifestMessage{
		ContainerInstanceARN: containerInstanceARN,
		ClusterARN:           sess.info.Cluster,
		Tasks:                tasks,
		GeneratedAt:          s.clock.Now().UnixMilli(),
		MessageID:            newID(),
		Timeline:             &timeline,
	}
	if err := sess.Write(ctx, acs.TypeTaskManifestMessage, msg); err != nil {
		return fmt.Errorf("send task manifest to %s: %w", containerInstanceARN, err)
	}
	return nil
}

// Connected reports whether an agent is connected for the container
// instance.
func (s *Server) Connected(containerInstanceARN string) bool {
	return s.conns.Connected(containerInstanceARN)
}

// Info describes the connected agent of the container instance.
func (s *Server) Info(containerInstanceARN string) (Info, bool) {
	sess, ok := s.conns.Lookup(containerInstanceARN)
	if !ok {
		return Info{}, false
	}
	return sess.info, true
}

// CredentialsAck returns the last IAMRoleCredentialsAckRequest received for
// credentialsID.
func (s *Server) CredentialsAck(credentialsID string) (acs.IAMRoleCredentialsAckRequest, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	ack, ok := s.credAcks[credentialsID]
	return ack, ok
}

// Disconnect closes the connection of the container instance with close
// code 1000; the agent reconnects at once.
func (s *Server) Disconnect(containerInstanceARN string) error {
	sess, ok := s.conns.Lookup(containerInstanceARN)
	if !ok {
		return fmt.Errorf("disconnect %s: %w", containerInstanceARN, ErrNotConnected)
	}
	sess.Close(websocket.CloseNormalClosure, "closed by ecs-local")
	return nil
}

// Close disconnects every agent, refuses new handshakes and waits for the
// connections' goroutines.
func (s *Server) Close() error {
	return s.conns.Close()
}

// nextSeq is the next sequence number of the instance. A new counter starts
// at the current Unix time, so it stays above what the agent stored from an
// earlier run of ecs-local.
func (s *Server) nextSeq(arn string) int64 {
	s.mu.Lock()
	defer s.mu.Unlock()
	n := s.seq[arn] + 1
	if n == 1 {
		n = s.clock.Now().Unix()
	}
	s.seq[arn] = n
	return n
}

func (sess *session) expect(messageID string) <-chan struct{} {
	ch := make(chan struct{})
	sess.mu.Lock()
	sess.waiters[messageID] = ch
	sess.mu.Unlock()
	return ch
}

func (sess *session) forget(messageID string) {
	sess.mu.Lock()
	delete(sess.waiters, messageID)
	sess.mu.Unlock()
}

func (sess *session) acked(messageID string) {
	sess.mu.Lock()
	defer sess.mu.Unlock()
	if ch, ok := sess.waiters[messageID]; ok {
		close(ch)
		delete(sess.waiters, messageID)
	}
}

// newID is a random UUID (version 4), the form of ACS message IDs.
func newID() string {
	var b [16]byte
	_, _ = rand.Read(b[:])
	b[6] = b[6]&0x0f | 0x40
	b[8] = b[8]&0x3f | 0x80
	return fmt.Sprintf("%x-%x-%x-%x-%x", b[0:4], b[4:6], b[6:8], b[8:10], b[10:])
}
