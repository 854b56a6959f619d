package logs

import (
	"context"
	"errors"
	"maps"
	"testing"

	"github.com/coreos/go-systemd/v22/journal"
)

func TestJournalFields(t *testing.T) {
	tg := Target{
		TaskARN: "arn:aws:ecs:us-east-1:123456789012:task/prod/abc123", TaskID: "abc123", Cluster: "prod",
		ContainerName: "web", ContainerID: "0123456789abcdef0123",
	}
	full, partial := journalFields(tg, "")
	want := map[string]string{
		"CONTAINER_NAME":    "web",
		"CONTAINER_ID":      "0123456789ab",
		"CONTAINER_ID_FULL": "0123456789abcdef0123",
		"ECS_TASK_ARN":      "arn:aws:ecs:us-east-1:123456789012:task/prod/abc123",
		"ECS_CLUSTER":       "prod",
		"SYSLOG_IDENTIFIER": "0123456789ab",
	}
	if !maps.Equal(full, want) {
		t.Errorf("fields %v, want %v", full, want)
	}
	want["CONTAINER_PARTIAL_MESSAGE"] = "true"
	if !maps.Equal(partial, want) {
		t.Errorf("partial fields %v, want %v", partial, want)
	}
	if full, _ := journalFields(tg, "ecs/{{.Name}}/{{.TaskID}}"); full["SYSLOG_IDENTIFIER"] != "ecs/web/abc123" {
		t.Errorf("tag gives SYSLOG_IDENTIFIER %q", full["SYSLOG_IDENTIFIER"])
	}
	if journalPriority(streamStdout) != 6 || journalPriority(streamStderr) != 3 {
		t.Errorf("priorities %d, %d; want 6 for stdout, 3 for stderr", journalPriority(streamStdout), journalPriority(streamStderr))
	}
}

// TestJournaldSends: each line is one send with MESSAGE, PRIORITY and the
// fields; a failing send is counted.
func TestJournaldSends(t *testing.T) {
	type sent struct {
		msg  string
		pri  journal.Priority
		vars map[string]string
	}
	var got []sent
	fail := false
	j := &journald{log: discardLog(), send: func(msg string, pri journal.Priority, vars map[string]string) error {
		if fail {
			return errors.New("socket gone")
		}
		got = append(got, sent{msg, pri, vars})
		return nil
	}}
	j.full, j.partial = journalFields(Target{ContainerName: "web", ContainerID: "c1"}, "")
	j.accept([]message{{stream: streamStdout, line: []byte("hi")}, {stream: streamStderr, line: []byte("part"), partial: true}})
	if len(got) != 2 || got[0].msg != "hi" || got[0].pri != journal.PriInfo || got[0].vars["CONTAINER_NAME"] != "web" ||
		got[1].msg != "part" || got[1].pri != journal.PriErr || got[1].vars["CONTAINER_PARTIAL_MESSAGE"] != "true" {
		t.Errorf("sent %+v", got)
	}
	fail = true
	j.accept([]message{{stream: streamStdout, line: []byte("lost")}})
	if j.dropped() != 1 {
		t.Errorf("dropped %d, want 1", j.dropped())
	}
}

// TestJournaldNoJournal: without a journal socket New says so. (Where a
// journal runs, it logs a line instead.)
func TestJournaldNoJournal(t *testing.T) {
	tg := Target{ContainerName: "web", ContainerID: "c1", TaskID: "t1"}
	l, err := New(context.Background(), Config{Driver: "journald", Options: map[string]string{"tag": "ecsd-test"}}, tg)
	if journal.Enabled() {
		if err != nil {
			t.Fatalf("journal is there, but New: %v", err)
		}
		l.Stdout().Write([]byte("ecsd runtime/logs test line\n"))
		if err := l.Close(); err != nil || l.Dropped() != 0 {
			t.Errorf("Close: %v, dropped %d", err, l.Dropped())
		}
		return
	}
	if !errors.Is(err, ErrNoJournal) || !errors.Is(err, ErrDriver) {
		t.Fatalf("New without a journal: %v, want ErrNoJournal", err)
	}
	t.Logf("error: %v", err)
}
