package acs

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sync/atomic"
	"time"

	"github.com/ecsd-project/ecsd/agent/wsclient"
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
type Clock = wsclient.Clock

// Defaults of the Config durations, the stock agent's values.
const (
	DefaultHandshakeTimeout   = wsclient.DefaultHandshakeTimeout
	DefaultInactivityTimeout  = time.Minute
	DefaultInactivityJitter   = time.Minute
	DefaultReadTimeout        = wsclient.DefaultReadTimeout
	DefaultWriteTimeout       = wsclient.DefaultWriteTimeout
	DefaultConnectionLifetime = wsclient.DefaultConnectionLifetime
	DefaultLifetimeJitter     = wsclient.DefaultLifetimeJitter
	DefaultBackoffMin         = 250 * time.Millisecond
	DefaultBackoffMax         = 2 * time.Minute
	DefaultBackoffMultiplier  = 1.5
	DefaultBackoffJitter      = wsclient.DefaultBackoffJitter
	DefaultBackoffResetAfter  = time.Minute
	DefaultInactivePause      = time.Hour
)

// Config configures a Session. Zero durations take the Default* values.
type Config struct {
	// Endpoint returns the ACS endpoint (DiscoverPollEndpoint's endpoint,
	// such as https://ecs-a-1.us-east-1.amazonaws.com/). It is called before
	// every connection attempt.
	Endpoint func(ctx context.Context) (string, error)
	// Peer names the instance and holds the credentials that sign.
	wsclient.Peer
	Handler Handler
	Clock   Clock        // nil: the system clock
	Log     *slog.Logger // nil: discard

	// OnConnect is called after each successful handshake.
	OnConnect func()
	// OnDisconnect is called with the reason each time a connection ends,
	// and when a handshake is refused with InactiveInstanceException, so
	// that the agent can stop telemetry: errors.Is(err, ErrInactiveInstance).
	OnDisconnect func(err error)

	// Settings are the proxy, TLS, socket deadlines, lifetime and
	// reconnect backoff of the connection.
	wsclient.Settings
	// InactivityTimeout plus a random jitter up to InactivityJitter without
	// any inbound message closes the connection.
	InactivityTimeout time.Duration
	InactivityJitter  time.Duration
	// BackoffResetAfter: the reconnect backoff starts again from BackoffMin
	// once a connection lasted this long.
	BackoffResetAfter time.Duration
	// InactivePause is how long the session waits after ACS reported
	// InactiveInstanceException (the instance was deregistered).
	InactivePause time.Duration
}

func (c *Config) defaults() {
	if c.Clock == nil {
		c.Clock = wsclient.SystemClock{}
	}
	if c.Log == nil {
		c.Log = slog.New(slog.DiscardHandler)
	}
	c.Settings.Fill(DefaultBackoffMin, DefaultBackoffMax, DefaultBackoffMultiplier)
	wsclient.Default(&c.InactivityTimeout, DefaultInactivityTimeout)
	wsclient.Default(&c.InactivityJitter, DefaultInactivityJitter)
	wsclient.Default(&c.BackoffResetAfter, DefaultBackoffResetAfter)
	wsclient.Default(&c.InactivePause, DefaultInactivePause)
}

func (c *Config) validate() error {
	var errs []error
	if c.Endpoint == nil {
		errs = append(errs, errors.New("no Endpoint"))
	}
	errs = append(errs, c.Peer.Missing()...)
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

// errInactivity is why the session itself ended a quiet connection; an
// expired one ends with wsclient.ErrExpired.
var errInactivity = errors.New("no message from ACS within the inactivity timeout")

// Run connects to ACS and serves the connection, reconnecting until ctx is
// done. It returns nil once ctx is cancelled; running tasks are unaffected.
func (s *Session) Run(ctx context.Context) error {
	bo := s.cfg.Backoff()
	for ctx.Err() == nil {
		connectedFor, err := s.once(ctx)
		if ctx.Err() != nil {
			break
		}
		if connectedFor >= s.cfg.BackoffResetAfter {
			bo.Reset()
		}
		var wait time.Duration
		switch {
		case errors.Is(err, ErrInactiveInstance):
			bo.Reset()
			wait = s.cfg.InactivePause
			s.log.Warn("container instance is inactive (deregistered); pausing ACS", keyError, err, keyWait, wait)
		case connectedFor > 0 && wsclient.ReconnectAtOnce(err):
			bo.Reset()
			s.log.Info("ACS connection closed; reconnecting", keyReason, err)
		default:
			wait = bo.Next()
			s.log.Warn("ACS connection failed; reconnecting after backoff", keyError, err, keyWait, wait)
		}
		if err := wsclient.Sleep(ctx, s.clock, wait); err != nil {
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
