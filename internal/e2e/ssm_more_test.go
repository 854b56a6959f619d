package e2e

import (
	"context"
	"errors"
	"os"
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
	"github.com/ecsd-project/ecsd/runtime"
	"github.com/ecsd-project/ecsd/runtime/network"
	"github.com/ecsd-project/ecsd/ssm"
)

// The primary host's network, as deregisterEnv names it.
const (
	sharingBridge = "ecsde2e0"
	sharingSubnet = "10.199.202.0/24"
)

// startSharingEcsd is startEcsd whose SSM provider also keeps the shared
// credentials file shareFile up to date under profile, as `ecsd run` does
// with ECSD_SHARED_CREDENTIALS_FILE and ECSD_SHARED_CREDENTIALS_PROFILE. It
// returns the provider, to compare the file with what ecsd uses.
func startSharingEcsd(w *world, cluster, shareFile, profile string) *ssm.Provider {
	w.t.Helper()
	w.tuneProvider = func(c *ssm.ProviderConfig) { c.SharedCredentialsFile, c.Profile = shareFile, profile }
	w.startEcsd(cluster)
	return w.provider
}

// registerSleeper registers a task definition whose one container sleeps
// until it is told to stop.
func registerSleeper(t *testing.T, w *world, family string) {
	t.Helper()
	_, err := w.ecs.RegisterTaskDefinition(context.Background(), &ecs.RegisterTaskDefinitionInput{
		Family: aws.String(family),
		ContainerDefinitions: []ecstypes.ContainerDefinition{{
			Name: aws.String("main"), Image: aws.String(w.refs["shell"]), Memory: aws.Int32(32),
			Command: []string{"sh", "-c", "trap 'exit 0' TERM; sleep 3600 & wait"},
		}},
	})
	if err != nil {
		t.Fatal(err)
	}
}

// lastPing is the managed instance's LastPingDateTime, which ecs-local's
// SSM side sets on every RequestManagedInstanceRoleToken.
func lastPing(t *testing.T, w *world, id string) time.Time {
	t.Helper()
	out, err := w.ssm.DescribeInstanceInformation(context.Background(), &awsssm.DescribeInstanceInformationInput{})
	if err != nil {
		t.Fatalf("DescribeInstanceInformation: %v", err)
	}
	for _, info := range out.InstanceInformationList {
		if aws.ToString(info.InstanceId) == id {
			return aws.ToTime(info.LastPingDateTime)
		}
	}
	t.Fatalf("DescribeInstanceInformation does not list %s", id)
	return time.Time{}
}

// TestSSMDeregisterKeepTasks: `ecsd deregister --keep-tasks` with a task
// running: ECS and SSM forget the host and its local identity goes (the
// SSM registration, the container instance identity), but the container
// keeps running in containerd and the task records stay in the store.
func TestSSMDeregisterKeepTasks(t *testing.T) {
	w := newWorld(t)
	const cluster = "keep"
	ctx := context.Background()
	w.registerHost(cluster)
	reg, err := ssm.LoadRegistration(w.ssmRoot)
	if err != nil {
		t.Fatal(err)
	}
	w.startEcsd(cluster)
	arn := w.arn
	registerSleeper(t, w, "sleeper")
	taskARN := w.runTask(cluster, "sleeper")
	w.awaitTask(cluster, taskARN, "RUNNING")

	// The container is ours to clean up from here on, whatever happens.
	rt, err := runtime.New(ctx, runtime.Config{Address: w.ctd.Address, StateDir: t.TempDir()})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		cctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		cs, _ := rt.List(cctx)
		for _, c := range cs {
			rt.Stop(cctx, c.ID, time.Second)
			if err := rt.Remove(cctx, c.ID); err != nil {
				t.Errorf("remove container %s: %v", c.ID, err)
			}
		}
		netMgr, err := network.New(network.Config{BridgeName: sharingBridge, Subnet: sharingSubnet,
			StateDir: filepath.Join(w.agentDir, "cni"), NetNSDir: w.ctd.NetNSDir, DynamicPortRange: [2]int{42000, 42100}})
		if err == nil {
			err = netMgr.Cleanup(cctx, func(string) bool { return false })
		}
		if err != nil {
			t.Errorf("network clean-up: %v", err)
		}
		rt.Close()
	})
	before, err := rt.List(ctx)
	if err != nil || runningContainers(before) != 1 {
		t.Fatalf("containers before deregister: %+v %v", before, err)
	}

	ecsd := buildEcsd(t)
	env := w.deregisterEnv(cluster)
	w.stopEcsd()
	code, out := runCmd(t, env, ecsd, "deregister", "--keep-tasks")
	if code != 0 {
		t.Fatalf("deregister --keep-tasks: exit %d:\n%s", code, out)
	}
	if strings.Contains(out, "stopped and removed") {
		t.Errorf("deregister --keep-tasks touched containers:\n%s", out)
	}

	if s := aws.ToString(w.containerInstance(cluster, arn).Status); s != "INACTIVE" {
		t.Errorf("container instance is %s after deregister, want INACTIVE", s)
	}
	if w.listsInstance(reg.InstanceID) {
		t.Errorf("DescribeInstanceInformation still lists %s after deregister", reg.InstanceID)
	}
	if _, err := ssm.LoadRegistration(w.ssmRoot); !errors.Is(err, ssm.ErrNotRegistered) {
		t.Errorf("local SSM registration after deregister: %v, want %v", err, ssm.ErrNotRegistered)
	}
	if _, err := os.Stat(filepath.Join(w.agentDir, store.IdentityFile)); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("%s after deregister: %v", store.IdentityFile, err)
	}
	st, err := store.Open(filepath.Join(w.agentDir, store.FileName), store.Options{})
	if err != nil {
		t.Fatalf("the state store is gone or unreadable after --keep-tasks: %v", err)
	}
	_, ok, err := st.Identity()
	st.Close()
	if err != nil || ok {
		t.Errorf("container instance identity after deregister: present %v, %v", ok, err)
	}

	after, err := rt.List(ctx)
	if err != nil || runningContainers(after) != 1 || after[0].ID != before[0].ID {
		t.Errorf("containers after deregister --keep-tasks: %+v %v; want %s still running", after, err, before[0].ID)
	}
}

func runningContainers(cs []runtime.ContainerInfo) int {
	n := 0
	for _, c := range cs {
		if c.Status == runtime.StatusRunning {
			n++
		}
	}
	return n
}

// TestSSMRotationWhileRunning: ecs-local's SSM side issues 20-second role
// credentials and asks for a new key once the key is 3 seconds old, so
// the running ecsd refreshes every ~10 s and rotates its key on a refresh,
// without a restart. Once the first credentials have expired and SSM has
// seen a request signed with the new key, ecsd still works: a RunTask
// reaches RUNNING. All along ecsd shares its credentials in a shared
// credentials file (the configured profile, 0600, the operator's own
// profile kept) that holds the credentials ecsd is using and that ECS
// accepts; `ecsd deregister` takes the profile out again.
func TestSSMRotationWhileRunning(t *testing.T) {
	const (
		rotateAfter = 3 * time.Second
		ttl         = 20 * time.Second
		profile     = "ecs-anywhere"
	)
	w := newRotatingWorldTTL(t, rotateAfter, ttl)
	const cluster = "rotate"
	ctx := context.Background()
	w.registerHost(cluster)
	reg0, err := ssm.LoadRegistration(w.ssmRoot)
	if err != nil {
		t.Fatal(err)
	}
	shareFile := filepath.Join(t.TempDir(), ".aws", "credentials")
	const operator = "[operator]\naws_access_key_id = AKIAOPERATOR\naws_secret_access_key = operator-secret\n"
	if err := os.MkdirAll(filepath.Dir(shareFile), 0o700); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(shareFile, []byte(operator), 0o644); err != nil {
		t.Fatal(err)
	}

	started := time.Now()
	prov := startSharingEcsd(w, cluster, shareFile, profile)
	first, err := prov.Retrieve(ctx)
	if err != nil {
		t.Fatal(err)
	}
	checkSharedFile(t, w, prov, shareFile, profile, operator)

	// The key rotates on a refresh while ecsd runs.
	var rotatedAt time.Time
	for deadline := time.Now().Add(2 * ttl); ; time.Sleep(200 * time.Millisecond) {
		reg, err := ssm.LoadRegistration(w.ssmRoot)
		if err != nil {
			t.Fatal(err)
		}
		if reg.InstanceID != reg0.InstanceID {
			t.Fatalf("managed instance changed: %s → %s", reg0.InstanceID, reg.InstanceID)
		}
		if !reg.Key.Equal(reg0.Key) {
			rotatedAt = time.Now()
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("the running ecsd did not rotate its key although SSM asked")
		}
	}
	t.Logf("key rotated %s after ecsd started", rotatedAt.Sub(started).Round(time.Second))

	// A refresh signed with the new key (SSM accepts no other now), and the
	// first credentials expired: ECS rejects them from here on.
	for deadline := time.Now().Add(2 * ttl); ; time.Sleep(200 * time.Millisecond) {
		if lastPing(t, w, reg0.InstanceID).After(rotatedAt) && time.Now().After(first.Expires.Add(ttl/4+2*time.Second)) {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("no credentials refresh after the key was rotated")
		}
	}
	now, err := prov.Retrieve(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if now.AccessKeyID == first.AccessKeyID {
		t.Fatal("ecsd still holds its first credentials")
	}
	checkSharedFile(t, w, prov, shareFile, profile, operator)

	registerSleeper(t, w, "after-rotation")
	taskARN := w.runTask(cluster, "after-rotation")
	w.awaitTask(cluster, taskARN, "RUNNING")
	if ci := w.containerInstance(cluster, w.arn); !ci.AgentConnected {
		t.Error("ecsd is not connected to ACS after the rotation")
	}

	// Deregister takes our profile out of the file and nothing else.
	w.stopEcsd()
	ecsd := buildEcsd(t)
	env := append(w.deregisterEnv(cluster), "ECSD_SHARED_CREDENTIALS_FILE="+shareFile, "ECSD_SHARED_CREDENTIALS_PROFILE="+profile)
	code, out := runCmd(t, env, ecsd, "deregister", "--force")
	if code != 0 {
		t.Fatalf("deregister --force: exit %d:\n%s", code, out)
	}
	if !strings.Contains(out, "removed the shared credentials of profile ["+profile+"] in "+shareFile) {
		t.Errorf("deregister does not say it removed the shared credentials:\n%s", out)
	}
	b, err := os.ReadFile(shareFile)
	if err != nil || string(b) != operator {
		t.Errorf("shared file after deregister: %v\n%s\nwant:\n%s", err, b, operator)
	}
	if info, err := os.Stat(shareFile); err != nil || info.Mode() != 0o600 {
		t.Errorf("shared file after deregister: %v %v, want mode 0600", info, err)
	}
	if s := aws.ToString(w.describeTask(cluster, taskARN).LastStatus); s != "STOPPED" {
		t.Errorf("task is %s after deregister --force, want STOPPED", s)
	}
}

// checkSharedFile checks the shared credentials file: mode 0600, the
// operator's profile first and intact, and under profile the credentials
// the provider hands ecsd now (waiting out a refresh that is writing
// them), which ECS accepts.
func checkSharedFile(t *testing.T, w *world, prov *ssm.Provider, file, profile, operator string) {
	t.Helper()
	ctx := context.Background()
	var shared aws.Credentials
	for deadline := time.Now().Add(10 * time.Second); ; time.Sleep(100 * time.Millisecond) {
		want, err := prov.Retrieve(ctx)
		if err != nil {
			t.Fatal(err)
		}
		b, err := os.ReadFile(file)
		if err != nil {
			t.Fatal(err)
		}
		if !strings.HasPrefix(string(b), operator) {
			t.Fatalf("the operator's profile was not kept:\n%s", b)
		}
		ac, err := awsconfig.LoadDefaultConfig(ctx, awsconfig.WithRegion(region),
			awsconfig.WithSharedCredentialsFiles([]string{file}), awsconfig.WithSharedConfigFiles([]string{}),
			awsconfig.WithSharedConfigProfile(profile))
		if err != nil {
			t.Fatal(err)
		}
		shared, err = ac.Credentials.Retrieve(ctx)
		if err == nil && shared.AccessKeyID == want.AccessKeyID && shared.SecretAccessKey == want.SecretAccessKey &&
			shared.SessionToken == want.SessionToken {
			client := ecs.NewFromConfig(ac, func(o *ecs.Options) { o.BaseEndpoint = aws.String(w.srv.URL) })
			if _, err := client.ListClusters(ctx, &ecs.ListClustersInput{}); err != nil {
				t.Fatalf("ECS refuses the shared credentials: %v", err)
			}
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("the shared file does not hold ecsd's current credentials (%s): %v", want.AccessKeyID, err)
		}
	}
	if info, err := os.Stat(file); err != nil || info.Mode() != 0o600 {
		t.Errorf("shared file: %v %v, want mode 0600", info, err)
	}
}
