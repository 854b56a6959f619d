package logs

import (
	"bytes"
	"fmt"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// fixedClock tells one time; its waits are real.
type fixedClock struct{ t time.Time }

func (c fixedClock) Now() time.Time                         { return c.t }
func (c fixedClock) After(d time.Duration) <-chan time.Time { return time.After(d) }

// recordSink keeps what it is given, as text: "stdout:line" or
// "stdout:line…" for a partial message.
type recordSink struct {
	mu    sync.Mutex
	got   []string
	calls int
}

func (r *recordSink) accept(msgs []message) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.calls++
	for _, m := range msgs {
		s := m.stream + ":" + string(m.line)
		if m.partial {
			s += "…"
		}
		r.got = append(r.got, s)
	}
}
func (r *recordSink) dropped() int64 { return 0 }
func (r *recordSink) close() error   { return nil }

func TestLineWriter(t *testing.T) {
	long := strings.Repeat("x", dockerLineBytes)
	tests := []struct {
		name   string
		limit  int
		writes []string
		want   []string
	}{
		{"one line", dockerLineBytes, []string{"hello\n"}, []string{"stdout:hello"}},
		{"lines in one write", dockerLineBytes, []string{"a\nb\n\nc\n"}, []string{"stdout:a", "stdout:b", "stdout:", "stdout:c"}},
		{"line across writes", dockerLineBytes, []string{"he", "l", "lo\nwor", "ld\n"}, []string{"stdout:hello", "stdout:world"}},
		{"unterminated at close", dockerLineBytes, []string{"a\nprompt> "}, []string{"stdout:a", "stdout:prompt> …"}},
		{"exactly the limit", dockerLineBytes, []string{long + "\n"}, []string{"stdout:" + long}},
		{"limit plus one", dockerLineBytes, []string{long + "y\n"}, []string{"stdout:" + long + "…", "stdout:y"}},
		{"long line in pieces", 4, []string{"ab", "cdefghij", "k\n"}, []string{"stdout:abcd…", "stdout:efgh…", "stdout:ijk"}},
		{"twice the limit", 4, []string{"abcdefgh\n"}, []string{"stdout:abcd…", "stdout:efgh"}},
		{"limit reached, then more", 4, []string{"abcd", "e\n"}, []string{"stdout:abcd…", "stdout:e"}},
		// Limits other than Docker's cut before a UTF-8 sequence.
		{"rune kept whole", 5, []string{"abcdé\n"}, []string{"stdout:abcd…", "stdout:é"}},
		{"rune kept whole across writes", 5, []string{"abc", "dé", "f\n"}, []string{"stdout:abcd…", "stdout:éf"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := &recordSink{}
			var late atomic.Int64
			w := newLineWriter(streamStdout, tt.limit, r, systemClock{}, &late)
			for _, s := range tt.writes {
				if n, err := w.Write([]byte(s)); n != len(s) || err != nil {
					t.Fatalf("Write(%q) = %d, %v", s, n, err)
				}
			}
			w.close()
			if fmt.Sprint(r.got) != fmt.Sprint(tt.want) {
				t.Errorf("messages\n got %q\nwant %q", shorten(r.got), shorten(tt.want))
			}
			if _, err := w.Write([]byte("late\nlate\n")); err != nil {
				t.Errorf("Write after close: %v", err)
			}
			if late.Load() != 2 {
				t.Errorf("lines after close counted %d, want 2", late.Load())
			}
		})
	}
}

// TestLineWriterOneCallPerWrite: the sink sees a write's lines at once.
func TestLineWriterOneCallPerWrite(t *testing.T) {
	r := &recordSink{}
	var late atomic.Int64
	w := newLineWriter(streamStderr, dockerLineBytes, r, systemClock{}, &late)
	w.Write(bytes.Repeat([]byte("line\n"), 1000))
	if r.calls != 1 || len(r.got) != 1000 {
		t.Errorf("%d calls with %d lines, want 1 call with 1000", r.calls, len(r.got))
	}
}

func shorten(ss []string) []string {
	out := make([]string, len(ss))
	for i, s := range ss {
		if len(s) > 40 {
			s = fmt.Sprintf("%s…(%d bytes)…%s", s[:15], len(s), s[len(s)-15:])
		}
		out[i] = s
	}
	return out
}
