package tcs

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"sync/atomic"
	"time"

	"github.com/ecsd-project/ecsd/agent/task"
	"github.com/ecsd-project/ecsd/agent/wsclient"
	"github.com/ecsd-project/ecsd/runtime"
)

// Log attribute keys.
const (
	keyType      = "type"
	keyMessageID = "messageId"
	keyError     = "error"
	keyEndpoint  = "endpoint"
	keyWait      = "wait"
	keyReason    = "reason"
	keyContainer = "container"
	keyRequests  = "requests"
)

// Source is what telemetry reads: copies of the engine's tasks, and a
// resource sample of a running container by its runtime (containerd) id.
type Source interface {
	Tasks() []*task.Task
	Stats(ctx context.Context, runtimeID string) (runtime.Stats, error)
}

// Clock tells the time and waits; injected so tests can shorten waits.
type Clock = wsclient.Clock

// Defaults of the Config durations, the stock agent's values.
const (
	DefaultHandshakeTimeout   = wsclient.DefaultHandshakeTimeout
	DefaultHeartbeatTimeout   = time.Minute
	DefaultHeartbeatJitter    = time.Minute
	DefaultReadTimeout        = wsclient.DefaultReadTimeout
	DefaultWriteTimeout       = wsclient.DefaultWriteTimeout
	DefaultConnectionLifetime = wsclient.DefaultConnectionLifetime
	DefaultLifetimeJitter     = wsclient.DefaultLifetimeJitter
	DefaultBackoffMin         = time.Second
	DefaultBackoffMax         = time.Minute
	DefaultBackoffMultiplier  = 2.0
	DefaultBackoffJitter      = wsclient.DefaultBackoffJitter
	DefaultPublishInterval    = 20 * time.Second
	DefaultSampleInterval     = time.Second
	// DefaultStatsCheckTimeout bounds one Stats call and one runtime check.
	DefaultStatsCheckTimeout = 5 * time.Second
)

// Config configures a Session. Zero durations take the Default* values.
type Config struct {
	// Disabled turns telemetry off: Run returns at once.
	Disabled bool
	// DisableMetrics sends no container metrics (ECS_DISABLE_METRICS):
	// containers are not sampled; health and instance status still go.
	DisableMetrics bool
	// Endpoint returns the telemetry endpoint (DiscoverPollEndpoint's
	// telemetryEndpoint). It is called before every connection attempt.
	Endpoint func(ctx context.Context) (string, error)
	// Peer names the instance and holds the credentials that sign.
	wsclient.Peer
	Source Source
	// CheckRuntime probes the container runtime for the instance status
	// (ContainerRuntime OK or IMPAIRED); nil reports OK.
	CheckRuntime func(ctx context.Context) error
	Clock        Clock        // nil: the system clock
	Log          *slog.Logger // nil: discard

	// Settings are the proxy, TLS, socket deadlines, lifetime and
	// reconnect backoff of the connection; the backoff resets after a
	// clean close.
	wsclient.Settings
	// HeartbeatTimeout plus a random jitter up to HeartbeatJitter without a
	// HeartbeatMessage or an AckPublish* closes the connection.
	HeartbeatTimeout time.Duration
	HeartbeatJitter  time.Duration
	// PublishInterval is how often metrics, health and instance status go
	// out; SampleInterval how often each running container is sampled.
	PublishInterval time.Duration
	SampleInterval  time.Duration
}

func (c *Config) defaults() {
	if c.Clock == nil {
		c.Clock = wsclient.SystemClock{}
	}
	if c.Log == nil {
		c.Log = slog.New(slog.DiscardHandler)
	}
	c.Settings.Fill(DefaultBackoffMin, DefaultBackoffMax, DefaultBackoffMultiplier)
	wsclient.Default(&c.HeartbeatTimeout, DefaultHeartbeatTimeout)
	wsclient.Default(&c.HeartbeatJitter, DefaultHeartbeatJitter)
	wsclient.Default(&c.PublishInterval, DefaultPublishInterval)
	wsclient.Default(&c.SampleInterval, DefaultSampleInterval)
}

func (c *Config) validate() error {
	if c.Disabled {
		return nil
	}
	var errs []error
	if c.Endpoint == nil {
		errs = append(errs, errors.New("no Endpoint"))
	}
	errs = append(errs, c.Peer.Missing()...)
	if c.Source == nil {
		errs = append(errs, errors.New("no Source"))
	}
	if err := errors.Join(errs...); err != nil {
		return fmt.Errorf("tcs session config: %w", err)
	}
	return nil
}

// Session keeps ecsd connected to TCS and publishing.
type Session struct {
	cfg   Config
	log   *slog.Logger
	clock Clock
	stats *collector
	inst  *instanceStatus

	connected atomic.Bool
}

// New checks cfg and builds a Session; Run connects it.
func New(cfg Config) (*Session, error) {
	if err := cfg.validate(); err != nil {
		return nil, err
	}
	cfg.defaults()
	// The queue holds four publish intervals' worth of samples.
	depth := max(4*int(cfg.PublishInterval/cfg.SampleInterval), 4)
	return &Session{cfg: cfg, log: cfg.Log, clock: cfg.Clock, stats: newCollector(depth), inst: &instanceStatus{}}, nil
}

// Connected reports whether a connection is up.
func (s *Session) Connected() bool { return s.connected.Load() }

// Why the session itself ended a connection, besides wsclient.ErrExpired.
var (
	errHeartbeat = errors.New("no heartbeat or ack from TCS within the heartbeat timeout")
	errStopped   = errors.New("TCS asked to stop the telemetry session")
)

// Run samples containers and keeps a TCS connection publishing until ctx
// is done; it returns nil then.
func (s *Session) Run(ctx context.Context) error {
	if s.cfg.Disabled {
		s.log.Info("telemetry is disabled")
		return nil
	}
	var wg sync.WaitGroup
	defer wg.Wait()
	if !s.cfg.DisableMetrics {
		wg.Go(func() { s.sample(ctx) })
	}

	bo := s.cfg.Backoff()
	for ctx.Err() == nil {
		up, err := s.once(ctx)
		if ctx.Err() != nil {
			break
		}
		var wait time.Duration
		if up && wsclient.ReconnectAtOnce(err) {
			bo.Reset()
			s.log.Info("TCS connection closed; reconnecting", keyReason, err)
		} else {
			wait = bo.Next()
			s.log.Warn("TCS connection failed; reconnecting after backoff", keyError, err, keyWait, wait)
		}
		if err := wsclient.Sleep(ctx, s.clock, wait); err != nil {
			break
		}
	}
	return nil
}

// once makes one connection attempt and serves it until it ends; it
// reports whether the connection was up, and why it ended.
func (s *Session) once(ctx context.Context) (bool, error) {
	ws, u, err := s.connect(ctx)
	if err != nil {
		return false, err
	}
	s.connected.Store(true)
	s.log.Info("connected to TCS")
	err = s.serve(ctx, ws, u)
	s.connected.Store(false)
	return true, err
}
