package store

import (
	"fmt"
	"reflect"
	"sync"
	"testing"

	"github.com/ecsd-project/ecsd/agent/task"
)

// step is one PutTask with one change, or a delivery of the last entry.
type step struct {
	ch      task.StateChange
	deliver bool // deliver the newest pending entry instead
}

func TestOutboxOrderAndDedupe(t *testing.T) {
	const a, b = "arn:task/a", "arn:task/b"
	running := change(a, task.TaskRunning, "web", task.ContainerRunning, "db", task.ContainerRunning)
	reordered := change(a, task.TaskRunning, "db", task.ContainerRunning, "web", task.ContainerRunning)
	withReason := running
	withReason.Reason = "other words"
	withReason.PullStartedAt = clock0
	stopped := exited(change(a, task.TaskStopped, "web", task.ContainerStopped), "web", 0)
	stoppedOther := exited(change(a, task.TaskStopped, "web", task.ContainerStopped), "web", 137)
	stoppedNoCode := change(a, task.TaskStopped, "web", task.ContainerStopped)
	bRunning := change(b, task.TaskRunning, "job", task.ContainerRunning)

	tests := []struct {
		name  string
		steps []step
		want  []task.StateChange // pending afterwards, in order
	}{
		{"one", []step{{ch: running}}, []task.StateChange{running}},
		{"identical twice", []step{{ch: running}, {ch: running}}, []task.StateChange{running}},
		{"containers in another order", []step{{ch: running}, {ch: reordered}}, []task.StateChange{running}},
		{"only reason and times differ", []step{{ch: running}, {ch: withReason}}, []task.StateChange{running}},
		{"status differs", []step{{ch: running}, {ch: stopped}}, []task.StateChange{running, stopped}},
		{"exit code differs", []step{{ch: stopped}, {ch: stoppedOther}}, []task.StateChange{stopped, stoppedOther}},
		{"exit code appears", []step{{ch: stoppedNoCode}, {ch: stopped}}, []task.StateChange{stoppedNoCode, stopped}},
		{"container set differs", []step{{ch: stopped}, {ch: change(a, task.TaskStopped)}},
			[]task.StateChange{stopped, change(a, task.TaskStopped)}},
		{"another task in between still dedupes", []step{{ch: running}, {ch: bRunning}, {ch: running}},
			[]task.StateChange{running, bRunning}},
		{"equal to an older entry, not the last", []step{{ch: running}, {ch: stopped}, {ch: running}},
			[]task.StateChange{running, stopped, running}},
		{"the last was delivered", []step{{ch: running}, {deliver: true}, {ch: running}},
			[]task.StateChange{running}},
		{"tasks interleave in order", []step{{ch: running}, {ch: bRunning}, {ch: stopped}},
			[]task.StateChange{running, bRunning, stopped}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := openTemp(t)
			for i, st := range tt.steps {
				if st.deliver {
					es, _ := s.Pending(0)
					if err := s.Delivered(es[len(es)-1].Seq); err != nil {
						t.Fatal(err)
					}
					continue
				}
				if err := s.PutTask(newTask(t, st.ch.TaskARN, "web"), st.ch); err != nil {
					t.Fatalf("step %d: %v", i, err)
				}
			}
			es, err := s.Pending(0)
			if err != nil {
				t.Fatal(err)
			}
			var got []task.StateChange
			for i, e := range es {
				if i > 0 && e.Seq <= es[i-1].Seq {
					t.Errorf("entries out of order: %d after %d", e.Seq, es[i-1].Seq)
				}
				got = append(got, e.Change)
			}
			if !reflect.DeepEqual(got, tt.want) {
				t.Errorf("pending:\n got %+v\nwant %+v", got, tt.want)
			}
		})
	}
}

// TestDedupeWithinOneCall: two equal changes in one PutTask are one entry.
func TestDedupeWithinOneCall(t *testing.T) {
	s := openTemp(t)
	ch := change("arn:task/a", task.TaskRunning)
	if err := s.PutTask(newTask(t, "arn:task/a", "web"), ch, ch); err != nil {
		t.Fatal(err)
	}
	if n, _ := s.PendingFor("arn:task/a"); n != 1 {
		t.Errorf("pending %d, want 1", n)
	}
}

func TestPendingDeliveredPendingFor(t *testing.T) {
	s := openTemp(t)
	statuses := []task.TaskStatus{task.TaskRunning, task.TaskStopped}
	for _, arn := range []string{"arn:task/a", "arn:task/b", "arn:task/ab"} {
		for _, st := range statuses {
			if err := s.PutTask(newTask(t, arn, "web"), change(arn, st)); err != nil {
				t.Fatal(err)
			}
		}
	}
	// "arn:task/a" is a prefix of "arn:task/ab": counts must not mix.
	for arn, want := range map[string]int{"arn:task/a": 2, "arn:task/ab": 2, "arn:task/b": 2, "arn:task/none": 0} {
		if n, err := s.PendingFor(arn); err != nil || n != want {
			t.Errorf("PendingFor(%s) = %d %v, want %d", arn, n, err, want)
		}
	}
	first, err := s.Pending(2)
	if err != nil {
		t.Fatal(err)
	}
	if len(first) != 2 || first[0].Seq != 1 || first[1].Seq != 2 || first[0].Change.TaskARN != "arn:task/a" {
		t.Fatalf("Pending(2): %+v", first)
	}
	for range 2 { // Delivered is idempotent
		if err := s.Delivered(first[0].Seq, first[1].Seq, 999); err != nil {
			t.Fatal(err)
		}
	}
	if n, _ := s.PendingFor("arn:task/a"); n != 0 {
		t.Errorf("PendingFor after delivery: %d", n)
	}
	rest, _ := s.Pending(0)
	if len(rest) != 4 || rest[0].Seq != 3 {
		t.Errorf("after delivery: %+v", rest)
	}
	if err := s.Delivered(); err != nil {
		t.Errorf("Delivered(): %v", err)
	}
	// Sequence numbers are never reused.
	if err := s.PutTask(newTask(t, "arn:task/a", "web"), change("arn:task/a", task.TaskRunning)); err != nil {
		t.Fatal(err)
	}
	all, _ := s.Pending(0)
	if last := all[len(all)-1]; last.Seq != 7 {
		t.Errorf("new entry has seq %d, want 7", last.Seq)
	}
}

// TestConcurrentWritersAndReporter: task workers write while a reporter
// drains; every change arrives once, in order per task.
func TestConcurrentWritersAndReporter(t *testing.T) {
	s := openTemp(t)
	const tasks, changes = 8, 25
	var writers sync.WaitGroup
	for i := range tasks {
		writers.Add(1)
		go func() {
			defer writers.Done()
			arn := fmt.Sprintf("arn:task/%d", i)
			tk := newTask(t, arn, "web")
			for n := range changes {
				// Each change differs from the last by its exit code.
				if err := s.PutTask(tk, exited(change(arn, task.TaskRunning, "web", task.ContainerRunning), "web", n)); err != nil {
					t.Error(err)
					return
				}
			}
		}()
	}
	done := make(chan struct{})
	go func() { writers.Wait(); close(done) }()

	seen := map[string][]int{}
	drain := func() {
		es, err := s.Pending(10)
		if err != nil {
			t.Fatal(err)
		}
		var seqs []uint64
		for _, e := range es {
			seen[e.Change.TaskARN] = append(seen[e.Change.TaskARN], *e.Change.Containers[0].ExitCode)
			seqs = append(seqs, e.Seq)
		}
		if err := s.Delivered(seqs...); err != nil {
			t.Fatal(err)
		}
	}
	for {
		select {
		case <-done:
			for es, _ := s.Pending(0); len(es) > 0; es, _ = s.Pending(0) {
				drain()
			}
			for i := range tasks {
				arn := fmt.Sprintf("arn:task/%d", i)
				got := seen[arn]
				if len(got) != changes {
					t.Errorf("%s: %d changes reported, want %d", arn, len(got), changes)
				}
				for n, code := range got {
					if code != n {
						t.Errorf("%s: change %d reported as %d", arn, n, code)
						break
					}
				}
			}
			return
		default:
			drain()
		}
	}
}

func BenchmarkPutTaskWithChange(b *testing.B) {
	s, err := Open(b.TempDir()+"/ecsd.db", Options{})
	if err != nil {
		b.Fatal(err)
	}
	defer s.Close()
	tk := newTask(b, "arn:task/bench", "web")
	for i := range b.N {
		ch := exited(change(tk.ARN, task.TaskStopped, "web", task.ContainerStopped), "web", i)
		if err := s.PutTask(tk, ch); err != nil {
			b.Fatal(err)
		}
	}
}
