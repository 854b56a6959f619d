package acs

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"math/rand/v2"
	"net/http"
	"net/url"
	"sync/atomic"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/gorilla/websocket"
)

// Log attribute keys.
const (
	keyType      = "type"
	keyMessageID = "messageId"
	keyError     = "error"
	keyEndpoint  = "endpoint"
	keyWait      = "wait"
	keyTasks     = "tasks"
	keyReason    = "reason"
	keyCode      = "code"
)

// Clock tells the time and waits; injected so tests can run an hour's pause
// or a backoff series at once.
type Clock interface {
	Now() time.Time
	After(d time.Duration) <-chan time.Time
}

type systemClock struct{}

func (systemClock) Now() time.Time                         { return time.Now() }
func (systemClock) After(d time.Duration) <-chan time.Time { return time.After(d) }

// Defaults of the Config durations, the stock agent's values.
const (
	DefaultHandshakeTimeout   = 30 * time.Second
	DefaultInactivityTimeout  = time.Minute
	DefaultInactivityJitter   = time.Minute
	DefaultReadTimeout        = 3 * time.Minute
	DefaultWriteTimeout       = 3 * time.Minute
	DefaultConnectionLifetime = 30 * time.Minute
	DefaultLifetimeJitter     = 5 * time.Minute
	DefaultBackoffMin         = 250 * time.Millisecond
	DefaultBackoffMax         = 2 * time.Minute
	DefaultBackoffMultiplier  = 1.5
	DefaultBackoffJitter      = 0.2
	DefaultBackoffResetAfter  = time.Minute
	DefaultInactivePause      = time.Hour
)

// Config configures a Session. Zero durations take the Default* values.
type Config struct {
	// Endpoint returns the ACS endpoint (DiscoverPollEndpoint's endpoint,
	// such as https://ecs-a-1.us-east-1.amazonaws.com/). It is called before
	// every connection attempt.
	Endpoint func(ctx context.Context) (string, error)
	// Cluster is the configured cluster, a name or an ARN.
	Cluster              string
	ContainerInstanceARN string
	Region               string
	// Credentials are the instance credentials that sign the handshake.
	Credentials  aws.CredentialsProvider
	AgentVersion string
	AgentHash    string
	Handler      Handler
	Clock        Clock        // nil: the system clock
	Log          *slog.Logger // nil: discard
	// Proxy picks the proxy for the handshake request, for example
	// http.ProxyFromEnvironment (HTTPS_PROXY, NO_PROXY); nil dials directly.
	Proxy func(*http.Request) (*url.URL, error)
	// InsecureSkipVerify turns off TLS certificate verification.
	InsecureSkipVerify bool

	// OnConnect is called after each successful handshake.
	OnConnect func()
	// OnDisconnect is called with the reason each time a connection ends,
	// and when a handshake is refused with InactiveInstanceException, so
	// that the agent can stop telemetry: errors.Is(err, ErrInactiveInstance).
	OnDisconnect func(err error)

	HandshakeTimeout time.Duration
	// InactivityTimeout plus a random jitter up to InactivityJitter without
	// any inbound message closes the connection.
	InactivityTimeout time.Duration
	InactivityJitter  time.Duration
	// ReadTimeout and WriteTimeout are the socket deadlines.
	ReadTimeout  time.Duration
	WriteTimeout time.Duration
	// ConnectionLifetime plus a random jitter up to LifetimeJitter ends a
	// connection with close code 1000 and a reconnect.
	ConnectionLifetime time.Duration
	LifetimeJitter     time.Duration
	// Reconnect backoff: from BackoffMin, times BackoffMultiplier per
	// failure, capped at BackoffMax, each wait plus up to BackoffJitter of
	// itself; reset once a connection lasted BackoffResetAfter.
	BackoffMin        time.Duration
	BackoffMax        time.Duration
	BackoffMultiplier float64
	BackoffJitter     float64
	BackoffResetAfter time.Duration
	// InactivePause is how long the session waits after ACS reported
	// InactiveInstanceException (the instance was deregistered).
	InactivePause time.Duration
}

func (c *Config) defaults() {
	if c.Clock == nil {
		c.Clock = systemClock{}
	}
	if c.Log == nil {
		c.Log = slog.New(slog.DiscardHandler)
	}
	dur := func(d *time.Duration, def time.Duration) {
		if *d <= 0 {
			*d = def
		}
	}
	dur(&c.HandshakeTimeout, DefaultHandshakeTimeout)
	dur(&c.InactivityTimeout, DefaultInactivityTimeout)
	dur(&c.InactivityJitter, DefaultInactivityJitter)
	dur(&c.ReadTimeout, DefaultReadTimeout)
	dur(&c.WriteTimeout, DefaultWriteTimeout)
	dur(&c.ConnectionLifetime, DefaultConnectionLifetime)
	dur(&c.LifetimeJitter, DefaultLifetimeJitter)
	dur(&c.BackoffMin, DefaultBackoffMin)
	dur(&c.BackoffMax, DefaultBackoffMax)
	dur(&c.BackoffResetAfter, DefaultBackoffResetAfter)
	dur(&c.InactivePause, DefaultInactivePause)
	if c.BackoffMultiplier <= 1 {
		c.BackoffMultiplier = DefaultBackoffMultiplier
	}
	if c.BackoffJitter <= 0 {
		c.BackoffJitter = DefaultBackoffJitter
	}
}

func (c *Config) validate() error {
	var errs []error
	if c.Endpoint == nil {
		errs = append(errs, errors.New("no Endpoint"))
	}
	if c.Cluster == "" {
		errs = append(errs, errors.New("no Cluster"))
	}
	if c.ContainerInstanceARN == "" {
		errs = append(errs, errors.New("no ContainerInstanceARN"))
	}
	if c.Region == "" {
		errs = append(errs, errors.New("no Region"))
	}
	if c.Credentials == nil {
		errs = append(errs, errors.New("no Credentials"))
	}
	if c.Handler == nil {
		errs = append(errs, errors.New("no Handler"))
	}
	if err := errors.Join(errs...); err != nil {
		return fmt.Errorf("acs session config: %w", err)
	}
	return nil
}

// Session keeps ecsd connected to ACS.
type Session struct {
	cfg   Config
	log   *slog.Logger
	clock Clock

	connected atomic.Bool
	// everConnected turns sendCredentials off after the first connection of
	// this process; Run's goroutine only.
	everConnected bool
	// manifestID is the messageId of the last manifest acked, the only one
	// whose TaskStopVerificationAck is honoured; read loop only.
	manifestID string
}

// New checks cfg and builds a Session; Run connects it.
func New(cfg Config) (*Session, error) {
	if err := cfg.validate(); err != nil {
		return nil, err
	}
	cfg.defaults()
	return &Session{cfg: cfg, log: cfg.Log, clock: cfg.Clock}, nil
}

// Connected reports whether a connection is up.
func (s *Session) Connected() bool { return s.connected.Load() }

// errInactivity and errExpired are why the session itself ended a
// connection.
var (
	errInactivity = errors.New("no message from ACS within the inactivity timeout")
	errExpired    = errors.New("connection reached its maximum lifetime")
)

// Run connects to ACS and serves the connection, reconnecting until ctx is
// done. It returns nil once ctx is cancelled; running tasks are unaffected.
func (s *Session) Run(ctx context.Context) error {
	bo := newBackoff(s.cfg.BackoffMin, s.cfg.BackoffMax, s.cfg.BackoffMultiplier, s.cfg.BackoffJitter)
	for ctx.Err() == nil {
		connectedFor, err := s.once(ctx)
		if ctx.Err() != nil {
			break
		}
		if connectedFor >= s.cfg.BackoffResetAfter {
			bo.reset()
		}
		var wait time.Duration
		switch {
		case errors.Is(err, ErrInactiveInstance):
			bo.reset()
			wait = s.cfg.InactivePause
			s.log.Warn("container instance is inactive (deregistered); pausing ACS", keyError, err, keyWait, wait)
		case connectedFor > 0 && reconnectAtOnce(err):
			bo.reset()
			s.log.Info("ACS connection closed; reconnecting", keyReason, err)
		default:
			wait = bo.next()
			s.log.Warn("ACS connection failed; reconnecting after backoff", keyError, err, keyWait, wait)
		}
		if err := sleep(ctx, s.clock, wait); err != nil {
			break
		}
	}
	return nil
}

// once makes one connection attempt and serves it until it ends. It
// returns how long the connection was up (0 if it never was) and why it
// ended.
func (s *Session) once(ctx context.Context) (time.Duration, error) {
	ws, err := s.connect(ctx)
	if err != nil {
		if errors.Is(err, ErrInactiveInstance) && s.cfg.OnDisconnect != nil {
			s.cfg.OnDisconnect(err)
		}
		return 0, err
	}
	start := s.clock.Now()
	s.everConnected = true
	s.connected.Store(true)
	s.log.Info("connected to ACS")
	if s.cfg.OnConnect != nil {
		s.cfg.OnConnect()
	}
	err = s.serve(ctx, ws)
	s.connected.Store(false)
	if s.cfg.OnDisconnect != nil {
		s.cfg.OnDisconnect(err)
	}
	// A connection always counts as having been up, however briefly.
	return max(s.clock.Now().Sub(start), time.Nanosecond), err
}

// reconnectAtOnce tells the closes after which the stock agent reconnects
// without backoff: a normal, going-away, abnormal (1006) or internal-error
// close, EOF, or the session's own lifetime expiry.
func reconnectAtOnce(err error) bool {
	if errors.Is(err, io.EOF) || errors.Is(err, errExpired) {
		return true
	}
	return websocket.IsCloseError(err, websocket.CloseNormalClosure, websocket.CloseGoingAway,
		websocket.CloseAbnormalClosure, websocket.CloseInternalServerErr)
}

// sleep waits d on clk, or until ctx is done.
func sleep(ctx context.Context, clk Clock, d time.Duration) error {
	if err := ctx.Err(); err != nil || d <= 0 {
		return err
	}
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-clk.After(d):
		return nil
	}
}

// jittered returns d plus a random duration below j.
func jittered(d, j time.Duration) time.Duration {
	if j <= 0 {
		return d
	}
	return d + rand.N(j)
}
