package engine_test

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"os"
	"os/exec"
	"syscall"
	"testing"
	"time"

	"github.com/ecsd-project/ecsd/agent/engine"
	"github.com/ecsd-project/ecsd/agent/store"
	"github.com/ecsd-project/ecsd/agent/task"
	"github.com/ecsd-project/ecsd/internal/testenv"
	"github.com/ecsd-project/ecsd/runtime"
	"github.com/ecsd-project/ecsd/wire/acs"
)

// crashScript is what the parent asks the child engine to do: accept these
// tasks with these desired statuses (as a control plane resending its
// payloads would), then keep running until killed.
type crashScript struct {
	Address string            `json:"address"`
	Dir     string            `json:"dir"`
	Image   string            `json:"image"`
	Tasks   map[string]string `json:"tasks"` // ARN → desired status
}

const crashChildEnv = "ECSD_CRASH_CHILD"

// TestCrashChild is the engine process of TestCrashRecovery; it does
// nothing unless started by it.
func TestCrashChild(t *testing.T) {
	path := os.Getenv(crashChildEnv)
	if path == "" {
		return
	}
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	var s crashScript
	if err := json.Unmarshal(b, &s); err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	rt, err := runtime.New(ctx, runtime.Config{Address: s.Address, StateDir: s.Dir + "/runtime"})
	if err != nil {
		t.Fatal(err)
	}
	st, err := store.Open(s.Dir+"/ecsd.db", store.Options{})
	if err != nil {
		t.Fatal(err)
	}
	eng := engine.New(engine.Config{
		Runtime: rt, Store: st, Cluster: "arn:aws:ecs:us-east-1:1:cluster/crash", DataDir: s.Dir,
		PullBehavior: runtime.PullPreferCached, StopTimeout: 2 * time.Second,
		ImageCleanup: engine.ImageCleanup{Disabled: true},
	})
	go eng.Run(ctx)
	<-eng.Ready()
	fmt.Println("ready")
	for arn, desired := range s.Tasks {
		tk, err := task.FromACS("arn:aws:ecs:us-east-1:1:cluster/crash", acs.Task{
			ARN: arn, Family: "crash", Version: "1", DesiredStatus: desired,
			Containers: []acs.Container{{Name: "main", Image: s.Image,
				Command: []string{"sh", "-c", "trap 'exit 143' TERM; while true; do sleep 0.1; done"}}},
		})
		if err != nil {
			t.Fatal(err)
		}
		if err := eng.Accept(ctx, []*task.Task{tk}); err != nil {
			t.Fatal(err)
		}
		fmt.Println("accepted", arn)
	}
	for { // until killed; say when every task has stopped
		stopped := 0
		for arn := range s.Tasks {
			if tk, ok := eng.Task(arn); ok && tk.Known == task.TaskStopped {
				stopped++
			}
		}
		if stopped == len(s.Tasks) {
			fmt.Println("all-stopped")
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// TestCrashRecovery runs the engine in a child process, SIGKILLs it at
// random moments while 20 tasks start and stop, and restarts it, 20
// rounds. Afterwards every task is in its desired state, no container is
// duplicated or orphaned, and the outbox holds each transition once.
func TestCrashRecovery(t *testing.T) {
	if os.Getenv(crashChildEnv) != "" {
		return
	}
	ctd := testenv.Containerd(t)
	imgs := testenv.Images(t)
	dir := t.TempDir()
	rt, err := runtime.New(context.Background(), runtime.Config{Address: ctd.Address, StateDir: dir + "/runtime"})
	if err != nil {
		t.Fatal(err)
	}
	defer rt.Close()
	f, _ := os.Open(imgs.Archive)
	if _, err := rt.ImportImages(context.Background(), f); err != nil {
		t.Fatal(err)
	}
	f.Close()

	const nTasks, rounds = 20, 20
	rng := rand.New(rand.NewPCG(1, 2))
	desired := map[string]string{}
	for i := range nTasks {
		desired[fmt.Sprintf("arn:aws:ecs:us-east-1:1:task/crash/%032d", i)] = "RUNNING"
	}
	for round := range rounds + 1 {
		// Midway, ask for every task to stop, a few at a time.
		if round >= rounds/2 {
			n := 0
			for arn, d := range desired {
				if d == "RUNNING" && n < 4 {
					desired[arn] = "STOPPED"
					n++
				}
			}
		}
		if round == rounds {
			for arn := range desired {
				desired[arn] = "STOPPED"
			}
		}
		script := crashScript{Address: ctd.Address, Dir: dir, Image: imgs.Ref("shell"), Tasks: desired}
		b, _ := json.Marshal(script)
		scriptPath := dir + "/script.json"
		if err := os.WriteFile(scriptPath, b, 0o600); err != nil {
			t.Fatal(err)
		}
		cmd := exec.Command(os.Args[0], "-test.run=^TestCrashChild$", "-test.count=1")
		cmd.Env = append(os.Environ(), crashChildEnv+"="+scriptPath)
		cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true, Pdeathsig: syscall.SIGKILL}
		out, _ := cmd.StdoutPipe()
		cmd.Stderr = os.Stderr
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		lines := make(chan string, 100)
		go func() {
			sc := bufio.NewScanner(out)
			for sc.Scan() {
				lines <- sc.Text()
			}
			close(lines)
		}()
		if round == rounds {
			// Last round: let it finish the stops, then kill it too.
			waitAllStopped(t, lines)
		} else {
			time.Sleep(time.Duration(rng.IntN(1500)) * time.Millisecond)
		}
		cmd.Process.Kill()
		cmd.Wait()
	}

	// Check the store as the next ecsd would find it.
	st, err := store.Open(dir+"/ecsd.db", store.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	tasks, err := st.Tasks()
	if err != nil {
		t.Fatal(err)
	}
	if len(tasks) != nTasks {
		t.Errorf("%d tasks in the store, want %d", len(tasks), nTasks)
	}
	for _, tk := range tasks {
		if tk.Known != task.TaskStopped {
			t.Errorf("%s is %s", tk.ARN, tk.Known)
		}
	}
	entries, err := st.Pending(100000)
	if err != nil {
		t.Fatal(err)
	}
	counts := map[string]map[string]int{}
	for _, e := range entries {
		if counts[e.Change.TaskARN] == nil {
			counts[e.Change.TaskARN] = map[string]int{}
		}
		counts[e.Change.TaskARN][e.Change.Status.String()]++
		for _, c := range e.Change.Containers {
			counts[e.Change.TaskARN]["container-"+c.Status.String()]++
		}
	}
	for arn := range desired {
		c := counts[arn]
		if c["STOPPED"] != 1 || c["RUNNING"] > 1 || c["container-RUNNING"] > 1 || c["container-STOPPED"] > 1 {
			t.Errorf("%s: outbox transitions %v, want each once", arn, c)
		}
	}
	// No duplicated or orphaned containers: at most one per task, all stopped.
	list, err := rt.List(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	perTask := map[string]int{}
	for _, c := range list {
		arn := c.Labels[runtime.LabelTaskARN]
		if _, ok := desired[arn]; !ok {
			t.Errorf("orphan container %s (%s)", c.ID, arn)
		}
		perTask[arn]++
		if c.Status == runtime.StatusRunning {
			t.Errorf("container %s still running", c.ID)
		}
	}
	for arn, n := range perTask {
		if n > 1 {
			t.Errorf("%s has %d containers", arn, n)
		}
	}
}

// waitAllStopped waits for the child to report that every task stopped.
func waitAllStopped(t *testing.T, lines <-chan string) {
	t.Helper()
	deadline := time.After(2 * time.Minute)
	for {
		select {
		case l, ok := <-lines:
			if !ok {
				t.Fatal("child ended early")
			}
			if l == "all-stopped" {
				return
			}
		case <-deadline:
			t.Fatal("tasks did not all stop within 2 minutes")
		}
	}
}
