package network

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"os/exec"
	"path/filepath"
	"sync"
	"time"

	cni "github.com/containerd/go-cni"
)

// Mode is a container's networkMode.
type Mode string

const (
	ModeBridge Mode = "bridge"
	ModeHost   Mode = "host"
	ModeNone   Mode = "none"
)

// Attachment is a container's network as runtime and ECS need it.
type Attachment struct {
	Mode Mode
	// HostNetwork: the container shares the host's namespace (host mode).
	HostNetwork bool
	// NetNSPath is the namespace to join (bridge and none modes).
	NetNSPath string
	// IPv4 is the container's address on the bridge (bridge mode), for
	// links' /etc/hosts entries.
	IPv4 string
	// Bindings are the mapped host ports, for networkBindings.
	Bindings []Binding
}

// Log attribute keys.
const (
	logID    = "id"
	logMode  = "mode"
	logNetNS = "netns"
	logIPv4  = "ipv4"
	logCount = "count"
	logErr   = "err"
)

// ifName is the container side of the veth.
const ifName = "eth0"

// cleanupTimeout bounds the undoing of a failed Setup.
const cleanupTimeout = 30 * time.Second

// Manager creates and removes network attachments. It is safe for
// concurrent use; calls for the same id wait for each other.
type Manager struct {
	cfg      Config
	log      *slog.Logger
	records  records
	ipamDir  string   // host-local's leases of our network
	previous []string // ids of the attachments New found

	// cni is the bridge network. Call it through cniAdd and cniDel, which
	// run one CNI call at a time: the plugins queue on the xtables lock
	// anyway, and go-cni's own lock is, in -race builds, go-deadlock, which
	// on Go 1.26 takes any two goroutines for one (goid returns 0) and so
	// two concurrent readers for recursive locking, and exits the process.
	cni   cni.CNI
	cniMu sync.Mutex

	mu    sync.Mutex // guards ports and locks
	ports *portClaims
	locks map[string]*idLock
}

type idLock struct {
	mu      sync.Mutex
	waiters int
}

// New writes ecsd's CNI config under cfg.StateDir and loads it. It
// reloads the attachments a previous run left, so their host ports stay
// claimed; call Cleanup to remove those no longer wanted.
func New(cfg Config) (*Manager, error) {
	cfg = cfg.withDefaults()
	if err := cfg.validate(); err != nil {
		return nil, err
	}
	var missing []string
	for _, p := range plugins {
		if !findPlugin(cfg.PluginDirs, p) {
			missing = append(missing, p)
		}
	}
	if len(missing) > 0 {
		return nil, fmt.Errorf("CNI plugins %v not found in %v", missing, cfg.PluginDirs)
	}
	if _, err := exec.LookPath("iptables"); err != nil {
		return nil, fmt.Errorf("CNI plugins need iptables: %w", err)
	}

	m := &Manager{
		cfg:     cfg,
		log:     cfg.Log,
		records: records{dir: filepath.Join(cfg.StateDir, "attachments")},
		ipamDir: filepath.Join(cfg.StateDir, "ipam"),
		ports:   newPortClaims(cfg.DynamicPortRange, cfg.ReservedTCP, cfg.ReservedUDP, probeBind),
		locks:   map[string]*idLock{},
	}
	for _, d := range []string{cfg.StateDir, m.records.dir, m.ipamDir, cfg.NetNSDir} {
		if err := os.MkdirAll(d, 0o700); err != nil {
			return nil, fmt.Errorf("network state: %w", err)
		}
	}
	conf, err := conflist(cfg.BridgeName, cfg.Subnet, m.ipamDir)
	if err != nil {
		return nil, err
	}
	confPath := filepath.Join(cfg.StateDir, cfg.BridgeName+".conflist")
	if err := writeFileAtomic(confPath, conf); err != nil {
		return nil, fmt.Errorf("write CNI config: %w", err)
	}
	m.cni, err = cni.New(cni.WithPluginDir(cfg.PluginDirs), cni.WithInterfacePrefix("eth"), cni.WithMinNetworkCount(1))
	if err == nil {
		err = m.cni.Load(cni.WithConfListFile(confPath))
	}
	if err != nil {
		return nil, fmt.Errorf("load CNI config: %w", err)
	}

	ids, err := m.records.ids()
	if err != nil {
		return nil, err
	}
	for _, id := range ids {
		rec, ok, err := m.records.get(id)
		if err != nil {
			return nil, err
		}
		if ok {
			m.ports.restore(id, rec.hostPorts())
			m.previous = append(m.previous, id)
		}
	}
	if len(m.previous) > 0 {
		m.log.Info("network attachments found from a previous run", logCount, len(m.previous))
	}
	return m, nil
}

func findPlugin(dirs []string, name string) bool {
	for _, d := range dirs {
		if fi, err := os.Stat(filepath.Join(d, name)); err == nil && fi.Mode().IsRegular() {
			return true
		}
	}
	return false
}

// lockID serialises the calls for one id.
func (m *Manager) lockID(id string) (unlock func()) {
	m.mu.Lock()
	l := m.locks[id]
	if l == nil {
		l = &idLock{}
		m.locks[id] = l
	}
	l.waiters++
	m.mu.Unlock()
	l.mu.Lock()
	return func() {
		l.mu.Unlock()
		m.mu.Lock()
		if l.waiters--; l.waiters == 0 {
			delete(m.locks, id)
		}
		m.mu.Unlock()
	}
}

// validID: the id names files, so CNI's container id rule, at most 200
// characters.
func validID(id string) bool { return len(id) <= 200 && validName(id) }

// portOpts passes the recorded port mappings to CNI.
func portOpts(rec record) []cni.NamespaceOpts {
	if len(rec.PortMappings) == 0 {
		return nil
	}
	pms := make([]cni.PortMapping, len(rec.PortMappings))
	for i, pm := range rec.PortMappings {
		pms[i] = cni.PortMapping{
			HostPort:      int32(pm.HostPort),
			ContainerPort: int32(pm.ContainerPort),
			Protocol:      pm.Protocol,
			HostIP:        pm.HostIP,
		}
	}
	return []cni.NamespaceOpts{cni.WithCapabilityPortMap(pms)}
}

var errNoIPv4 = errors.New("no IPv4 address")

func (m *Manager) cniAdd(ctx context.Context, id, netns string, opts ...cni.NamespaceOpts) (*cni.Result, error) {
	m.cniMu.Lock()
	defer m.cniMu.Unlock()
	return m.cni.Setup(ctx, id, netns, opts...)
}

func (m *Manager) cniDel(ctx context.Context, id, netns string, opts ...cni.NamespaceOpts) error {
	m.cniMu.Lock()
	defer m.cniMu.Unlock()
	return m.cni.Remove(ctx, id, netns, opts...)
}
