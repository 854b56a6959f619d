package register

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"flag"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"regexp"
	goruntime "runtime"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/ecs"
)

var update = flag.Bool("update", false, "rewrite the golden request files")

const instanceARN = "arn:aws:ecs:us-east-1:111122223333:container-instance/default/0123abcd"

// call is one request the fake ECS endpoint received.
type call struct {
	target string
	body   []byte
	header http.Header
}

// ecsEndpoint is an HTTP server speaking ECS's JSON 1.1 protocol with
// canned answers, for the real SDK client to talk to: what the client puts
// on the wire is compared with golden files.
type ecsEndpoint struct {
	t      *testing.T
	mu     sync.Mutex
	calls  []call
	answer func(target string, body []byte) (status int, resp string)
}

func newEndpoint(t *testing.T, answer func(target string, body []byte) (int, string)) (*ecsEndpoint, *ecs.Client) {
	e := &ecsEndpoint{t: t, answer: answer}
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		target := strings.TrimPrefix(r.Header.Get("X-Amz-Target"), "AmazonEC2ContainerServiceV20141113.")
		e.mu.Lock()
		e.calls = append(e.calls, call{target: target, body: body, header: r.Header.Clone()})
		e.mu.Unlock()
		status, resp := e.answer(target, body)
		w.Header().Set("Content-Type", "application/x-amz-json-1.1")
		w.WriteHeader(status)
		io.WriteString(w, resp)
	}))
	t.Cleanup(srv.Close)
	client := ecs.New(ecs.Options{
		Region:       "us-east-1",
		Credentials:  credentials.NewStaticCredentialsProvider("AKIDEXAMPLE", "secret", ""),
		BaseEndpoint: aws.String(srv.URL),
		Retryer:      aws.NopRetryer{},
	})
	return e, client
}

func (e *ecsEndpoint) Calls() []call {
	e.mu.Lock()
	defer e.mu.Unlock()
	return append([]call(nil), e.calls...)
}

// registerAnswer answers RegisterContainerInstance with the response
// fixture, echoing the request's attributes minus drop.
func registerAnswer(t *testing.T, drop string) func(string, []byte) (int, string) {
	tmpl, err := os.ReadFile("testdata/register_response.json")
	if err != nil {
		t.Fatal(err)
	}
	return func(target string, body []byte) (int, string) {
		if target != "RegisterContainerInstance" {
			return 400, `{"__type":"UnknownOperationException"}`
		}
		var req struct {
			Attributes []map[string]string `json:"attributes"`
		}
		json.Unmarshal(body, &req)
		var echo []map[string]string
		for _, a := range req.Attributes {
			if a["name"] != drop {
				echo = append(echo, a)
			}
		}
		b, _ := json.Marshal(echo)
		return 200, strings.Replace(string(tmpl), `"ECHO"`, string(b), 1)
	}
}

func goldenConfig(client *ecs.Client) Config {
	return Config{
		ECS: client, Cluster: "default",
		InstanceAttributes: map[string]string{"stack": "prod"},
		Tags:               map[string]string{"team": "edge"},
		ReservedMemoryMiB:  256,
		ReservedPorts:      []int{22, 2375, 2376, 51678, 51679},
		LoggingDrivers:     []string{"json-file", "awslogs", "none"},
		TaskCPUMemLimit:    true,
		TaskIAMRole:        true,
		DetailedOSFamily:   "debian_12",
		MemTotalMiB:        4096,
		CPUs:               2,
		MaxRetryTime:       time.Second,

		TaskIAMRoleNetworkHost: true,
	}
}

var tokenRE = regexp.MustCompile(`"clientToken":"[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}"`)

// normalise makes a request body comparable with a golden file: the
// random client token and the build's CPU architecture become
// placeholders, and the JSON is indented with sorted keys.
func normalise(t *testing.T, body []byte) []byte {
	t.Helper()
	s := tokenRE.ReplaceAllString(string(body), `"clientToken":"<uuid>"`)
	s = strings.ReplaceAll(s, `"value":"`+cpuArchitecture(goruntime.GOARCH)+`"`, `"value":"<arch>"`)
	var v any
	if err := json.Unmarshal([]byte(s), &v); err != nil {
		t.Fatalf("request body is not JSON: %v\n%s", err, body)
	}
	var out bytes.Buffer
	enc := json.NewEncoder(&out)
	enc.SetEscapeHTML(false)
	enc.SetIndent("", " ")
	enc.Encode(v)
	return out.Bytes()
}

func checkGolden(t *testing.T, name string, got []byte) {
	t.Helper()
	path := filepath.Join("testdata", name)
	if *update {
		if err := os.WriteFile(path, got, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(normalise(t, want), got) {
		t.Errorf("request differs from %s (go test -update rewrites it):\n got: %s\nwant: %s", path, got, want)
	}
}

// TestRegisterWire: the first registration and a re-registration, as the
// real SDK client puts them on the wire, against golden files checked
// against the reference (§1.3): empty identity documents, resources CPU,
// MEMORY, PORTS, PORTS_UDP in that order, custom attributes only the
// first time, a fresh client token per call.
func TestRegisterWire(t *testing.T) {
	e, client := newEndpoint(t, registerAnswer(t, ""))
	cfg := goldenConfig(client)
	ctx := context.Background()
	arn, err := Register(ctx, cfg, "")
	if err != nil {
		t.Fatal(err)
	}
	if arn != instanceARN {
		t.Errorf("ARN %q", arn)
	}
	if _, err := Register(ctx, cfg, instanceARN); err != nil {
		t.Fatal(err)
	}
	calls := e.Calls()
	if len(calls) != 2 {
		t.Fatalf("%d calls", len(calls))
	}
	for _, c := range calls {
		if c.target != "RegisterContainerInstance" {
			t.Errorf("target %s", c.target)
		}
		if ct := c.header.Get("Content-Type"); ct != "application/x-amz-json-1.1" {
			t.Errorf("Content-Type %q", ct)
		}
		if !strings.Contains(c.header.Get("Authorization"), "/us-east-1/ecs/aws4_request") {
			t.Errorf("not signed for ecs: %q", c.header.Get("Authorization"))
		}
	}
	checkGolden(t, "register_first.golden", normalise(t, calls[0].body))
	checkGolden(t, "register_again.golden", normalise(t, calls[1].body))
	if tokenRE.FindString(string(calls[0].body)) == tokenRE.FindString(string(calls[1].body)) {
		t.Error("two registrations sent the same client token")
	}
}

// TestRegisterEchoMismatchIsTerminal: an attribute ECS did not echo stops
// ecsd for good, as it does the ECS agent.
func TestRegisterEchoMismatchIsTerminal(t *testing.T) {
	_, client := newEndpoint(t, registerAnswer(t, "ecs.capability.external"))
	_, err := Register(context.Background(), goldenConfig(client), "")
	if !errors.Is(err, ErrTerminal) || !strings.Contains(err.Error(), "ecs.capability.external") {
		t.Fatalf("got %v", err)
	}
}

// TestRegisterErrors: the stock agent's rules for which errors end
// registration for good, which are retried, and the default cluster made
// when missing.
func TestRegisterErrors(t *testing.T) {
	for _, tc := range []struct {
		name     string
		cluster  string
		answers  []string // __type of each failure before success; "" = success
		terminal bool
		fails    bool
		targets  string
	}{
		{name: "invalid parameter", cluster: "c", answers: []string{"InvalidParameterException"}, terminal: true, fails: true,
			targets: "RegisterContainerInstance"},
		{name: "client exception", cluster: "c", answers: []string{"ClientException"}, terminal: true, fails: true,
			targets: "RegisterContainerInstance"},
		{name: "missing cluster", cluster: "c", answers: []string{"ClusterNotFoundException"}, terminal: true, fails: true,
			targets: "RegisterContainerInstance"},
		{name: "missing default cluster is created", cluster: "default", answers: []string{"ClusterNotFoundException", ""},
			targets: "RegisterContainerInstance CreateCluster RegisterContainerInstance"},
		{name: "access denied is not retried", cluster: "c", answers: []string{"AccessDeniedException"}, fails: true,
			targets: "RegisterContainerInstance"},
		{name: "server error is retried", cluster: "c", answers: []string{"ServerException", ""},
			targets: "RegisterContainerInstance RegisterContainerInstance"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			ok := registerAnswer(t, "")
			n := 0
			e, client := newEndpoint(t, func(target string, body []byte) (int, string) {
				if target == "CreateCluster" {
					return 200, `{"cluster":{"clusterName":"default","status":"ACTIVE"}}`
				}
				a := ""
				if n < len(tc.answers) {
					a = tc.answers[n]
				}
				n++
				if a == "" {
					return ok(target, body)
				}
				status := 400
				if a == "ServerException" {
					status = 500
				}
				return status, `{"__type":"` + a + `","message":"test"}`
			})
			cfg := goldenConfig(client)
			cfg.Cluster = tc.cluster
			cfg.MaxRetryTime = time.Minute
			// The first retry waits 3 s plus jitter; the error cases
			// never wait.
			_, err := Register(context.Background(), cfg, "")
			if (err != nil) != tc.fails || errors.Is(err, ErrTerminal) != tc.terminal {
				t.Fatalf("err %v; want fails=%v terminal=%v", err, tc.fails, tc.terminal)
			}
			var targets []string
			for _, c := range e.Calls() {
				targets = append(targets, c.target)
			}
			if got := strings.Join(targets, " "); got != tc.targets {
				t.Errorf("calls %q, want %q", got, tc.targets)
			}
		})
	}
}

// TestDiscoverWire: DiscoverPollEndpoint's request carries the empty
// zoneId the ECS agent always sends; the answer is cached.
func TestDiscoverWire(t *testing.T) {
	resp, err := os.ReadFile("testdata/discover_response.json")
	if err != nil {
		t.Fatal(err)
	}
	e, client := newEndpoint(t, func(target string, body []byte) (int, string) { return 200, string(resp) })
	d := &Discoverer{ECS: client, Cluster: "default"}
	for range 2 {
		got, err := d.Discover(context.Background(), instanceARN)
		if err != nil {
			t.Fatal(err)
		}
		want := Endpoints{ACS: "https://ecs-a-1.us-east-1.amazonaws.com/", TCS: "https://ecs-t-1.us-east-1.amazonaws.com/"}
		if got != want {
			t.Fatalf("endpoints %+v", got)
		}
	}
	calls := e.Calls()
	if len(calls) != 1 || calls[0].target != "DiscoverPollEndpoint" {
		t.Fatalf("calls %+v", calls)
	}
	checkGolden(t, "discover_request.golden", normalise(t, calls[0].body))
}

func TestDetailedOSFamily(t *testing.T) {
	dir := t.TempDir()
	for _, tc := range []struct{ content, want string }{
		{"ID=debian\nVERSION_ID=\"12\"\n", "debian_12"},
		{"NAME=\"Amazon Linux\"\nID=\"amzn\"\nVERSION_ID=\"2023\"\n", "amzn_2023"},
		{"ID=arch\n", "arch"},
		{"garbage", "LINUX"},
	} {
		p := filepath.Join(dir, "os-release")
		os.WriteFile(p, []byte(tc.content), 0o644)
		if got := detailedOSFamily(p); got != tc.want {
			t.Errorf("%q: got %q, want %q", tc.content, got, tc.want)
		}
	}
	if got := detailedOSFamily(filepath.Join(dir, "missing")); got != "LINUX" {
		t.Errorf("missing file: %q", got)
	}
}
