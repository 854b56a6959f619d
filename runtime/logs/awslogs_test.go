package logs

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/cloudwatchlogs"
	"github.com/aws/aws-sdk-go-v2/service/cloudwatchlogs/types"

	"github.com/ecsd-project/ecsd/internal/testenv"
)

// fastTuning keeps the awslogs tests short.
func fastTuning() tuning {
	tu := defaultTuning()
	tu.flushEvery = 200 * time.Millisecond
	tu.backoffMin = 50 * time.Millisecond
	tu.backoffMax = 300 * time.Millisecond
	tu.closeTimeout = 10 * time.Second
	tu.setupTimeout = 5 * time.Second
	tu.requestTimeout = 10 * time.Second
	tu.segmentBytes = 256 << 10
	return tu
}

// cloud reads back what reached moto.
type cloud struct {
	moto *testenv.MotoInstance
	cw   *cloudwatchlogs.Client
}

func newCloud(t testing.TB) *cloud {
	m := testenv.Moto(t)
	tr := &http.Transport{}
	t.Cleanup(tr.CloseIdleConnections)
	return &cloud{moto: m, cw: cloudwatchlogs.New(cloudwatchlogs.Options{
		Region: testenv.MotoRegion, Credentials: m.Credentials(), BaseEndpoint: aws.String(m.Endpoint),
		HTTPClient: &http.Client{Transport: tr}, Retryer: aws.NopRetryer{},
	})}
}

// target is a container logging to the group on moto.
func (c *cloud) target(t testing.TB, name string) Target {
	return Target{
		TaskARN: "arn:aws:ecs:us-east-1:123456789012:task/default/" + name + "task", TaskID: name + "task",
		Cluster: "default", ContainerName: name, ContainerID: name + "-container-id",
		Dir: filepath.Join(t.TempDir(), name), Credentials: c.moto.Credentials(), Region: testenv.MotoRegion,
	}
}

func (c *cloud) options(group string, more ...string) map[string]string {
	o := map[string]string{"awslogs-group": group, "awslogs-endpoint": c.moto.Endpoint, "awslogs-create-group": "true", "awslogs-stream-prefix": "ecs"}
	for i := 0; i+1 < len(more); i += 2 {
		if more[i+1] == "" {
			delete(o, more[i])
		} else {
			o[more[i]] = more[i+1]
		}
	}
	return o
}

func startAWS(t *testing.T, opts map[string]string, tg Target, tu tuning) (*logger, *awsLogs) {
	t.Helper()
	l, err := newLogger(context.Background(), Config{Driver: DriverAWSLogs, Options: opts}, tg, tu)
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	t.Cleanup(func() { l.Close() })
	return l.(*logger), l.(*logger).sink.(*awsLogs)
}

// events reads a stream from the start.
func (c *cloud) events(t testing.TB, group, stream string) []types.OutputLogEvent {
	t.Helper()
	var all []types.OutputLogEvent
	var token *string
	for {
		out, err := c.cw.GetLogEvents(context.Background(), &cloudwatchlogs.GetLogEventsInput{
			LogGroupName: aws.String(group), LogStreamName: aws.String(stream), StartFromHead: aws.Bool(true), NextToken: token,
		})
		if err != nil {
			t.Fatalf("GetLogEvents %s/%s: %v", group, stream, err)
		}
		all = append(all, out.Events...)
		if len(out.Events) == 0 || (token != nil && aws.ToString(out.NextForwardToken) == *token) {
			return all
		}
		token = out.NextForwardToken
	}
}

func messages(evs []types.OutputLogEvent) []string {
	out := make([]string, len(evs))
	for i, e := range evs {
		out[i] = aws.ToString(e.Message)
	}
	return out
}

// checkLines fails unless got are want, in order.
func checkLines(t *testing.T, got, want []string) {
	t.Helper()
	if len(got) != len(want) {
		t.Errorf("%d events, want %d", len(got), len(want))
	}
	for i := range min(len(got), len(want)) {
		if got[i] != want[i] {
			t.Fatalf("event %d is %q, want %q", i, shortStr(got[i]), shortStr(want[i]))
		}
	}
}

func shortStr(s string) string { return shorten([]string{s})[0] }

func lines(prefix string, from, n int) []string {
	out := make([]string, n)
	for i := range out {
		out[i] = fmt.Sprintf("%s %06d", prefix, from+i)
	}
	return out
}

func writeLines(w interface{ Write([]byte) (int, error) }, ls []string) {
	var b []byte
	for _, l := range ls {
		b = append(append(b, l...), '\n')
		if len(b) > 32<<10 { // as containerd copies: 32 KiB at a time
			w.Write(b)
			b = b[:0]
		}
	}
	w.Write(b)
}

func TestAWSLogs(t *testing.T) {
	c := newCloud(t)

	t.Run("stream and order", func(t *testing.T) {
		tg := c.target(t, "web")
		l, _ := startAWS(t, c.options("/ecs/order"), tg, fastTuning())
		var want []string
		for i := range 50 {
			fmt.Fprintf(l.Stdout(), "out %d\n", i)
			fmt.Fprintf(l.Stderr(), "err %d\n", i)
			want = append(want, fmt.Sprint("out ", i), fmt.Sprint("err ", i))
		}
		fmt.Fprint(l.Stdout(), "\n") // empty lines are not sent
		fmt.Fprint(l.Stdout(), "last, no newline")
		want = append(want, "last, no newline")
		if err := l.Close(); err != nil {
			t.Fatal(err)
		}
		evs := c.events(t, "/ecs/order", "ecs/web/webtask")
		checkLines(t, messages(evs), want)
		for i := 1; i < len(evs); i++ {
			if *evs[i].Timestamp < *evs[i-1].Timestamp {
				t.Fatalf("event %d is older than the one before", i)
			}
		}
		if l.Dropped() != 0 {
			t.Errorf("dropped %d", l.Dropped())
		}
	})

	t.Run("container id stream in an existing group", func(t *testing.T) {
		if _, err := c.cw.CreateLogGroup(context.Background(), &cloudwatchlogs.CreateLogGroupInput{LogGroupName: aws.String("existing")}); err != nil {
			t.Fatal(err)
		}
		tg := c.target(t, "api")
		l, _ := startAWS(t, c.options("existing", "awslogs-create-group", "", "awslogs-stream-prefix", ""), tg, fastTuning())
		fmt.Fprintln(l.Stdout(), "hello")
		if err := l.Close(); err != nil {
			t.Fatal(err)
		}
		checkLines(t, messages(c.events(t, "existing", "api-container-id")), []string{"hello"})
	})

	t.Run("missing group", func(t *testing.T) {
		tg := c.target(t, "x")
		_, err := newLogger(context.Background(), Config{Driver: DriverAWSLogs, Options: c.options("absent", "awslogs-create-group", "false")}, tg, fastTuning())
		var nf *types.ResourceNotFoundException
		if !errors.As(err, &nf) || !strings.Contains(err.Error(), "log group absent does not exist") {
			t.Fatalf("New for a missing group: %v", err)
		}
		t.Logf("error: %v", err)
	})

	t.Run("batching", func(t *testing.T) {
		tg := c.target(t, "batch")
		tu := fastTuning()
		tu.flushEvery = time.Minute // only full batches and Close ship
		l, a := startAWS(t, c.options("batch"), tg, tu)
		want := lines("batched line", 0, 25_000)
		writeLines(l.Stdout(), want)
		if err := l.Close(); err != nil {
			t.Fatal(err)
		}
		if n := a.puts.Load(); n < 3 {
			t.Errorf("%d PutLogEvents calls for 25,000 events, want at least 3", n)
		}
		checkLines(t, messages(c.events(t, "batch", "ecs/batch/batchtask")), want)
	})

	t.Run("long lines", func(t *testing.T) {
		tg := c.target(t, "long")
		l, _ := startAWS(t, c.options("long"), tg, fastTuning())
		ascii := strings.Repeat("0123456789", 60_000) // 600,000 bytes
		wide := strings.Repeat("é", 200_000)          // 400,000 bytes
		fmt.Fprintf(l.Stdout(), "%s\n%s\nshort\n", ascii, wide)
		if err := l.Close(); err != nil {
			t.Fatal(err)
		}
		got := messages(c.events(t, "long", "ecs/long/longtask"))
		var joined strings.Builder
		for i, m := range got {
			if len(m) > maxEventBytes {
				t.Errorf("event %d has %d bytes, more than %d", i, len(m), maxEventBytes)
			}
			joined.WriteString(m)
		}
		if len(got) != 3+2+1 || joined.String() != ascii+wide+"short" {
			t.Errorf("%d events; joined equal: %v", len(got), joined.String() == ascii+wide+"short")
		}
	})

	t.Run("non-blocking", func(t *testing.T) {
		tg := c.target(t, "nb")
		l, _ := startAWS(t, c.options("nb", "mode", "non-blocking", "max-buffer-size", "4m"), tg, fastTuning())
		want := lines("nb", 0, 5000)
		writeLines(l.Stdout(), want)
		if err := l.Close(); err != nil {
			t.Fatal(err)
		}
		checkLines(t, messages(c.events(t, "nb", "ecs/nb/nbtask")), want)
	})

	t.Run("a later logger ships what an earlier one spooled", func(t *testing.T) {
		tg := c.target(t, "later")
		tu := fastTuning()
		tu.closeTimeout = 500 * time.Millisecond
		// An endpoint nobody answers on: the lines stay in the spool.
		dead := c.options("later", "awslogs-endpoint", fmt.Sprintf("http://127.0.0.1:%d", testenv.FreePort(t)))
		l, _ := startAWS(t, dead, tg, tu)
		writeLines(l.Stdout(), lines("early", 0, 100))
		err := l.Close()
		if err == nil || !strings.Contains(err.Error(), "not shipped") {
			t.Fatalf("Close with CloudWatch unreachable: %v, want bytes left in the spool", err)
		}
		t.Logf("close: %v", err)
		l2, _ := startAWS(t, c.options("later"), tg, fastTuning())
		writeLines(l2.Stdout(), lines("late", 0, 100))
		if err := l2.Close(); err != nil {
			t.Fatal(err)
		}
		checkLines(t, messages(c.events(t, "later", "ecs/later/latertask")), append(lines("early", 0, 100), lines("late", 0, 100)...))
	})
}

// TestAWSLogsOutage: lines written while CloudWatch is down arrive, in
// order, once it is back, though it forgot the group and stream.
func TestAWSLogsOutage(t *testing.T) {
	c := newCloud(t)
	tg := c.target(t, "out")
	l, a := startAWS(t, c.options("outage"), tg, fastTuning())
	const stream = "ecs/out/outtask"

	before := lines("before", 0, 100)
	writeLines(l.Stdout(), before)
	waitFor(t, "lines before the outage to ship", func() bool { return a.spool.pending() == 0 })
	checkLines(t, messages(c.events(t, "outage", stream)), before)

	c.moto.Stop(t)
	during := lines("during", 0, 3000)
	for i := 0; i < len(during); i += 300 {
		writeLines(l.Stdout(), during[i:i+300])
		time.Sleep(20 * time.Millisecond)
	}
	if a.spool.pending() == 0 {
		t.Fatal("nothing spooled while moto was down")
	}
	c.moto.Restart(t) // empty: no group, no stream
	after := lines("after", 0, 100)
	writeLines(l.Stdout(), after)
	if err := l.Close(); err != nil {
		t.Fatal(err)
	}
	checkLines(t, messages(c.events(t, "outage", stream)), append(during, after...))
	if l.Dropped() != 0 {
		t.Errorf("dropped %d", l.Dropped())
	}
}

// TestAWSLogsSpoolBound: beyond ecsd-spool-max-bytes lines are dropped and
// counted; what fit arrives.
func TestAWSLogsSpoolBound(t *testing.T) {
	c := newCloud(t)
	tg := c.target(t, "bound")
	l, a := startAWS(t, c.options("bound", "ecsd-spool-max-bytes", "16k"), tg, fastTuning())
	c.moto.Stop(t)
	all := lines("bounded", 0, 2000) // 14 bytes + 12 of record: 630 fit in 16 KiB
	writeLines(l.Stdout(), all)
	dropped := l.Dropped()
	if dropped == 0 {
		t.Fatal("nothing dropped beyond the bound")
	}
	if a.spool.pending() > 16<<10 {
		t.Errorf("spool holds %d bytes, bound 16384", a.spool.pending())
	}
	c.moto.Restart(t)
	if err := l.Close(); err != nil {
		t.Fatal(err)
	}
	got := messages(c.events(t, "bound", "ecs/bound/boundtask"))
	if int64(len(got))+dropped != int64(len(all)) {
		t.Errorf("%d arrived + %d dropped, want %d", len(got), dropped, len(all))
	}
	checkLines(t, got, all[:len(got)])
	t.Logf("%d arrived, %d dropped", len(got), dropped)
}

func waitFor(t *testing.T, what string, ok func() bool) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for !ok() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(20 * time.Millisecond)
	}
}
