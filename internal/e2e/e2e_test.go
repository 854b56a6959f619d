package e2e

import (
	"context"
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
// and an ecsd registered through an SSM activation.
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
	// tuneAgent, if set, adjusts the agent.Config startEcsd builds (tests
	// shorten timers with it).
	tuneAgent func(*agent.Config)
}

// startECSLocal serves ecs-local on ln and runs its reconcile loop until
// cpStop.
func (w *world) startECSLocal(local *controlplane.Local, ln net.Listener) {
	w.local = local
	w.srv = &httptest.Server{Listener: ln, Config: &http.Server{Handler: local}}
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

func newWorld(t testing.TB) *world {
	t.Helper()
	w := &world{t: t, ctd: testenv.Containerd(t), agentDir: t.TempDir(), ssmRoot: t.TempDir()}
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

// registerHost does what `ecsd register` and the install script do.
func (w *world) registerHost(cluster string) {
	t := w.t
	ctx := context.Background()
	if _, err := w.ecs.CreateCluster(ctx, &ecs.CreateClusterInput{ClusterName: aws.String(cluster)}); err != nil {
		t.Fatal(err)
	}
	act, err := w.ssm.CreateActivation(ctx, &awsssm.CreateActivationInput{IamRole: aws.String("ecsAnywhereRole"), RegistrationLimit: aws.Int32(1)})
	if err != nil {
		t.Fatal(err)
	}
	reg, err := ssm.Register(ctx, ssm.RegisterConfig{Region: region, ActivationID: aws.ToString(act.ActivationId),
		ActivationCode: aws.ToString(act.ActivationCode), Endpoint: w.srv.URL, StateRoot: w.ssmRoot})
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(reg.InstanceID, "mi-") {
		t.Fatalf("managed instance id %q", reg.InstanceID)
	}
}

// startEcsd runs ecsd (as `ecsd run` builds it) until the test ends or
// stopEcsd is called; containers outlive it.
func (w *world) startEcsd(cluster string) {
	t := w.t
	ctx, cancel := context.WithCancel(context.Background())
	prov, err := ssm.NewProvider(ssm.ProviderConfig{StateRoot: w.ssmRoot, Endpoint: w.srv.URL, Log: testLog(t).With("side", "ssm")})
	if err != nil {
		t.Fatal(err)
	}
	var wg sync.WaitGroup
	wg.Add(1)
	go func() { defer wg.Done(); prov.Run(ctx) }()
	creds := aws.NewCredentialsCache(prov)
	ecsClient := ecs.New(ecs.Options{Region: region, Credentials: creds, BaseEndpoint: aws.String(w.srv.URL)})

	rt, err := runtime.New(ctx, runtime.Config{Address: w.ctd.Address, StateDir: filepath.Join(w.agentDir, "runtime")})
	if err != nil {
		t.Fatal(err)
	}
	const bridge = "ecsde2e0"
	netMgr, err := network.New(network.Config{BridgeName: bridge, Subnet: "10.199.202.0/24",
		StateDir: filepath.Join(w.agentDir, "cni"), NetNSDir: w.ctd.NetNSDir, DynamicPortRange: [2]int{42000, 42100}})
	if err != nil {
		t.Fatal(err)
	}
	st, err := store.Open(filepath.Join(w.agentDir, store.FileName), store.Options{})
	if err != nil {
		t.Fatal(err)
	}
	ready := make(chan string, 1)
	errc := make(chan error, 1)
	wg.Add(1)
	go func() {
		defer wg.Done()
		cfg := agent.Config{
			Engine: engine.Config{Runtime: rt, Network: netMgr, Cluster: cluster, Region: region, DataDir: w.agentDir,
				PullBehavior: runtime.PullDefault, StopTimeout: 5 * time.Second, CleanupWait: time.Hour,
				ImageCleanup: engine.ImageCleanup{Disabled: true}},
			Store: st, ECS: ecsClient, Credentials: creds, Creds: credentials.NewStore(),
			Register: register.Config{ReservedPorts: []int{22}, LoggingDrivers: []string{"json-file", "awslogs", "none"}},
			Cluster:  cluster, Region: region, AgentVersion: "0.0.0-e2e",
			Log:   testLog(t).With("side", "ecsd"),
			Ready: func(arn string) { ready <- arn },
		}
		if w.tuneAgent != nil {
			w.tuneAgent(&cfg)
		}
		errc <- agent.Run(ctx, cfg)
	}()
	select {
	case w.arn = <-ready:
	case err := <-errc:
		t.Fatalf("ecsd ended: %v", err)
	case <-time.After(60 * time.Second):
		t.Fatal("ecsd not ready after 60s")
	}
	var once sync.Once
	w.stopEcsd = func() {
		once.Do(func() {
			cancel()
			wg.Wait()
			st.Close()
			rt.Close()
		})
	}
	t.Cleanup(func() {
		w.stopEcsd()
		exec.Command("ip", "link", "del", bridge).Run()
	})
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
