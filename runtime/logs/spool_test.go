package logs

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func openTestSpool(t *testing.T, dir string, maxBytes, segBytes int64) *spool {
	t.Helper()
	s, err := openSpool(dir, maxBytes, segBytes, "test\n", discardLog())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.close() })
	return s
}

func evs(from, n int) []event {
	out := make([]event, n)
	for i := range out {
		out[i] = event{ts: int64(1000 + from + i), msg: fmt.Appendf(nil, "event %05d", from+i)}
	}
	return out
}

// drain reads and commits everything, returning the messages.
func drain(t *testing.T, s *spool) []string {
	t.Helper()
	var got []string
	for {
		b, next, err := s.read(s.position())
		if err != nil {
			t.Fatal(err)
		}
		if len(b.events) == 0 {
			return got
		}
		for _, e := range b.events {
			got = append(got, *e.Message)
		}
		if err := s.commit(next); err != nil {
			t.Fatal(err)
		}
	}
}

func wantEvents(t *testing.T, got []string, from, n int) {
	t.Helper()
	if len(got) != n {
		t.Fatalf("%d events, want %d", len(got), n)
	}
	for i, g := range got {
		if want := fmt.Sprintf("event %05d", from+i); g != want {
			t.Fatalf("event %d is %q, want %q", i, g, want)
		}
	}
}

func TestSpoolOrderAndSegments(t *testing.T) {
	dir := t.TempDir()
	s := openTestSpool(t, dir, 1<<20, 1000) // 23-byte records: ~43 a segment
	for i := 0; i < 500; i += 50 {
		if d := s.append(evs(i, 50)); d != 0 {
			t.Fatalf("dropped %d", d)
		}
	}
	segs, _ := filepath.Glob(filepath.Join(dir, "*.seg"))
	if len(segs) < 10 {
		t.Errorf("%d segments, want many", len(segs))
	}
	wantEvents(t, drain(t, s), 0, 500)
	if segs, _ := filepath.Glob(filepath.Join(dir, "*.seg")); len(segs) != 1 {
		t.Errorf("%d segments left after shipping all, want 1", len(segs))
	}
	if s.pending() != 0 {
		t.Errorf("pending %d", s.pending())
	}
}

func TestSpoolTimestampsMoveForward(t *testing.T) {
	s := openTestSpool(t, t.TempDir(), 1<<20, 1<<20)
	s.append([]event{{ts: 50, msg: []byte("a")}, {ts: 40, msg: []byte("b")}, {ts: 60, msg: []byte("c")}})
	b, _, _ := s.read(s.position())
	var ts []int64
	for _, e := range b.events {
		ts = append(ts, *e.Timestamp)
	}
	if fmt.Sprint(ts) != "[50 50 60]" {
		t.Errorf("timestamps %v, want [50 50 60]", ts)
	}
}

// TestSpoolReopen: a new spool on the same directory goes on where the
// last one stopped, cutting off a torn record.
func TestSpoolReopen(t *testing.T) {
	dir := t.TempDir()
	// 23-byte records, 13 to a 300-byte segment.
	s := openTestSpool(t, dir, 1<<20, 300)
	s.append(evs(0, 40))
	// Ship the first 15: everything before the third record of segment 2.
	if err := s.commit(position{seq: 2, off: 2 * 23}); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(s.segPath(1)); !os.IsNotExist(err) {
		t.Errorf("shipped segment 1 still there: %v", err)
	}
	if _, err := openSpool(dir, 1<<20, 300, "", discardLog()); err == nil || !strings.Contains(err.Error(), "in use") {
		t.Errorf("second open of a spool in use: %v", err)
	}
	s.close()

	// A crash mid-write leaves half a record at the end.
	segs, _ := filepath.Glob(filepath.Join(dir, "*.seg"))
	f, _ := os.OpenFile(segs[len(segs)-1], os.O_APPEND|os.O_WRONLY, 0)
	f.Write([]byte{40, 0, 0, 0, 1, 2, 3})
	f.Close()

	s2 := openTestSpool(t, dir, 1<<20, 300)
	s2.append(evs(40, 5))
	wantEvents(t, drain(t, s2), 15, 30)
}

func TestSpoolBound(t *testing.T) {
	s := openTestSpool(t, t.TempDir(), 100*(recordHeader+11), 1<<20)
	if d := s.append(evs(0, 150)); d != 50 {
		t.Errorf("dropped %d of 150 with room for 100", d)
	}
	wantEvents(t, drain(t, s), 0, 100)
	if d := s.append(evs(150, 10)); d != 0 {
		t.Errorf("dropped %d after shipping", d)
	}
}
