package store

import (
	"encoding/json"
	"flag"
	"log/slog"
	"os"
	"path/filepath"
	"reflect"
	"strconv"
	"testing"

	bolt "go.etcd.io/bbolt"

	"github.com/ecsd-project/ecsd/agent/task"
)

var update = flag.Bool("update", false, "rewrite testdata/store-v1.db")

const storeV1 = "testdata/store-v1.db"

// v1Tasks are the tasks in testdata/store-v1.db.
func v1Tasks(t testing.TB) []*task.Task {
	running := newTask(t, "arn:aws:ecs:us-east-1:111122223333:task/default/v1running", "web", "sidecar")
	running.Known = task.TaskRunning
	running.Queued = task.TaskRunning
	for _, c := range running.Containers {
		c.Known, c.Queued, c.RuntimeID = task.ContainerRunning, task.ContainerRunning, "ecsd-v1running-"+c.Name
	}
	stopped := newTask(t, "arn:aws:ecs:us-east-1:111122223333:task/default/v1stopped", "job")
	stopped.WantStatus(task.TaskStopped)
	stopped.Known = task.TaskStopped
	stopped.KnownStoppedAt = clock0
	code := 2
	stopped.Containers[0].Known, stopped.Containers[0].ExitCode = task.ContainerStopped, &code
	return []*task.Task{running, stopped}
}

// TestGenerateStoreV1 writes testdata/store-v1.db: a store as schema 1 left
// it. It runs only with -update:
//
//	go test ./agent/store -run TestGenerateStoreV1 -update
//
// Once committed, the file stands for stores in the field; do not rewrite it.
func TestGenerateStoreV1(t *testing.T) {
	if !*update {
		// Without -update it checks the committed file is there to migrate from.
		if _, err := os.Stat(storeV1); err != nil {
			t.Fatalf("%s is missing: %v", storeV1, err)
		}
		return
	}
	tmp := filepath.Join(t.TempDir(), "store-v1.db")
	o := *bolt.DefaultOptions
	o.PageSize = 1024 // keep the file small
	db, err := bolt.Open(tmp, 0o600, &o)
	if err != nil {
		t.Fatal(err)
	}
	if err := migrate(db, 1); err != nil {
		t.Fatal(err)
	}
	err = db.Update(func(tx *bolt.Tx) error {
		for _, tk := range v1Tasks(t) {
			v, err := encodeTask(tk, nil)
			if err != nil {
				return err
			}
			if err := tx.Bucket(bucketTasks).Put([]byte(tk.ARN), v); err != nil {
				return err
			}
		}
		id, err := json.Marshal(testIdentity)
		if err != nil {
			return err
		}
		meta := tx.Bucket(bucketMeta)
		if err := meta.Put(keyIdentity, id); err != nil {
			return err
		}
		return meta.Put([]byte("task-manifest-seq-num"), []byte("7"))
	})
	if err != nil {
		t.Fatal(err)
	}
	var used int64
	_ = db.View(func(tx *bolt.Tx) error { used = tx.Size(); return nil })
	if err := db.Close(); err != nil {
		t.Fatal(err)
	}
	// bbolt grows files in 32 KiB steps; the pages in use are all it reads.
	if err := os.Truncate(tmp, used); err != nil {
		t.Fatal(err)
	}
	b, err := os.ReadFile(tmp)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(storeV1, b, 0o644); err != nil {
		t.Fatal(err)
	}
	t.Logf("wrote %s (%d bytes)", storeV1, len(b))
}

func TestMigrationsNumbered(t *testing.T) {
	for i, m := range migrations {
		if m.to != i+1 || m.apply == nil || m.name == "" {
			t.Errorf("migrations[%d] = {to: %d, name: %q}: want to = %d, a name and a step", i, m.to, m.name, i+1)
		}
	}
}

// TestMigrateFromV1 opens a copy of a real schema-1 file.
func TestMigrateFromV1(t *testing.T) {
	old, err := os.ReadFile(storeV1)
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	path := filepath.Join(dir, "ecsd.db")
	if err := os.WriteFile(path, old, 0o644); err != nil {
		t.Fatal(err)
	}
	if v := rawVersion(t, path); v != 1 {
		t.Fatalf("%s has schema %d, want 1", storeV1, v)
	}

	rec := &logRecorder{}
	s := openAt(t, path, Options{Log: slog.New(rec)})
	if movedTo, ok := s.Recovered(); ok {
		t.Fatalf("the v1 file was treated as damaged and moved to %s", movedTo)
	}
	if errs := rec.at(slog.LevelError); len(errs) > 0 {
		t.Errorf("errors logged: %v", errs)
	}
	if v, err := s.Meta("schema-version"); err != nil || v != strconv.Itoa(len(migrations)) {
		t.Errorf("schema-version after migration: %q %v", v, err)
	}
	got, err := s.Tasks()
	if err != nil {
		t.Fatal(err)
	}
	if want := v1Tasks(t); !reflect.DeepEqual(got, want) {
		t.Errorf("tasks:\n got %+v\nwant %+v", got, want)
	}
	id, ok, err := s.Identity()
	if err != nil || !ok || !id.equal(testIdentity) {
		t.Errorf("identity: %+v %v %v", id, ok, err)
	}
	if fileID, ok, err := readIdentityFile(filepath.Join(dir, IdentityFile)); err != nil || !ok || !fileID.equal(testIdentity) {
		t.Errorf("identity file not written from the migrated store: %+v %v %v", fileID, ok, err)
	}
	if v, err := s.Meta("task-manifest-seq-num"); err != nil || v != "7" {
		t.Errorf("task-manifest-seq-num: %q %v", v, err)
	}
	if m := mode(t, path); m != 0o600 {
		t.Errorf("mode %o after open", m)
	}

	// The outbox added by schema 2 works.
	if es, err := s.Pending(0); err != nil || len(es) != 0 {
		t.Errorf("outbox of a migrated store: %+v %v", es, err)
	}
	stopped := got[1]
	if err := s.PutTask(stopped, change(stopped.ARN, task.TaskStopped, "job", task.ContainerStopped)); err != nil {
		t.Fatal(err)
	}
	if n, err := s.PendingFor(stopped.ARN); err != nil || n != 1 {
		t.Errorf("PendingFor after migration: %d %v", n, err)
	}
	_ = s.Close()
	if v := rawVersion(t, path); v != len(migrations) {
		t.Errorf("file schema %d after reopen", v)
	}
}

// rawVersion reads the schema version with bbolt alone.
func rawVersion(t *testing.T, path string) int {
	t.Helper()
	db, err := bolt.Open(path, 0o600, &bolt.Options{ReadOnly: true})
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	var v int
	err = db.View(func(tx *bolt.Tx) error {
		var err error
		v, err = schemaVersion(tx)
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	return v
}
