package store

import (
	"log/slog"
	"math/rand/v2"
	"os"
	"path/filepath"
	"testing"

	bolt "go.etcd.io/bbolt"

	"github.com/ecsd-project/ecsd/agent/task"
)

// validStore writes a store with an identity, tasks and an outbox entry,
// closes it, and returns its path.
func validStore(t *testing.T) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), "ecsd.db")
	s, err := Open(path, Options{})
	if err != nil {
		t.Fatal(err)
	}
	if err := s.SetIdentity(testIdentity); err != nil {
		t.Fatal(err)
	}
	for i := range 40 { // enough for the file to span several pages
		tk := newTask(t, "arn:aws:ecs:us-east-1:111122223333:task/default/"+string(rune('a'+i%26))+string(rune('a'+i/26)), "web", "db")
		if err := s.PutTask(tk, change(tk.ARN, task.TaskRunning, "web", task.ContainerRunning)); err != nil {
			t.Fatal(err)
		}
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	return path
}

func putRaw(bucket, key, value []byte) func(t *testing.T, path string) {
	return func(t *testing.T, path string) {
		db, err := bolt.Open(path, 0o600, nil)
		if err != nil {
			t.Fatal(err)
		}
		defer db.Close()
		err = db.Update(func(tx *bolt.Tx) error { return tx.Bucket(bucket).Put(key, value) })
		if err != nil {
			t.Fatal(err)
		}
	}
}

func truncateTo(size func(old int64) int64) func(t *testing.T, path string) {
	return func(t *testing.T, path string) {
		fi, err := os.Stat(path)
		if err != nil {
			t.Fatal(err)
		}
		if err := os.Truncate(path, size(fi.Size())); err != nil {
			t.Fatal(err)
		}
	}
}

// TestRecoverDamaged: a damaged file is moved aside, a fresh store takes
// its place with the identity restored from identity.json, an Error is
// logged, and Recovered says where the old file went.
func TestRecoverDamaged(t *testing.T) {
	tests := []struct {
		name   string
		damage func(t *testing.T, path string)
	}{
		{"garbage bytes", func(t *testing.T, path string) {
			b := make([]byte, 64<<10)
			r := rand.NewChaCha8([32]byte{1})
			_, _ = r.Read(b)
			if err := os.WriteFile(path, b, 0o600); err != nil {
				t.Fatal(err)
			}
		}},
		{"truncated to half", truncateTo(func(n int64) int64 { return n / 2 })},
		{"truncated inside the meta pages", truncateTo(func(int64) int64 { return 5000 })},
		{"truncated by four pages", truncateTo(func(n int64) int64 { return n - 4*4096 })},
		{"both meta pages scribbled", func(t *testing.T, path string) {
			f, err := os.OpenFile(path, os.O_WRONLY, 0)
			if err != nil {
				t.Fatal(err)
			}
			defer f.Close()
			junk := make([]byte, 64)
			for i := range junk {
				junk[i] = 0xA5
			}
			for _, off := range []int64{16, 4096 + 16} {
				if _, err := f.WriteAt(junk, off); err != nil {
					t.Fatal(err)
				}
			}
		}},
		{"schema version unreadable", putRaw(bucketMeta, keySchemaVersion, []byte("two"))},
		{"task value not JSON", putRaw(bucketTasks, []byte("arn:task/x"), []byte("{not json"))},
		{"task under another arn", putRaw(bucketTasks, []byte("arn:task/x"), []byte(`{"arn":"arn:task/y"}`))},
		{"outbox entry not indexed", putRaw(bucketOutbox, seqKey(99), []byte(`{"seq":99,"change":{"taskArn":"arn:task/x","status":"RUNNING"}}`))},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			path := validStore(t)
			tt.damage(t, path)

			rec := &logRecorder{}
			s := openAt(t, path, Options{Log: slog.New(rec)})
			movedTo, ok := s.Recovered()
			if want := path + ".corrupt-20250102T030405Z"; !ok || movedTo != want {
				t.Fatalf("Recovered() = %q, %v; want %q", movedTo, ok, want)
			}
			if _, err := os.Stat(movedTo); err != nil {
				t.Errorf("damaged file not kept: %v", err)
			} else if m := mode(t, movedTo); m != 0o600 {
				t.Errorf("moved file mode %o", m)
			}
			if len(rec.at(slog.LevelError)) == 0 {
				t.Error("nothing logged at Error level")
			}
			id, ok, err := s.Identity()
			if err != nil || !ok || !id.equal(testIdentity) {
				t.Errorf("identity not restored: %+v %v %v", id, ok, err)
			}
			if ts, err := s.Tasks(); err != nil || len(ts) != 0 {
				t.Errorf("fresh store has tasks: %d %v", len(ts), err)
			}
			// The fresh store works and survives a reopen.
			tk := newTask(t, "arn:task/new", "web")
			if err := s.PutTask(tk, change(tk.ARN, task.TaskRunning)); err != nil {
				t.Fatal(err)
			}
			_ = s.Close()
			s2 := openAt(t, path, Options{})
			if _, again := s2.Recovered(); again {
				t.Error("the fresh store was found damaged too")
			}
			if n, _ := s2.PendingFor(tk.ARN); n != 1 {
				t.Errorf("pending after reopen: %d", n)
			}
		})
	}
}

// TestRecoverTwiceInOneSecond: a second damaged file does not overwrite
// the first one moved aside.
func TestRecoverTwiceInOneSecond(t *testing.T) {
	path := validStore(t)
	var moved []string
	for range 2 {
		if err := os.WriteFile(path, []byte("not a database, but long enough to look like one ............"), 0o600); err != nil {
			t.Fatal(err)
		}
		s, err := Open(path, Options{Now: fixedNow})
		if err != nil {
			t.Fatal(err)
		}
		to, ok := s.Recovered()
		_ = s.Close()
		if !ok {
			t.Fatal("not recovered")
		}
		moved = append(moved, to)
	}
	if moved[0] == moved[1] || moved[1] != moved[0]+"-2" {
		t.Errorf("moved to %q then %q", moved[0], moved[1])
	}
}

// TestRecoverWithoutIdentityFile: the store is still replaced; ecsd will
// register anew, and says so at Error level.
func TestRecoverWithoutIdentityFile(t *testing.T) {
	path := validStore(t)
	if err := os.Remove(filepath.Join(filepath.Dir(path), IdentityFile)); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, []byte("garbage garbage garbage garbage garbage garbage garbage garbage"), 0o600); err != nil {
		t.Fatal(err)
	}
	rec := &logRecorder{}
	s := openAt(t, path, Options{Log: slog.New(rec)})
	if _, ok := s.Recovered(); !ok {
		t.Fatal("not recovered")
	}
	if _, ok, err := s.Identity(); ok || err != nil {
		t.Errorf("identity from nowhere: %v %v", ok, err)
	}
	if n := len(rec.at(slog.LevelError)); n < 2 {
		t.Errorf("%d Error records, want one for the damage and one for the lost identity", n)
	}
}
