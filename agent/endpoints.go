package agent

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/netip"
	"os"
	goruntime "runtime"
	"strconv"
	"strings"
	"time"

	"github.com/ecsd-project/ecsd/agent/engine"
	"github.com/ecsd-project/ecsd/agent/task"
	"github.com/ecsd-project/ecsd/credentials"
	"github.com/ecsd-project/ecsd/credentials/endpoint"
	"github.com/ecsd-project/ecsd/runtime"
	"github.com/ecsd-project/ecsd/runtime/network"
	"github.com/ecsd-project/ecsd/wire/acs"
	"github.com/ecsd-project/ecsd/wire/tmds"
)

// TaskEndpoints configures the task endpoint (credentials and metadata)
// and the introspection API. A zero value serves neither.
type TaskEndpoints struct {
	// Listen is the task endpoint's address (ECSD_CREDENTIALS_LISTEN); ""
	// serves no task endpoint.
	Listen string
	// IntrospectionListen is the introspection API's address
	// (ECSD_INTROSPECTION_LISTEN); "" serves none.
	IntrospectionListen string
	// Rate and Burst bound the task endpoint's requests
	// (ECS_TASK_METADATA_RPS_LIMIT); zero takes 40 and 60.
	Rate  float64
	Burst int
	// TaskIAMRole serves task role credentials (ECS_ENABLE_TASK_IAM_ROLE);
	// without it the credentials paths answer as if no id were known.
	TaskIAMRole bool
	// Redirect, if set, installs the redirect of 169.254.170.2:80 to the
	// task endpoint's listener while Run runs; Run fills in Target and Log.
	Redirect *network.RedirectConfig
}

// serveTaskEndpoints starts the listeners and the redirect; the servers run
// under goRun. The returned func removes the redirect.
func serveTaskEndpoints(ctx context.Context, cfg Config, eng *engine.Engine, arn string,
	goRun func(string, func(context.Context) error), log *slog.Logger) (func(), error) {
	te := cfg.TaskEndpoints
	tasks := taskLookup{eng: eng}
	undo := func() {}
	if te.Listen != "" {
		ln, err := net.Listen("tcp", te.Listen)
		if err != nil {
			return undo, fmt.Errorf("task endpoint: %w", err)
		}
		var creds endpoint.CredentialsLookup = noCredentials{}
		if te.TaskIAMRole && cfg.Creds != nil {
			creds = cfg.Creds
		}
		elog := log.With("component", "task-endpoint")
		h := endpoint.New(endpoint.Config{Tasks: tasks, Credentials: creds, Stats: containerSampler{rt: cfg.Engine.Runtime},
			Rate: te.Rate, Burst: te.Burst, Log: elog})
		goRun("task endpoint", func(ctx context.Context) error { return endpoint.Serve(ctx, ln, h, elog) })
		elog.Info("serving task credentials and metadata", "address", ln.Addr().String())
		if te.Redirect != nil {
			rc := *te.Redirect
			target, err := netip.ParseAddrPort(ln.Addr().String())
			if err != nil {
				return undo, fmt.Errorf("task endpoint address %s: %w", ln.Addr(), err)
			}
			rc.Target = netip.AddrPortFrom(target.Addr().Unmap(), target.Port())
			rc.Log = log.With("component", "network")
			r, err := network.InstallRedirect(ctx, rc)
			if err != nil {
				return undo, fmt.Errorf("task endpoint redirect: %w", err)
			}
			undo = func() {
				rctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 30*time.Second)
				defer cancel()
				if err := r.Remove(rctx); err != nil {
					log.Error("remove the task endpoint redirect", "error", err)
				}
			}
		}
	}
	if te.IntrospectionListen != "" {
		ln, err := net.Listen("tcp", te.IntrospectionListen)
		if err != nil {
			return undo, fmt.Errorf("introspection: %w", err)
		}
		ilog := log.With("component", "introspection")
		h := endpoint.NewIntrospection(endpoint.IntrospectionConfig{Tasks: tasks, Cluster: cfg.Cluster,
			InstanceARN: func() string { return arn },
			Version:     fmt.Sprintf("ecsd - v%s (%s)", cfg.AgentVersion, cfg.AgentHash)})
		goRun("introspection", func(ctx context.Context) error { return endpoint.Serve(ctx, ln, h, ilog) })
		ilog.Info("serving the introspection API", "address", ln.Addr().String())
	}
	return undo, nil
}

// containerSampler samples containers through the engine's runtime, for
// the stats paths.
type containerSampler struct{ rt engine.Runtime }

// sampler is the part of runtime.Runtime that samples a container.
type sampler interface {
	Stats(ctx context.Context, id string) (runtime.Stats, error)
}

func (s containerSampler) Sample(ctx context.Context, id string) (endpoint.Sample, error) {
	sr, ok := s.rt.(sampler)
	if !ok {
		return endpoint.Sample{}, errors.New("the container runtime does not report statistics")
	}
	st, err := sr.Stats(ctx, id)
	if err != nil {
		return endpoint.Sample{}, err
	}
	out := endpoint.Sample{Time: st.Time, CPUTotalNanos: st.CPUUsageNanos, OnlineCPUs: uint32(goruntime.NumCPU()),
		MemoryUsage: st.MemoryUsage, MemoryMaxUsage: st.MemoryMaxUsage, MemoryLimit: st.MemoryLimit, Pids: st.Pids,
		IOReadBytes: st.IOReadBytes, IOWriteBytes: st.IOWriteBytes}
	out.SystemCPUNanos, _ = systemCPUNanos("/proc/stat")
	if st.Networks != nil {
		out.Networks = map[string]tmds.NetworkStats{}
		for name, n := range st.Networks {
			out.Networks[name] = tmds.NetworkStats{RxBytes: n.RxBytes, RxPackets: n.RxPackets, RxErrors: n.RxErrors, RxDropped: n.RxDropped,
				TxBytes: n.TxBytes, TxPackets: n.TxPackets, TxErrors: n.TxErrors, TxDropped: n.TxDropped}
		}
	}
	return out, nil
}

// systemCPUNanos is the host's CPU time as Docker computes
// system_cpu_usage: the first eight fields of /proc/stat's cpu line, in
// clock ticks of 1/100 s.
func systemCPUNanos(path string) (uint64, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return 0, err
	}
	line, _, _ := strings.Cut(string(b), "\n")
	f := strings.Fields(line)
	if len(f) < 9 || f[0] != "cpu" {
		return 0, fmt.Errorf("%s: no cpu line", path)
	}
	var ticks uint64
	for _, v := range f[1:9] {
		n, err := strconv.ParseUint(v, 10, 64)
		if err != nil {
			return 0, fmt.Errorf("%s: %w", path, err)
		}
		ticks += n
	}
	return ticks * (1e9 / 100), nil
}

// noCredentials is the credentials lookup when task roles are off.
type noCredentials struct{}

func (noCredentials) Get(string) (credentials.Credentials, bool) {
	return credentials.Credentials{}, false
}

// taskLookup shows the engine's tasks to the endpoints.
type taskLookup struct{ eng *engine.Engine }

func (l taskLookup) Tasks() []endpoint.Task {
	ts := l.eng.Tasks()
	out := make([]endpoint.Task, 0, len(ts))
	for _, t := range ts {
		out = append(out, endpointTask(t))
	}
	return out
}

// endpointTask is the task as the endpoints show it (v4 shapes).
func endpointTask(t *task.Task) endpoint.Task {
	m := tmds.Task{
		Cluster: t.Cluster, TaskARN: t.ARN, Family: t.Family, Revision: t.Version,
		DesiredStatus: t.Desired.String(), KnownStatus: t.Known.String(),
		PullStartedAt: rfc3339(t.PullStartedAt), PullStoppedAt: rfc3339(t.PullStoppedAt),
		ExecutionStoppedAt: rfc3339(t.ExecutionStoppedAt),
		AvailabilityZone:   t.Def.Zone, LaunchType: t.Def.LaunchType, ServiceName: t.Def.ServiceName, Group: t.Def.Group,
	}
	if t.Def.CPU != nil || t.Def.Memory != nil {
		m.Limits = &tmds.Limits{CPU: t.Def.CPU, Memory: t.Def.Memory}
	}
	out := endpoint.Task{Metadata: m, CredentialsID: t.CredentialsID}
	mode := t.Def.NetworkMode
	if mode == "" {
		mode = acs.NetworkModeBridge
	}
	for _, c := range t.Containers {
		ec := endpoint.Container{EndpointID: c.EndpointID, Metadata: endpointContainer(t, c, mode)}
		if a, err := netip.ParseAddr(c.IPv4Address); err == nil && c.Known < task.ContainerStopped {
			// A stopped container's address may already be another's.
			ec.Addresses = []netip.Addr{a}
		}
		out.Containers = append(out.Containers, ec)
	}
	return out
}

func endpointContainer(t *task.Task, c *task.Container, mode string) tmds.Container {
	m := tmds.Container{
		DockerID: c.RuntimeID, Name: c.Name, DockerName: c.RuntimeID, Image: c.Def.Image, ImageID: c.ImageDigest,
		DesiredStatus: c.Desired.String(), KnownStatus: c.Known.String(), ExitCode: c.ExitCode,
		StartedAt: rfc3339(c.StartedAt), FinishedAt: rfc3339(c.FinishedAt), Type: tmds.ContainerTypeNormal,
		Labels: map[string]string{
			"com.amazonaws.ecs.cluster":                 t.Cluster,
			"com.amazonaws.ecs.container-name":          c.Name,
			"com.amazonaws.ecs.task-arn":                t.ARN,
			"com.amazonaws.ecs.task-definition-family":  t.Family,
			"com.amazonaws.ecs.task-definition-version": t.Version,
		},
	}
	if c.Def.CPU != nil {
		cpu := float64(*c.Def.CPU)
		m.Limits.CPU = &cpu
	}
	m.Limits.Memory = c.Def.Memory
	for _, b := range c.NetworkBindings {
		m.Ports = append(m.Ports, tmds.Port{ContainerPort: b.ContainerPort, Protocol: b.Protocol, HostPort: b.HostPort, HostIP: b.BindIP})
	}
	switch {
	case mode == acs.NetworkModeBridge && c.IPv4Address != "":
		m.Networks = []tmds.Network{{NetworkMode: mode, IPv4Addresses: []string{c.IPv4Address}}}
	case mode == acs.NetworkModeHost || mode == acs.NetworkModeNone:
		m.Networks = []tmds.Network{{NetworkMode: mode, IPv4Addresses: []string{}}}
	}
	if c.Def.HealthCheckType != "" {
		m.Health = &tmds.Health{Status: string(c.Health), StatusSince: rfc3339(c.HealthSince), Output: c.HealthOutput}
	}
	if c.RestartCount > 0 {
		n := c.RestartCount
		m.RestartCount = &n
	}
	return m
}

func rfc3339(t time.Time) string {
	if t.IsZero() {
		return ""
	}
	return t.UTC().Format(time.RFC3339Nano)
}
