package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"log/slog"
	"net/http"
	"os"
	"path/filepath"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ecs"
	awsssm "github.com/aws/aws-sdk-go-v2/service/ssm"
	"github.com/aws/smithy-go"

	"github.com/ecsd-project/ecsd/agent/config"
	"github.com/ecsd-project/ecsd/agent/store"
	"github.com/ecsd-project/ecsd/internal/version"
	"github.com/ecsd-project/ecsd/runtime"
	"github.com/ecsd-project/ecsd/runtime/network"
	"github.com/ecsd-project/ecsd/ssm"
)

// deregisterMain runs `ecsd deregister [--keep-tasks] [--force] [config
// flags]`: it asks ECS to deregister the container instance and SSM the
// managed instance, then removes this host's identity (the SSM
// registration, the profile it shared in the shared credentials file, the
// container instance identity). Without
// --keep-tasks it also stops and removes ecsd's containers and deletes the
// state store; with it, containers and task records are left alone.
//
// Nothing is changed locally until ECS has accepted the deregistration. ECS
// is asked with force when --force or --keep-tasks is given; without
// either, running containers make it refuse, since they would be killed.
// --force also goes on with the local clean-up when ECS or SSM cannot be
// told (the instance is already gone, the endpoint is unreachable).
func deregisterMain(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	var keepTasks, force bool
	var rest []string
	for _, a := range args {
		switch a {
		case "--keep-tasks", "-keep-tasks":
			keepTasks = true
		case "--force", "-force":
			force = true
		case "-h", "-help", "--help":
			deregisterUsage(stdout)
			return exitOK
		default:
			rest = append(rest, a)
		}
	}
	cfg, prov, err := config.Load(config.Sources{Env: os.Environ(), Args: rest})
	if err != nil {
		var verr *config.ValidationError
		if errors.As(err, &verr) {
			for _, p := range verr.Problems {
				fmt.Fprintf(stderr, "ecsd deregister: %s\n", p)
			}
		} else {
			fmt.Fprintf(stderr, "ecsd deregister: %v\n", err)
		}
		fmt.Fprintln(stderr, "ecsd deregister: fix the configuration (see 'ecsd config check') and run it again")
		return exitConfig
	}
	log := slog.New(slog.NewTextHandler(stderr, &slog.HandlerOptions{Level: slog.LevelWarn}))
	for _, w := range prov.Warnings {
		log.Warn("configuration", "warning", w)
	}
	d := &deregistration{cfg: cfg, keepTasks: keepTasks, force: force, out: stdout, log: log}
	if err := d.run(ctx); err != nil {
		fmt.Fprintf(stderr, "ecsd deregister: %v\n", err)
		if errors.Is(err, store.ErrLocked) {
			return exitConfig
		}
		return exitCodeFor(err)
	}
	return exitOK
}

func deregisterUsage(w io.Writer) {
	fmt.Fprintln(w, `usage: ecsd deregister [--keep-tasks] [--force] [--cluster C] [--data-dir DIR] [--config FILE]

Deregisters this host's container instance from ECS and its managed
instance from SSM, then removes the local identity: the SSM registration,
the credentials shared in ECSD_SHARED_CREDENTIALS_FILE (that profile only)
and the container instance identity. Stop ecsd first.

  --keep-tasks  leave ecsd's containers running and keep their records
                (ECS stops tracking their tasks)
  --force       deregister even if tasks are running (they are stopped),
                and remove the local identity even if ECS or SSM cannot
                be told`)
}

// deregistration is one run of `ecsd deregister`.
type deregistration struct {
	cfg       config.Config
	keepTasks bool
	force     bool
	out       io.Writer
	log       *slog.Logger
}

func (d *deregistration) step(format string, a ...any) {
	fmt.Fprintf(d.out, format+"\n", a...)
}

func (d *deregistration) run(ctx context.Context) error {
	cfg := d.cfg
	dbPath := filepath.Join(cfg.DataDir, store.FileName)

	// The store: held by a running ecsd, it is refused.
	var st *store.Store
	if _, err := os.Stat(dbPath); err == nil {
		st, err = store.Open(dbPath, store.Options{Log: d.log.With("component", "store"), LockTimeout: time.Second})
		switch {
		case errors.Is(err, store.ErrLocked):
			return fmt.Errorf("ecsd is running (it holds %s): stop ecsd first (systemctl stop ecsd), then run this again: %w", dbPath, store.ErrLocked)
		case err != nil:
			d.log.Warn("state store unreadable; using the identity file", "path", dbPath, "error", err)
			st = nil
		}
	}
	closeStore := func() {
		if st != nil {
			_ = st.Close()
			st = nil
		}
	}
	defer closeStore()

	id, haveID, err := d.identity(st)
	if err != nil {
		return err
	}

	// Containers, unless they stay.
	var rt *runtime.Runtime
	var containers []runtime.ContainerInfo
	if !d.keepTasks {
		rt, err = runtime.New(ctx, runtime.Config{
			Address: cfg.ContainerdAddress, Namespace: cfg.ContainerdNamespace,
			StateDir: filepath.Join(cfg.DataDir, "runtime"), Log: d.log.With("component", "runtime"),
		})
		if err != nil {
			return fmt.Errorf("%w: start containerd, or add --keep-tasks to leave ecsd's containers alone", err)
		}
		defer rt.Close()
		if containers, err = rt.List(ctx); err != nil {
			return fmt.Errorf("%w: check containerd, or add --keep-tasks to leave ecsd's containers alone", err)
		}
		if n := running(containers); n > 0 && !d.force {
			return fmt.Errorf("%d of ecsd's containers are running: stop their tasks through ECS first (with ecsd running), add --force to stop them here, or --keep-tasks to leave them running", n)
		}
	}

	reg, regErr := ssm.LoadRegistration(cfg.SSMStateRoot)
	registered := regErr == nil
	if regErr != nil && !errors.Is(regErr, ssm.ErrNotRegistered) {
		return fmt.Errorf("SSM registration under %s: %w", cfg.SSMStateRoot, regErr)
	}

	// The control plane: ECS, then SSM, with the instance's credentials.
	if err := d.tellControlPlane(ctx, id, haveID, reg, registered); err != nil {
		if !d.force {
			return err
		}
		d.step("warning: %v; going on with the local clean-up (--force)", err)
	}

	// Local clean-up.
	if !d.keepTasks {
		n := 0
		for _, c := range containers {
			if err := rt.Stop(ctx, c.ID, cfg.ContainerStopTimeout); err != nil {
				return fmt.Errorf("stop container %s: %w: run 'ecsd deregister --force' again", c.ID, err)
			}
			if err := rt.Remove(ctx, c.ID); err != nil {
				return fmt.Errorf("remove container %s: %w: run 'ecsd deregister --force' again", c.ID, err)
			}
			n++
		}
		d.step("stopped and removed %d containers", n)
		d.cleanNetwork(ctx)
	}
	// The credentials shared with other workloads: the configured profile
	// if this host was registered (else ecsd never wrote it), and whatever
	// the SSM registration records having shared.
	shareFile := ""
	if registered {
		shareFile = cfg.SharedCredentialsFile
	}
	unshared, err := ssm.RemoveSharedCredentials(cfg.SSMStateRoot, shareFile, cfg.SharedCredentialsProfile)
	if err != nil {
		return fmt.Errorf("remove the shared credentials: %w: fix that and run 'ecsd deregister --force' again", err)
	}
	for _, u := range unshared {
		d.step("removed the shared credentials of profile %s", u)
	}
	if registered {
		if err := ssm.Clear(cfg.SSMStateRoot); err != nil {
			return fmt.Errorf("clear the SSM registration under %s: %w", cfg.SSMStateRoot, err)
		}
		d.step("removed the SSM registration under %s", cfg.SSMStateRoot)
	}
	if d.keepTasks {
		if !haveID {
			d.step("no container instance identity to remove")
			return nil
		}
		if st != nil {
			if err := st.ClearIdentity(); err != nil {
				return err
			}
		} else if err := removeIfExists(filepath.Join(cfg.DataDir, store.IdentityFile)); err != nil {
			return err
		}
		d.step("removed the container instance identity; task records kept in %s", dbPath)
		return nil
	}
	closeStore()
	for _, p := range []string{dbPath, filepath.Join(cfg.DataDir, store.IdentityFile)} {
		if err := removeIfExists(p); err != nil {
			return err
		}
	}
	d.step("removed the state store %s", dbPath)
	return nil
}

// identity is the container instance this host is, from the store, else
// from the identity file beside it.
func (d *deregistration) identity(st *store.Store) (store.Identity, bool, error) {
	if st != nil {
		id, ok, err := st.Identity()
		if err != nil {
			d.log.Warn("identity unreadable in the state store; using the identity file", "error", err)
		} else if ok {
			return id, true, nil
		}
	}
	path := filepath.Join(d.cfg.DataDir, store.IdentityFile)
	b, err := os.ReadFile(path)
	if errors.Is(err, fs.ErrNotExist) {
		return store.Identity{}, false, nil
	}
	if err != nil {
		return store.Identity{}, false, fmt.Errorf("read %s: %w", path, err)
	}
	var id store.Identity
	if err := json.Unmarshal(b, &id); err != nil || id.ContainerInstanceARN == "" {
		return store.Identity{}, false, fmt.Errorf("%s holds no container instance identity: remove it, or deregister the instance with 'aws ecs deregister-container-instance'", path)
	}
	return id, true, nil
}

// tellControlPlane deregisters the container instance from ECS and the
// managed instance from SSM.
func (d *deregistration) tellControlPlane(ctx context.Context, id store.Identity, haveID bool, reg ssm.Registration, registered bool) error {
	cfg := d.cfg
	if !haveID && !registered {
		d.step("no container instance and no SSM registration on this host: nothing to tell ECS or SSM")
		return nil
	}
	cctx, cancel := context.WithCancel(ctx)
	// Deregistering is no reason to write the shared credentials file.
	ccfg := cfg
	ccfg.SharedCredentialsFile = ""
	creds, wait, err := instanceCredentials(cctx, ccfg, d.log)
	defer func() { cancel(); wait() }()
	if err != nil {
		return fmt.Errorf("instance credentials: %w", err)
	}
	httpClient := &http.Client{Transport: &http.Transport{Proxy: cfg.ProxyFunc(), ForceAttemptHTTP2: true,
		TLSHandshakeTimeout: 10 * time.Second}, Timeout: 42 * time.Second}

	if !haveID {
		d.step("no container instance recorded in %s: skipping ECS", cfg.DataDir)
	} else {
		cluster := id.Cluster
		if cluster == "" {
			cluster = cfg.Cluster
		}
		ecsClient := ecs.New(ecs.Options{Region: cfg.Region, Credentials: creds, HTTPClient: httpClient,
			AppID: "ecsd-" + version.Version}, func(o *ecs.Options) {
			if u := cfg.BackendURL(); u != "" {
				o.BaseEndpoint = aws.String(u)
			}
		})
		forceECS := d.force || d.keepTasks
		_, err := ecsClient.DeregisterContainerInstance(ctx, &ecs.DeregisterContainerInstanceInput{
			Cluster: aws.String(cluster), ContainerInstance: aws.String(id.ContainerInstanceARN), Force: aws.Bool(forceECS)})
		if err != nil {
			hint := "check the connection to ECS and run this again"
			if !forceECS {
				hint = "if ECS still tracks tasks on this instance, stop them through ECS or add --force"
			}
			return fmt.Errorf("ECS did not deregister container instance %s in cluster %s: %w: %s", id.ContainerInstanceARN, cluster, err, hint)
		}
		d.step("deregistered container instance %s from cluster %s", id.ContainerInstanceARN, cluster)
	}

	if !registered {
		d.step("this host is not an SSM managed instance: skipping SSM")
		return nil
	}
	ssmClient := awsssm.New(awsssm.Options{Region: reg.Region, Credentials: creds, HTTPClient: httpClient,
		AppID: "ecsd-" + version.Version}, func(o *awsssm.Options) {
		if cfg.SSMEndpoint != "" {
			o.BaseEndpoint = aws.String(cfg.SSMEndpoint)
		}
	})
	_, err = ssmClient.DeregisterManagedInstance(ctx, &awsssm.DeregisterManagedInstanceInput{InstanceId: aws.String(reg.InstanceID)})
	var ae smithy.APIError
	switch {
	case errors.As(err, &ae) && ae.ErrorCode() == "InvalidInstanceId":
		d.step("managed instance %s was already deregistered from SSM", reg.InstanceID)
	case err != nil:
		return fmt.Errorf("SSM did not deregister managed instance %s: %w: check the connection to SSM and run this again, or deregister it with 'aws ssm deregister-managed-instance'", reg.InstanceID, err)
	default:
		d.step("deregistered managed instance %s from SSM", reg.InstanceID)
	}
	return nil
}

// cleanNetwork tears down the network attachments the removed containers
// left. A failure is reported, not fatal: the next `ecsd run` cleans up too.
func (d *deregistration) cleanNetwork(ctx context.Context) {
	cfg := d.cfg
	netMgr, err := network.New(network.Config{
		BridgeName: cfg.CNIBridge, Subnet: cfg.CNISubnet, StateDir: filepath.Join(cfg.DataDir, "cni"),
		DynamicPortRange: [2]int{cfg.DynamicHostPortRange.First, cfg.DynamicHostPortRange.Last},
		ReservedTCP:      cfg.ReservedPorts, ReservedUDP: cfg.ReservedPortsUDP,
		Log: d.log.With("component", "network"),
	})
	if err == nil {
		err = netMgr.Cleanup(ctx, func(string) bool { return false })
	}
	if err != nil {
		d.step("warning: network clean-up: %v", err)
		return
	}
	d.step("removed the containers' network attachments")
}

func running(cs []runtime.ContainerInfo) int {
	n := 0
	for _, c := range cs {
		if c.Status == runtime.StatusRunning {
			n++
		}
	}
	return n
}

func removeIfExists(path string) error {
	if err := os.Remove(path); err != nil && !errors.Is(err, fs.ErrNotExist) {
		return fmt.Errorf("remove %s: %w", path, err)
	}
	return nil
}
