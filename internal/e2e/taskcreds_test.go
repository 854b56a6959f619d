package e2e

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ecs"
	ecstypes "github.com/aws/aws-sdk-go-v2/service/ecs/types"

	"github.com/ecsd-project/ecsd/agent"
	"github.com/ecsd-project/ecsd/credentials"
	"github.com/ecsd-project/ecsd/internal/testenv"
	"github.com/ecsd-project/ecsd/runtime/logs"
	"github.com/ecsd-project/ecsd/runtime/network"
	"github.com/ecsd-project/ecsd/wire/tmds"
)

// The redirect of 169.254.170.2:80 is host-wide: only this test installs
// it, under its own chain, and removes it when ecsd stops (and again in its
// clean-up, should ecsd not have). The introspection port is the test's own.
const (
	credsChain         = "ECSD-TE-E2E"
	introspectionAddr  = "127.0.0.1:51778"
	credsTestCluster   = "taskcreds"
	credsTestRoleA     = "arn:aws:iam::123456789012:role/task-a"
	credsTestRoleB     = "arn:aws:iam::123456789012:role/task-b"
	credsTestContainer = "app"
)

// TestTaskRoleCredentials: a task with a taskRoleArn reads its role's
// credentials (the ones ecs-local issued for it) and its task metadata
// through 169.254.170.2, as an AWS SDK in the container would; a second
// task gets its own, different credentials and is refused the first
// task's; a host-network task gets its own through the OUTPUT redirect;
// the instance advertises task-iam-role; introspection answers.
func TestTaskRoleCredentials(t *testing.T) {
	testenv.HostLock(t, "route_localnet")
	stateFile := filepath.Join(t.TempDir(), "route_localnet")
	rcfg := network.RedirectConfig{Chain: credsChain, StateFile: stateFile, HostNetwork: true}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		if err := network.RemoveRedirect(ctx, rcfg); err != nil {
			t.Errorf("remove redirect: %v", err)
		}
		if out, _ := exec.Command("iptables-save").Output(); bytes.Contains(out, []byte(credsChain)) {
			t.Errorf("iptables rules of %s left", credsChain)
		}
	})
	store := credentials.NewStore()
	w := newWorld(t, func(w *world) {
		w.tuneAgent = func(c *agent.Config) {
			c.Creds = store
			c.Register.TaskIAMRole, c.Register.TaskIAMRoleNetworkHost = true, true
			redirect := rcfg
			c.TaskEndpoints = agent.TaskEndpoints{Listen: "127.0.0.1:0", IntrospectionListen: introspectionAddr,
				TaskIAMRole: true, Redirect: &redirect}
		}
	})
	w.registerHost(credsTestCluster)
	w.startEcsd(credsTestCluster)
	ctx := context.Background()

	ci, err := w.ecs.DescribeContainerInstances(ctx, &ecs.DescribeContainerInstancesInput{
		Cluster: aws.String(credsTestCluster), ContainerInstances: []string{w.arn}})
	if err != nil || len(ci.ContainerInstances) != 1 {
		t.Fatalf("DescribeContainerInstances: %v %+v", err, ci)
	}
	for _, a := range []string{"com.amazonaws.ecs.capability.task-iam-role", "com.amazonaws.ecs.capability.task-iam-role-network-host"} {
		if !hasAttribute(ci.ContainerInstances[0].Attributes, a) {
			t.Errorf("instance does not advertise %s", a)
		}
	}

	// Task A: its credentials, then its task metadata.
	arnA := w.runCredsTask("creds-a", credsTestRoleA, ecstypes.NetworkModeBridge, nil,
		`wget -qO- http://169.254.170.2$AWS_CONTAINER_CREDENTIALS_RELATIVE_URI; echo; wget -qO- $ECS_CONTAINER_METADATA_URI_V4/task; echo; wget -qO- $ECS_CONTAINER_METADATA_URI_V4/stats; echo`)
	linesA := w.containerLog(arnA, credsTestContainer)
	if len(linesA) < 3 {
		t.Fatalf("task A printed %q", linesA)
	}
	issuedA, ok := store.ForTask(arnA, credentials.RoleTask)
	if !ok {
		t.Fatal("ecsd holds no task role credentials for task A")
	}
	gotA := decodeCreds(t, linesA[0])
	wantA := tmds.Credentials{RoleArn: credsTestRoleA, AccessKeyID: issuedA.AccessKeyID, SecretAccessKey: issuedA.SecretAccessKey,
		Token: issuedA.SessionToken, Expiration: issuedA.Expiration}
	if gotA != wantA || !strings.HasPrefix(gotA.AccessKeyID, "ASIA") || gotA.SecretAccessKey == "" || gotA.Token == "" {
		t.Errorf("task A read credentials %+v, want those issued: key %s, role %s", redactedCreds(gotA), issuedA.AccessKeyID, credsTestRoleA)
	}
	// They are live credentials: ecs-local accepts calls signed with them.
	roleECS := ecs.New(ecs.Options{Region: region, BaseEndpoint: aws.String(w.srv.URL),
		Credentials: aws.CredentialsProviderFunc(func(context.Context) (aws.Credentials, error) {
			return aws.Credentials{AccessKeyID: gotA.AccessKeyID, SecretAccessKey: gotA.SecretAccessKey, SessionToken: gotA.Token}, nil
		})})
	if _, err := roleECS.ListClusters(ctx, &ecs.ListClustersInput{}); err != nil {
		t.Errorf("ecs-local refuses task A's credentials: %v", err)
	}
	var meta tmds.Task
	if err := json.Unmarshal([]byte(linesA[1]), &meta); err != nil {
		t.Fatalf("task metadata %q: %v", linesA[1], err)
	}
	// The container asks at once: ecsd may not have seen its start yet, so
	// the known status is CREATED or RUNNING.
	known := meta.KnownStatus == "RUNNING" || meta.KnownStatus == "CREATED"
	if meta.TaskARN != arnA || meta.Family != "creds-a" || !known || len(meta.Containers) != 1 ||
		meta.Containers[0].Name != credsTestContainer || meta.Containers[0].Type != "NORMAL" ||
		len(meta.Containers[0].Networks) != 1 || meta.Containers[0].Networks[0].NetworkMode != "bridge" {
		t.Errorf("task metadata %s", linesA[1])
	}

	var stats tmds.Stats
	if err := json.Unmarshal([]byte(linesA[2]), &stats); err != nil || stats.CPUStats.CPUUsage.TotalUsage == 0 ||
		stats.MemoryStats.Usage == 0 || stats.Networks["eth0"].RxBytes == 0 || stats.NetworkRateStats == nil {
		t.Errorf("container stats %s (%v)", linesA[2], err)
	}

	// Task B: other credentials; task A's id is refused.
	arnB := w.runCredsTask("creds-b", credsTestRoleB, ecstypes.NetworkModeBridge, map[string]string{"OTHER_URI": "/v2/credentials/" + issuedA.ID},
		`wget -qO- http://169.254.170.2$AWS_CONTAINER_CREDENTIALS_RELATIVE_URI; echo; wget -qO- http://169.254.170.2$OTHER_URI; echo "other: $?"`)
	linesB := w.containerLog(arnB, credsTestContainer)
	if len(linesB) < 2 {
		t.Fatalf("task B printed %q", linesB)
	}
	issuedB, ok := store.ForTask(arnB, credentials.RoleTask)
	if !ok {
		t.Fatal("ecsd holds no task role credentials for task B")
	}
	gotB := decodeCreds(t, linesB[0])
	if gotB.AccessKeyID != issuedB.AccessKeyID || gotB.RoleArn != credsTestRoleB || gotB.AccessKeyID == gotA.AccessKeyID || issuedB.ID == issuedA.ID {
		t.Errorf("task B read key %s role %s; issued %s; task A's key %s", gotB.AccessKeyID, gotB.RoleArn, issuedB.AccessKeyID, gotA.AccessKeyID)
	}
	rest := strings.Join(linesB[1:], "\n")
	if strings.Contains(rest, issuedA.AccessKeyID) || !strings.Contains(rest, "other: 1") || !strings.Contains(rest, "400") {
		t.Errorf("task B asking for task A's credentials got:\n%s", rest)
	}

	// Task C, in host network mode, goes through the OUTPUT redirect.
	arnC := w.runCredsTask("creds-c", credsTestRoleA, ecstypes.NetworkModeHost, nil,
		`wget -qO- http://169.254.170.2$AWS_CONTAINER_CREDENTIALS_RELATIVE_URI; echo; wget -qO- $ECS_CONTAINER_METADATA_URI_V4; echo`)
	linesC := w.containerLog(arnC, credsTestContainer)
	issuedC, ok := store.ForTask(arnC, credentials.RoleTask)
	if len(linesC) < 2 || !ok {
		t.Fatalf("host-network task printed %q (credentials held: %v)", linesC, ok)
	}
	if gotC := decodeCreds(t, linesC[0]); gotC.AccessKeyID != issuedC.AccessKeyID || gotC.AccessKeyID == gotA.AccessKeyID {
		t.Errorf("host-network task read key %s, issued %s", gotC.AccessKeyID, issuedC.AccessKeyID)
	}
	var ctr tmds.Container
	if err := json.Unmarshal([]byte(linesC[1]), &ctr); err != nil || ctr.Name != credsTestContainer ||
		len(ctr.Networks) != 1 || ctr.Networks[0].NetworkMode != "host" {
		t.Errorf("host-network container metadata %s (%v)", linesC[1], err)
	}

	// Introspection.
	var md tmds.AgentMetadata
	if err := json.Unmarshal([]byte(httpGet(t, "http://"+introspectionAddr+"/v1/metadata")), &md); err != nil {
		t.Fatal(err)
	}
	if md.Cluster != credsTestCluster || md.ContainerInstanceArn == nil || *md.ContainerInstanceArn != w.arn {
		t.Errorf("introspection metadata %+v", md)
	}
	var it tmds.IntrospectionTask
	if err := json.Unmarshal([]byte(httpGet(t, "http://"+introspectionAddr+"/v1/tasks?taskarn="+arnA)), &it); err != nil {
		t.Fatal(err)
	}
	if it.Arn != arnA || it.Family != "creds-a" || len(it.Containers) != 1 {
		t.Errorf("introspection task %+v", it)
	}

	// Stopping ecsd removes the redirect.
	w.stopEcsd()
	if out, _ := exec.Command("iptables-save").Output(); bytes.Contains(out, []byte(credsChain)) {
		t.Errorf("iptables rules of %s left after ecsd stopped", credsChain)
	}
	if resp, err := http.Get("http://" + introspectionAddr + "/v1/metadata"); err == nil {
		resp.Body.Close()
		t.Error("introspection still answers after ecsd stopped")
	}
}

// runCredsTask registers a task definition in network mode mode with a
// task role and one container running script, runs it, and waits for it to stop
// with exit code 0.
func (w *world) runCredsTask(family, role string, mode ecstypes.NetworkMode, env map[string]string, script string) string {
	t := w.t
	t.Helper()
	var kv []ecstypes.KeyValuePair
	for k, v := range env {
		kv = append(kv, ecstypes.KeyValuePair{Name: aws.String(k), Value: aws.String(v)})
	}
	_, err := w.ecs.RegisterTaskDefinition(context.Background(), &ecs.RegisterTaskDefinitionInput{
		Family: aws.String(family), TaskRoleArn: aws.String(role), NetworkMode: mode,
		ContainerDefinitions: []ecstypes.ContainerDefinition{{
			Name: aws.String(credsTestContainer), Image: aws.String(w.refs["shell"]), Memory: aws.Int32(32), Essential: aws.Bool(true),
			Command: []string{"sh", "-c", script}, Environment: kv,
			LogConfiguration: &ecstypes.LogConfiguration{LogDriver: ecstypes.LogDriverJsonFile},
		}},
	})
	if err != nil {
		t.Fatal(err)
	}
	arn := w.runTask(credsTestCluster, family)
	tk := w.awaitTask(credsTestCluster, arn, "STOPPED")
	if code := tk.Containers[0].ExitCode; code == nil || *code != 0 {
		t.Errorf("task %s exited with %v: %s", family, code, strings.Join(w.containerLog(arn, credsTestContainer), "\n"))
	}
	return arn
}

// containerLog is the lines of a container's json-file log, as `ecsd
// logs` prints them.
func (w *world) containerLog(arn, container string) []string {
	t := w.t
	t.Helper()
	path := logs.JSONFilePath(logs.ContainerDir(w.agentDir, logs.TaskID(arn), container), container)
	var buf bytes.Buffer
	if err := logs.ReadJSONFile(context.Background(), path, false, &buf, &buf); err != nil {
		t.Fatalf("read log of %s: %v", container, err)
	}
	var lines []string
	sc := bufio.NewScanner(io.Reader(&buf))
	for sc.Scan() {
		if l := strings.TrimSpace(sc.Text()); l != "" {
			lines = append(lines, l)
		}
	}
	return lines
}

func decodeCreds(t *testing.T, line string) tmds.Credentials {
	t.Helper()
	var c tmds.Credentials
	dec := json.NewDecoder(strings.NewReader(line))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&c); err != nil {
		t.Fatalf("credentials response is not the expected JSON (%v)", err)
	}
	return c
}

// redactedCreds hides the secrets of c for a failure message.
func redactedCreds(c tmds.Credentials) tmds.Credentials {
	c.SecretAccessKey, c.Token = "[redacted]", "[redacted]"
	return c
}
