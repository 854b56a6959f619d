package runtime

import (
	"context"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"sync"
	"time"

	"github.com/containerd/containerd/v2/client"
	"github.com/containerd/containerd/v2/pkg/namespaces"
)

// Defaults.
const (
	DefaultAddress     = "/run/containerd/containerd.sock"
	DefaultNamespace   = "ecsd"
	DefaultSnapshotter = "overlayfs"
	DefaultStateDir    = "/var/lib/ecs/data/runtime"
)

// Config configures a Runtime. Zero fields take the defaults above.
type Config struct {
	// Address is containerd's gRPC socket.
	Address string
	// Namespace is the containerd namespace ecsd's images and containers live in.
	Namespace   string
	Snapshotter string
	// StateDir holds per-container files: /etc/hosts, /etc/resolv.conf,
	// /etc/hostname and the stdio FIFOs.
	StateDir string
	// InitPath is a static init binary bind-mounted for initProcessEnabled.
	// Empty: the first of /usr/bin/tini-static, /usr/bin/docker-init that exists.
	InitPath string
	// PlainHTTPRegistries are registry hosts reached over plain HTTP.
	// Loopback registries always are.
	PlainHTTPRegistries []string
	// DialTimeout bounds the wait for containerd at New; 0 = 10 s.
	DialTimeout time.Duration
	Log         *slog.Logger
}

// Runtime is ecsd's containerd driver. It is safe for concurrent use.
type Runtime struct {
	cfg    Config
	client *client.Client
	log    *slog.Logger

	mu      sync.Mutex
	running map[string]*proc // container id → its live process, while ecsd watches it
	closed  bool             // Close was called: watched tasks are left to a successor
}

// New connects to containerd and prepares the state directory.
func New(ctx context.Context, cfg Config) (*Runtime, error) {
	if cfg.Address == "" {
		cfg.Address = DefaultAddress
	}
	if cfg.Namespace == "" {
		cfg.Namespace = DefaultNamespace
	}
	if cfg.Snapshotter == "" {
		cfg.Snapshotter = DefaultSnapshotter
	}
	if cfg.StateDir == "" {
		cfg.StateDir = DefaultStateDir
	}
	if cfg.DialTimeout == 0 {
		cfg.DialTimeout = 10 * time.Second
	}
	if cfg.Log == nil {
		cfg.Log = slog.New(slog.DiscardHandler)
	}
	if cfg.InitPath == "" {
		for _, p := range []string{"/usr/bin/tini-static", "/usr/bin/docker-init", "/usr/libexec/docker/docker-init"} {
			if _, err := os.Stat(p); err == nil {
				cfg.InitPath = p
				break
			}
		}
	}
	if err := os.MkdirAll(filepath.Join(cfg.StateDir, "containers"), 0o711); err != nil {
		return nil, fmt.Errorf("runtime state dir: %w", err)
	}
	c, err := client.New(cfg.Address,
		client.WithDefaultNamespace(cfg.Namespace),
		client.WithTimeout(cfg.DialTimeout))
	if err != nil {
		return nil, fmt.Errorf("connect to containerd at %s: %w", cfg.Address, err)
	}
	r := &Runtime{cfg: cfg, client: c, log: cfg.Log, running: map[string]*proc{}}
	vctx, cancel := context.WithTimeout(r.ctx(ctx), cfg.DialTimeout)
	defer cancel()
	if _, err := c.Version(vctx); err != nil {
		c.Close()
		return nil, fmt.Errorf("containerd at %s does not answer: %w", cfg.Address, err)
	}
	return r, nil
}

// Close releases the connection. Containers keep running.
func (r *Runtime) Close() error {
	// Let go of the running containers' output as a process exit would:
	// stop reading their FIFOs (a successor in this process attaches to the
	// same FIFOs and must not compete with these readers for the output),
	// and leave their exits to whoever attaches next.
	r.mu.Lock()
	r.closed = true
	for _, p := range r.running {
		if io := p.task.IO(); io != nil {
			io.Cancel()
		}
	}
	r.mu.Unlock()
	return r.client.Close()
}

func (r *Runtime) isClosed() bool {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.closed
}

// Client returns the underlying containerd client, for callers that need a
// containerd feature this package does not wrap (benchmarks, tests).
func (r *Runtime) Client() *client.Client { return r.client }

// Namespace returns the containerd namespace in use.
func (r *Runtime) Namespace() string { return r.cfg.Namespace }

func (r *Runtime) ctx(ctx context.Context) context.Context {
	return namespaces.WithNamespace(ctx, r.cfg.Namespace)
}

func (r *Runtime) containerDir(id string) string {
	return filepath.Join(r.cfg.StateDir, "containers", id)
}

// ServerVersion returns containerd's version.
func (r *Runtime) ServerVersion(ctx context.Context) (string, error) {
	v, err := r.client.Version(r.ctx(ctx))
	if err != nil {
		return "", err
	}
	return v.Version, nil
}
