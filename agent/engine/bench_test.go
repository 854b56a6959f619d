package engine_test

import (
	"bufio"
	"context"
	"fmt"
	"os"
	"os/exec"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/ecsd-project/ecsd/agent/engine"
	"github.com/ecsd-project/ecsd/agent/store"
	"github.com/ecsd-project/ecsd/agent/task"
	"github.com/ecsd-project/ecsd/internal/testenv"
	"github.com/ecsd-project/ecsd/runtime"
	"github.com/ecsd-project/ecsd/wire/acs"
)

// BenchmarkBurst100 hands 100 single-container tasks to the engine at once
// and times until all are RUNNING, against 100 parallel `ctr run -d` of
// the same image on the same private containerd in the same run (goal:
// ratio at most 1.3). It also reports the process's RSS with the 100 tasks
// running.
func BenchmarkBurst100(b *testing.B) {
	const n = 100
	ctd := testenv.Containerd(b)
	imgs := testenv.Images(b)
	dir := b.TempDir()
	ctx := context.Background()
	rt, err := runtime.New(ctx, runtime.Config{Address: ctd.Address, StateDir: dir + "/runtime"})
	if err != nil {
		b.Fatal(err)
	}
	defer rt.Close()
	f, _ := os.Open(imgs.Archive)
	if _, err := rt.ImportImages(ctx, f); err != nil {
		b.Fatal(err)
	}
	f.Close()
	ref := imgs.Ref("shell")

	var engineTimes, ctrTimes []time.Duration
	var rss int64
	for i := 0; i < b.N; i++ {
		// ecsd: one engine, 100 tasks accepted in one payload.
		st, err := store.Open(fmt.Sprintf("%s/ecsd-%d.db", dir, i), store.Options{})
		if err != nil {
			b.Fatal(err)
		}
		eng := engine.New(engine.Config{Runtime: rt, Store: st, Cluster: "bench", DataDir: dir,
			PullBehavior: runtime.PullPreferCached, StopTimeout: time.Second, ImageCleanup: engine.ImageCleanup{Disabled: true}})
		ectx, cancel := context.WithCancel(ctx)
		done := make(chan struct{})
		go func() { eng.Run(ectx); close(done) }()
		<-eng.Ready()
		var tasks []*task.Task
		for j := range n {
			tk, err := task.FromACS("bench", acs.Task{ARN: fmt.Sprintf("arn:aws:ecs:us-east-1:1:task/bench/%d-%03d", i, j), Family: "bench", Version: "1",
				Containers: []acs.Container{{Name: "main", Image: ref, Command: []string{"sleep", "3600"}}}})
			if err != nil {
				b.Fatal(err)
			}
			tasks = append(tasks, tk)
		}
		start := time.Now()
		if err := eng.Accept(ctx, tasks); err != nil {
			b.Fatal(err)
		}
		for {
			running := 0
			for _, t := range eng.Tasks() {
				if t.Known == task.TaskRunning {
					running++
				}
			}
			if running == n {
				break
			}
			if time.Since(start) > 5*time.Minute {
				b.Fatalf("only %d of %d running after 5 minutes", running, n)
			}
			time.Sleep(5 * time.Millisecond)
		}
		engineTimes = append(engineTimes, time.Since(start))
		rss = max(rss, selfRSS())
		for _, t := range tasks {
			eng.StopTask(t.ARN)
		}
		waitAllStoppedEngine(b, eng, n)
		cancel()
		<-done
		st.Close()
		removeAll(b, rt)

		// Baseline: 100 parallel `ctr run -d`.
		start = time.Now()
		var wg sync.WaitGroup
		errs := make(chan error, n)
		for j := range n {
			wg.Add(1)
			go func() {
				defer wg.Done()
				out, err := exec.Command("ctr", "--address", ctd.Address, "-n", rt.Namespace(), "run", "-d", ref,
					fmt.Sprintf("ctr-%d-%d", i, j), "sleep", "3600").CombinedOutput()
				if err != nil {
					errs <- fmt.Errorf("ctr run -d: %v: %s", err, out)
				}
			}()
		}
		wg.Wait()
		ctrTimes = append(ctrTimes, time.Since(start))
		close(errs)
		for err := range errs {
			b.Fatal(err)
		}
		exec.Command("sh", "-c", fmt.Sprintf(
			"for t in $(ctr --address %[1]s -n %[2]s t ls -q | grep ^ctr-); do ctr --address %[1]s -n %[2]s t kill -s KILL $t; done; sleep 1; "+
				"for t in $(ctr --address %[1]s -n %[2]s t ls -q | grep ^ctr-); do ctr --address %[1]s -n %[2]s t rm -f $t; done; "+
				"ctr --address %[1]s -n %[2]s c rm $(ctr --address %[1]s -n %[2]s c ls -q | grep ^ctr-)", ctd.Address, rt.Namespace())).Run()
	}
	me, mc := median(engineTimes), median(ctrTimes)
	ratio := float64(me) / float64(mc)
	b.ReportMetric(me.Seconds(), "s/ecsd-burst")
	b.ReportMetric(mc.Seconds(), "s/ctr-burst")
	b.ReportMetric(ratio, "ratio")
	b.ReportMetric(float64(rss)/(1<<20), "MiB-rss")
	fmt.Printf("100-task burst to all RUNNING: engine median %s, 100 parallel ctr run -d median %s, ratio %.2f (goal <= 1.3); test process RSS with 100 tasks running %.1f MiB (goal < 60)\n",
		me.Round(time.Millisecond), mc.Round(time.Millisecond), ratio, float64(rss)/(1<<20))
}

func median(d []time.Duration) time.Duration {
	s := slices.Clone(d)
	slices.Sort(s)
	return s[len(s)/2]
}

func waitAllStoppedEngine(b *testing.B, eng *engine.Engine, n int) {
	deadline := time.Now().Add(5 * time.Minute)
	for time.Now().Before(deadline) {
		stopped := 0
		for _, t := range eng.Tasks() {
			if t.Known == task.TaskStopped {
				stopped++
			}
		}
		if stopped == n {
			return
		}
		time.Sleep(20 * time.Millisecond)
	}
	b.Fatal("tasks did not stop")
}

func removeAll(b *testing.B, rt *runtime.Runtime) {
	list, err := rt.List(context.Background())
	if err != nil {
		b.Fatal(err)
	}
	for _, c := range list {
		rt.Remove(context.Background(), c.ID)
	}
}

// selfRSS is this process's resident set size in bytes.
func selfRSS() int64 {
	f, err := os.Open("/proc/self/status")
	if err != nil {
		return 0
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		if rest, ok := strings.CutPrefix(sc.Text(), "VmRSS:"); ok {
			var kb int64
			fmt.Sscanf(strings.TrimSpace(rest), "%d", &kb)
			return kb << 10
		}
	}
	return 0
}
