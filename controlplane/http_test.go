package controlplane

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	v4 "github.com/aws/aws-sdk-go-v2/aws/signer/v4"
	"github.com/aws/aws-sdk-go-v2/config"
	"github.com/aws/aws-sdk-go-v2/service/ecs"
	wire "github.com/ecsd-project/ecsd/wire/ecs"
)

func TestBadSignature(t *testing.T) {
	h := newHarness(t)
	_, err := h.client(testKey, "wrong secret", "").ListClusters(ctx, &ecs.ListClustersInput{})
	wantAPIError(t, err, "InvalidSignatureException")
	_, err = h.client("AKIANOTKNOWN00000000", testSecret, "").ListClusters(ctx, &ecs.ListClustersInput{})
	wantAPIError(t, err, "UnrecognizedClientException")
}

// signedPost sends a signed POST with the target and body and returns the
// status, error type header and decoded error body.
func signedPost(t *testing.T, url, target, body string) (int, string, wire.ErrorResponse) {
	t.Helper()
	req, err := http.NewRequest(http.MethodPost, url+"/", strings.NewReader(body))
	ok(t, err)
	req.Header.Set("Content-Type", wire.ContentType)
	req.Header.Set("X-Amz-Target", target)
	sum := sha256.Sum256([]byte(body))
	creds := aws.Credentials{AccessKeyID: testKey, SecretAccessKey: testSecret}
	ok(t, v4.NewSigner().SignHTTP(ctx, creds, req, hex.EncodeToString(sum[:]), "ecs", testRegion, time.Now()))
	resp, err := http.DefaultClient.Do(req)
	ok(t, err)
	defer resp.Body.Close()
	var er wire.ErrorResponse
	b, _ := io.ReadAll(resp.Body)
	json.Unmarshal(b, &er)
	return resp.StatusCode, resp.Header.Get("X-Amzn-Errortype"), er
}

func TestProtocolErrors(t *testing.T) {
	h := newHarness(t)
	for _, tc := range []struct {
		name, target, body string
		status             int
		want               string
	}{
		{"unknown operation", "AmazonEC2ContainerServiceV20141113.DescribeCapacityProviders", "{}", 400, "UnknownOperationException"},
		{"unknown prefix", "DynamoDB_20120810.ListTables", "{}", 400, "UnknownOperationException"},
		{"ssm without handler", "AmazonSSM.DescribeActivations", "{}", 400, "UnknownOperationException"},
		{"malformed json", "AmazonEC2ContainerServiceV20141113.ListClusters", `{"maxResults":`, 400, "SerializationException"},
		{"wrong type", "AmazonEC2ContainerServiceV20141113.ListClusters", `{"maxResults":"ten"}`, 400, "SerializationException"},
		{"cluster not found", "AmazonEC2ContainerServiceV20141113.ListTasks", `{"cluster":"nope"}`, 400, "ClusterNotFoundException"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			status, header, body := signedPost(t, h.srv.URL, tc.target, tc.body)
			if status != tc.status || header != tc.want || body.Type != tc.want {
				t.Errorf("got %d %q %+v, want %d %s", status, header, body, tc.status, tc.want)
			}
		})
	}
	// An empty body is an empty request.
	if status, _, body := signedPost(t, h.srv.URL, "AmazonEC2ContainerServiceV20141113.ListClusters", ""); status != 200 {
		t.Errorf("empty body: %d %+v", status, body)
	}
	resp, err := http.Post(h.srv.URL+"/", wire.ContentType, strings.NewReader("{}"))
	ok(t, err)
	resp.Body.Close()
	if resp.StatusCode != 400 || resp.Header.Get("X-Amzn-Errortype") != "UnknownOperationException" {
		t.Errorf("no target: %d %s", resp.StatusCode, resp.Header.Get("X-Amzn-Errortype"))
	}
	req, _ := http.NewRequest(http.MethodPost, h.srv.URL+"/", strings.NewReader("{}"))
	req.Header.Set("X-Amz-Target", "AmazonEC2ContainerServiceV20141113.ListClusters")
	resp, err = http.DefaultClient.Do(req)
	ok(t, err)
	resp.Body.Close()
	if resp.StatusCode != 403 || resp.Header.Get("X-Amzn-Errortype") != "MissingAuthenticationTokenException" {
		t.Errorf("unsigned: %d %s", resp.StatusCode, resp.Header.Get("X-Amzn-Errortype"))
	}
}

func TestRouting(t *testing.T) {
	var ssm, acsSeen []string
	h := newHarness(t, func(c *Config) {
		c.SSM = http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			ssm = append(ssm, r.Header.Get("X-Amz-Target"))
			io.WriteString(w, `{"ActivationList":[]}`)
		})
		c.ACS = http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			acsSeen = append(acsSeen, r.URL.RawQuery)
			w.WriteHeader(http.StatusSwitchingProtocols)
		})
	})
	req, _ := http.NewRequest(http.MethodPost, h.srv.URL+"/", bytes.NewReader([]byte("{}")))
	req.Header.Set("X-Amz-Target", "AmazonSSM.DescribeActivations")
	resp, err := http.DefaultClient.Do(req)
	ok(t, err)
	b, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if len(ssm) != 1 || ssm[0] != "AmazonSSM.DescribeActivations" || string(b) != `{"ActivationList":[]}` {
		t.Errorf("ssm: %v %s", ssm, b)
	}
	resp, err = http.Get(h.srv.URL + "/ws?clusterArn=c&seqNum=1")
	ok(t, err)
	resp.Body.Close()
	if len(acsSeen) != 1 || acsSeen[0] != "clusterArn=c&seqNum=1" {
		t.Errorf("acs: %v", acsSeen)
	}
	resp, err = http.Get(h.srv.URL + "/other")
	ok(t, err)
	resp.Body.Close()
	if resp.StatusCode != 404 {
		t.Errorf("other path: %d", resp.StatusCode)
	}
}

// The admin credentials work as the AWS CLI and SDKs read them.
func TestAdminCredentialsFile(t *testing.T) {
	h := newHarness(t)
	for _, f := range []string{"credentials", "config", "ecs-local.db"} {
		fi, err := os.Stat(filepath.Join(h.dir, f))
		ok(t, err)
		if fi.Mode().Perm() != 0o600 {
			t.Errorf("%s mode %v", f, fi.Mode())
		}
	}
	cfg, err := config.LoadDefaultConfig(ctx,
		config.WithSharedCredentialsFiles([]string{filepath.Join(h.dir, "credentials")}),
		config.WithSharedConfigFiles([]string{filepath.Join(h.dir, "config")}),
		config.WithSharedConfigProfile("default"),
		config.WithBaseEndpoint(h.srv.URL))
	ok(t, err)
	if cfg.Region != testRegion {
		t.Errorf("region %q", cfg.Region)
	}
	creds, err := cfg.Credentials.Retrieve(ctx)
	ok(t, err)
	if !strings.HasPrefix(creds.AccessKeyID, "AKIA") || len(creds.AccessKeyID) != 20 {
		t.Errorf("access key id %q", creds.AccessKeyID)
	}
	_, err = ecs.NewFromConfig(cfg).CreateCluster(ctx, &ecs.CreateClusterInput{ClusterName: aws.String("admin")})
	ok(t, err)
	if hint := UsageHint(h.dir, "http://127.0.0.1:8080"); !strings.Contains(hint, "AWS_SHARED_CREDENTIALS_FILE="+filepath.Join(h.dir, "credentials")) {
		t.Errorf("hint: %s", hint)
	}
}

func TestNewValidatesConfig(t *testing.T) {
	_, err := New(Config{AccountID: "12", Region: "nowhere"})
	if err == nil {
		t.Fatal("New accepted a bad config")
	}
	for _, want := range []string{"DataDir", "AccountID", "Region"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error does not mention %s: %v", want, err)
		}
	}
}

// Credentials issued for another part of ecs-local (the SSM side's managed
// instances) sign ECS calls, survive a restart, and name the instance.
func TestIssueCredentials(t *testing.T) {
	h := newHarness(t)
	principal := "arn:aws:sts::000000000000:assumed-role/ecsAnywhereRole/mi-0123456789abcdef0"
	c, err := h.cp.IssueCredentials(principal, time.Hour)
	ok(t, err)
	if !strings.HasPrefix(c.AccessKeyID, "ASIA") || c.SessionToken == "" || c.Expires.IsZero() {
		t.Errorf("issued: %+v", c)
	}
	h.restart()
	instance := h.client(c.AccessKeyID, c.SecretAccessKey, c.SessionToken)
	h.createCluster("c")
	out, err := instance.RegisterContainerInstance(ctx, &ecs.RegisterContainerInstanceInput{Cluster: aws.String("c"),
		TotalResources: totalResources(1024, 1024)})
	ok(t, err)
	if got := aws.ToString(out.ContainerInstance.Ec2InstanceId); got != "mi-0123456789abcdef0" {
		t.Errorf("ec2InstanceId %q", got)
	}
	_, err = h.cp.IssueCredentials(principal, 0)
	if err == nil {
		t.Error("issued credentials with no lifetime")
	}
}
