package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"os"
	"path/filepath"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	awsconfig "github.com/aws/aws-sdk-go-v2/config"
	"github.com/aws/aws-sdk-go-v2/service/ecs"
	"github.com/coreos/go-systemd/v22/daemon"

	"github.com/ecsd-project/ecsd/agent"
	"github.com/ecsd-project/ecsd/agent/config"
	"github.com/ecsd-project/ecsd/agent/engine"
	"github.com/ecsd-project/ecsd/agent/register"
	"github.com/ecsd-project/ecsd/agent/store"
	"github.com/ecsd-project/ecsd/agent/tcs"
	"github.com/ecsd-project/ecsd/credentials"
	"github.com/ecsd-project/ecsd/internal/version"
	"github.com/ecsd-project/ecsd/runtime"
	"github.com/ecsd-project/ecsd/runtime/network"
	"github.com/ecsd-project/ecsd/ssm"
)

// runMain is `ecsd run`: the daemon. It builds every part from the
// configuration and hands them to agent.Run.
func runMain(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	cfg, prov, err := config.Load(config.Sources{Env: os.Environ(), Args: args})
	if err != nil {
		fmt.Fprintf(stderr, "ecsd: %v\n", err)
		return exitConfig
	}
	log := slog.New(slog.NewTextHandler(stderr, &slog.HandlerOptions{Level: cfg.LogLevel.Level()}))
	for _, w := range prov.Warnings {
		log.Warn("configuration", "warning", w)
	}
	log.Info("starting", "version", version.Version, "cluster", cfg.Cluster, "region", cfg.Region, "dataDir", cfg.DataDir)
	if err := os.MkdirAll(cfg.DataDir, 0o700); err != nil {
		log.Error("data dir", "error", err)
		return exitError
	}

	creds, waitCreds, err := instanceCredentials(ctx, cfg, log)
	if err != nil {
		log.Error("instance credentials", "error", err)
		return exitCodeFor(err)
	}
	defer waitCreds()

	httpClient := &http.Client{Transport: &http.Transport{Proxy: cfg.ProxyFunc(), ForceAttemptHTTP2: true,
		TLSHandshakeTimeout: 10 * time.Second, IdleConnTimeout: 90 * time.Second}, Timeout: 42 * time.Second}
	ecsClient := ecs.New(ecs.Options{
		Region: cfg.Region, Credentials: creds, HTTPClient: httpClient,
		AppID: "ecsd-" + version.Version,
	}, func(o *ecs.Options) {
		if u := cfg.BackendURL(); u != "" {
			o.BaseEndpoint = aws.String(u)
		}
	})

	rt, err := runtime.New(ctx, runtime.Config{
		Address: cfg.ContainerdAddress, Namespace: cfg.ContainerdNamespace,
		StateDir: filepath.Join(cfg.DataDir, "runtime"), Log: log.With("component", "runtime"),
	})
	if err != nil {
		log.Error("containerd", "error", err)
		return exitError
	}
	defer rt.Close()
	netMgr, err := network.New(network.Config{
		BridgeName: cfg.CNIBridge, Subnet: cfg.CNISubnet, StateDir: filepath.Join(cfg.DataDir, "cni"),
		DynamicPortRange: [2]int{cfg.DynamicHostPortRange.First, cfg.DynamicHostPortRange.Last},
		ReservedTCP:      cfg.ReservedPorts, ReservedUDP: cfg.ReservedPortsUDP,
		Log: log.With("component", "network"),
	})
	if err != nil {
		log.Error("network", "error", err)
		return exitError
	}
	st, err := store.Open(filepath.Join(cfg.DataDir, store.FileName), store.Options{Log: log.With("component", "store")})
	if err != nil {
		log.Error("state store", "error", err)
		return exitError
	}
	defer st.Close()

	pull, _ := runtime.ParsePullBehavior(string(cfg.ImagePullBehavior))
	err = agent.Run(ctx, agent.Config{
		Engine: engine.Config{
			Runtime: rt, Network: netMgr, Cluster: cfg.Cluster, Region: cfg.Region, DataDir: cfg.DataDir,
			PullBehavior: pull, PullUpfront: cfg.PullDependentContainersUpfront,
			StopTimeout: cfg.ContainerStopTimeout, CleanupWait: cfg.TaskCleanupWait,
			TaskCgroups: cfg.EnableTaskCPUMemLimit, LogDrivers: cfg.AvailableLoggingDrivers,
			ImageCleanup: engine.ImageCleanup{Disabled: cfg.ImageCleanupDisabled, Interval: cfg.ImageCleanupInterval,
				MinimumAge: cfg.ImageMinimumCleanupAge, PerCycle: cfg.NumImagesDeletePerCycle, Exclude: cfg.ImageCleanupExclude},
		},
		Store: st, ECS: ecsClient,
		Register: register.Config{
			InstanceAttributes: cfg.InstanceAttributes, Tags: cfg.ContainerInstanceTags,
			ReservedMemoryMiB: int64(cfg.ReservedMemory), ReservedPorts: cfg.ReservedPorts, ReservedPortsUDP: cfg.ReservedPortsUDP,
			LoggingDrivers: cfg.AvailableLoggingDrivers, TaskCPUMemLimit: cfg.EnableTaskCPUMemLimit,
			TaskIAMRole: cfg.TaskIAMRole, TaskIAMRoleNetworkHost: cfg.TaskIAMRole && cfg.TaskIAMRoleNetworkHost,
		},
		Credentials: creds, Creds: credentials.NewStore(), TaskEndpoints: taskEndpoints(cfg),
		Cluster: cfg.Cluster, Region: cfg.Region,
		ACSEndpoint: cfg.ACSEndpoint, TCSEndpoint: cfg.TCSEndpoint, Proxy: cfg.ProxyFunc(),
		TCS:          tcs.Config{DisableMetrics: cfg.DisableMetrics},
		AgentVersion: version.Version, AgentHash: version.Commit,
		Log: log,
		Ready: func(arn string) {
			fmt.Fprintf(stdout, "ecsd: registered as %s\n", arn)
			daemon.SdNotify(false, daemon.SdNotifyReady)
			go watchdog(ctx)
		},
	})
	if err != nil {
		log.Error("ecsd stopped", "error", err)
		return exitCodeFor(err)
	}
	log.Info("stopped; tasks keep running")
	return exitOK
}

// watchdog pings systemd's watchdog at half its interval while ecsd runs.
func watchdog(ctx context.Context) {
	interval, err := daemon.SdWatchdogEnabled(false)
	if err != nil || interval == 0 {
		return
	}
	t := time.NewTicker(interval / 2)
	defer t.Stop()
	for {
		select {
		case <-t.C:
			daemon.SdNotify(false, daemon.SdNotifyWatchdog)
		case <-ctx.Done():
			return
		}
	}
}

// instanceCredentials are the SSM hybrid activation's rotating
// credentials when this host is registered, else the SDK's default chain
// (with ECS_ALTERNATE_CREDENTIAL_PROFILE). The returned func waits for the
// refresh loop to end.
func instanceCredentials(ctx context.Context, cfg config.Config, log *slog.Logger) (aws.CredentialsProvider, func(), error) {
	if _, err := ssm.LoadRegistration(cfg.SSMStateRoot); err == nil {
		p, err := ssm.NewProvider(providerConfig(cfg, log))
		if err != nil {
			return nil, func() {}, err
		}
		done := make(chan struct{})
		go func() {
			defer close(done)
			p.Run(ctx)
		}()
		// The first credentials decide whether this host can work at all.
		rctx, cancel := context.WithTimeout(ctx, 2*time.Minute)
		defer cancel()
		if _, err := p.Retrieve(rctx); err != nil {
			return nil, func() { <-done }, err
		}
		return aws.NewCredentialsCache(p), func() { <-done }, nil
	} else if !errors.Is(err, ssm.ErrNotRegistered) {
		return nil, func() {}, err
	}
	if cfg.SharedCredentialsFile != "" {
		log.Warn("not sharing credentials: this host has no SSM registration, so ecsd uses the AWS SDK's credentials and writes no shared credentials file",
			"file", cfg.SharedCredentialsFile)
	}
	var opts []func(*awsconfig.LoadOptions) error
	if cfg.AlternateCredentialProfile != "" {
		opts = append(opts, awsconfig.WithSharedConfigProfile(cfg.AlternateCredentialProfile))
	}
	ac, err := awsconfig.LoadDefaultConfig(ctx, opts...)
	if err != nil {
		return nil, func() {}, fmt.Errorf("AWS credentials: %w", err)
	}
	return ac.Credentials, func() {}, nil
}

// providerConfig is the SSM credentials provider's configuration: where
// the registration is, and the shared credentials file to keep up to date,
// if one is configured.
func providerConfig(cfg config.Config, log *slog.Logger) ssm.ProviderConfig {
	return ssm.ProviderConfig{
		StateRoot: cfg.SSMStateRoot, Endpoint: cfg.SSMEndpoint,
		SharedCredentialsFile: cfg.SharedCredentialsFile, Profile: cfg.SharedCredentialsProfile,
		UserAgent: "ecsd/" + version.Version, Log: log.With("component", "ssm"),
	}
}

// exitCodeFor maps errors that only a person can fix to exitConfig, so
// systemd does not restart ecsd in a loop.
func exitCodeFor(err error) int {
	if errors.Is(err, register.ErrTerminal) || errors.Is(err, config.ErrInvalid) || needsPerson(err) {
		return exitConfig
	}
	return exitError
}
