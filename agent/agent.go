package agent

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"net/url"
	"sync"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ecs"

	"github.com/ecsd-project/ecsd/agent/acs"
	"github.com/ecsd-project/ecsd/agent/engine"
	"github.com/ecsd-project/ecsd/agent/register"
	"github.com/ecsd-project/ecsd/agent/report"
	"github.com/ecsd-project/ecsd/agent/store"
	"github.com/ecsd-project/ecsd/agent/task"
	"github.com/ecsd-project/ecsd/agent/tcs"
	"github.com/ecsd-project/ecsd/agent/wsclient"
	"github.com/ecsd-project/ecsd/credentials"
)

// Config is everything Run needs, built in cmd/ecsd.
type Config struct {
	Engine   engine.Config // Store is set by Run
	Store    *store.Store
	ECS      *ecs.Client
	Register register.Config // ECS is set by Run
	// Instance credentials, for the ACS handshake.
	Credentials aws.CredentialsProvider
	Creds       *credentials.Store
	Cluster     string
	Region      string
	// ACSEndpoint and TCSEndpoint override DiscoverPollEndpoint.
	ACSEndpoint, TCSEndpoint string
	Proxy                    func(*http.Request) (*url.URL, error)
	AgentVersion, AgentHash  string
	Log                      *slog.Logger
	// Ready is called once the instance is registered and tasks recovered
	// (sd_notify READY=1).
	Ready func(containerInstanceARN string)
	// ACS tunes the session (tests shorten its timers); Run fills in the rest.
	ACS acs.Config
	// TCS tunes the telemetry session (publish interval, timers, Disabled);
	// Run fills in the rest.
	TCS tcs.Config
	// TaskEndpoints serves task credentials and metadata, and the
	// introspection API; the zero value serves neither.
	TaskEndpoints TaskEndpoints
}

// Run recovers tasks, registers the instance, and runs the engine, the
// reporter and the ACS session until ctx ends. Stopping leaves tasks
// running. Registration errors that a restart cannot fix wrap
// register.ErrTerminal.
func Run(ctx context.Context, cfg Config) error {
	log := cfg.Log
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	// Deferred calls run last first: cancel, then wait for the goroutines.
	var wg sync.WaitGroup
	defer wg.Wait()
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	errc := make(chan error, 8)
	goRun := func(name string, f func(context.Context) error) {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if err := f(ctx); err != nil && ctx.Err() == nil {
				errc <- fmt.Errorf("%s: %w", name, err)
			}
		}()
	}

	// The reporter tells the engine when a task's changes reached ECS.
	var eng *engine.Engine
	rep := report.New(report.Config{
		ECS: cfg.ECS, Outbox: cfg.Store, Cluster: cfg.Cluster, Log: log.With("component", "report"),
		OnDelivered: func(arn string) { eng.Delivered(arn) },
	})
	ecfg := cfg.Engine
	ecfg.Store = notifyingStore{Store: cfg.Store, poke: rep.Poke}
	ecfg.Log = log.With("component", "engine")
	if movedTo, damaged := cfg.Store.Recovered(); damaged {
		log.Error("the state database was damaged and moved aside; rebuilding tasks from containerd", "movedTo", movedTo)
		ecfg.RebuildFromLabels = true
	}
	if ecfg.Credentials == nil && cfg.Creds != nil {
		ecfg.Credentials = execCredentials{cfg.Creds}
	}
	eng = engine.New(ecfg)
	goRun("engine", eng.Run)
	select {
	case <-eng.Ready():
	case err := <-errc:
		return err
	case <-ctx.Done():
		return nil
	}

	// Register, or re-register with the identity we had.
	id, _, err := cfg.Store.Identity()
	if err != nil {
		return fmt.Errorf("read identity: %w", err)
	}
	if id.ContainerInstanceARN != "" && id.Cluster != "" && id.Cluster != cfg.Cluster {
		return fmt.Errorf("%w: this host is registered in cluster %s, but ECS_CLUSTER is %s; deregister it first",
			register.ErrTerminal, id.Cluster, cfg.Cluster)
	}
	rcfg := cfg.Register
	rcfg.ECS = cfg.ECS
	rcfg.Cluster = cfg.Cluster
	rcfg.Log = log.With("component", "register")
	arn, err := register.Register(ctx, rcfg, id.ContainerInstanceARN)
	if err != nil {
		return err
	}
	if arn != id.ContainerInstanceARN {
		if err := cfg.Store.SetIdentity(store.Identity{ContainerInstanceARN: arn, Cluster: cfg.Cluster, Region: cfg.Region}); err != nil {
			return fmt.Errorf("store identity: %w", err)
		}
	}
	log.Info("registered container instance", "containerInstanceArn", arn, "cluster", cfg.Cluster)
	goRun("report", rep.Run)
	undoRedirect, err := serveTaskEndpoints(ctx, cfg, eng, arn, goRun, log)
	defer undoRedirect()
	if err != nil {
		return err
	}

	disc := &register.Discoverer{ECS: cfg.ECS, Cluster: cfg.Cluster,
		Override: register.Endpoints{ACS: cfg.ACSEndpoint, TCS: cfg.TCSEndpoint}}
	// Both websockets speak for this instance, with its credentials.
	peer := wsclient.Peer{Cluster: cfg.Cluster, ContainerInstanceARN: arn, Region: cfg.Region,
		Credentials: cfg.Credentials, AgentVersion: cfg.AgentVersion, AgentHash: cfg.AgentHash}
	endpoint := func(pick func(register.Endpoints) string) func(context.Context) (string, error) {
		return func(ctx context.Context) (string, error) {
			e, err := disc.Discover(ctx, arn)
			return pick(e), err
		}
	}
	acfg := cfg.ACS
	acfg.Endpoint = endpoint(func(e register.Endpoints) string { return e.ACS })
	acfg.Peer, acfg.Proxy = peer, cfg.Proxy
	acfg.Log = log.With("component", "acs")
	acfg.Handler = &handler{eng: eng, store: cfg.Store, creds: cfg.Creds, cluster: cfg.Cluster, log: log.With("component", "acs-handler")}
	// The stock agent ends telemetry once ACS says the instance was
	// deregistered (InactiveInstanceException).
	tcsCtx, stopTelemetry := context.WithCancel(ctx)
	defer stopTelemetry()
	onACSDisconnect := acfg.OnDisconnect
	acfg.OnDisconnect = func(err error) {
		if onACSDisconnect != nil {
			onACSDisconnect(err)
		}
		if errors.Is(err, acs.ErrInactiveInstance) {
			log.Warn("container instance is inactive; stopping telemetry")
			stopTelemetry()
		}
	}
	session, err := acs.New(acfg)
	if err != nil {
		return fmt.Errorf("acs session: %w", err)
	}
	goRun("acs", session.Run)

	tcfg := cfg.TCS
	tcfg.Endpoint = endpoint(func(e register.Endpoints) string { return e.TCS })
	tcfg.Peer, tcfg.Proxy = peer, cfg.Proxy
	tcfg.Log = log.With("component", "tcs")
	tcfg.Source = telemetrySource{eng: eng, rt: ecfg.Runtime}
	if rt := ecfg.Runtime; rt != nil {
		tcfg.CheckRuntime = func(ctx context.Context) error { _, err := rt.List(ctx); return err }
	}
	telemetry, err := tcs.New(tcfg)
	if err != nil {
		return fmt.Errorf("tcs session: %w", err)
	}
	goRun("tcs", func(context.Context) error { return telemetry.Run(tcsCtx) })
	if cfg.Ready != nil {
		cfg.Ready(arn)
	}
	select {
	case err := <-errc:
		return err
	case <-ctx.Done():
		return nil
	}
}

// notifyingStore pokes the reporter whenever a state change is queued, so
// changes go out at once rather than at the next poll.
type notifyingStore struct {
	*store.Store
	poke func()
}

func (s notifyingStore) PutTask(t *task.Task, changes ...task.StateChange) error {
	if err := s.Store.PutTask(t, changes...); err != nil {
		return err
	}
	if len(changes) > 0 {
		s.poke()
	}
	return nil
}
