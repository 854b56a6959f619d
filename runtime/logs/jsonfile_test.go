package logs

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"
)

var testTime = time.Date(2024, 5, 6, 7, 8, 9, 123456000, time.UTC)

// jsonTarget is a container whose log goes to a test directory.
func jsonTarget(t *testing.T) Target {
	return Target{
		TaskARN: "arn:aws:ecs:us-east-1:123456789012:task/default/0123456789abcdef", TaskID: "0123456789abcdef",
		Cluster: "default", ContainerName: "web", ContainerID: "0123456789abcdef-web",
		Dir: filepath.Join(t.TempDir(), "logs", "0123456789abcdef", "web"),
	}
}

func newTest(t *testing.T, cfg Config, tg Target) Logger {
	t.Helper()
	l, err := New(context.Background(), cfg, tg)
	if err != nil {
		t.Fatalf("New(%+v): %v", cfg, err)
	}
	t.Cleanup(func() { l.Close() })
	return l
}

func TestJSONFileFormat(t *testing.T) {
	tg := jsonTarget(t)
	tg.Clock = fixedClock{testTime}
	l := newTest(t, Config{}, tg) // json-file is the default
	fmt.Fprint(l.Stdout(), "hello\n")
	fmt.Fprint(l.Stderr(), "oops \"quoted\" <b>&</b>\n")
	fmt.Fprint(l.Stdout(), "no newline")
	if err := l.Close(); err != nil {
		t.Fatal(err)
	}
	path := JSONFilePath(tg.Dir, "web")
	got, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	want := `{"log":"hello\n","stream":"stdout","time":"2024-05-06T07:08:09.123456Z"}
{"log":"oops \"quoted\" \u003cb\u003e\u0026\u003c/b\u003e\n","stream":"stderr","time":"2024-05-06T07:08:09.123456Z"}
{"log":"no newline","stream":"stdout","time":"2024-05-06T07:08:09.123456Z"}
`
	if string(got) != want {
		t.Errorf("file:\n%s\nwant:\n%s", got, want)
	}
	fi, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	if fi.Mode().Perm() != 0o640 {
		t.Errorf("mode %v, want 0640", fi.Mode().Perm())
	}
}

// TestJSONStringEscaping: our encoder writes what encoding/json writes.
func TestJSONStringEscaping(t *testing.T) {
	var all []byte
	for c := 0; c < 0x80; c++ {
		all = append(all, byte(c))
	}
	for _, s := range []string{
		"plain", "tab\there", "\x00\x01\x1f\x7f", "ünïcödé ✓ 😀", "\u2028\u2029", "bad \xff\xfe utf8 \xe2\x82", string(all),
	} {
		want, _ := json.Marshal(s)
		got := append([]byte{'"'}, appendJSONString(nil, []byte(s))...)
		got = append(got, '"')
		if !bytes.Equal(got, want) {
			t.Errorf("%q:\n got %s\nwant %s", s, got, want)
		}
	}
}

func TestJSONFilePartialLines(t *testing.T) {
	tg := jsonTarget(t)
	l := newTest(t, Config{Driver: "json-file"}, tg)
	line := strings.Repeat("a", dockerLineBytes) + strings.Repeat("b", 100)
	fmt.Fprintln(l.Stdout(), line)
	l.Close()
	lines := readJSONLines(t, JSONFilePath(tg.Dir, "web"))
	if len(lines) != 2 {
		t.Fatalf("%d lines, want 2", len(lines))
	}
	if lines[0].Log != strings.Repeat("a", dockerLineBytes) || lines[1].Log != strings.Repeat("b", 100)+"\n" {
		t.Errorf("split %d+%d bytes, want 16384 (no newline) + 101", len(lines[0].Log), len(lines[1].Log))
	}
}

func TestJSONFileRotation(t *testing.T) {
	tg := jsonTarget(t)
	l := newTest(t, Config{Options: map[string]string{"max-size": "1k", "max-file": "3"}}, tg)
	for i := range 100 {
		fmt.Fprintf(l.Stdout(), "line %03d %s\n", i, strings.Repeat("x", 40))
	}
	l.Close()
	path := JSONFilePath(tg.Dir, "web")
	var all []string
	for _, p := range []string{path + ".2", path + ".1", path} {
		fi, err := os.Stat(p)
		if err != nil {
			t.Fatal(err)
		}
		if fi.Size() > 1024 {
			t.Errorf("%s is %d bytes, more than max-size", p, fi.Size())
		}
		for _, jl := range readJSONLines(t, p) {
			all = append(all, jl.Log)
		}
	}
	if _, err := os.Stat(path + ".3"); !os.IsNotExist(err) {
		t.Errorf("%s.3 exists with max-file 3", path)
	}
	// The files hold the last lines, in order, none missing.
	if len(all) == 0 || all[len(all)-1] != fmt.Sprintf("line 099 %s\n", strings.Repeat("x", 40)) {
		t.Fatalf("last line %q", all[len(all)-1])
	}
	first := 0
	fmt.Sscanf(all[0], "line %d", &first)
	for i, s := range all {
		if want := fmt.Sprintf("line %03d %s\n", first+i, strings.Repeat("x", 40)); s != want {
			t.Fatalf("line %d is %q, want %q", i, s, want)
		}
	}
	var read bytes.Buffer
	if err := ReadJSONFile(context.Background(), path, false, &read, nil); err != nil {
		t.Fatal(err)
	}
	if read.String() != strings.Join(all, "") {
		t.Errorf("ReadJSONFile gave\n%s\nwant\n%s", read.String(), strings.Join(all, ""))
	}
}

func TestJSONFileMaxFileOneTruncates(t *testing.T) {
	tg := jsonTarget(t)
	l := newTest(t, Config{Options: map[string]string{"max-size": "500"}}, tg)
	for i := range 50 {
		fmt.Fprintf(l.Stdout(), "line %d\n", i)
	}
	l.Close()
	path := JSONFilePath(tg.Dir, "web")
	if _, err := os.Stat(path + ".1"); !os.IsNotExist(err) {
		t.Errorf("%s.1 exists with max-file 1", path)
	}
	lines := readJSONLines(t, path)
	if fi, _ := os.Stat(path); fi.Size() > 500 || len(lines) == 0 || lines[len(lines)-1].Log != "line 49\n" {
		t.Errorf("%d bytes, %d lines", fi.Size(), len(lines))
	}
}

func TestJSONFileConcurrentStreams(t *testing.T) {
	tg := jsonTarget(t)
	l := newTest(t, Config{}, tg)
	var wg sync.WaitGroup
	for _, w := range []struct {
		name string
		f    func() any
	}{{"out", func() any { return l.Stdout() }}, {"err", func() any { return l.Stderr() }}} {
		wg.Go(func() {
			wr := w.f().(interface{ Write([]byte) (int, error) })
			for i := range 2000 {
				// Lines cross writes to exercise the buffering.
				fmt.Fprintf(wr, "%s %d ", w.name, i)
				fmt.Fprintf(wr, "%s\n", strings.Repeat("z", i%50))
			}
		})
	}
	wg.Wait()
	l.Close()
	next := map[string]int{}
	for _, jl := range readJSONLines(t, JSONFilePath(tg.Dir, "web")) {
		var name string
		var i int
		fmt.Sscanf(jl.Log, "%s %d", &name, &i)
		if want := map[string]string{"out": "stdout", "err": "stderr"}[name]; jl.Stream != want {
			t.Fatalf("%q on %s", jl.Log, jl.Stream)
		}
		if i != next[name] || jl.Log != fmt.Sprintf("%s %d %s\n", name, i, strings.Repeat("z", i%50)) {
			t.Fatalf("got %q, want %s line %d", jl.Log, name, next[name])
		}
		next[name]++
	}
	if next["out"] != 2000 || next["err"] != 2000 {
		t.Errorf("lines: %v, want 2000 each", next)
	}
}

func TestReadJSONFileStreams(t *testing.T) {
	tg := jsonTarget(t)
	l := newTest(t, Config{}, tg)
	fmt.Fprint(l.Stdout(), "out 1\n")
	fmt.Fprint(l.Stderr(), "err 1\n")
	fmt.Fprint(l.Stdout(), "out 2\n")
	l.Close()
	path := JSONFilePath(tg.Dir, "web")
	// A torn line (an agent crash mid-write) is skipped.
	f, _ := os.OpenFile(path, os.O_APPEND|os.O_WRONLY, 0)
	f.WriteString(`{"log":"torn` + "\n")
	f.Close()

	var out, errOut, both bytes.Buffer
	if err := ReadJSONFile(context.Background(), path, false, &out, &errOut); err != nil {
		t.Fatal(err)
	}
	if out.String() != "out 1\nout 2\n" || errOut.String() != "err 1\n" {
		t.Errorf("stdout %q, stderr %q", out.String(), errOut.String())
	}
	if err := ReadJSONFile(context.Background(), path, false, &both, nil); err != nil {
		t.Fatal(err)
	}
	if both.String() != "out 1\nerr 1\nout 2\n" {
		t.Errorf("both %q", both.String())
	}
	if err := ReadJSONFile(context.Background(), filepath.Join(tg.Dir, "nope.log"), false, &both, nil); !os.IsNotExist(unwrapAll(err)) {
		t.Errorf("missing file: %v, want not-exist", err)
	}
}

func unwrapAll(err error) error {
	for {
		u, ok := err.(interface{ Unwrap() error })
		if !ok {
			return err
		}
		err = u.Unwrap()
	}
}

// syncBuffer is a bytes.Buffer safe to read while ReadJSONFile writes.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

func TestReadJSONFileFollow(t *testing.T) {
	tg := jsonTarget(t)
	path := JSONFilePath(tg.Dir, "web")
	ctx, cancel := context.WithCancel(context.Background())
	var out syncBuffer
	done := make(chan error, 1)
	// Following starts before the file exists.
	go func() { done <- ReadJSONFile(ctx, path, true, &out, nil) }()
	defer func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("ReadJSONFile: %v", err)
		}
	}()

	// Each line is about 80 bytes: max-size 400 rotates every ~5 lines.
	l := newTest(t, Config{Options: map[string]string{"max-size": "400", "max-file": "5"}}, tg)
	var want strings.Builder
	for i := range 30 {
		line := fmt.Sprintf("follow %02d\n", i)
		want.WriteString(line)
		fmt.Fprint(l.Stdout(), line)
		if i%4 == 3 {
			// Writes slower than the poll, so that the follower sees every
			// rotation (it reads on through one rotation per poll).
			time.Sleep(followPoll + 50*time.Millisecond)
		}
	}
	fmt.Fprint(l.Stdout(), "partial ")
	time.Sleep(followPoll + 50*time.Millisecond)
	fmt.Fprint(l.Stdout(), "then whole\n")
	want.WriteString("partial then whole\n")

	deadline := time.Now().Add(5 * time.Second)
	for out.String() != want.String() && time.Now().Before(deadline) {
		time.Sleep(20 * time.Millisecond)
	}
	if out.String() != want.String() {
		t.Errorf("followed:\n%s\nwant:\n%s", out.String(), want.String())
	}
	if _, err := os.Stat(path + ".2"); err != nil {
		t.Errorf("the log did not rotate: %v", err)
	}
}

func readJSONLines(t *testing.T, path string) []jsonLine {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var out []jsonLine
	sc := bufio.NewScanner(f)
	sc.Buffer(nil, 1<<20)
	for sc.Scan() {
		var l struct {
			jsonLine
			Time string `json:"time"`
		}
		if err := json.Unmarshal(sc.Bytes(), &l); err != nil {
			t.Fatalf("%s: %q: %v", path, sc.Text(), err)
		}
		if _, err := time.Parse(time.RFC3339Nano, l.Time); err != nil {
			t.Fatalf("%s: time %q: %v", path, l.Time, err)
		}
		out = append(out, l.jsonLine)
	}
	return out
}
