package endpoint

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/ecsd-project/ecsd/credentials"
	"github.com/ecsd-project/ecsd/wire/tmds"
)

// fakeTasks is a fixed list of tasks.
type fakeTasks []Task

func (f fakeTasks) Tasks() []Task { return f }

const (
	arnA = "arn:aws:ecs:us-east-1:123456789012:task/c/aaaa"
	arnB = "arn:aws:ecs:us-east-1:123456789012:task/c/bbbb"
	arnC = "arn:aws:ecs:us-east-1:123456789012:task/c/cccc"
)

func fixture() (fakeTasks, *credentials.Store) {
	ptr := func(v int64) *int64 { return &v }
	tasks := fakeTasks{
		{
			Metadata:      tmds.Task{Cluster: "c", TaskARN: arnA, Family: "fa", Revision: "1", DesiredStatus: "RUNNING", KnownStatus: "RUNNING", LaunchType: "EXTERNAL"},
			CredentialsID: "cred-a",
			Containers: []Container{{
				EndpointID: "ep-a", Addresses: []netip.Addr{netip.MustParseAddr("10.199.0.2")},
				Metadata: tmds.Container{DockerID: "ctr-a", Name: "app", DockerName: "ctr-a", Image: "busybox", ImageID: "sha256:1",
					DesiredStatus: "RUNNING", KnownStatus: "RUNNING", Limits: tmds.Limits{Memory: ptr(64)}, Type: tmds.ContainerTypeNormal,
					Networks: []tmds.Network{{NetworkMode: "bridge", IPv4Addresses: []string{"10.199.0.2"}}}},
			}},
		},
		{
			Metadata:      tmds.Task{Cluster: "c", TaskARN: arnB, Family: "fb", Revision: "2", KnownStatus: "RUNNING"},
			CredentialsID: "cred-b",
			Containers: []Container{{EndpointID: "ep-b", Addresses: []netip.Addr{netip.MustParseAddr("10.199.0.3")},
				Metadata: tmds.Container{DockerID: "ctr-b", Name: "app", Type: tmds.ContainerTypeNormal}}},
		},
		{
			// Known id, credentials not delivered yet (after a restart).
			Metadata: tmds.Task{TaskARN: arnC}, CredentialsID: "cred-c",
			Containers: []Container{{EndpointID: "ep-c", Metadata: tmds.Container{DockerID: "ctr-c"}}},
		},
	}
	st := credentials.NewStore()
	st.Set(credentials.Credentials{ID: "cred-a", TaskARN: arnA, RoleType: credentials.RoleTask, RoleARN: "arn:aws:iam::123456789012:role/a",
		AccessKeyID: "ASIAA", SecretAccessKey: "secret-a", SessionToken: "token-a", Expiration: "2026-11-27T01:00:00Z"})
	st.Set(credentials.Credentials{ID: "cred-b", TaskARN: arnB, RoleType: credentials.RoleTask, AccessKeyID: "ASIAB", SecretAccessKey: "secret-b"})
	st.Set(credentials.Credentials{ID: "cred-gone", TaskARN: "arn:aws:ecs:us-east-1:123456789012:task/c/gone", RoleType: credentials.RoleTask, AccessKeyID: "ASIAG"})
	st.Set(credentials.Credentials{ID: "exec-a", TaskARN: arnA, RoleType: credentials.RoleExecution, AccessKeyID: "ASIAE", SecretAccessKey: "secret-e"})
	return tasks, st
}

func get(t *testing.T, h http.Handler, from, path string) (int, string, string) {
	t.Helper()
	req := httptest.NewRequest(http.MethodGet, path, nil)
	req.RemoteAddr = from
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, req)
	return rec.Code, rec.Header().Get("Content-Type"), strings.TrimSpace(rec.Body.String())
}

func TestCredentials(t *testing.T) {
	tasks, st := fixture()
	var logs bytes.Buffer
	h := New(Config{Tasks: tasks, Credentials: st, Rate: 1000, Burst: 1000, Log: slog.New(slog.NewJSONHandler(&logs, &slog.HandlerOptions{Level: slog.LevelDebug}))})
	const okA = `{"RoleArn":"arn:aws:iam::123456789012:role/a","AccessKeyId":"ASIAA","SecretAccessKey":"secret-a","Token":"token-a","Expiration":"2026-11-27T01:00:00Z"}`
	for _, tc := range []struct {
		name, from, path string
		code             int
		body             string
	}{
		{"v2 own task", "10.199.0.2:40000", "/v2/credentials/cred-a", 200, okA},
		{"v1 own task", "10.199.0.2:40000", "/v1/credentials?id=cred-a", 200, okA},
		{"host caller", "127.0.0.1:40000", "/v2/credentials/cred-a", 200, okA},
		{"v2 no id", "127.0.0.1:1", "/v2/credentials/", 400, `{"code":"NoIdInRequest","message":"CredentialsV2Request: No Credential ID in the request"}`},
		{"v2 no id, no slash", "127.0.0.1:1", "/v2/credentials", 400, `{"code":"NoIdInRequest","message":"CredentialsV2Request: No Credential ID in the request"}`},
		{"v1 no id", "127.0.0.1:1", "/v1/credentials", 400, `{"code":"NoIdInRequest","message":"CredentialsV1Request: No Credential ID in the request"}`},
		{"v2 unknown", "127.0.0.1:1", "/v2/credentials/nope", 400, `{"code":"InvalidIdInRequest","message":"CredentialsV2Request: Credentials not found"}`},
		{"v1 unknown", "127.0.0.1:1", "/v1/credentials?id=nope", 400, `{"code":"InvalidIdInRequest","message":"CredentialsV1Request: Credentials not found"}`},
		{"pending", "127.0.0.1:1", "/v2/credentials/cred-c", 503, `{"code":"CredentialsUninitialized","message":"CredentialsV2Request: Credentials uninitialized for ID"}`},
		{"another task's", "10.199.0.3:40000", "/v2/credentials/cred-a", 400, `{"code":"InvalidIdInRequest","message":"CredentialsV2Request: Credentials not found"}`},
		{"another task's, v1", "10.199.0.3:40000", "/v1/credentials?id=cred-a", 400, `{"code":"InvalidIdInRequest","message":"CredentialsV1Request: Credentials not found"}`},
		{"task gone", "127.0.0.1:1", "/v2/credentials/cred-gone", 400, `{"code":"InvalidIdInRequest","message":"CredentialsV2Request: Credentials not found"}`},
		{"execution role", "127.0.0.1:1", "/v2/credentials/exec-a", 400, `{"code":"InvalidIdInRequest","message":"CredentialsV2Request: Credentials not found"}`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			code, ctype, body := get(t, h, tc.from, tc.path)
			if code != tc.code || body != tc.body || ctype != "application/json" {
				t.Errorf("GET %s from %s = %d %q %s, want %d %s", tc.path, tc.from, code, ctype, body, tc.code, tc.body)
			}
		})
	}
	for _, secret := range []string{"secret-a", "token-a", "secret-b", "secret-e"} {
		if strings.Contains(logs.String(), secret) {
			t.Errorf("log has secret %s: %s", secret, logs.String())
		}
	}
}

func TestMetadata(t *testing.T) {
	tasks, st := fixture()
	h := New(Config{Tasks: tasks, Credentials: st, Rate: 1000, Burst: 1000})
	const ctrA = `{"DockerId":"ctr-a","Name":"app","DockerName":"ctr-a","Image":"busybox","ImageID":"sha256:1","DesiredStatus":"RUNNING","KnownStatus":"RUNNING","Limits":{"Memory":64},"Type":"NORMAL","Networks":[{"NetworkMode":"bridge","IPv4Addresses":["10.199.0.2"]}]}`
	for _, tc := range []struct {
		name, from, path string
		code             int
		body             string
	}{
		{"v4 container", "10.199.0.2:1", "/v4/ep-a", 200, ctrA},
		{"v3 container", "10.199.0.2:1", "/v3/ep-a", 200, ctrA},
		{"v4 task", "10.199.0.2:1", "/v4/ep-a/task", 200,
			`{"Cluster":"c","TaskARN":"` + arnA + `","Family":"fa","Revision":"1","DesiredStatus":"RUNNING","KnownStatus":"RUNNING","Containers":[` + ctrA + `],"LaunchType":"EXTERNAL","FaultInjectionEnabled":false}`},
		{"v4 task from host", "127.0.0.1:1", "/v4/ep-b/task", 200,
			`{"Cluster":"c","TaskARN":"` + arnB + `","Family":"fb","Revision":"2","KnownStatus":"RUNNING","Containers":[{"DockerId":"ctr-b","Name":"app","DockerName":"","Image":"","ImageID":"","DesiredStatus":"","KnownStatus":"","Limits":{},"Type":"NORMAL"}],"FaultInjectionEnabled":false}`},
		{"unknown", "127.0.0.1:1", "/v4/nope", 404, `"V4 container metadata handler: unable to find the task of endpoint id nope"`},
		{"unknown task", "127.0.0.1:1", "/v4/nope/task", 404, `"V4 task metadata handler: unable to find the task of endpoint id nope"`},
		{"another task's", "10.199.0.3:1", "/v4/ep-a/task", 404, `"V4 task metadata handler: unable to find the task of endpoint id ep-a"`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			code, ctype, body := get(t, h, tc.from, tc.path)
			if code != tc.code || body != tc.body || ctype != "application/json" {
				t.Errorf("GET %s = %d %q\n%s\nwant %d\n%s", tc.path, code, ctype, body, tc.code, tc.body)
			}
		})
	}
}

// fakeClock is a clock moved by hand.
type fakeClock struct {
	mu  sync.Mutex
	now time.Time
}

func (c *fakeClock) Now() time.Time { c.mu.Lock(); defer c.mu.Unlock(); return c.now }
func (c *fakeClock) Advance(d time.Duration) {
	c.mu.Lock()
	c.now = c.now.Add(d)
	c.mu.Unlock()
}

func TestRateLimit(t *testing.T) {
	tasks, st := fixture()
	clk := &fakeClock{now: time.Unix(1000, 0)}
	h := New(Config{Tasks: tasks, Credentials: st, Now: clk.Now}) // defaults: 40/s, burst 60
	count := func(n int) (ok, limited int) {
		for range n {
			switch code, _, _ := get(t, h, "127.0.0.1:1", "/v2/credentials/cred-a"); code {
			case 200:
				ok++
			case 429:
				limited++
			default:
				t.Fatalf("status %d", code)
			}
		}
		return ok, limited
	}
	if ok, limited := count(70); ok != 60 || limited != 10 {
		t.Errorf("burst: %d ok, %d limited; want 60, 10", ok, limited)
	}
	clk.Advance(500 * time.Millisecond) // 20 tokens
	if ok, limited := count(25); ok != 20 || limited != 5 {
		t.Errorf("after 0.5 s: %d ok, %d limited; want 20, 5", ok, limited)
	}
	clk.Advance(time.Hour)
	if ok, _ := count(100); ok != 60 {
		t.Errorf("after an hour: %d ok, want the burst of 60", ok)
	}
}

func TestIntrospection(t *testing.T) {
	tasks, _ := fixture()
	arn := ""
	h := NewIntrospection(IntrospectionConfig{Tasks: tasks, Cluster: "c", Version: "ecsd - v1 (abc)", InstanceARN: func() string { return arn }})
	for _, tc := range []struct {
		path string
		code int
		body string
	}{
		{"/", 200, `{"AvailableCommands":["/v1/metadata","/v1/tasks"]}`},
		{"/v1/metadata", 200, `{"Cluster":"c","ContainerInstanceArn":null,"Version":"ecsd - v1 (abc)"}`},
		{"/v1/tasks?taskarn=" + arnB, 200, `{"Arn":"` + arnB + `","KnownStatus":"RUNNING","Family":"fb","Version":"2","Containers":[{"DockerId":"ctr-b","DockerName":"","Name":"app","Image":"","ImageID":""}]}`},
		{"/v1/tasks?dockerid=ctr-c", 200, `{"Arn":"` + arnC + `","KnownStatus":"","Family":"","Version":"","Containers":[{"DockerId":"ctr-c","DockerName":"","Name":"","Image":"","ImageID":""}]}`},
		{"/v1/tasks?dockerid=x&taskarn=y", 400, `"Request contains both ?dockerid and ?taskarn. Should only contain one."`},
		{"/v1/tasks?taskarn=nope", 404, `"Unable to find task with arn nope"`},
	} {
		code, _, body := get(t, h, "127.0.0.1:1", tc.path)
		if code != tc.code || body != tc.body {
			t.Errorf("GET %s = %d %s, want %d %s", tc.path, code, body, tc.code, tc.body)
		}
	}
	arn = "arn:aws:ecs:us-east-1:123456789012:container-instance/c/i"
	if _, _, body := get(t, h, "127.0.0.1:1", "/v1/metadata"); !strings.Contains(body, `"ContainerInstanceArn":"`+arn+`"`) {
		t.Errorf("metadata = %s", body)
	}
	_, _, body := get(t, h, "127.0.0.1:1", "/v1/tasks")
	var all tmds.IntrospectionTasks
	if err := json.Unmarshal([]byte(body), &all); err != nil || len(all.Tasks) != 3 {
		t.Errorf("tasks = %s (%v)", body, err)
	}
}

// TestServe runs the real server on a loopback port and stops it.
func TestServe(t *testing.T) {
	tasks, st := fixture()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	errc := make(chan error, 1)
	go func() { errc <- Serve(ctx, ln, New(Config{Tasks: tasks, Credentials: st}), nil) }()
	resp, err := http.Get("http://" + ln.Addr().String() + "/v2/credentials/cred-a")
	if err != nil {
		cancel()
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != 200 {
		t.Errorf("status %d", resp.StatusCode)
	}
	cancel()
	select {
	case err := <-errc:
		if err != nil {
			t.Errorf("Serve: %v", err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("Serve did not return")
	}
}

// fakeStats returns fixed samples, advancing time and counters each call.
type fakeStats struct {
	mu sync.Mutex
	n  uint64
}

func (f *fakeStats) Sample(_ context.Context, id string) (Sample, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if id != "ctr-a" {
		return Sample{}, errors.New("no such container")
	}
	f.n++
	return Sample{Time: time.Unix(1000+int64(f.n), 0), CPUTotalNanos: f.n * 1e9, SystemCPUNanos: f.n * 2e9, OnlineCPUs: 2,
		MemoryUsage: 10 << 20, MemoryMaxUsage: 12 << 20, MemoryLimit: 64 << 20, Pids: 3, IOReadBytes: 100, IOWriteBytes: 50,
		Networks: map[string]tmds.NetworkStats{"eth0": {RxBytes: f.n * 1000, TxBytes: f.n * 500}}}, nil
}

func TestStats(t *testing.T) {
	tasks, st := fixture()
	h := New(Config{Tasks: tasks, Credentials: st, Stats: &fakeStats{}, Rate: 1000, Burst: 1000})
	code, _, first := get(t, h, "10.199.0.2:1", "/v4/ep-a/stats")
	if code != 200 {
		t.Fatalf("first stats: %d %s", code, first)
	}
	want1 := `{"read":"1970-01-01T00:16:41Z","preread":"0001-01-01T00:00:00Z","pids_stats":{"current":3},` +
		`"blkio_stats":{"io_service_bytes_recursive":[{"major":0,"minor":0,"op":"Read","value":100},{"major":0,"minor":0,"op":"Write","value":50},{"major":0,"minor":0,"op":"Total","value":150}],` +
		`"io_serviced_recursive":null,"io_queue_recursive":null,"io_service_time_recursive":null,"io_wait_time_recursive":null,"io_merged_recursive":null,"io_time_recursive":null,"sectors_recursive":null},` +
		`"num_procs":0,"storage_stats":{},` +
		`"cpu_stats":{"cpu_usage":{"total_usage":1000000000,"usage_in_kernelmode":0,"usage_in_usermode":0},"system_cpu_usage":2000000000,"online_cpus":2,"throttling_data":{"periods":0,"throttled_periods":0,"throttled_time":0}},` +
		`"precpu_stats":{"cpu_usage":{"total_usage":0,"usage_in_kernelmode":0,"usage_in_usermode":0},"throttling_data":{"periods":0,"throttled_periods":0,"throttled_time":0}},` +
		`"memory_stats":{"usage":10485760,"max_usage":12582912,"limit":67108864},"name":"/ctr-a","id":"ctr-a",` +
		`"networks":{"eth0":{"rx_bytes":1000,"rx_packets":0,"rx_errors":0,"rx_dropped":0,"tx_bytes":500,"tx_packets":0,"tx_errors":0,"tx_dropped":0}},` +
		`"network_rate_stats":{"rx_bytes_per_sec":0,"tx_bytes_per_sec":0}}`
	if first != want1 {
		t.Errorf("first stats:\n%s\nwant\n%s", first, want1)
	}
	_, _, second := get(t, h, "10.199.0.2:1", "/v4/ep-a/stats")
	var s tmds.Stats
	if err := json.Unmarshal([]byte(second), &s); err != nil {
		t.Fatal(err)
	}
	if s.PreRead != "1970-01-01T00:16:41Z" || s.PreCPUStats.CPUUsage.TotalUsage != 1e9 || s.CPUStats.CPUUsage.TotalUsage != 2e9 ||
		s.NetworkRateStats == nil || s.NetworkRateStats.RxBytesPerSec != 1000 || s.NetworkRateStats.TxBytesPerSec != 500 {
		t.Errorf("second stats %s", second)
	}
	// v3: no network rates.
	if _, _, v3 := get(t, h, "10.199.0.2:1", "/v3/ep-a/stats"); strings.Contains(v3, "network_rate_stats") {
		t.Errorf("v3 stats have network rates: %s", v3)
	}
	// Task stats: by runtime id; a container without stats is null.
	code, _, ts := get(t, h, "127.0.0.1:1", "/v4/ep-a/task/stats")
	var m map[string]*tmds.Stats
	if err := json.Unmarshal([]byte(ts), &m); code != 200 || err != nil || len(m) != 1 || m["ctr-a"] == nil {
		t.Errorf("task stats %d %s", code, ts)
	}
	code, _, ts = get(t, h, "127.0.0.1:1", "/v4/ep-b/task/stats")
	if code != 200 || ts != `{"ctr-b":null}` {
		t.Errorf("task stats of a task without samples: %d %s", code, ts)
	}
	code, _, body := get(t, h, "127.0.0.1:1", "/v4/ep-b/stats")
	if code != 500 || body != `"V4 container stats handler: unable to get stats for container ctr-b"` {
		t.Errorf("stats of a stopped container: %d %s", code, body)
	}
	// Another task's stats are refused like its metadata.
	if code, _, _ := get(t, h, "10.199.0.3:1", "/v4/ep-a/stats"); code != 404 {
		t.Errorf("another task's stats: %d", code)
	}
}
