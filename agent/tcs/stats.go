package tcs

import (
	"context"
	"sync"
	"time"

	"github.com/ecsd-project/ecsd/agent/task"
	"github.com/ecsd-project/ecsd/runtime"
	"github.com/ecsd-project/ecsd/wire/tcs"
)

// minSamples is how many unsent samples a container needs before its
// statistics are published.
const minSamples = 2

// sample is what happened to a container between two readings of its
// counters.
type sample struct {
	at         time.Time
	cpuPercent float64 // 100 × Δcpu ns / Δwall ns: percent of one core
	memoryMiB  float64 // usage at the later reading
	net        *netDelta
	ioRead     uint64
	ioWrite    uint64
	sent       bool
}

// netDelta is the growth of the interface counters between two readings,
// summed over interfaces, and the byte rates.
type netDelta struct {
	rxBytes, rxPackets, rxErrors, rxDropped uint64
	txBytes, txPackets, txErrors, txDropped uint64
	rxRate, txRate                          float64 // bytes per second
}

// queue is one container's last reading and its recent samples, oldest
// first, at most depth of them.
type queue struct {
	last    runtime.Stats
	hasLast bool
	samples []sample
}

// collector keeps a bounded queue of samples per running container, by
// runtime id. The sampler adds; the publisher takes the unsent ones.
type collector struct {
	depth int

	mu     sync.Mutex
	queues map[string]*queue
}

func newCollector(depth int) *collector {
	return &collector{depth: depth, queues: map[string]*queue{}}
}

// add records a reading of container id. The first reading (and one after
// a counter went backwards, a restart) is only a baseline.
func (c *collector) add(id string, st runtime.Stats) {
	c.mu.Lock()
	defer c.mu.Unlock()
	q := c.queues[id]
	if q == nil {
		q = &queue{}
		c.queues[id] = q
	}
	prev, hadPrev := q.last, q.hasLast
	q.last, q.hasLast = st, true
	if !hadPrev {
		return
	}
	wall := st.Time.Sub(prev.Time)
	if wall <= 0 || st.CPUUsageNanos < prev.CPUUsageNanos {
		return
	}
	smp := sample{
		at:         st.Time,
		cpuPercent: 100 * float64(st.CPUUsageNanos-prev.CPUUsageNanos) / float64(wall.Nanoseconds()),
		memoryMiB:  float64(st.MemoryUsage) / (1 << 20),
		ioRead:     delta(prev.IOReadBytes, st.IOReadBytes),
		ioWrite:    delta(prev.IOWriteBytes, st.IOWriteBytes),
	}
	if st.Networks != nil && prev.Networks != nil {
		smp.net = netGrowth(prev.Networks, st.Networks, wall)
	}
	q.samples = append(q.samples, smp)
	if over := len(q.samples) - c.depth; over > 0 {
		q.samples = append(q.samples[:0], q.samples[over:]...)
	}
}

// retain forgets the containers not in live.
func (c *collector) retain(live map[string]bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	for id := range c.queues {
		if !live[id] {
			delete(c.queues, id)
		}
	}
}

// take returns container id's unsent samples and marks them sent, if
// there are at least minSamples; otherwise nil.
func (c *collector) take(id string) []sample {
	c.mu.Lock()
	defer c.mu.Unlock()
	q := c.queues[id]
	if q == nil {
		return nil
	}
	var out []sample
	for _, s := range q.samples {
		if !s.sent {
			out = append(out, s)
		}
	}
	if len(out) < minSamples {
		return nil
	}
	for i := range q.samples {
		q.samples[i].sent = true
	}
	return out
}

func delta(prev, cur uint64) uint64 {
	if cur < prev {
		return 0
	}
	return cur - prev
}

func netGrowth(prev, cur map[string]runtime.NetworkStats, wall time.Duration) *netDelta {
	var d netDelta
	for name, c := range cur {
		p, ok := prev[name]
		if !ok {
			continue
		}
		d.rxBytes += delta(p.RxBytes, c.RxBytes)
		d.rxPackets += delta(p.RxPackets, c.RxPackets)
		d.rxErrors += delta(p.RxErrors, c.RxErrors)
		d.rxDropped += delta(p.RxDropped, c.RxDropped)
		d.txBytes += delta(p.TxBytes, c.TxBytes)
		d.txPackets += delta(p.TxPackets, c.TxPackets)
		d.txErrors += delta(p.TxErrors, c.TxErrors)
		d.txDropped += delta(p.TxDropped, c.TxDropped)
	}
	secs := wall.Seconds()
	d.rxRate, d.txRate = float64(d.rxBytes)/secs, float64(d.txBytes)/secs
	return &d
}

// cwStats summarises the values of f over samples.
func cwStats(samples []sample, f func(sample) float64) *tcs.CWStatsSet {
	if len(samples) == 0 {
		return nil
	}
	out := &tcs.CWStatsSet{Min: f(samples[0]), Max: f(samples[0])}
	for _, s := range samples {
		v := f(s)
		out.Min, out.Max = min(out.Min, v), max(out.Max, v)
		out.Sum += v
		out.SampleCount++
	}
	return out
}

// ulongStats summarises the integer values of f over samples.
func ulongStats(samples []sample, f func(sample) uint64) *tcs.ULongStatsSet {
	if len(samples) == 0 {
		return nil
	}
	out := &tcs.ULongStatsSet{Min: f(samples[0]), Max: f(samples[0])}
	for _, s := range samples {
		v := f(s)
		out.Min, out.Max = min(out.Min, v), max(out.Max, v)
		out.Sum += v
		out.SampleCount++
	}
	return out
}

// containerMetric builds a container's statistics from its samples.
func containerMetric(c *task.Container, samples []sample) tcs.ContainerMetric {
	m := tcs.ContainerMetric{
		ContainerARN:   c.Def.ContainerARN,
		ContainerName:  c.Name,
		CPUStatsSet:    cwStats(samples, func(s sample) float64 { return s.cpuPercent }),
		MemoryStatsSet: cwStats(samples, func(s sample) float64 { return s.memoryMiB }),
		StorageStatsSet: &tcs.StorageStatsSet{
			ReadSizeBytes:  ulongStats(samples, func(s sample) uint64 { return s.ioRead }),
			WriteSizeBytes: ulongStats(samples, func(s sample) uint64 { return s.ioWrite }),
		},
	}
	var withNet []sample
	for _, s := range samples {
		if s.net != nil {
			withNet = append(withNet, s)
		}
	}
	if len(withNet) > 0 {
		n := func(f func(*netDelta) uint64) *tcs.ULongStatsSet {
			return ulongStats(withNet, func(s sample) uint64 { return f(s.net) })
		}
		m.NetworkStatsSet = &tcs.NetworkStatsSet{
			RxBytesPerSecond: cwStats(withNet, func(s sample) float64 { return s.net.rxRate }),
			RxBytes:          n(func(d *netDelta) uint64 { return d.rxBytes }),
			RxDropped:        n(func(d *netDelta) uint64 { return d.rxDropped }),
			RxErrors:         n(func(d *netDelta) uint64 { return d.rxErrors }),
			RxPackets:        n(func(d *netDelta) uint64 { return d.rxPackets }),
			TxBytesPerSecond: cwStats(withNet, func(s sample) float64 { return s.net.txRate }),
			TxBytes:          n(func(d *netDelta) uint64 { return d.txBytes }),
			TxDropped:        n(func(d *netDelta) uint64 { return d.txDropped }),
			TxErrors:         n(func(d *netDelta) uint64 { return d.txErrors }),
			TxPackets:        n(func(d *netDelta) uint64 { return d.txPackets }),
		}
	}
	if rp := c.Def.RestartPolicy; rp != nil && rp.Enabled {
		n := int64(c.RestartCount)
		m.RestartStatsSet = &tcs.RestartStatsSet{RestartCount: &n}
	}
	return m
}

// running lists the containers worth sampling: running, with a runtime
// id, in tasks not yet stopped.
func running(tasks []*task.Task) map[string]bool {
	live := map[string]bool{}
	for _, t := range tasks {
		if t.Known >= task.TaskStopped {
			continue
		}
		for _, c := range t.Containers {
			if c.Known == task.ContainerRunning && c.RuntimeID != "" {
				live[c.RuntimeID] = true
			}
		}
	}
	return live
}

// sample reads every running container's counters every SampleInterval
// until ctx is done.
func (s *Session) sample(ctx context.Context) {
	for {
		live := running(s.cfg.Source.Tasks())
		s.stats.retain(live)
		for id := range live {
			sctx, cancel := context.WithTimeout(ctx, DefaultStatsCheckTimeout)
			st, err := s.cfg.Source.Stats(sctx, id)
			cancel()
			if err != nil {
				if ctx.Err() != nil {
					return
				}
				s.log.Debug("sample container", keyContainer, id, keyError, err)
				continue
			}
			if st.Time.IsZero() {
				st.Time = s.clock.Now()
			}
			s.stats.add(id, st)
		}
		select {
		case <-ctx.Done():
			return
		case <-s.clock.After(s.cfg.SampleInterval):
		}
	}
}
