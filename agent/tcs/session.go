package tcs

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/url"
	"sync"
	"sync/atomic"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/gorilla/websocket"

	"github.com/ecsd-project/ecsd/agent/task"
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
	DefaultHeartbeatTimeout   = time.Minute
	DefaultHeartbeatJitter    = time.Minute
	DefaultReadTimeout        = 3 * time.Minute
	DefaultWriteTimeout       = 3 * time.Minute
	DefaultConnectionLifetime = 30 * time.Minute
	DefaultLifetimeJitter     = 5 * time.Minute
	DefaultBackoffMin         = time.Second
	DefaultBackoffMax         = time.Minute
	DefaultBackoffMultiplier  = 2.0
	DefaultBackoffJitter      = 0.2
	DefaultPublishInterval    = 20 * time.Second
	DefaultSampleInterval     = time.Second
	// DefaultStatsCheckTimeout bounds one Stats call and one runtime check.
	DefaultStatsCheckTimeout = 5 * time.Second
)

// Config configures a Session. Zero durations take the Default* values.
type Config struct {
	// Disabled turns telemetry off: Run returns at once.
	Disabled bool
	// Endpoint returns the telemetry endpoint (DiscoverPollEndpoint's
	// telemetryEndpoint). It is called before every connection attempt.
	Endpoint func(ctx context.Context) (string, error)
	// Cluster is the configured cluster, a name or an ARN.
	Cluster              string
	ContainerInstanceARN string
	Region               string
	// Credentials are the instance credentials that sign the handshake and
	// every frame.
	Credentials  aws.CredentialsProvider
	AgentVersion string
	AgentHash    string
	Source       Source
	// CheckRuntime probes the container runtime for the instance status
	// (ContainerRuntime OK or IMPAIRED); nil reports OK.
	CheckRuntime func(ctx context.Context) error
	Clock        Clock        // nil: the system clock
	Log          *slog.Logger // nil: discard
	// Proxy picks the proxy for the handshake request; nil dials directly.
	Proxy func(*http.Request) (*url.URL, error)
	// InsecureSkipVerify turns off TLS certificate verification.
	InsecureSkipVerify bool

	HandshakeTimeout time.Duration
	// HeartbeatTimeout plus a random jitter up to HeartbeatJitter without a
	// HeartbeatMessage or an AckPublish* closes the connection.
	HeartbeatTimeout time.Duration
	HeartbeatJitter  time.Duration
	// ReadTimeout and WriteTimeout are the socket deadlines.
	ReadTimeout  time.Duration
	WriteTimeout time.Duration
	// ConnectionLifetime plus a random jitter up to LifetimeJitter ends a
	// connection with close code 1000 and a reconnect.
	ConnectionLifetime time.Duration
	LifetimeJitter     time.Duration
	// Reconnect backoff: from BackoffMin, times BackoffMultiplier per
	// failure, capped at BackoffMax, each wait plus up to BackoffJitter of
	// itself; reset by a clean close.
	BackoffMin        time.Duration
	BackoffMax        time.Duration
	BackoffMultiplier float64
	BackoffJitter     float64
	// PublishInterval is how often metrics, health and instance status go
	// out; SampleInterval how often each running container is sampled.
	PublishInterval time.Duration
	SampleInterval  time.Duration
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
	dur(&c.HeartbeatTimeout, DefaultHeartbeatTimeout)
	dur(&c.HeartbeatJitter, DefaultHeartbeatJitter)
	dur(&c.ReadTimeout, DefaultReadTimeout)
	dur(&c.WriteTimeout, DefaultWriteTimeout)
	dur(&c.ConnectionLifetime, DefaultConnectionLifetime)
	dur(&c.LifetimeJitter, DefaultLifetimeJitter)
	dur(&c.BackoffMin, DefaultBackoffMin)
	dur(&c.BackoffMax, DefaultBackoffMax)
	dur(&c.PublishInterval, DefaultPublishInterval)
	dur(&c.SampleInterval, DefaultSampleInterval)
	if c.BackoffMultiplier <= 1 {
		c.BackoffMultiplier = DefaultBackoffMultiplier
	}
	if c.BackoffJitter <= 0 {
		c.BackoffJitter = DefaultBackoffJitter
	}
}

func (c *Config) validate() error {
	if c.Disabled {
		return nil
	}
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

// Why the session itself ended a connection.
var (
	errHeartbeat = errors.New("no heartbeat or ack from TCS within the heartbeat timeout")
	errExpired   = errors.New("connection reached its maximum lifetime")
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
	wg.Go(func() { s.sample(ctx) })

	bo := newBackoff(s.cfg.BackoffMin, s.cfg.BackoffMax, s.cfg.BackoffMultiplier, s.cfg.BackoffJitter)
	for ctx.Err() == nil {
		up, err := s.once(ctx)
		if ctx.Err() != nil {
			break
		}
		var wait time.Duration
		if up && reconnectAtOnce(err) {
			bo.reset()
			s.log.Info("TCS connection closed; reconnecting", keyReason, err)
		} else {
			wait = bo.next()
			s.log.Warn("TCS connection failed; reconnecting after backoff", keyError, err, keyWait, wait)
		}
		if err := sleep(ctx, s.clock, wait); err != nil {
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
