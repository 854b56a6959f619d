package e2e

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	awsconfig "github.com/aws/aws-sdk-go-v2/config"
	"github.com/aws/aws-sdk-go-v2/service/ecs"
	ecstypes "github.com/aws/aws-sdk-go-v2/service/ecs/types"
	awsssm "github.com/aws/aws-sdk-go-v2/service/ssm"

	"github.com/ecsd-project/ecsd/agent"
	"github.com/ecsd-project/ecsd/agent/engine"
	"github.com/ecsd-project/ecsd/agent/register"
	"github.com/ecsd-project/ecsd/agent/store"
	"github.com/ecsd-project/ecsd/controlplane"
	"github.com/ecsd-project/ecsd/credentials"
	"github.com/ecsd-project/ecsd/internal/testenv"
	"github.com/ecsd-project/ecsd/runtime"
	"github.com/ecsd-project/ecsd/runtime/network"
	"github.com/ecsd-project/ecsd/ssm"
)

const region = "us-east-1"

// world is ecs-local in-process, a private containerd with a registry,
// and an ecsd registered through an SSM activation: the primary host,
// whose agentDir, ssmRoot, arn and stopEcsd are the world's own fields.
// addHost adds more hosts on the same containerd and ecs-local.
type world struct {
	t        testing.TB
	srv      *httptest.Server
	local    *controlplane.Local
	ecs      *ecs.Client // the operator's, with ecs-local's admin credentials
	ssm      *awsssm.Client
	refs     map[string]string
	ctd      *testenv.ContainerdInstance
	agentDir string
	ssmRoot  string
	stopEcsd func()
	arn      string // the container instance
	cpDir    string // ecs-local's data directory
	cpStop   func() // stops ecs-local
	// tuneAgent, if set, adjusts the agent.Config startEcsd builds, for
	// every host (tests shorten timers with it).
	tuneAgent func(*agent.Config)
	// tuneProvider, if set, adjusts each host's SSM credentials provider
	// configuration; provider is the primary host's, once started.
	tuneProvider func(*ssm.ProviderConfig)
	provider     *ssm.Provider
	// tap, if set, watches ecs-local's side of the wire (benchmarks).
	tap   *wireTap
	extra int // hosts addHost added
}

// startECSLocal serves ecs-local on ln and runs its reconcile loop until
// cpStop.
func (w *world) startECSLocal(local *controlplane.Local, ln net.Listener) {
	w.local = local
	var h http.Handler = local
	if w.tap != nil {
		h = w.tap.wrap(local)
	}
	w.srv = &httptest.Server{Listener: ln, Config: &http.Server{Handler: h}}
	w.srv.Start()
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { local.Run(ctx); close(done) }()
	var once sync.Once
	w.cpStop = func() {
		once.Do(func() {
			cancel()
			<-done
			w.srv.CloseClientConnections()
			w.srv.Close()
			local.Close()
		})
	}
}

// newWorld builds the world; opts adjust it before anything starts.
func newWorld(t testing.TB, opts ...func(*world)) *world {
	t.Helper()
	w := &world{t: t, ctd: testenv.Containerd(t), agentDir: t.TempDir(), ssmRoot: t.TempDir()}
	for _, o := range opts {
		o(w)
	}
	reg := testenv.Registry(t, testenv.RegistryOptions{})
	w.refs = reg.Push(t, testenv.Images(t))

	cpDir := t.TempDir()
	w.cpDir = cpDir
	local, err := controlplane.NewLocal(controlplane.Config{DataDir: cpDir, Region: region, Log: testLog(t).With("side", "ecs-local"),
		ReconcileInterval: 500 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	w.startECSLocal(local, ln)
	t.Cleanup(func() { w.cpStop() })

	// The operator's clients use the admin credentials ecs-local wrote.
	ac, err := awsconfig.LoadDefaultConfig(context.Background(), awsconfig.WithRegion(region),
		awsconfig.WithSharedCredentialsFiles([]string{filepath.Join(cpDir, "credentials")}),
		awsconfig.WithSharedConfigFiles([]string{filepath.Join(cpDir, "config")}))
	if err != nil {
		t.Fatal(err)
	}
	w.ecs = ecs.NewFromConfig(ac, func(o *ecs.Options) { o.BaseEndpoint = aws.String(w.srv.URL) })
	w.ssm = awsssm.NewFromConfig(ac, func(o *awsssm.Options) { o.BaseEndpoint = aws.String(w.srv.URL) })
	return w
}

// registerHost does what `ecsd register` and the install script do, for
// the primary host.
func (w *world) registerHost(cluster string) {
	w.t.Helper()
	w.register(cluster, w.ssmRoot)
}

// register creates the cluster (CreateCluster is idempotent) and registers
// a managed instance through a fresh activation into ssmRoot.
func (w *world) register(cluster, ssmRoot string) {
	t := w.t
	t.Helper()
	ctx := context.Background()
	if _, err := w.ecs.CreateCluster(ctx, &ecs.CreateClusterInput{ClusterName: aws.String(cluster)}); err != nil {
		t.Fatal(err)
	}
	act, err := w.ssm.CreateActivation(ctx, &awsssm.CreateActivationInput{IamRole: aws.String("ecsAnywhereRole"), RegistrationLimit: aws.Int32(1)})
	if err != nil {
		t.Fatal(err)
	}
	reg, err := ssm.Register(ctx, ssm.RegisterConfig{Region: region, ActivationID: aws.ToString(act.ActivationId),
		ActivationCode: aws.ToString(act.ActivationCode), Endpoint: w.srv.URL, StateRoot: ssmRoot})
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(reg.InstanceID, "mi-") {
		t.Fatalf("managed instance id %q", reg.InstanceID)
	}
}

// host is one ecsd of the world, with everything that must differ between
// two ecsd on one machine and one containerd: its data and SSM
// directories, its CNI bridge, subnet, network namespace directory and
// dynamic host port range, and its containerd namespace (ecsd adopts,
// reports and removes only the containers of its own namespace). The
// primary host is the world's own fields (agentDir, ssmRoot, arn,
// stopEcsd); addHost adds more.
type host struct {
	w         *world
	name      string // in logs: side=ecsd-<name>
	agentDir  string
	ssmRoot   string
	bridge    string
	subnet    string
	netnsDir  string
	ports     [2]int // dynamic host port range, both ends included
	namespace string // containerd namespace
	arn       string // the container instance, once started
	provider  *ssm.Provider
	// stopEcsd stops this host's ecsd (containers outlive it); set by
	// startEcsd.
	stopEcsd func()
}

// maxHosts bounds addHost: each host takes a /24 of 10.199.202.0 upwards
// (10.199.201.0/24 and below belong to other packages' tests).
const maxHosts = 8

// primary is the host the world's own fields describe.
func (w *world) primary() *host {
	return &host{w: w, name: "h0", agentDir: w.agentDir, ssmRoot: w.ssmRoot, netnsDir: w.ctd.NetNSDir,
		bridge: "ecsde2e0", subnet: "10.199.202.0/24", ports: [2]int{42000, 42100}, namespace: runtime.DefaultNamespace}
}

// addHost registers one more host (its own SSM activation) in cluster and
// starts its ecsd on the world's containerd and ecs-local. The n-th added
// host has bridge ecsde2e<n>, subnet 10.199.<202+n>.0/24, dynamic host
// ports 42000+200n to 42000+200n+100 and containerd namespace ecsd-e2e<n>.
func (w *world) addHost(cluster string) *host {
	w.t.Helper()
	w.extra++
	n := w.extra
	if n >= maxHosts {
		w.t.Fatalf("addHost: at most %d hosts", maxHosts)
	}
	h := &host{w: w, name: fmt.Sprintf("h%d", n), agentDir: w.t.TempDir(), ssmRoot: w.t.TempDir(),
		netnsDir: filepath.Join(w.ctd.NetNSDir, fmt.Sprintf("h%d", n)),
		bridge:   fmt.Sprintf("ecsde2e%d", n), subnet: fmt.Sprintf("10.199.%d.0/24", 202+n),
		ports: [2]int{42000 + 200*n, 42000 + 200*n + 100}, namespace: fmt.Sprintf("ecsd-e2e%d", n)}
	w.register(cluster, h.ssmRoot)
	h.startEcsd(cluster)
	return h
}

// startEcsd runs the primary host's ecsd (as `ecsd run` builds it) until
// the test ends or stopEcsd is called; containers outlive it.
func (w *world) startEcsd(cluster string) {
	w.t.Helper()
	h := w.primary()
	h.startEcsd(cluster)
	w.arn, w.stopEcsd, w.provider = h.arn, h.stopEcsd, h.provider
}

// startEcsd runs this host's ecsd until the test ends or h.stopEcsd is
// called; containers outlive it.
func (h *host) startEcsd(cluster string) {
	h.w.t.Helper()
	if err := h.launch(cluster); err != nil {
		h.w.t.Fatalf("ecsd %s: %v", h.name, err)
	}
}

// launch starts ecsd as startEcsd does, and returns agent.Run's error if
// it ends before it is ready.
func (h *host) launch(cluster string) error {
	w, t := h.w, h.w.t
	t.Helper()
	log := testLog(t).With("side", "ecsd-"+h.name)
	ctx, cancel := context.WithCancel(context.Background())
	pcfg := ssm.ProviderConfig{StateRoot: h.ssmRoot, Endpoint: w.srv.URL, Log: testLog(t).With("side", "ssm-"+h.name)}
	if w.tuneProvider != nil {
		w.tuneProvider(&pcfg)
	}
	prov, err := ssm.NewProvider(pcfg)
	if err != nil {
		cancel()
		t.Fatal(err)
	}
	h.provider = prov
	var wg sync.WaitGroup
	wg.Add(1)
	go func() { defer wg.Done(); prov.Run(ctx) }()
	creds := aws.NewCredentialsCache(prov)
	ecsClient := ecs.New(ecs.Options{Region: region, Credentials: creds, BaseEndpoint: aws.String(w.srv.URL)})

	var closers []func()
	stop := func() {
		cancel()
		wg.Wait()
		for i := len(closers) - 1; i >= 0; i-- {
			closers[i]()
		}
	}
	var once sync.Once
	h.stopEcsd = func() { once.Do(stop) }
	netCfg := network.Config{BridgeName: h.bridge, Subnet: h.subnet,
		StateDir: filepath.Join(h.agentDir, "cni"), NetNSDir: h.netnsDir, DynamicPortRange: h.ports}
	t.Cleanup(func() {
		h.stopEcsd()
		// ecsd leaves its tasks running; take down their networks (veths,
		// iptables rules, address leases, namespaces) before the bridge.
		ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
		defer cancel()
		if m, err := network.New(netCfg); err != nil {
			t.Errorf("clean up networks: %v", err)
		} else if err := m.Cleanup(ctx, func(string) bool { return false }); err != nil {
			t.Errorf("clean up networks: %v", err)
		}
		exec.Command("ip", "link", "del", netCfg.BridgeName).Run()
	})

	rt, err := runtime.New(ctx, runtime.Config{Address: w.ctd.Address, Namespace: h.namespace, StateDir: filepath.Join(h.agentDir, "runtime")})
	if err != nil {
		t.Fatal(err)
	}
	closers = append(closers, func() { rt.Close() })
	netMgr, err := network.New(netCfg)
	if err != nil {
		t.Fatal(err)
	}
	st, err := store.Open(filepath.Join(h.agentDir, store.FileName), store.Options{})
	if err != nil {
		t.Fatal(err)
	}
	closers = append(closers, func() { st.Close() })
	ready := make(chan string, 1)
	errc := make(chan error, 1)
	wg.Add(1)
	go func() {
		defer wg.Done()
		cfg := agent.Config{
			Engine: engine.Config{Runtime: rt, Network: netMgr, Cluster: cluster, Region: region, DataDir: h.agentDir,
				PullBehavior: runtime.PullDefault, StopTimeout: 5 * time.Second, CleanupWait: time.Hour,
				ImageCleanup: engine.ImageCleanup{Disabled: true}},
			Store: st, ECS: ecsClient, Credentials: creds, Creds: credentials.NewStore(),
			Register: register.Config{ReservedPorts: []int{22}, LoggingDrivers: []string{"json-file", "awslogs", "none"}},
			Cluster:  cluster, Region: region, AgentVersion: "0.0.0-e2e",
			Log:   log,
			Ready: func(arn string) { ready <- arn },
		}
		if w.tuneAgent != nil {
			w.tuneAgent(&cfg)
		}
		errc <- agent.Run(ctx, cfg)
	}()
	select {
	case h.arn = <-ready:
		return nil
	case err := <-errc:
		return fmt.Errorf("ended: %w", err)
	case <-time.After(60 * time.Second):
		return errors.New("not ready after 60s")
	}
}

// runtime is a client of this host's containerd namespace, to look behind
// ecsd's back; closed when the test ends.
func (h *host) runtime() *runtime.Runtime {
	t := h.w.t
	t.Helper()
	rt, err := runtime.New(context.Background(), runtime.Config{Address: h.w.ctd.Address, Namespace: h.namespace, StateDir: t.TempDir()})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { rt.Close() })
	return rt
}

func (w *world) describeTask(cluster, arn string) ecstypes.Task {
	w.t.Helper()
	out, err := w.ecs.DescribeTasks(context.Background(), &ecs.DescribeTasksInput{Cluster: aws.String(cluster), Tasks: []string{arn}})
	if err != nil {
		w.t.Fatal(err)
	}
	if len(out.Tasks) != 1 {
		w.t.Fatalf("DescribeTasks %s: %+v", arn, out.Failures)
	}
	return out.Tasks[0]
}

// awaitTask polls DescribeTasks, as a user of the ECS API would.
func (w *world) awaitTask(cluster, arn, status string) ecstypes.Task {
	w.t.Helper()
	deadline := time.Now().Add(90 * time.Second)
	for {
		tk := w.describeTask(cluster, arn)
		if aws.ToString(tk.LastStatus) == status {
			return tk
		}
		if time.Now().After(deadline) {
			w.t.Fatalf("task %s is %s, not %s, after 90s", arn, aws.ToString(tk.LastStatus), status)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

func (w *world) runTask(cluster, family string) string {
	w.t.Helper()
	out, err := w.ecs.RunTask(context.Background(), &ecs.RunTaskInput{Cluster: aws.String(cluster), TaskDefinition: aws.String(family)})
	if err != nil {
		w.t.Fatal(err)
	}
	if len(out.Failures) > 0 || len(out.Tasks) != 1 {
		w.t.Fatalf("RunTask failures: %+v", out.Failures)
	}
	return aws.ToString(out.Tasks[0].TaskArn)
}

// TestRunAndStopThroughTheECSAPI: register a host with an activation,
// run ecsd, and drive a task only through the ECS API: RunTask → RUNNING
// (port reachable) → StopTask → STOPPED with exit codes; a task whose
// essential container exits is STOPPED with its exit code.
func TestRunAndStopThroughTheECSAPI(t *testing.T) {
	w := newWorld(t)
	const cluster = "e2e"
	w.registerHost(cluster)
	w.startEcsd(cluster)
	ctx := context.Background()

	ci, err := w.ecs.DescribeContainerInstances(ctx, &ecs.DescribeContainerInstancesInput{Cluster: aws.String(cluster), ContainerInstances: []string{w.arn}})
	if err != nil || len(ci.ContainerInstances) != 1 {
		t.Fatalf("DescribeContainerInstances: %v %+v", err, ci)
	}
	if !hasAttribute(ci.ContainerInstances[0].Attributes, "ecs.capability.external") {
		t.Errorf("instance lacks ecs.capability.external: %+v", ci.ContainerInstances[0].Attributes)
	}

	_, err = w.ecs.RegisterTaskDefinition(ctx, &ecs.RegisterTaskDefinitionInput{
		Family: aws.String("web"), NetworkMode: ecstypes.NetworkModeBridge,
		RequiresCompatibilities: []ecstypes.Compatibility{ecstypes.CompatibilityExternal},
		ContainerDefinitions: []ecstypes.ContainerDefinition{{
			Name: aws.String("web"), Image: aws.String(w.refs["health"]), Memory: aws.Int32(64), Essential: aws.Bool(true),
			PortMappings: []ecstypes.PortMapping{{ContainerPort: aws.Int32(8080), HostPort: aws.Int32(0), Protocol: ecstypes.TransportProtocolTcp}},
			HealthCheck: &ecstypes.HealthCheck{Command: []string{"CMD-SHELL", "wget -qO- http://127.0.0.1:8080/ >/dev/null"},
				Interval: aws.Int32(5), Timeout: aws.Int32(2), Retries: aws.Int32(3)},
		}},
	})
	if err != nil {
		t.Fatal(err)
	}
	arn := w.runTask(cluster, "web")
	tk := w.awaitTask(cluster, arn, "RUNNING")
	c := tk.Containers[0]
	if len(c.NetworkBindings) != 1 || aws.ToInt32(c.NetworkBindings[0].HostPort) == 0 {
		t.Fatalf("network bindings %+v", c.NetworkBindings)
	}
	page := httpGet(t, fmt.Sprintf("http://127.0.0.1:%d/", aws.ToInt32(c.NetworkBindings[0].HostPort)))
	if !strings.Contains(page, testenv.HealthPage) {
		t.Errorf("page through the mapped port: %q", page)
	}
	if _, err := w.ecs.StopTask(ctx, &ecs.StopTaskInput{Cluster: aws.String(cluster), Task: aws.String(arn), Reason: aws.String("e2e done")}); err != nil {
		t.Fatal(err)
	}
	tk = w.awaitTask(cluster, arn, "STOPPED")
	if tk.Containers[0].ExitCode == nil {
		t.Errorf("stopped container has no exit code: %+v", tk.Containers[0])
	}

	// A task that ends by itself.
	_, err = w.ecs.RegisterTaskDefinition(ctx, &ecs.RegisterTaskDefinitionInput{
		Family: aws.String("batch"),
		ContainerDefinitions: []ecstypes.ContainerDefinition{{
			Name: aws.String("job"), Image: aws.String(w.refs["shell"]), Memory: aws.Int32(32), Essential: aws.Bool(true),
			Command: []string{"sh", "-c", "echo working; exit 3"},
		}},
	})
	if err != nil {
		t.Fatal(err)
	}
	arn = w.runTask(cluster, "batch")
	tk = w.awaitTask(cluster, arn, "STOPPED")
	if code := tk.Containers[0].ExitCode; code == nil || *code != 3 {
		t.Errorf("exit code %v, want 3", code)
	}
	if !strings.Contains(aws.ToString(tk.StoppedReason), "Essential container in task exited") {
		t.Errorf("stopped reason %q", aws.ToString(tk.StoppedReason))
	}
}

// TestEcsdRestartMidTask: ecsd goes away while a task runs and comes back;
// the task keeps running, is re-adopted, and its stop is still reported.
func TestEcsdRestartMidTask(t *testing.T) {
	w := newWorld(t)
	const cluster = "restart"
	w.registerHost(cluster)
	w.startEcsd(cluster)
	ctx := context.Background()
	_, err := w.ecs.RegisterTaskDefinition(ctx, &ecs.RegisterTaskDefinitionInput{
		Family: aws.String("sleeper"),
		ContainerDefinitions: []ecstypes.ContainerDefinition{{
			Name: aws.String("main"), Image: aws.String(w.refs["shell"]), Memory: aws.Int32(32),
			Command: []string{"sh", "-c", "trap 'exit 0' TERM; sleep 3600 & wait"},
		}},
	})
	if err != nil {
		t.Fatal(err)
	}
	arn := w.runTask(cluster, "sleeper")
	w.awaitTask(cluster, arn, "RUNNING")
	firstARN := w.arn
	w.stopEcsd()
	w.startEcsd(cluster)
	if w.arn != firstARN {
		t.Errorf("container instance changed across restart: %s → %s", firstARN, w.arn)
	}
	if _, err := w.ecs.StopTask(ctx, &ecs.StopTaskInput{Cluster: aws.String(cluster), Task: aws.String(arn)}); err != nil {
		t.Fatal(err)
	}
	tk := w.awaitTask(cluster, arn, "STOPPED")
	if code := tk.Containers[0].ExitCode; code == nil || *code != 0 {
		t.Errorf("exit code %v, want 0", code)
	}
}

func hasAttribute(attrs []ecstypes.Attribute, name string) bool {
	for _, a := range attrs {
		if aws.ToString(a.Name) == name {
			return true
		}
	}
	return false
}

func httpGet(t testing.TB, url string) string {
	t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for {
		resp, err := http.Get(url)
		if err == nil {
			b, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			return string(b)
		}
		if time.Now().After(deadline) {
			t.Fatalf("GET %s: %v", url, err)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

func testLog(t testing.TB) *slog.Logger {
	return slog.New(slog.NewTextHandler(testWriter{t}, &slog.HandlerOptions{Level: slog.LevelInfo}))
}

type testWriter struct{ t testing.TB }

func (w testWriter) Write(p []byte) (int, error) {
	w.t.Log(strings.TrimRight(string(p), "\n"))
	return len(p), nil
}
