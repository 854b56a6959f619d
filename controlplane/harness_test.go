package controlplane

import (
	"context"
	"errors"
	"log/slog"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/ecs"
	"github.com/aws/aws-sdk-go-v2/service/ecs/types"
	smithy "github.com/aws/smithy-go"

	"github.com/ecsd-project/ecsd/controlplane/auth"
	"github.com/ecsd-project/ecsd/internal/leakcheck"
	"github.com/ecsd-project/ecsd/wire/acs"
)

func TestMain(m *testing.M) { leakcheck.Main(m) }

const (
	testKey    = "AKIATESTTESTTESTTEST"
	testSecret = "test/secret/key/for/the/harness"
	testRegion = "us-east-1"
)

// fakeDispatcher records what is dispatched to each instance; while fail is
// set it refuses.
type fakeDispatcher struct {
	mu   sync.Mutex
	sent map[string][]acs.Task
	fail bool
}

func (d *fakeDispatcher) Dispatch(ctx context.Context, instanceARN string, tasks []acs.Task) error {
	d.mu.Lock()
	defer d.mu.Unlock()
	if d.fail {
		return errors.New("agent not connected")
	}
	if d.sent == nil {
		d.sent = map[string][]acs.Task{}
	}
	d.sent[instanceARN] = append(d.sent[instanceARN], tasks...)
	return nil
}

func (d *fakeDispatcher) setFail(fail bool) {
	d.mu.Lock()
	defer d.mu.Unlock()
	d.fail = fail
}

// take returns and forgets what was dispatched to the instance.
func (d *fakeDispatcher) take(instanceARN string) []acs.Task {
	d.mu.Lock()
	defer d.mu.Unlock()
	out := d.sent[instanceARN]
	delete(d.sent, instanceARN)
	return out
}

// all returns and forgets everything dispatched, by task ARN (the latest).
func (d *fakeDispatcher) all() map[string]acs.Task {
	d.mu.Lock()
	defer d.mu.Unlock()
	out := map[string]acs.Task{}
	for _, ts := range d.sent {
		for _, t := range ts {
			out[t.ARN] = t
		}
	}
	d.sent = nil
	return out
}

// clock is a settable clock.
type clock struct {
	mu  sync.Mutex
	now time.Time
}

func (c *clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

func (c *clock) Advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.now = c.now.Add(d)
}

type harness struct {
	t      *testing.T
	dir    string
	cfg    Config
	cp     *ControlPlane
	srv    *httptest.Server
	ecs    *ecs.Client
	disp   *fakeDispatcher
	clock  *clock
	closed bool
}

// testLog writes the control plane's log to the test's.
type testLog struct{ t *testing.T }

func (l testLog) Write(b []byte) (int, error) {
	l.t.Helper()
	l.t.Log(strings.TrimSuffix(string(b), "\n"))
	return len(b), nil
}

func newHarness(t *testing.T, opts ...func(*Config)) *harness {
	t.Helper()
	h := &harness{t: t, dir: t.TempDir(), disp: &fakeDispatcher{}, clock: &clock{now: time.Now().UTC()}}
	h.cfg = Config{
		DataDir:    h.dir,
		Log:        slog.New(slog.NewTextHandler(testLog{t}, &slog.HandlerOptions{Level: slog.LevelDebug})),
		Now:        h.clock.Now,
		Dispatcher: h.disp,
	}
	for _, o := range opts {
		o(&h.cfg)
	}
	h.start()
	t.Cleanup(h.stop)
	return h
}

func (h *harness) start() {
	h.t.Helper()
	cfg := h.cfg
	// Requests are signed with the wall clock, whatever the test's clock.
	cfg.Keyring = auth.NewKeyring(time.Now)
	cfg.Keyring.Add(auth.Credential{AccessKeyID: testKey, SecretAccessKey: testSecret, Principal: "arn:aws:iam::000000000000:user/test"})
	cp, err := New(cfg)
	if err != nil {
		h.t.Fatal(err)
	}
	h.cp = cp
	h.srv = httptest.NewServer(cp)
	h.ecs = h.client(testKey, testSecret, "")
	h.closed = false
}

func (h *harness) stop() {
	if h.closed {
		return
	}
	h.closed = true
	h.srv.Close()
	if err := h.cp.Close(); err != nil {
		h.t.Error(err)
	}
}

// restart stops the control plane and starts a new one on the same data
// directory.
func (h *harness) restart() {
	h.t.Helper()
	h.stop()
	h.start()
}

// client is an SDK ECS client of the server signing with the given keys.
func (h *harness) client(key, secret, token string) *ecs.Client {
	return ecs.NewFromConfig(aws.Config{
		Region:       testRegion,
		Credentials:  credentials.NewStaticCredentialsProvider(key, secret, token),
		BaseEndpoint: aws.String(h.srv.URL),
		Retryer:      func() aws.Retryer { return aws.NopRetryer{} },
	})
}

var ctx = context.Background()

func ok(t *testing.T, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}

// wantAPIError checks that err is the AWS error code.
func wantAPIError(t *testing.T, err error, code string) {
	t.Helper()
	var ae smithy.APIError
	if !errors.As(err, &ae) {
		t.Fatalf("got %v, want %s", err, code)
	}
	if ae.ErrorCode() != code {
		t.Fatalf("got %s (%s), want %s", ae.ErrorCode(), ae.ErrorMessage(), code)
	}
}

func (h *harness) createCluster(name string) {
	h.t.Helper()
	_, err := h.ecs.CreateCluster(ctx, &ecs.CreateClusterInput{ClusterName: aws.String(name)})
	ok(h.t, err)
}

// registerInstance registers an external instance as ecsd does and returns
// its ARN.
func (h *harness) registerInstance(cluster string, cpu, memory int32, attrs map[string]string) string {
	h.t.Helper()
	var as []types.Attribute
	for _, n := range []string{"ecs.capability.external", "ecs.capability.container-health-check",
		"ecs.capability.container-ordering", "com.amazonaws.ecs.capability.docker-remote-api.1.24",
		"com.amazonaws.ecs.capability.task-iam-role", "ecs.capability.execution-role-awslogs",
		"com.amazonaws.ecs.capability.logging-driver.awslogs", "com.amazonaws.ecs.capability.docker-remote-api.1.18",
		"com.amazonaws.ecs.capability.docker-remote-api.1.19", "ecs.capability.container-restart-policy",
		"ecs.capability.task-cpu-mem-limit", "com.amazonaws.ecs.capability.docker-remote-api.1.25"} {
		as = append(as, types.Attribute{Name: aws.String(n)})
	}
	as = append(as, types.Attribute{Name: aws.String("ecs.os-type"), Value: aws.String("linux")})
	for k, v := range attrs {
		as = append(as, types.Attribute{Name: aws.String(k), Value: aws.String(v)})
	}
	out, err := h.ecs.RegisterContainerInstance(ctx, &ecs.RegisterContainerInstanceInput{
		Cluster:                           aws.String(cluster),
		InstanceIdentityDocument:          aws.String(""),
		InstanceIdentityDocumentSignature: aws.String(""),
		TotalResources:                    totalResources(cpu, memory),
		Attributes:                        as,
	})
	ok(h.t, err)
	return aws.ToString(out.ContainerInstance.ContainerInstanceArn)
}

func totalResources(cpu, memory int32) []types.Resource {
	return []types.Resource{
		{Name: aws.String("CPU"), Type: aws.String("INTEGER"), IntegerValue: cpu},
		{Name: aws.String("MEMORY"), Type: aws.String("INTEGER"), IntegerValue: memory},
		{Name: aws.String("PORTS"), Type: aws.String("STRINGSET"), StringSetValue: []string{"22", "2375", "2376", "51678", "51679"}},
		{Name: aws.String("PORTS_UDP"), Type: aws.String("STRINGSET"), StringSetValue: []string{}},
	}
}

// registerTaskDef registers a one-container task definition.
func (h *harness) registerTaskDef(family string, memory int32, mutate ...func(*ecs.RegisterTaskDefinitionInput)) string {
	h.t.Helper()
	in := &ecs.RegisterTaskDefinitionInput{
		Family: aws.String(family),
		ContainerDefinitions: []types.ContainerDefinition{{
			Name: aws.String("app"), Image: aws.String("busybox"), Memory: aws.Int32(memory),
			Command: []string{"sleep", "3600"},
		}},
	}
	for _, m := range mutate {
		m(in)
	}
	out, err := h.ecs.RegisterTaskDefinition(ctx, in)
	ok(h.t, err)
	return aws.ToString(out.TaskDefinition.TaskDefinitionArn)
}

// report submits a task state change as the agent does.
func (h *harness) report(cluster, taskARN, status string, containers ...types.ContainerStateChange) {
	h.t.Helper()
	_, err := h.ecs.SubmitTaskStateChange(ctx, &ecs.SubmitTaskStateChangeInput{
		Cluster: aws.String(cluster), Task: aws.String(taskARN), Status: aws.String(status), Containers: containers,
	})
	ok(h.t, err)
}

func (h *harness) describeTask(cluster, arn string) types.Task {
	h.t.Helper()
	out, err := h.ecs.DescribeTasks(ctx, &ecs.DescribeTasksInput{Cluster: aws.String(cluster), Tasks: []string{arn}})
	ok(h.t, err)
	if len(out.Tasks) != 1 {
		h.t.Fatalf("describe %s: %+v", arn, out.Failures)
	}
	return out.Tasks[0]
}

func (h *harness) describeInstance(cluster, arn string) types.ContainerInstance {
	h.t.Helper()
	out, err := h.ecs.DescribeContainerInstances(ctx, &ecs.DescribeContainerInstancesInput{
		Cluster: aws.String(cluster), ContainerInstances: []string{arn}})
	ok(h.t, err)
	if len(out.ContainerInstances) != 1 {
		h.t.Fatalf("describe %s: %+v", arn, out.Failures)
	}
	return out.ContainerInstances[0]
}

func (h *harness) describeService(cluster, name string) types.Service {
	h.t.Helper()
	out, err := h.ecs.DescribeServices(ctx, &ecs.DescribeServicesInput{Cluster: aws.String(cluster), Services: []string{name}})
	ok(h.t, err)
	if len(out.Services) != 1 {
		h.t.Fatalf("describe service %s: %+v", name, out.Failures)
	}
	return out.Services[0]
}

func remaining(ci types.ContainerInstance, name string) types.Resource {
	for _, r := range ci.RemainingResources {
		if aws.ToString(r.Name) == name {
			return r
		}
	}
	return types.Resource{}
}

func errorsAs(err error, target any) bool { return errors.As(err, target) }

func contextWithCancel() (context.Context, context.CancelFunc) {
	return context.WithCancel(context.Background())
}
