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

// BenchmarkRunTaskToRunning times, end to end, a RunTask call until
// DescribeTasks shows the task RUNNING (ecs-local → ACS → ecsd → containerd
// → state change → ecs-local), one single-container task at a time with a
// cached image, and compares p50 and p99 with the raw runtime's
// create+start of the same image on the same containerd in the same run.
func BenchmarkRunTaskToRunning(b *testing.B) {
	w := newWorld(b)
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
	var e2e, raw []time.Duration
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
	b.ReportMetric(float64(p(e2e, 0.5).Microseconds())/1000, "ms-p50")
	b.ReportMetric(float64(p(e2e, 0.99).Microseconds())/1000, "ms-p99")
	b.ReportMetric(float64(p(e2e, 0.5))/float64(p(raw, 0.5)), "ratio-p50")
	fmt.Printf("RunTask → RUNNING in DescribeTasks, %d tasks: p50 %s p99 %s; raw runtime create+start p50 %s p99 %s; ratio p50 %.2f\n",
		len(e2e), p(e2e, 0.5).Round(time.Millisecond), p(e2e, 0.99).Round(time.Millisecond),
		p(raw, 0.5).Round(time.Millisecond), p(raw, 0.99).Round(time.Millisecond), float64(p(e2e, 0.5))/float64(p(raw, 0.5)))
}
