package runtime

import (
	"bufio"
	"context"
	"fmt"
	"os"
	"strconv"
	"strings"
	"time"

	cgroup1stats "github.com/containerd/cgroups/v3/cgroup1/stats"
	cgroup2stats "github.com/containerd/cgroups/v3/cgroup2/stats"
	"github.com/containerd/typeurl/v2"
)

// Stats is one sample of a running container's resource use.
type Stats struct {
	Time           time.Time
	CPUUsageNanos  uint64 // total CPU time consumed
	MemoryUsage    uint64 // bytes, without page cache where the kernel says
	MemoryMaxUsage uint64
	MemoryLimit    uint64
	Pids           uint64
	IOReadBytes    uint64
	IOWriteBytes   uint64
	// Network counters of the container's namespace; Networks is nil when
	// the container shares the host's network.
	Networks map[string]NetworkStats
}

// NetworkStats are one interface's counters.
type NetworkStats struct {
	RxBytes, RxPackets, RxErrors, RxDropped uint64
	TxBytes, TxPackets, TxErrors, TxDropped uint64
}

// Stats samples a running container's cgroup (cgroup v1 or v2) and its
// network namespace.
func (r *Runtime) Stats(ctx context.Context, id string) (Stats, error) {
	ctx = r.ctx(ctx)
	c, err := r.load(ctx, id)
	if err != nil {
		return Stats{}, err
	}
	task, err := c.Task(ctx, nil)
	if err != nil {
		return Stats{}, fmt.Errorf("stats of %s: no running task: %w", id, err)
	}
	m, err := task.Metrics(ctx)
	if err != nil {
		return Stats{}, fmt.Errorf("stats of %s: %w", id, err)
	}
	v, err := typeurl.UnmarshalAny(m.Data)
	if err != nil {
		return Stats{}, fmt.Errorf("stats of %s: decode: %w", id, err)
	}
	s := Stats{Time: time.Now()}
	switch mm := v.(type) {
	case *cgroup1stats.Metrics:
		s.CPUUsageNanos = mm.GetCPU().GetUsage().GetTotal()
		mem := mm.GetMemory()
		s.MemoryUsage = mem.GetUsage().GetUsage()
		if cache := mem.GetTotalInactiveFile(); cache < s.MemoryUsage {
			s.MemoryUsage -= cache
		}
		s.MemoryMaxUsage = mem.GetUsage().GetMax()
		s.MemoryLimit = mem.GetUsage().GetLimit()
		s.Pids = mm.GetPids().GetCurrent()
		for _, e := range mm.GetBlkio().GetIoServiceBytesRecursive() {
			switch strings.ToLower(e.GetOp()) {
			case "read":
				s.IOReadBytes += e.GetValue()
			case "write":
				s.IOWriteBytes += e.GetValue()
			}
		}
	case *cgroup2stats.Metrics:
		s.CPUUsageNanos = mm.GetCPU().GetUsageUsec() * 1000
		mem := mm.GetMemory()
		s.MemoryUsage = mem.GetUsage()
		if cache := mem.GetInactiveFile(); cache < s.MemoryUsage {
			s.MemoryUsage -= cache
		}
		s.MemoryMaxUsage = mem.GetMaxUsage()
		s.MemoryLimit = mem.GetUsageLimit()
		s.Pids = mm.GetPids().GetCurrent()
		for _, e := range mm.GetIo().GetUsage() {
			s.IOReadBytes += e.GetRbytes()
			s.IOWriteBytes += e.GetWbytes()
		}
	default:
		return Stats{}, fmt.Errorf("stats of %s: unknown metrics type %T", id, v)
	}
	if spec, err := c.Spec(ctx); err == nil && spec.Linux != nil {
		for _, ns := range spec.Linux.Namespaces {
			if ns.Type == "network" { // else it shares the host's: not the container's own traffic
				s.Networks, _ = readNetDev(fmt.Sprintf("/proc/%d/net/dev", task.Pid()))
			}
		}
	}
	return s, nil
}

// readNetDev parses /proc/PID/net/dev, skipping loopback.
func readNetDev(path string) (map[string]NetworkStats, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	out := map[string]NetworkStats{}
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		name, rest, ok := strings.Cut(sc.Text(), ":")
		if !ok {
			continue
		}
		name = strings.TrimSpace(name)
		if name == "lo" {
			continue
		}
		f := strings.Fields(rest)
		if len(f) < 16 {
			continue
		}
		n := func(i int) uint64 { v, _ := strconv.ParseUint(f[i], 10, 64); return v }
		out[name] = NetworkStats{
			RxBytes: n(0), RxPackets: n(1), RxErrors: n(2), RxDropped: n(3),
			TxBytes: n(8), TxPackets: n(9), TxErrors: n(10), TxDropped: n(11),
		}
	}
	return out, sc.Err()
}
