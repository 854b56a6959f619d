package endpoint

import (
	"context"
	"fmt"
	"net/http"
	"sync"
	"time"

	"github.com/ecsd-project/ecsd/wire/tmds"
)

// Sample is one reading of a running container's resource use, from which
// the endpoint synthesises Docker's stats JSON.
type Sample struct {
	Time          time.Time
	CPUTotalNanos uint64
	// SystemCPUNanos is the host's CPU time (Docker's system_cpu_usage)
	// and OnlineCPUs its CPU count; SDKs compute CPU percentages from them.
	SystemCPUNanos uint64
	OnlineCPUs     uint32
	MemoryUsage    uint64
	MemoryMaxUsage uint64
	MemoryLimit    uint64
	Pids           uint64
	IOReadBytes    uint64
	IOWriteBytes   uint64
	// Networks is nil for a container sharing the host's network.
	Networks map[string]tmds.NetworkStats
}

// StatsSource samples running containers by runtime id.
type StatsSource interface {
	Sample(ctx context.Context, runtimeID string) (Sample, error)
}

// samples keeps each container's previous sample, for precpu_stats and
// network rates.
type samples struct {
	mu   sync.Mutex
	prev map[string]Sample
}

// next records cur and returns the sample before it, if any. Samples older
// than ten minutes are forgotten (their containers are likely gone).
func (s *samples) next(id string, cur Sample) (Sample, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.prev == nil {
		s.prev = map[string]Sample{}
	}
	for k, v := range s.prev {
		if cur.Time.Sub(v.Time) > 10*time.Minute {
			delete(s.prev, k)
		}
	}
	prev, ok := s.prev[id]
	s.prev[id] = cur
	return prev, ok
}

// dockerStats is a sample in Docker's shape; prev fills preread,
// precpu_stats and, for v4, network_rate_stats.
func dockerStats(id, name string, cur Sample, prev *Sample, v4 bool) tmds.Stats {
	cpu := func(s Sample) tmds.CPUStats {
		return tmds.CPUStats{CPUUsage: tmds.CPUUsage{TotalUsage: s.CPUTotalNanos}, SystemUsage: s.SystemCPUNanos, OnlineCPUs: s.OnlineCPUs}
	}
	out := tmds.Stats{
		Read:      cur.Time.UTC().Format(time.RFC3339Nano),
		PreRead:   time.Time{}.Format(time.RFC3339Nano),
		PidsStats: tmds.PidsStats{Current: cur.Pids},
		BlkioStats: tmds.BlkioStats{IOServiceBytesRecursive: []tmds.BlkioEntry{
			{Op: "Read", Value: cur.IOReadBytes}, {Op: "Write", Value: cur.IOWriteBytes},
			{Op: "Total", Value: cur.IOReadBytes + cur.IOWriteBytes},
		}},
		CPUStats:    cpu(cur),
		MemoryStats: tmds.MemoryStats{Usage: cur.MemoryUsage, MaxUsage: cur.MemoryMaxUsage, Limit: cur.MemoryLimit},
		Name:        "/" + name,
		ID:          id,
		Networks:    cur.Networks,
	}
	if prev != nil {
		out.PreRead = prev.Time.UTC().Format(time.RFC3339Nano)
		out.PreCPUStats = cpu(*prev)
	}
	if v4 && cur.Networks != nil {
		rate := &tmds.NetworkRateStats{}
		if prev != nil && prev.Networks != nil {
			if secs := cur.Time.Sub(prev.Time).Seconds(); secs > 0 {
				var rx, tx float64
				for n, c := range cur.Networks {
					p, ok := prev.Networks[n]
					if !ok || c.RxBytes < p.RxBytes || c.TxBytes < p.TxBytes {
						continue
					}
					rx += float64(c.RxBytes - p.RxBytes)
					tx += float64(c.TxBytes - p.TxBytes)
				}
				rate.RxBytesPerSec, rate.TxBytesPerSec = rx/secs, tx/secs
			}
		}
		out.NetworkRateStats = rate
	}
	return out
}

// sample reads a container's stats in Docker's shape.
func (e *taskEndpoint) sample(ctx context.Context, c Container, v4 bool) (tmds.Stats, error) {
	id := c.Metadata.DockerID
	if e.stats == nil || id == "" || c.Metadata.KnownStatus != "RUNNING" {
		return tmds.Stats{}, fmt.Errorf("container %s is not running", c.Metadata.Name)
	}
	cur, err := e.stats.Sample(ctx, id)
	if err != nil {
		return tmds.Stats{}, err
	}
	prev, ok := e.samples.next(id, cur)
	var pp *Sample
	if ok {
		pp = &prev
	}
	return dockerStats(id, c.Metadata.DockerName, cur, pp, v4), nil
}

func (e *taskEndpoint) containerStats(w http.ResponseWriter, r *http.Request, version int) {
	what := fmt.Sprintf("V%d container stats handler", version)
	_, c, _, ok := e.lookup(w, r, what)
	if !ok {
		return
	}
	s, err := e.sample(r.Context(), c, version >= 4)
	if err != nil {
		e.log.Info("container stats unavailable", "container", c.Metadata.Name, "error", err)
		writeJSON(w, http.StatusInternalServerError, what+": unable to get stats for container "+c.Metadata.DockerID)
		return
	}
	writeJSON(w, http.StatusOK, s)
}

func (e *taskEndpoint) taskStats(w http.ResponseWriter, r *http.Request, version int) {
	t, _, _, ok := e.lookup(w, r, fmt.Sprintf("V%d task stats handler", version))
	if !ok {
		return
	}
	out := map[string]*tmds.Stats{}
	for _, c := range t.Containers {
		if c.Metadata.DockerID == "" {
			continue
		}
		s, err := e.sample(r.Context(), c, version >= 4)
		if err != nil {
			out[c.Metadata.DockerID] = nil
			continue
		}
		out[c.Metadata.DockerID] = &s
	}
	writeJSON(w, http.StatusOK, out)
}
