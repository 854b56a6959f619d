package testenv

import (
	"archive/tar"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/containerd/containerd/v2/client"
	"github.com/containerd/containerd/v2/core/images"
	"github.com/containerd/containerd/v2/pkg/cio"
	"github.com/containerd/containerd/v2/pkg/namespaces"
	"github.com/containerd/containerd/v2/pkg/oci"
	ocispec "github.com/opencontainers/image-spec/specs-go/v1"
)

const testNamespace = "testenv"

func TestImagesArchive(t *testing.T) {
	start := time.Now()
	set := Images(t)
	t.Logf("built %d images in %s", len(set.Manifests), time.Since(start))

	index := readIndex(t, set.Archive)
	var names []string
	for _, m := range index.Manifests {
		name := m.Annotations[images.AnnotationImageName]
		names = append(names, name)
		tag := strings.TrimPrefix(name, ImageRepo+":")
		if got := m.Annotations[ocispec.AnnotationRefName]; got != tag {
			t.Errorf("%s: %s = %q, want %q", name, ocispec.AnnotationRefName, got, tag)
		}
		if m.Digest != set.Digest(tag) {
			t.Errorf("%s: digest %s in archive, %s in set", name, m.Digest, set.Digest(tag))
		}
	}
	slices.Sort(names)
	want := []string{set.Ref(TagEntrypoint), set.Ref(TagHealth), set.Ref(TagShell), set.Ref(TagUser)}
	if !slices.Equal(names, want) {
		t.Errorf("archive names %v, want %v", names, want)
	}

	one := readIndex(t, set.ArchiveFor(TagUser))
	if len(one.Manifests) != 1 || one.Manifests[0].Annotations[images.AnnotationImageName] != set.Ref(TagUser) {
		t.Errorf("user archive index %+v, want only %s", one.Manifests, set.Ref(TagUser))
	}

	again := Images(t)
	for _, tag := range ImageTags() {
		if again.Digest(tag) != set.Digest(tag) {
			t.Errorf("%s: digest %s then %s; builds should be reproducible", tag, set.Digest(tag), again.Digest(tag))
		}
	}
}

// readIndex reads index.json from an OCI layout tar.
func readIndex(t *testing.T, path string) ocispec.Index {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	tr := tar.NewReader(f)
	for {
		hdr, err := tr.Next()
		if err != nil {
			t.Fatalf("no index.json in %s: %v", path, err)
		}
		if hdr.Name != "index.json" {
			continue
		}
		var idx ocispec.Index
		if err := json.NewDecoder(tr).Decode(&idx); err != nil {
			t.Fatalf("decode index.json: %v", err)
		}
		return idx
	}
}

// TestHarness uses every part, then checks that the cleanups left nothing.
func TestHarness(t *testing.T) {
	var (
		ctdDir    string
		regDirs   []string
		container proc
	)
	t.Run("use", func(t *testing.T) {
		start := time.Now()
		ctd := Containerd(t)
		ctdDir = ctd.Dir
		t.Logf("containerd %s answered in %s", ctd.Version, time.Since(start))

		set := Images(t)
		cl := ctd.Client(t)
		ctx := namespaces.WithNamespace(t.Context(), testNamespace)
		importArchive(t, cl, set.Archive)
		for _, tag := range ImageTags() {
			if _, err := cl.GetImage(ctx, set.Ref(tag)); err != nil {
				t.Errorf("image %s not imported: %v", set.Ref(tag), err)
			}
		}

		for i, run := range []struct {
			tag  string
			args []string // nil: the image's own command
			want string
		}{
			{TagShell, []string{"echo", "hi"}, "hi\n"},
			{TagEntrypoint, nil, "from-entrypoint default-cmd\n"},
			{TagEntrypoint, []string{"sh", "-c", "pwd; echo $IMAGE_ONLY $SHARED"}, "/srv\nimage image\n"},
			{TagHealth, []string{"sh", "-c", "httpd -p 8080 -h /srv && wget -q -O- http://127.0.0.1:8080/"}, HealthPage},
		} {
			id := fmt.Sprintf("t1-%d", i)
			if out := runContainer(t, cl, set.Ref(run.tag), id, run.args...); out != run.want {
				t.Errorf("%s %q printed %q, want %q", set.Ref(run.tag), run.args, out, run.want)
			}
		}
		out := Run(t, "ctr", "--address", ctd.Address, "-n", testNamespace, "run", "--rm", set.Ref(TagUser), "t2")
		if !strings.HasPrefix(out, "uid=1000(app) gid=1000(app)") {
			t.Errorf("ctr run %s printed %q, want uid=1000(app) gid=1000(app) ...", set.Ref(TagUser), out)
		}
		// Left running on purpose: the cleanup must kill it.
		container = startSleeper(t, cl, set.Ref(TagShell), "sleeper")

		open := Registry(t, RegistryOptions{})
		auth := Registry(t, RegistryOptions{Auth: true})
		regDirs = []string{open.Dir, auth.Dir}
		if auth.Password == "" || open.Password != "" {
			t.Errorf("passwords: open %q, auth %q", open.Password, auth.Password)
		}
		pushStart := time.Now()
		open.Push(t, set)
		refs := auth.Push(t, set)
		t.Logf("pushed %d tags to two registries in %s", len(refs), time.Since(pushStart))

		if _, err := cl.Pull(ctx, refs[TagHealth], client.WithResolver(auth.Resolver()), client.WithPullUnpack); err != nil {
			t.Errorf("pull %s with credentials: %v", refs[TagHealth], err)
		}
		img, err := cl.Pull(ctx, open.Ref(TagEntrypoint), client.WithResolver(open.Resolver()))
		if err != nil {
			t.Errorf("pull %s from the open registry: %v", open.Ref(TagEntrypoint), err)
		} else if img.Target().Digest != set.Digest(TagEntrypoint) {
			t.Errorf("pulled %s, pushed %s", img.Target().Digest, set.Digest(TagEntrypoint))
		}
		_, err = cl.Pull(ctx, auth.Ref(TagUser), client.WithResolver(PlainHTTPResolver(auth.Username, "wrong")))
		if err == nil || !(strings.Contains(err.Error(), "401") || strings.Contains(strings.ToLower(err.Error()), "unauthorized")) {
			t.Errorf("pull with a wrong password: err = %v, want 401 unauthorized", err)
		}

		open.Stop(t)
		if resp, err := http.Get("http://" + open.Host + "/v2/"); err == nil {
			resp.Body.Close()
			t.Errorf("registry still answers after Stop: %s", resp.Status)
		}
	})
	if ctdDir == "" {
		t.Fatal("containerd did not start")
	}
	checkGone(t, ctdDir, container)
	for _, dir := range regDirs {
		checkGone(t, dir, proc{})
	}
}

// TestCleanupAfterPanic runs a test that panics with a container running and
// checks that its cleanup still removed everything.
func TestCleanupAfterPanic(t *testing.T) {
	dir, container, out := runHelper(t, "panic")
	if !strings.Contains(out, "helper panics") {
		t.Errorf("helper did not panic:\n%s", out)
	}
	checkGone(t, dir, container)
}

// TestSweepAfterKill runs a test binary that is killed with a container
// running, so no cleanup runs, and checks that the next Containerd call
// sweeps what it left.
func TestSweepAfterKill(t *testing.T) {
	dir, container, out := runHelper(t, "kill")
	if _, err := os.Stat(dir); err != nil {
		t.Fatalf("killed helper's %s is already gone (%v); the test proves nothing\n%s", dir, err, out)
	}
	if !alive(container.pid, container.start) {
		t.Fatalf("killed helper's container %d died with it; the test proves nothing", container.pid)
	}
	Containerd(t)
	checkGone(t, dir, container)
}

const helperEnv = "ECSD_TESTENV_HELPER"

// TestHelperProcess is the body of the child test binary that
// TestCleanupAfterPanic and TestSweepAfterKill run; it does nothing
// otherwise. It starts a container, reports it, then panics or is killed.
func TestHelperProcess(t *testing.T) {
	mode := os.Getenv(helperEnv)
	if mode == "" {
		return
	}
	ctd := Containerd(t)
	set := Images(t)
	cl := ctd.Client(t)
	importArchive(t, cl, set.ArchiveFor(TagShell))
	c := startSleeper(t, cl, set.Ref(TagShell), "sleeper")
	fmt.Printf("HELPER dir=%s pid=%d start=%d tmp=%s\n", ctd.Dir, c.pid, c.start, filepath.Dir(set.Dir))
	switch mode {
	case "panic":
		panic("helper panics")
	case "kill":
		_ = syscall.Kill(os.Getpid(), syscall.SIGKILL)
		time.Sleep(time.Minute)
	}
}

// runHelper runs TestHelperProcess in a child test binary and returns the
// instance directory and container it reported, and its output. It removes
// the child's temporary directory, which a killed child cannot.
func runHelper(t *testing.T, mode string) (string, proc, string) {
	t.Helper()
	ctx, cancel := context.WithTimeout(t.Context(), time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, os.Args[0], "-test.run=^TestHelperProcess$", "-test.count=1")
	cmd.Env = append(os.Environ(), helperEnv+"="+mode)
	b, err := cmd.CombinedOutput()
	out := string(b)
	var exit *exec.ExitError
	if !errors.As(err, &exit) {
		t.Fatalf("helper (%s) should fail, got %v:\n%s", mode, err, out)
	}
	var dir, tmp string
	var c proc
	for _, line := range strings.Split(out, "\n") {
		if _, err := fmt.Sscanf(line, "HELPER dir=%s pid=%d start=%d tmp=%s", &dir, &c.pid, &c.start, &tmp); err == nil {
			if strings.HasPrefix(filepath.Base(tmp), "TestHelperProcess") {
				t.Cleanup(func() { os.RemoveAll(tmp) })
			}
			return dir, c, out
		}
	}
	t.Fatalf("helper (%s) did not report its container:\n%s", mode, out)
	return "", proc{}, ""
}

func importArchive(t *testing.T, cl *client.Client, path string) {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	ctx := namespaces.WithNamespace(t.Context(), testNamespace)
	if _, err := cl.Import(ctx, f); err != nil {
		t.Fatalf("import %s: %v", path, err)
	}
}

// newContainer unpacks ref and creates a container running args, or the
// image's own command when there are none.
func newContainer(t *testing.T, cl *client.Client, ref, id string, args ...string) client.Container {
	t.Helper()
	ctx := namespaces.WithNamespace(t.Context(), testNamespace)
	img, err := cl.GetImage(ctx, ref)
	if err != nil {
		t.Fatalf("get image %s: %v", ref, err)
	}
	if err := img.Unpack(ctx, "overlayfs"); err != nil {
		t.Fatalf("unpack %s: %v", ref, err)
	}
	specOpts := []oci.SpecOpts{oci.WithImageConfig(img)}
	if len(args) > 0 {
		specOpts = append(specOpts, oci.WithProcessArgs(args...))
	}
	ctr, err := cl.NewContainer(ctx, id, client.WithNewSnapshot(id, img), client.WithNewSpec(specOpts...))
	if err != nil {
		t.Fatalf("create container %s: %v", id, err)
	}
	return ctr
}

// runContainer runs args in a new container and returns its output.
func runContainer(t *testing.T, cl *client.Client, ref, id string, args ...string) string {
	t.Helper()
	ctx := namespaces.WithNamespace(t.Context(), testNamespace)
	ctr := newContainer(t, cl, ref, id, args...)
	defer func() {
		if err := ctr.Delete(ctx, client.WithSnapshotCleanup); err != nil {
			t.Errorf("delete container %s: %v", id, err)
		}
	}()
	// One writer for both streams must be safe for concurrent use: cio
	// copies stdout and stderr in two goroutines, and a shared bytes.Buffer
	// loses output.
	var out syncBuffer
	task, err := ctr.NewTask(ctx, cio.NewCreator(cio.WithStreams(nil, &out, &out)))
	if err != nil {
		t.Fatalf("create task %s: %v", id, err)
	}
	exited, err := task.Wait(ctx)
	if err != nil {
		t.Fatalf("wait task %s: %v", id, err)
	}
	if err := task.Start(ctx); err != nil {
		t.Fatalf("start task %s: %v", id, err)
	}
	st := <-exited
	if code, _, err := st.Result(); err != nil || code != 0 {
		t.Errorf("task %s exited %d (%v)", id, code, err)
	}
	// Delete closes the task's IO, so all output has arrived after it.
	if _, err := task.Delete(ctx); err != nil {
		t.Errorf("delete task %s: %v", id, err)
	}
	return out.String()
}

// syncBuffer is a bytes.Buffer safe for concurrent writes.
type syncBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *syncBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

// startSleeper starts a container that sleeps and returns its process.
func startSleeper(t *testing.T, cl *client.Client, ref, id string) proc {
	t.Helper()
	ctx := namespaces.WithNamespace(t.Context(), testNamespace)
	ctr := newContainer(t, cl, ref, id, "sleep", "600")
	task, err := ctr.NewTask(ctx, cio.NullIO)
	if err != nil {
		t.Fatalf("create task %s: %v", id, err)
	}
	if err := task.Start(ctx); err != nil {
		t.Fatalf("start task %s: %v", id, err)
	}
	p, ok := readProc(int(task.Pid()))
	if !ok {
		t.Fatalf("task %s: pid %d not in /proc", id, task.Pid())
	}
	return p
}

// checkGone fails the test if dir exists, a process still refers to it, a
// mount is left under it, or the given process still runs.
func checkGone(t *testing.T, dir string, p proc) {
	t.Helper()
	if _, err := os.Stat(dir); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("%s still exists (%v)", dir, err)
	}
	for _, q := range listProcs() {
		if q.state != 'Z' && q.refersTo(dir) {
			t.Errorf("process %d still refers to %s: %q (cwd %s)", q.pid, dir, q.args, q.cwd)
		}
	}
	if mounts, err := mountsUnder(dir); err != nil || len(mounts) > 0 {
		t.Errorf("mounts left under %s: %v (%v)", dir, mounts, err)
	}
	if p.pid != 0 && alive(p.pid, p.start) {
		t.Errorf("container process %d %q still runs", p.pid, p.args)
	}
}
