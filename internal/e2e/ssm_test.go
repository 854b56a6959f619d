package e2e

import (
	"bytes"
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	awsconfig "github.com/aws/aws-sdk-go-v2/config"
	"github.com/aws/aws-sdk-go-v2/service/ecs"
	ecstypes "github.com/aws/aws-sdk-go-v2/service/ecs/types"
	awsssm "github.com/aws/aws-sdk-go-v2/service/ssm"

	"github.com/ecsd-project/ecsd/agent/store"
	"github.com/ecsd-project/ecsd/controlplane"
	"github.com/ecsd-project/ecsd/controlplane/auth"
	"github.com/ecsd-project/ecsd/controlplane/ssmserver"
	"github.com/ecsd-project/ecsd/internal/testenv"
	"github.com/ecsd-project/ecsd/runtime"
	"github.com/ecsd-project/ecsd/ssm"
)

// newRotatingWorld is newWorld, except that ecs-local's SSM side asks a
// managed instance to rotate its key once the key is rotateAfter old
// (ecs-local itself does not ask). The SSM side shares ecs-local's
// keyring, so the credentials it issues are the ones the ECS API accepts.
func newRotatingWorld(t *testing.T, rotateAfter time.Duration) *world {
	t.Helper()
	return newRotatingWorldTTL(t, rotateAfter, 0)
}

// newRotatingWorldTTL is newRotatingWorld whose SSM side issues role
// credentials that live for ttl (0: ssmserver's default, an hour), so
// that a running ecsd refreshes them (at half their life) within a test.
func newRotatingWorldTTL(t *testing.T, rotateAfter, ttl time.Duration) *world {
	t.Helper()
	w := &world{t: t, ctd: testenv.Containerd(t), agentDir: t.TempDir(), ssmRoot: t.TempDir()}
	reg := testenv.Registry(t, testenv.RegistryOptions{})
	w.refs = reg.Push(t, testenv.Images(t))

	cpDir := t.TempDir()
	keyring := auth.NewKeyring(time.Now)
	local, err := controlplane.NewLocal(controlplane.Config{DataDir: cpDir, Region: region, Log: testLog(t).With("side", "ecs-local"),
		ReconcileInterval: 500 * time.Millisecond, Keyring: keyring})
	if err != nil {
		t.Fatal(err)
	}
	w.local = local
	rotating, err := ssmserver.New(ssmserver.Config{
		DataDir: t.TempDir(), Region: region, AccountID: "000000000000", Now: time.Now,
		Log:    testLog(t).With("side", "ecs-local-ssm"),
		Verify: func(r *http.Request, body []byte) (string, error) { return keyring.Verify(r, body, "ssm") },
		Issue: func(principal string, ttl time.Duration) (string, string, string, time.Time, error) {
			c, err := local.IssueCredentials(principal, ttl)
			return c.AccessKeyID, c.SecretAccessKey, c.SessionToken, c.Expires, err
		},
		RotateKeyAfter:     rotateAfter,
		RoleCredentialsTTL: ttl,
	})
	if err != nil {
		t.Fatal(err)
	}
	w.srv = httptest.NewServer(http.HandlerFunc(func(rw http.ResponseWriter, r *http.Request) {
		if strings.HasPrefix(r.Header.Get("X-Amz-Target"), "AmazonSSM.") {
			rotating.ServeHTTP(rw, r)
			return
		}
		local.ServeHTTP(rw, r)
	}))
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { local.Run(ctx); close(done) }()
	t.Cleanup(func() {
		cancel()
		<-done
		w.srv.Close()
		rotating.Close()
		local.Close()
	})

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

// TestSSMIdentityLifecycle is issue 6 end to end: register with an
// activation, get credentials and run ecsd on them, rotate the key when SSM
// asks, restart ecsd and keep the same managed instance and container
// instance, then `ecsd deregister` (the built binary): refused while ecsd
// runs and while tasks run without --force, then ECS and SSM forget the
// host, its containers are removed and its local identity is gone.
func TestSSMIdentityLifecycle(t *testing.T) {
	const rotateAfter = 3 * time.Second
	w := newRotatingWorld(t, rotateAfter)
	const cluster = "ssm"
	ctx := context.Background()
	w.registerHost(cluster)
	reg0, err := ssm.LoadRegistration(w.ssmRoot)
	if err != nil {
		t.Fatal(err)
	}
	registered := time.Now()
	w.startEcsd(cluster)
	firstARN := w.arn

	if !w.listsInstance(reg0.InstanceID) {
		t.Fatalf("DescribeInstanceInformation does not list %s", reg0.InstanceID)
	}

	// Let the key age past rotateAfter; the restarted ecsd's first
	// credentials request is answered with UpdateKeyPair.
	time.Sleep(time.Until(registered.Add(rotateAfter + time.Second)))
	w.stopEcsd()
	w.startEcsd(cluster)
	if w.arn != firstARN {
		t.Errorf("container instance changed across restart: %s → %s", firstARN, w.arn)
	}
	// The provider rotates right after it hands out the credentials, so
	// the vault may lag ecsd's start a little.
	deadline := time.Now().Add(20 * time.Second)
	for {
		reg1, err := ssm.LoadRegistration(w.ssmRoot)
		if err != nil {
			t.Fatal(err)
		}
		if reg1.InstanceID != reg0.InstanceID {
			t.Fatalf("managed instance changed across restart: %s → %s", reg0.InstanceID, reg1.InstanceID)
		}
		if !reg1.Key.Equal(reg0.Key) {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("the RSA key was not rotated although SSM asked")
		}
		time.Sleep(100 * time.Millisecond)
	}
	// ecsd is back on its ACS session. (The credentials got with the
	// rotated key are used by the deregister below.)
	for deadline := time.Now().Add(30 * time.Second); ; time.Sleep(200 * time.Millisecond) {
		ci := w.containerInstance(cluster, firstARN)
		if aws.ToString(ci.Status) == "ACTIVE" && ci.AgentConnected {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("container instance after restart: status %s, connected %v", aws.ToString(ci.Status), ci.AgentConnected)
		}
	}

	// A task for deregister to stop.
	_, err = w.ecs.RegisterTaskDefinition(ctx, &ecs.RegisterTaskDefinitionInput{
		Family: aws.String("sleeper"),
		ContainerDefinitions: []ecstypes.ContainerDefinition{{
			Name: aws.String("main"), Image: aws.String(w.refs["shell"]), Memory: aws.Int32(32),
			Command: []string{"sh", "-c", "trap 'exit 0' TERM; sleep 3600 & wait"},
		}},
	})
	if err != nil {
		t.Fatal(err)
	}
	taskARN := w.runTask(cluster, "sleeper")
	w.awaitTask(cluster, taskARN, "RUNNING")

	ecsd := buildEcsd(t)
	env := w.deregisterEnv(cluster)
	if code, out := runCmd(t, env, ecsd, "deregister", "--force"); code != 5 || !strings.Contains(out, "stop ecsd first") {
		t.Errorf("deregister while ecsd runs: exit %d, want 5 and 'stop ecsd first':\n%s", code, out)
	}
	w.stopEcsd()
	if code, out := runCmd(t, env, ecsd, "deregister"); code != 1 || !strings.Contains(out, "containers are running") {
		t.Errorf("deregister with a running task, without --force: exit %d, want 1 and 'containers are running':\n%s", code, out)
	}
	if _, err := ssm.LoadRegistration(w.ssmRoot); err != nil {
		t.Fatalf("a refused deregister changed the registration: %v", err)
	}
	if code, out := runCmd(t, env, ecsd, "deregister", "--force"); code != 0 {
		t.Fatalf("deregister --force: exit %d:\n%s", code, out)
	}

	if s := aws.ToString(w.containerInstance(cluster, firstARN).Status); s != "INACTIVE" {
		t.Errorf("container instance is %s after deregister, want INACTIVE", s)
	}
	if s := aws.ToString(w.describeTask(cluster, taskARN).LastStatus); s != "STOPPED" {
		t.Errorf("task is %s after deregister --force, want STOPPED", s)
	}
	if w.listsInstance(reg0.InstanceID) {
		t.Errorf("DescribeInstanceInformation still lists %s after deregister", reg0.InstanceID)
	}
	if _, err := ssm.LoadRegistration(w.ssmRoot); !errors.Is(err, ssm.ErrNotRegistered) {
		t.Errorf("local SSM registration after deregister: %v, want %v", err, ssm.ErrNotRegistered)
	}
	for _, f := range []string{store.FileName, store.IdentityFile} {
		if _, err := os.Stat(filepath.Join(w.agentDir, f)); !errors.Is(err, os.ErrNotExist) {
			t.Errorf("%s after deregister: %v", f, err)
		}
	}
	rt, err := runtime.New(ctx, runtime.Config{Address: w.ctd.Address, StateDir: t.TempDir()})
	if err != nil {
		t.Fatal(err)
	}
	defer rt.Close()
	if cs, err := rt.List(ctx); err != nil || len(cs) != 0 {
		t.Errorf("ecsd's containers after deregister: %+v %v", cs, err)
	}
}

// listsInstance says whether DescribeInstanceInformation lists the managed
// instance id.
func (w *world) listsInstance(id string) bool {
	w.t.Helper()
	p := awsssm.NewDescribeInstanceInformationPaginator(w.ssm, &awsssm.DescribeInstanceInformationInput{})
	for p.HasMorePages() {
		out, err := p.NextPage(context.Background())
		if err != nil {
			w.t.Fatalf("DescribeInstanceInformation: %v", err)
		}
		for _, info := range out.InstanceInformationList {
			if aws.ToString(info.InstanceId) == id {
				return true
			}
		}
	}
	return false
}

func (w *world) containerInstance(cluster, arn string) ecstypes.ContainerInstance {
	w.t.Helper()
	out, err := w.ecs.DescribeContainerInstances(context.Background(), &ecs.DescribeContainerInstancesInput{
		Cluster: aws.String(cluster), ContainerInstances: []string{arn}})
	if err != nil || len(out.ContainerInstances) != 1 {
		w.t.Fatalf("DescribeContainerInstances %s: %v %+v", arn, err, out)
	}
	return out.ContainerInstances[0]
}

// deregisterEnv is the configuration `ecsd deregister` needs to find what
// startEcsd built, and nothing from the test's own environment but PATH.
func (w *world) deregisterEnv(cluster string) []string {
	return []string{
		"PATH=" + os.Getenv("PATH"), "HOME=" + w.t.TempDir(), "AWS_EC2_METADATA_DISABLED=true",
		"ECS_CLUSTER=" + cluster, "AWS_DEFAULT_REGION=" + region,
		"ECS_BACKEND_HOST=" + w.srv.URL, "ECSD_SSM_ENDPOINT=" + w.srv.URL, "ECSD_SSM_STATE_ROOT=" + w.ssmRoot,
		"ECS_DATADIR=" + w.agentDir, "ECSD_CONTAINERD_ADDRESS=" + w.ctd.Address,
		"ECSD_CNI_BRIDGE=ecsde2e0", "ECSD_CNI_SUBNET=10.199.202.0/24", "ECS_CONTAINER_STOP_TIMEOUT=5s",
	}
}

// buildEcsd builds cmd/ecsd into a temporary directory.
func buildEcsd(t *testing.T) string {
	t.Helper()
	gomod, err := exec.Command("go", "env", "GOMOD").Output()
	if err != nil {
		t.Fatalf("go env GOMOD: %v", err)
	}
	bin := filepath.Join(t.TempDir(), "ecsd")
	cmd := exec.Command("go", "build", "-o", bin, "./cmd/ecsd")
	cmd.Dir = filepath.Dir(strings.TrimSpace(string(gomod)))
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("go build ./cmd/ecsd: %v\n%s", err, out)
	}
	return bin
}

// runCmd runs bin with args in env and returns its exit code and output.
func runCmd(t *testing.T, env []string, bin string, args ...string) (int, string) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, bin, args...)
	cmd.Env = env
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	err := cmd.Run()
	t.Logf("ecsd %s:\n%s", strings.Join(args, " "), out.String())
	var ee *exec.ExitError
	switch {
	case err == nil:
		return 0, out.String()
	case errors.As(err, &ee):
		return ee.ExitCode(), out.String()
	}
	t.Fatalf("ecsd %s: %v", strings.Join(args, " "), err)
	return -1, ""
}
