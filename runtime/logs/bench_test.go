package logs

import (
	"context"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"testing"
	"time"
)

// BenchmarkLogThroughput measures lines per second from a container's
// output to where they are kept: json-file (written to the file) and
// awslogs (accepted by CloudWatch, here moto), against copying the same
// bytes to a file as cat does, in the same run. Writes come in 32 KiB
// pieces, as containerd copies a container's output.
func BenchmarkLogThroughput(b *testing.B) {
	const linesPerOp = 20_000
	var corpus []byte
	for i := range linesPerOp {
		corpus = fmt.Appendf(corpus, "2024-05-06T07:08:09Z INFO request id=%06d method=GET path=/api/v1/items/%d status=200 bytes=%d\n", i, i%977, 1000+i%5000)
	}
	c := newCloud(b)
	dir := b.TempDir()

	var catTime, jsonTime, awsTime time.Duration
	for i := 0; b.Loop(); i++ {
		// cat: the same bytes to a file, 32 KiB at a time.
		start := time.Now()
		f, err := os.Create(filepath.Join(dir, fmt.Sprintf("cat-%d", i)))
		if err != nil {
			b.Fatal(err)
		}
		if _, err := io.CopyBuffer(struct{ io.Writer }{f}, struct{ io.Reader }{newChunks(corpus)}, make([]byte, 32<<10)); err != nil {
			b.Fatal(err)
		}
		if err := f.Close(); err != nil {
			b.Fatal(err)
		}
		catTime += time.Since(start)

		// json-file.
		tg := Target{TaskID: "bench", ContainerName: fmt.Sprintf("json%d", i), Dir: filepath.Join(dir, "json")}
		start = time.Now()
		l, err := New(context.Background(), Config{Driver: DriverJSONFile}, tg)
		if err != nil {
			b.Fatal(err)
		}
		copyChunks(l.Stdout(), corpus)
		if err := l.Close(); err != nil {
			b.Fatal(err)
		}
		jsonTime += time.Since(start)

		// awslogs to moto, until CloudWatch accepted the last line.
		tg = c.target(b, fmt.Sprintf("aws%d", i))
		start = time.Now()
		l, err = New(context.Background(), Config{Driver: DriverAWSLogs, Options: c.options("bench")}, tg)
		if err != nil {
			b.Fatal(err)
		}
		copyChunks(l.Stdout(), corpus)
		if err := l.Close(); err != nil {
			b.Fatal(err)
		}
		awsTime += time.Since(start)
		if l.Dropped() != 0 {
			b.Fatalf("awslogs dropped %d lines", l.Dropped())
		}
		if i == 0 {
			b.StopTimer()
			if n := len(c.events(b, "bench", "ecs/aws0/aws0task")); n != linesPerOp {
				b.Fatalf("moto holds %d events, want %d", n, linesPerOp)
			}
			b.StartTimer()
		}
	}
	n := float64(linesPerOp * b.N)
	cat, jsonFile, awsLogs := n/catTime.Seconds(), n/jsonTime.Seconds(), n/awsTime.Seconds()
	b.ReportMetric(cat, "cat-lines/s")
	b.ReportMetric(jsonFile, "json-file-lines/s")
	b.ReportMetric(awsLogs, "awslogs-lines/s")
	b.ReportMetric(jsonFile/cat, "json-file/cat")
	b.ReportMetric(awsLogs/cat, "awslogs/cat")
	b.Logf("%d lines of %d bytes, %d times: cat %.0f lines/s; json-file %.0f lines/s (%.2f× cat); awslogs to moto %.0f lines/s (%.3f× cat)",
		linesPerOp, len(corpus)/linesPerOp, b.N, cat, jsonFile, jsonFile/cat, awsLogs, awsLogs/cat)
}

// chunks reads a buffer in 32 KiB pieces.
type chunks struct{ b []byte }

func newChunks(b []byte) *chunks { return &chunks{b} }

func (c *chunks) Read(p []byte) (int, error) {
	if len(c.b) == 0 {
		return 0, io.EOF
	}
	n := copy(p[:min(len(p), 32<<10)], c.b)
	c.b = c.b[n:]
	return n, nil
}

func copyChunks(w io.Writer, b []byte) {
	for len(b) > 0 {
		n := min(len(b), 32<<10)
		w.Write(b[:n])
		b = b[n:]
	}
}
