package engine_test

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"net/http"
	"os/exec"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/ecsd-project/ecsd/agent/engine"
	"github.com/ecsd-project/ecsd/agent/task"
	"github.com/ecsd-project/ecsd/runtime/network"
	"github.com/ecsd-project/ecsd/wire/acs"
)

type outputs struct {
	mu   sync.Mutex
	bufs map[string]*bytes.Buffer
}

func (o *outputs) writer(name string) io.Writer {
	return writerFunc(func(p []byte) (int, error) {
		o.mu.Lock()
		defer o.mu.Unlock()
		if o.bufs[name] == nil {
			o.bufs[name] = &bytes.Buffer{}
		}
		return o.bufs[name].Write(p)
	})
}

func (o *outputs) get(name string) string {
	o.mu.Lock()
	defer o.mu.Unlock()
	if o.bufs[name] == nil {
		return ""
	}
	return o.bufs[name].String()
}

type writerFunc func([]byte) (int, error)

func (f writerFunc) Write(p []byte) (int, error) { return f(p) }

// TestBridgeNetworking: a web server in bridge mode answers on its mapped
// host port, a linked container reaches it by its link alias, and the
// bindings are reported; stopping the task releases the network.
func TestBridgeNetworking(t *testing.T) {
	const bridge = "ecsdeng1"
	var mgr *network.Manager
	out := &outputs{bufs: map[string]*bytes.Buffer{}}
	h := newHarness(t, func(h *harness, c *engine.Config) {
		var err error
		mgr, err = network.New(network.Config{BridgeName: bridge, Subnet: "10.199.201.0/24", StateDir: t.TempDir(),
			NetNSDir: h.ctd.NetNSDir, DynamicPortRange: [2]int{41000, 41100}, Log: testLog(t)})
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { exec.Command("ip", "link", "del", bridge).Run() })
		c.Network = mgr
		c.Output = func(_, name string) (io.Writer, io.Writer) { return out.writer(name), out.writer(name) }
	})
	web := acs.Container{Name: "web", Image: h.images.Ref("health"),
		PortMappings: []acs.PortMapping{{ContainerPort: ptr(int64(8080)), HostPort: ptr(int64(0)), Protocol: "tcp"}}}
	client := sh("client", "trap 'exit 0' TERM; until wget -qO- http://webalias:8080/; do sleep 0.2; done; sleep 60 & wait")
	client.Links = []string{"web:webalias"}
	client.Essential = ptr(false)
	arn := h.runTask(acs.Task{ARN: "arn:aws:ecs:us-east-1:111122223333:task/test/" + fmt.Sprintf("%032x", time.Now().UnixNano()),
		Family: "web", Version: "1", NetworkMode: "bridge", Containers: []acs.Container{web, client}})
	tk := h.awaitStatus(arn, task.TaskRunning)
	b := tk.Container("web").NetworkBindings
	if len(b) != 1 || b[0].ContainerPort != 8080 || b[0].HostPort < 41000 || b[0].HostPort > 41100 || b[0].Protocol != "tcp" {
		t.Fatalf("bindings %+v", b)
	}
	var body string
	deadline := time.Now().Add(20 * time.Second)
	for time.Now().Before(deadline) {
		resp, err := http.Get(fmt.Sprintf("http://127.0.0.1:%d/", b[0].HostPort))
		if err == nil {
			data, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			body = string(data)
			break
		}
		time.Sleep(100 * time.Millisecond)
	}
	if !strings.Contains(body, "ecsd test page") {
		t.Fatalf("page through the mapped port: %q", body)
	}
	h.await(arn, "client reached web by link", func(*task.Task) bool { return strings.Contains(out.get("client"), "ecsd test page") })

	// The RUNNING change carries the bindings.
	var reported []task.NetworkBinding
	for _, ch := range h.outbox(arn) {
		for _, c := range ch.Containers {
			if c.Name == "web" && c.Status == task.ContainerRunning {
				reported = c.NetworkBindings
			}
		}
	}
	if len(reported) != 1 || reported[0].HostPort != b[0].HostPort {
		t.Errorf("reported bindings %+v", reported)
	}
	h.eng.StopTask(arn)
	h.awaitStatus(arn, task.TaskStopped)
	h.settledOutbox(arn)
	// The host port is free again: a new listener can take it.
	if err := mgr.Cleanup(context.Background(), func(string) bool { return false }); err != nil {
		t.Fatal(err)
	}
}
