package logs

import (
	"bytes"
	"sync"
	"sync/atomic"
	"time"
	"unicode/utf8"
)

// dockerLineBytes is the longest message Docker's log copier makes: a line
// longer than its 16 KiB buffer is cut into 16 KiB partial messages.
const dockerLineBytes = 16 * 1024

// message is one line of a container's output, without its newline.
type message struct {
	stream  string // streamStdout or streamStderr
	line    []byte // valid only during sink.accept
	partial bool   // no newline followed: a cut of a longer line, or the bytes left at Close
	time    time.Time
}

// lineWriter cuts one stream into messages of at most limit bytes and hands
// each write's messages to the sink.
type lineWriter struct {
	stream   string
	limit    int
	runeSafe bool // cut long lines before a UTF-8 sequence, not inside it
	sink     sink
	clock    Clock
	late     *atomic.Int64

	mu     sync.Mutex
	buf    []byte    // the current line's bytes so far; never more than limit
	msgs   []message // this write's messages, reused
	now    time.Time // this write's time
	closed bool
}

func newLineWriter(stream string, limit int, s sink, c Clock, late *atomic.Int64) *lineWriter {
	return &lineWriter{stream: stream, limit: limit, runeSafe: limit != dockerLineBytes, sink: s, clock: c, late: late}
}

// Write never fails: a container must not stall on its logs.
func (w *lineWriter) Write(p []byte) (int, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.closed {
		w.late.Add(int64(max(1, bytes.Count(p, []byte{'\n'}))))
		return len(p), nil
	}
	w.now = w.clock.Now()
	n := len(p)
	for len(p) > 0 {
		i := bytes.IndexByte(p, '\n')
		if i < 0 {
			w.add(p, false)
			break
		}
		w.add(p[:i], true)
		p = p[i+1:]
	}
	w.flush()
	return n, nil
}

// add takes the next piece of the current line; complete says a newline
// ended it.
func (w *lineWriter) add(seg []byte, complete bool) {
	for len(w.buf)+len(seg) > w.limit {
		if len(w.buf) == 0 {
			n := w.cut(seg)
			w.msgs = append(w.msgs, message{stream: w.stream, line: seg[:n], partial: true, time: w.now})
			seg = seg[n:]
			continue
		}
		// Top the buffer up past the limit so that cut sees what follows.
		k := min(len(seg), w.limit+1-len(w.buf))
		w.buf = append(w.buf, seg[:k]...)
		seg = seg[k:]
		w.emitBuf(w.cut(w.buf), true)
	}
	switch {
	case !complete:
		w.buf = append(w.buf, seg...)
	case len(w.buf) == 0:
		w.msgs = append(w.msgs, message{stream: w.stream, line: seg, time: w.now})
	default:
		w.buf = append(w.buf, seg...)
		w.emitBuf(len(w.buf), false)
	}
}

// emitBuf hands over the first n buffered bytes as a message and keeps the
// rest. The sink gets them at once, before the buffer is reused.
func (w *lineWriter) emitBuf(n int, partial bool) {
	w.msgs = append(w.msgs, message{stream: w.stream, line: w.buf[:n], partial: partial, time: w.now})
	w.flush()
	w.buf = w.buf[:copy(w.buf, w.buf[n:])]
}

// cut is where to end a message taken from b, which is longer than the
// limit: at the limit, or just before a UTF-8 sequence the limit would split.
func (w *lineWriter) cut(b []byte) int {
	if !w.runeSafe {
		return w.limit
	}
	for j := w.limit; j > 0 && j > w.limit-utf8.UTFMax; j-- {
		if utf8.RuneStart(b[j]) {
			return j
		}
	}
	return w.limit
}

func (w *lineWriter) flush() {
	if len(w.msgs) == 0 {
		return
	}
	w.sink.accept(w.msgs)
	clear(w.msgs) // drop references to the container's bytes
	w.msgs = w.msgs[:0]
}

// close hands over an unterminated last line as a partial message.
func (w *lineWriter) close() {
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.closed {
		return
	}
	if len(w.buf) > 0 {
		w.now = w.clock.Now()
		w.emitBuf(len(w.buf), true)
	}
	w.closed = true
	w.buf = nil
}
