package store

import (
	"errors"
	"log/slog"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"syscall"
	"testing"
	"time"

	bolt "go.etcd.io/bbolt"

	"github.com/ecsd-project/ecsd/agent/task"
)

func mode(t *testing.T, path string) os.FileMode {
	t.Helper()
	fi, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	return fi.Mode().Perm()
}

// TestFileModes: the store and identity file are 0600, whatever the umask
// and whatever mode the store file had before; a created directory is 0700.
// It changes the process umask, so it does not run in parallel.
func TestFileModes(t *testing.T) {
	tests := []struct {
		name     string
		umask    int
		preexist os.FileMode // 0: no file before Open
	}{
		{name: "new file, umask 0", umask: 0},
		{name: "new file, umask 022", umask: 0o022},
		{name: "existing 0644 file", umask: 0o022, preexist: 0o644},
		{name: "existing 0666 file, umask 0", umask: 0, preexist: 0o666},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			old := syscall.Umask(tt.umask)
			t.Cleanup(func() { syscall.Umask(old) })
			dir := filepath.Join(t.TempDir(), "var", "lib", "ecs", "data")
			path := filepath.Join(dir, "ecsd.db")
			if tt.preexist != 0 {
				// A valid store, left with loose bits.
				s, err := Open(path, Options{})
				if err != nil {
					t.Fatal(err)
				}
				if err := s.Close(); err != nil {
					t.Fatal(err)
				}
				if err := os.Chmod(path, tt.preexist); err != nil {
					t.Fatal(err)
				}
			}
			s := openAt(t, path, Options{})
			if _, moved := s.Recovered(); moved {
				t.Fatal("a valid file was treated as damaged")
			}
			if m := mode(t, path); m != 0o600 {
				t.Errorf("store file mode %o, want 600", m)
			}
			if m := mode(t, dir); m != 0o700 {
				t.Errorf("directory mode %o, want 700", m)
			}
			if err := s.SetIdentity(testIdentity); err != nil {
				t.Fatal(err)
			}
			if m := mode(t, filepath.Join(dir, IdentityFile)); m != 0o600 {
				t.Errorf("identity file mode %o, want 600", m)
			}
		})
	}
}

func TestReopenKeepsState(t *testing.T) {
	path := filepath.Join(t.TempDir(), "ecsd.db")
	s, err := Open(path, Options{Now: fixedNow})
	if err != nil {
		t.Fatal(err)
	}
	a, b := newTask(t, "arn:task/a", "web", "sidecar"), newTask(t, "arn:task/b", "job")
	a.Known = task.TaskRunning
	a.Containers[0].Known = task.ContainerRunning
	code := 3
	b.Containers[0].ExitCode = &code
	if err := s.AcceptTasks([]*task.Task{a, b}); err != nil {
		t.Fatal(err)
	}
	if err := s.PutTask(a, change(a.ARN, task.TaskRunning, "web", task.ContainerRunning)); err != nil {
		t.Fatal(err)
	}
	if err := s.SetIdentity(testIdentity); err != nil {
		t.Fatal(err)
	}
	if err := s.SetMeta("task-manifest-seq-num", "42"); err != nil {
		t.Fatal(err)
	}
	wantTasks, err := s.Tasks()
	if err != nil {
		t.Fatal(err)
	}
	wantPending, err := s.Pending(0)
	if err != nil {
		t.Fatal(err)
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}

	s = openAt(t, path, Options{})
	gotTasks, err := s.Tasks()
	if err != nil {
		t.Fatal(err)
	}
	if len(gotTasks) != 2 || !reflect.DeepEqual(gotTasks, wantTasks) {
		t.Errorf("tasks after reopen:\n got %+v\nwant %+v", gotTasks, wantTasks)
	}
	if gotTasks[1].Containers[0].ExitCode == nil || *gotTasks[1].Containers[0].ExitCode != 3 {
		t.Errorf("exit code lost: %+v", gotTasks[1].Containers[0])
	}
	gotPending, err := s.Pending(0)
	if err != nil {
		t.Fatal(err)
	}
	if len(gotPending) != 1 || !reflect.DeepEqual(gotPending, wantPending) {
		t.Errorf("outbox after reopen:\n got %+v\nwant %+v", gotPending, wantPending)
	}
	if !gotPending[0].QueuedAt.Equal(clock0) {
		t.Errorf("queuedAt %v, want the injected clock's %v", gotPending[0].QueuedAt, clock0)
	}
	id, ok, err := s.Identity()
	if err != nil || !ok || !id.equal(testIdentity) {
		t.Errorf("identity after reopen: %+v %v %v", id, ok, err)
	}
	if v, err := s.Meta("task-manifest-seq-num"); err != nil || v != "42" {
		t.Errorf("meta after reopen: %q %v", v, err)
	}
}

func TestLockedByAnotherStore(t *testing.T) {
	path := filepath.Join(t.TempDir(), "ecsd.db")
	openAt(t, path, Options{})

	start := time.Now()
	_, err := Open(path, Options{LockTimeout: 200 * time.Millisecond})
	if !errors.Is(err, ErrLocked) {
		t.Fatalf("second Open: %v, want ErrLocked", err)
	}
	if !strings.Contains(err.Error(), "another ecsd holds "+path) {
		t.Errorf("error does not say who holds what: %v", err)
	}
	if waited := time.Since(start); waited > 3*time.Second {
		t.Errorf("waited %v for a 200ms lock timeout", waited)
	}
	if matches, _ := filepath.Glob(path + ".corrupt-*"); len(matches) > 0 {
		t.Errorf("a locked file was moved aside: %v", matches)
	}
}

func TestRefusesNewerSchema(t *testing.T) {
	path := filepath.Join(t.TempDir(), "ecsd.db")
	s, err := Open(path, Options{})
	if err != nil {
		t.Fatal(err)
	}
	if err := s.PutTask(newTask(t, "arn:task/a", "web")); err != nil {
		t.Fatal(err)
	}
	_ = s.Close()
	setVersion(t, path, "3")

	_, err = Open(path, Options{})
	if !errors.Is(err, ErrNewerSchema) {
		t.Fatalf("Open: %v, want ErrNewerSchema", err)
	}
	if !strings.Contains(err.Error(), "schema version 3, this ecsd knows up to 2") {
		t.Errorf("unclear error: %v", err)
	}
	if matches, _ := filepath.Glob(path + ".corrupt-*"); len(matches) > 0 {
		t.Errorf("a newer file was moved aside: %v", matches)
	}
}

func setVersion(t *testing.T, path, version string) {
	t.Helper()
	db, err := bolt.Open(path, 0o600, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	err = db.Update(func(tx *bolt.Tx) error {
		return tx.Bucket(bucketMeta).Put(keySchemaVersion, []byte(version))
	})
	if err != nil {
		t.Fatal(err)
	}
}

func TestRefusesForeignBoltFile(t *testing.T) {
	path := filepath.Join(t.TempDir(), "agent.db")
	db, err := bolt.Open(path, 0o600, nil)
	if err != nil {
		t.Fatal(err)
	}
	err = db.Update(func(tx *bolt.Tx) error {
		_, err := tx.CreateBucket([]byte("metadata"))
		return err
	})
	_ = db.Close()
	if err != nil {
		t.Fatal(err)
	}
	_, err = Open(path, Options{})
	if err == nil || !strings.Contains(err.Error(), "not an ecsd store") {
		t.Fatalf("Open of another program's bbolt file: %v", err)
	}
	if matches, _ := filepath.Glob(path + ".corrupt-*"); len(matches) > 0 {
		t.Errorf("a foreign file was moved aside: %v", matches)
	}
}

// TestClosedStoreFails: every write on a closed store is an error.
func TestClosedStoreFails(t *testing.T) {
	s, err := Open(filepath.Join(t.TempDir(), "ecsd.db"), Options{})
	if err != nil {
		t.Fatal(err)
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	tk := newTask(t, "arn:task/a", "web")
	calls := map[string]func() error{
		"PutTask":     func() error { return s.PutTask(tk, change(tk.ARN, task.TaskRunning)) },
		"AcceptTasks": func() error { return s.AcceptTasks([]*task.Task{tk}) },
		"DeleteTask":  func() error { return s.DeleteTask(tk.ARN) },
		"Delivered":   func() error { return s.Delivered(1) },
		"SetIdentity": func() error { return s.SetIdentity(testIdentity) },
		"SetMeta":     func() error { return s.SetMeta("k", "v") },
	}
	for name, call := range calls {
		if err := call(); err == nil {
			t.Errorf("%s on a closed store returned nil", name)
		}
	}
}

func TestMeta(t *testing.T) {
	s := openTemp(t)
	if _, err := s.Meta("task-manifest-seq-num"); !errors.Is(err, ErrNotFound) {
		t.Errorf("unset meta: %v, want ErrNotFound", err)
	}
	if v, err := s.Meta("schema-version"); err != nil || v != "2" {
		t.Errorf("schema-version: %q %v", v, err)
	}
	for _, key := range []string{"", "schema-version", "identity"} {
		if err := s.SetMeta(key, "x"); err == nil {
			t.Errorf("SetMeta(%q) accepted a reserved key", key)
		}
	}
	if v, err := s.Meta("schema-version"); err != nil || v != "2" {
		t.Errorf("schema-version changed: %q %v", v, err)
	}
}

func TestIdentity(t *testing.T) {
	s := openTemp(t)
	if _, ok, err := s.Identity(); ok || err != nil {
		t.Fatalf("fresh store has an identity: %v %v", ok, err)
	}
	if err := s.SetIdentity(Identity{Cluster: "c"}); err == nil {
		t.Error("an identity without an ARN was accepted")
	}
	noTime := testIdentity
	noTime.RegisteredAt = time.Time{}
	if err := s.SetIdentity(noTime); err != nil {
		t.Fatal(err)
	}
	id, ok, err := s.Identity()
	if err != nil || !ok || !id.RegisteredAt.Equal(clock0) {
		t.Errorf("identity %+v %v %v: want RegisteredAt from the clock", id, ok, err)
	}
	fileID, ok, err := readIdentityFile(filepath.Join(filepath.Dir(s.Path()), IdentityFile))
	if err != nil || !ok || !fileID.equal(id) {
		t.Errorf("identity file %+v %v %v, want %+v", fileID, ok, err, id)
	}
}

// TestIdentityFileFollowsStore: Open rewrites a missing or stale identity
// file from the store, and leaves one without a stored identity unused.
func TestIdentityFileFollowsStore(t *testing.T) {
	dir := t.TempDir()
	path, idPath := filepath.Join(dir, "ecsd.db"), filepath.Join(dir, IdentityFile)
	s, err := Open(path, Options{})
	if err != nil {
		t.Fatal(err)
	}
	if err := s.SetIdentity(testIdentity); err != nil {
		t.Fatal(err)
	}
	_ = s.Close()

	for _, damage := range []func() error{
		func() error { return os.Remove(idPath) },
		func() error { return os.WriteFile(idPath, []byte(`{"containerInstanceArn":"stale"}`), 0o644) },
	} {
		if err := damage(); err != nil {
			t.Fatal(err)
		}
		s, err := Open(path, Options{})
		if err != nil {
			t.Fatal(err)
		}
		_ = s.Close()
		id, ok, err := readIdentityFile(idPath)
		if err != nil || !ok || !id.equal(testIdentity) {
			t.Errorf("identity file after Open: %+v %v %v", id, ok, err)
		}
		if m := mode(t, idPath); m != 0o600 {
			t.Errorf("identity file mode %o", m)
		}
	}

	// The store file removed, the identity file kept: not used, but said.
	if err := os.Remove(path); err != nil {
		t.Fatal(err)
	}
	rec := &logRecorder{}
	s = openAt(t, path, Options{Log: slog.New(rec)})
	if _, ok, _ := s.Identity(); ok {
		t.Error("identity restored into a store that was removed, not damaged")
	}
	if len(rec.at(slog.LevelWarn)) == 0 {
		t.Error("no warning about the unused identity file")
	}
}

// TestClearIdentity: the identity leaves the store and its file; tasks stay.
func TestClearIdentity(t *testing.T) {
	s := openTemp(t)
	if err := s.SetIdentity(testIdentity); err != nil {
		t.Fatal(err)
	}
	if err := s.PutTask(newTask(t, "arn:task/a", "web")); err != nil {
		t.Fatal(err)
	}
	if err := s.ClearIdentity(); err != nil {
		t.Fatal(err)
	}
	if _, ok, err := s.Identity(); ok || err != nil {
		t.Errorf("identity after ClearIdentity: %v %v", ok, err)
	}
	if _, err := os.Stat(filepath.Join(filepath.Dir(s.Path()), IdentityFile)); !os.IsNotExist(err) {
		t.Errorf("identity file after ClearIdentity: %v", err)
	}
	if ts, err := s.Tasks(); err != nil || len(ts) != 1 {
		t.Errorf("tasks after ClearIdentity: %d %v", len(ts), err)
	}
	if err := s.ClearIdentity(); err != nil {
		t.Errorf("second ClearIdentity: %v", err)
	}
}
