package runtime_test

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"slices"
	"testing"
	"time"

	"github.com/ecsd-project/ecsd/internal/testenv"
	"github.com/ecsd-project/ecsd/runtime"
)

// BenchmarkContainerRun times create + start + wait for exit + remove of a
// busybox container through runtime/, and the same through `ctr run --rm`
// on the same private containerd, alternating the two so that noise hits
// both alike. It prints the medians and their ratio (goal: at most 1.2).
func BenchmarkContainerRun(b *testing.B) {
	ctd := testenv.Containerd(b)
	imgs := testenv.Images(b)
	rt, err := runtime.New(context.Background(), runtime.Config{Address: ctd.Address, StateDir: b.TempDir()})
	if err != nil {
		b.Fatal(err)
	}
	defer rt.Close()
	f, err := os.Open(imgs.Archive)
	if err != nil {
		b.Fatal(err)
	}
	if _, err := rt.ImportImages(context.Background(), f); err != nil {
		b.Fatal(err)
	}
	f.Close()
	ref := imgs.Ref("shell")
	ctx := context.Background()

	runEcsd := func(i int) {
		id := fmt.Sprintf("bench-ecsd-%d", i)
		if err := rt.Create(ctx, runtime.ContainerSpec{ID: id, Image: ref, Command: []string{"true"}}); err != nil {
			b.Fatal(err)
		}
		if err := rt.Start(ctx, id, nil, nil); err != nil {
			b.Fatal(err)
		}
		if st, err := rt.Wait(ctx, id); err != nil || st.Code != 0 {
			b.Fatalf("wait: %+v %v", st, err)
		}
		if err := rt.Remove(ctx, id); err != nil {
			b.Fatal(err)
		}
	}
	runCtr := func(i int) {
		out, err := exec.Command("ctr", "--address", ctd.Address, "-n", rt.Namespace(), "run", "--rm",
			ref, fmt.Sprintf("bench-ctr-%d", i), "true").CombinedOutput()
		if err != nil {
			b.Fatalf("ctr run: %v: %s", err, out)
		}
	}
	// Warm both paths once.
	runEcsd(1000000)
	runCtr(1000000)

	var ecsdTimes, ctrTimes []time.Duration
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		start := time.Now()
		runEcsd(i)
		ecsdTimes = append(ecsdTimes, time.Since(start))
		start = time.Now()
		runCtr(i)
		ctrTimes = append(ctrTimes, time.Since(start))
	}
	b.StopTimer()
	me, mc := median(ecsdTimes), median(ctrTimes)
	ratio := float64(me) / float64(mc)
	b.ReportMetric(float64(me.Microseconds())/1000, "ms/ecsd-run")
	b.ReportMetric(float64(mc.Microseconds())/1000, "ms/ctr-run")
	b.ReportMetric(ratio, "ratio")
	fmt.Printf("container run (create+start+exit+remove), %d runs each: runtime/ median %s, ctr run --rm median %s, ratio %.2f (goal <= 1.2)\n",
		b.N, me.Round(time.Millisecond/10), mc.Round(time.Millisecond/10), ratio)
}

func median(d []time.Duration) time.Duration {
	s := slices.Clone(d)
	slices.Sort(s)
	return s[len(s)/2]
}
