package store

import (
	"bytes"
	"errors"
	"os"
	"reflect"
	"testing"
	"time"

	"github.com/ecsd-project/ecsd/agent/task"
	"github.com/ecsd-project/ecsd/wire/acs"
)

func TestTaskRoundTrip(t *testing.T) {
	s := openTemp(t)
	if _, err := s.Task("arn:task/none"); !errors.Is(err, ErrNotFound) {
		t.Errorf("missing task: %v, want ErrNotFound", err)
	}
	tk := newTask(t, "arn:task/a", "web", "db")
	tk.Known = task.TaskRunning
	tk.PullStartedAt = clock0
	tk.Containers[0].RuntimeID = "ecsd-a-web"
	tk.Containers[0].NetworkBindings = []task.NetworkBinding{{ContainerPort: 80, HostPort: 8080, Protocol: "tcp"}}
	if err := s.PutTask(tk); err != nil {
		t.Fatal(err)
	}
	got, err := s.Task(tk.ARN)
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(got, tk) {
		t.Errorf("read back:\n got %+v\nwant %+v", got, tk)
	}
	if n, err := s.PendingFor(tk.ARN); err != nil || n != 0 {
		t.Errorf("PutTask without changes queued %d (%v)", n, err)
	}
}

func TestPutTaskRefuses(t *testing.T) {
	s := openTemp(t)
	tk := newTask(t, "arn:task/a", "web")
	tests := []struct {
		name    string
		task    *task.Task
		changes []task.StateChange
	}{
		{"nil task", nil, nil},
		{"empty arn", &task.Task{}, nil},
		{"arn with NUL", &task.Task{ARN: "arn:task/\x00"}, nil},
		{"change about another task", tk, []task.StateChange{change("arn:task/other", task.TaskRunning)}},
		{"change without a task arn", tk, []task.StateChange{change("", task.TaskRunning)}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if err := s.PutTask(tt.task, tt.changes...); err == nil {
				t.Fatal("accepted")
			}
		})
	}
	if ts, _ := s.Tasks(); len(ts) != 0 {
		t.Errorf("refused writes stored tasks: %+v", ts)
	}
	if es, _ := s.Pending(0); len(es) != 0 {
		t.Errorf("refused writes queued changes: %+v", es)
	}
}

// TestPutTaskAtomic: when a change cannot be written, neither the task
// state nor any earlier change of the same call is stored.
func TestPutTaskAtomic(t *testing.T) {
	s := openTemp(t)
	tk := newTask(t, "arn:task/a", "web")
	if err := s.PutTask(tk); err != nil {
		t.Fatal(err)
	}
	before, _ := s.Task(tk.ARN)

	next := tk.Clone()
	next.Known = task.TaskRunning
	next.Containers[0].Known = task.ContainerRunning
	good := change(tk.ARN, task.TaskRunning, "web", task.ContainerRunning)
	bad := change(tk.ARN, task.TaskStopped)
	bad.ExecutionStoppedAt = time.Date(10000, 1, 1, 0, 0, 0, 0, time.UTC) // JSON cannot encode it
	if err := s.PutTask(next, good, bad); err == nil {
		t.Fatal("PutTask with an unencodable change succeeded")
	}
	after, err := s.Task(tk.ARN)
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(after, before) {
		t.Errorf("task half-written:\n got %+v\nwant %+v", after, before)
	}
	if es, _ := s.Pending(0); len(es) != 0 {
		t.Errorf("outbox half-written: %+v", es)
	}
	// The sequence did not advance either: the next entry is number 1.
	if err := s.PutTask(next, good); err != nil {
		t.Fatal(err)
	}
	if es, _ := s.Pending(0); len(es) != 1 || es[0].Seq != 1 {
		t.Errorf("after a good write: %+v", es)
	}
}

// TestDesiredNeverMovesBack: a write with an older desired status keeps
// the stored one, as rule 7 says, without changing the caller's task.
func TestDesiredNeverMovesBack(t *testing.T) {
	s := openTemp(t)
	tk := newTask(t, "arn:task/a", "web")
	stopped := tk.Clone()
	stopped.WantStatus(task.TaskStopped)
	if err := s.PutTask(stopped); err != nil {
		t.Fatal(err)
	}
	tk.Known = task.TaskRunning
	if err := s.PutTask(tk); err != nil {
		t.Fatal(err)
	}
	if tk.Desired != task.TaskRunning || tk.Containers[0].Desired != task.ContainerRunning {
		t.Error("PutTask changed the caller's task")
	}
	got, _ := s.Task(tk.ARN)
	if got.Known != task.TaskRunning {
		t.Errorf("known status %v not written", got.Known)
	}
	if got.Desired != task.TaskStopped || got.Containers[0].Desired != task.ContainerStopped {
		t.Errorf("desired moved back: task %v, container %v", got.Desired, got.Containers[0].Desired)
	}
}

func TestAcceptTasks(t *testing.T) {
	running := func(arn string) *task.Task { return newTask(t, arn, "web") }
	stopping := func(arn string) *task.Task {
		tk := newTask(t, arn, "web")
		tk.WantStatus(task.TaskStopped)
		return tk
	}
	tests := []struct {
		name        string
		stored      *task.Task // before the payload; Known is set RUNNING
		payload     []*task.Task
		wantDesired task.TaskStatus
	}{
		{"new task is stored", nil, []*task.Task{running("arn:t")}, task.TaskRunning},
		{"re-sent task keeps its state", running("arn:t"), []*task.Task{running("arn:t")}, task.TaskRunning},
		{"stop moves desired forward", running("arn:t"), []*task.Task{stopping("arn:t")}, task.TaskStopped},
		{"a stop is never undone", stopping("arn:t"), []*task.Task{running("arn:t")}, task.TaskStopped},
		{"same task twice in a payload", nil, []*task.Task{running("arn:t"), stopping("arn:t")}, task.TaskStopped},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := openTemp(t)
			if tt.stored != nil {
				tt.stored.Known = task.TaskRunning
				if err := s.PutTask(tt.stored); err != nil {
					t.Fatal(err)
				}
			}
			if err := s.AcceptTasks(tt.payload); err != nil {
				t.Fatal(err)
			}
			got, err := s.Task("arn:t")
			if err != nil {
				t.Fatal(err)
			}
			if got.Desired != tt.wantDesired {
				t.Errorf("desired %v, want %v", got.Desired, tt.wantDesired)
			}
			if tt.stored != nil && got.Known != task.TaskRunning {
				t.Errorf("known status %v: the stored state was overwritten", got.Known)
			}
		})
	}
}

// TestAcceptTasksAllOrNothing: one bad task in a payload stores none.
func TestAcceptTasksAllOrNothing(t *testing.T) {
	s := openTemp(t)
	err := s.AcceptTasks([]*task.Task{newTask(t, "arn:task/a", "web"), {ARN: ""}})
	if err == nil {
		t.Fatal("accepted a task without an ARN")
	}
	if ts, _ := s.Tasks(); len(ts) != 0 {
		t.Errorf("stored %d tasks of a refused payload", len(ts))
	}
}

func TestTasksOrderedByARN(t *testing.T) {
	s := openTemp(t)
	arns := []string{"arn:task/c", "arn:task/a", "arn:task/b"}
	for _, arn := range arns {
		if err := s.PutTask(newTask(t, arn, "web")); err != nil {
			t.Fatal(err)
		}
	}
	ts, err := s.Tasks()
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, tk := range ts {
		got = append(got, tk.ARN)
	}
	if want := []string{"arn:task/a", "arn:task/b", "arn:task/c"}; !reflect.DeepEqual(got, want) {
		t.Errorf("Tasks order %v, want %v", got, want)
	}
}

func TestDeleteTask(t *testing.T) {
	s := openTemp(t)
	tk := newTask(t, "arn:task/a", "web")
	if err := s.PutTask(tk, change(tk.ARN, task.TaskStopped, "web", task.ContainerStopped)); err != nil {
		t.Fatal(err)
	}
	if err := s.DeleteTask(tk.ARN); !errors.Is(err, ErrUndelivered) {
		t.Fatalf("delete with a pending report: %v, want ErrUndelivered", err)
	}
	if _, err := s.Task(tk.ARN); err != nil {
		t.Fatalf("refused delete removed the task: %v", err)
	}
	es, _ := s.Pending(0)
	if err := s.Delivered(es[0].Seq); err != nil {
		t.Fatal(err)
	}
	for range 2 { // deleting twice is fine
		if err := s.DeleteTask(tk.ARN); err != nil {
			t.Fatalf("delete after delivery: %v", err)
		}
	}
	if _, err := s.Task(tk.ARN); !errors.Is(err, ErrNotFound) {
		t.Errorf("deleted task: %v", err)
	}
}

// TestNoSecretsStored: credential secrets that came with a task never reach
// the file, whether FromACS dropped them or a caller left them in.
func TestNoSecretsStored(t *testing.T) {
	const secret, token = "wJalrXUtnFEMI-SECRET-KEY", "FwoGZXIvYXdz-SESSION-TOKEN"
	creds := func(id string) *acs.IAMRoleCredentials {
		return &acs.IAMRoleCredentials{CredentialsID: id, RoleARN: "arn:aws:iam::1:role/r", AccessKeyID: "ASIAEXAMPLE",
			SecretAccessKey: secret, SessionToken: token, Expiration: "2030-01-01T00:00:00Z"}
	}
	def := acs.Task{ARN: "arn:task/creds", DesiredStatus: acs.DesiredStatusRunning,
		RoleCredentials: creds("task-creds"), ExecutionRoleCredentials: creds("exec-creds"),
		Containers: []acs.Container{{Name: "web", Image: "busybox"}}}
	fromACS, err := task.FromACS("default", def)
	if err != nil {
		t.Fatal(err)
	}
	handMade := newTask(t, "arn:task/hand-made", "web")
	handMade.Def.RoleCredentials = creds("hand-made")

	s := openTemp(t)
	if err := s.AcceptTasks([]*task.Task{fromACS}); err != nil {
		t.Fatal(err)
	}
	if err := s.PutTask(handMade); err != nil {
		t.Fatal(err)
	}
	if handMade.Def.RoleCredentials == nil {
		t.Error("PutTask changed the caller's task")
	}
	got, err := s.Task(fromACS.ARN)
	if err != nil {
		t.Fatal(err)
	}
	if got.CredentialsID != "task-creds" || got.ExecutionCredentialsID != "exec-creds" {
		t.Errorf("credentials ids lost: %q %q", got.CredentialsID, got.ExecutionCredentialsID)
	}
	if got.Def.RoleCredentials != nil || got.Def.ExecutionRoleCredentials != nil {
		t.Errorf("credentials stored: %+v", got.Def)
	}
	_ = s.Close()
	raw, err := os.ReadFile(s.Path())
	if err != nil {
		t.Fatal(err)
	}
	for _, sec := range []string{secret, token, "ASIAEXAMPLE"} {
		if bytes.Contains(raw, []byte(sec)) {
			t.Errorf("the store file contains %q", sec)
		}
	}
}
