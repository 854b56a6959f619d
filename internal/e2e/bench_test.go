package e2e

import (
	"context"
	"fmt"
	"slices"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ecs"

	"github.com/ecsd-project/ecsd/runtime"
)

// BenchmarkRunTaskToRunning times, one single-container task at a time
// with a cached image, two spans and compares their p50 and p99 with the
// raw runtime's create+start of the same image on the same containerd in
// the same run:
//   - end to end: a RunTask call until DescribeTasks shows the task RUNNING
//     (ecs-local → ACS → ecsd → containerd → state change → ecs-local);
//   - the agent alone: from the PayloadMessage written to ecsd's websocket
//     until its SubmitTaskStateChange reporting RUNNING reaches ecs-local.
func BenchmarkRunTaskToRunning(b *testing.B) {
	tap := newWireTap()
	w := newWorld(b, func(w *world) { w.tap = tap })
	const cluster = "bench"
	w.registerHost(cluster)
	w.startEcsd(cluster)
	w.registerSleeper("bench-sleeper")
	ctx := context.Background()
	rt, err := runtime.New(ctx, runtime.Config{Address: w.ctd.Address, StateDir: b.TempDir(), Namespace: "rawbench"})
	if err != nil {
		b.Fatal(err)
	}
	defer rt.Close()
	if _, err := rt.PullImage(ctx, w.refs["shell"], runtime.PullOptions{}); err != nil {
		b.Fatal(err)
	}
	var e2e, span, raw []time.Duration
	var arns []string
	for i := 0; i < b.N; i++ {
		start := time.Now()
		arn := w.runTask(cluster, "bench-sleeper")
		for {
			out, err := w.ecs.DescribeTasks(ctx, &ecs.DescribeTasksInput{Cluster: aws.String(cluster), Tasks: []string{arn}})
			if err != nil {
				b.Fatal(err)
			}
			if aws.ToString(out.Tasks[0].LastStatus) == "RUNNING" {
				break
			}
			time.Sleep(2 * time.Millisecond)
		}
		e2e = append(e2e, time.Since(start))
		arns = append(arns, arn)
		for {
			delivered, running, ok := tap.times(arn)
			if ok {
				span = append(span, running.Sub(delivered))
				break
			}
			time.Sleep(time.Millisecond)
		}

		id := fmt.Sprintf("raw-%d", i)
		start = time.Now()
		if err := rt.Create(ctx, runtime.ContainerSpec{ID: id, Image: w.refs["shell"], Command: []string{"sleep", "3600"}}); err != nil {
			b.Fatal(err)
		}
		if err := rt.Start(ctx, id, nil, nil); err != nil {
			b.Fatal(err)
		}
		raw = append(raw, time.Since(start))
		rt.Remove(ctx, id)
		// Keep the host from filling: stop the task again (not timed).
		w.ecs.StopTask(ctx, &ecs.StopTaskInput{Cluster: aws.String(cluster), Task: aws.String(arn)})
	}
	b.StopTimer()
	p := func(d []time.Duration, q float64) time.Duration {
		s := slices.Clone(d)
		slices.Sort(s)
		return s[int(float64(len(s)-1)*q)]
	}
	ms := func(d time.Duration) float64 { return float64(d.Microseconds()) / 1000 }
	b.ReportMetric(ms(p(e2e, 0.5)), "ms-p50")
	b.ReportMetric(ms(p(e2e, 0.99)), "ms-p99")
	b.ReportMetric(float64(p(e2e, 0.5))/float64(p(raw, 0.5)), "ratio-p50")
	b.ReportMetric(ms(p(span, 0.5)), "agent-ms-p50")
	b.ReportMetric(ms(p(span, 0.99)), "agent-ms-p99")
	b.ReportMetric(float64(p(span, 0.5))/float64(p(raw, 0.5)), "agent-ratio-p50")
	r := func(d time.Duration) time.Duration { return d.Round(100 * time.Microsecond) }
	fmt.Printf("%d tasks, one at a time; raw runtime create+start: p50 %s p99 %s\n", len(e2e), r(p(raw, 0.5)), r(p(raw, 0.99)))
	fmt.Printf("  RunTask → RUNNING in DescribeTasks:         p50 %s p99 %s; ratio to raw p50 %.2f p99 %.2f\n",
		r(p(e2e, 0.5)), r(p(e2e, 0.99)), float64(p(e2e, 0.5))/float64(p(raw, 0.5)), float64(p(e2e, 0.99))/float64(p(raw, 0.99)))
	fmt.Printf("  PayloadMessage → RUNNING change submitted: p50 %s p99 %s; ratio to raw p50 %.2f p99 %.2f\n",
		r(p(span, 0.5)), r(p(span, 0.99)), float64(p(span, 0.5))/float64(p(raw, 0.5)), float64(p(span, 0.99))/float64(p(raw, 0.99)))
}
