package logs

import (
	"cmp"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"syscall"
)

// Spool files. A record is a little-endian u32 message length, an i64
// timestamp (unix ms) and the message.
const (
	spoolLockFile   = "lock"
	spoolCursorFile = "cursor"
	spoolInfoFile   = "stream"
	segmentSuffix   = ".seg"
	recordHeader    = 12
	// readChunk is enough of a segment to fill one batch.
	readChunk = maxBatchBytes + recordHeader + maxEventBytes
)

// position is a place in the spool: a segment and an offset in it.
type position struct {
	seq uint64
	off int64
}

type segment struct {
	seq  uint64
	size int64 // bytes of whole records
}

// spool is the on-disk queue of one stream's events not yet accepted by
// CloudWatch: numbered segment files appended to in order, and a cursor
// before which everything was shipped. Many goroutines append; one reads
// and commits.
type spool struct {
	dir      string
	maxBytes int64 // bound on what is not yet shipped
	segBytes int64
	log      *slog.Logger
	lock     *os.File

	mu      sync.Mutex
	segs    []segment // oldest first; the last is appended to
	tail    *os.File
	cursor  position
	lastTS  int64 // timestamps only move forward
	buf     []byte
	full    bool  // the last append hit the bound
	lost    int64 // events dropped since full, or since writes failed
	failing bool  // the last write failed

	rd    *os.File // the reader's open segment
	rdSeq uint64
	rdBuf []byte
}

// openSpool opens (or creates) the spool in dir, takes its lock, and
// repairs a record torn by a crash at the end.
func openSpool(dir string, maxBytes, segBytes int64, info string, log *slog.Logger) (*spool, error) {
	if err := os.MkdirAll(dir, logDirMode); err != nil {
		return nil, fmt.Errorf("create spool: %w", err)
	}
	lock, err := os.OpenFile(filepath.Join(dir, spoolLockFile), os.O_CREATE|os.O_RDWR, 0o600)
	if err != nil {
		return nil, fmt.Errorf("open spool lock: %w", err)
	}
	if err := syscall.Flock(int(lock.Fd()), syscall.LOCK_EX|syscall.LOCK_NB); err != nil {
		lock.Close()
		return nil, fmt.Errorf("spool %s is in use by another logger: %w", dir, err)
	}
	s := &spool{dir: dir, maxBytes: maxBytes, segBytes: segBytes, log: log, lock: lock}
	if err := s.load(info); err != nil {
		s.close()
		return nil, err
	}
	return s, nil
}

func (s *spool) load(info string) error {
	if err := os.WriteFile(filepath.Join(s.dir, spoolInfoFile), []byte(info), 0o640); err != nil {
		return fmt.Errorf("write spool info: %w", err)
	}
	entries, err := os.ReadDir(s.dir)
	if err != nil {
		return fmt.Errorf("read spool: %w", err)
	}
	for _, e := range entries {
		name, ok := strings.CutSuffix(e.Name(), segmentSuffix)
		if !ok {
			continue
		}
		seq, err := strconv.ParseUint(name, 10, 64)
		if err != nil {
			continue
		}
		fi, err := e.Info()
		if err != nil {
			return fmt.Errorf("read spool: %w", err)
		}
		s.segs = append(s.segs, segment{seq: seq, size: fi.Size()})
	}
	slices.SortFunc(s.segs, func(a, b segment) int { return cmp.Compare(a.seq, b.seq) })

	if len(s.segs) == 0 {
		s.segs = []segment{{seq: 1}}
	}
	s.cursor = position{seq: s.segs[0].seq}
	if b, err := os.ReadFile(filepath.Join(s.dir, spoolCursorFile)); err == nil {
		var c position
		if _, err := fmt.Sscanf(string(b), "%d %d", &c.seq, &c.off); err == nil {
			if i := s.index(c.seq); i >= 0 && c.off <= s.segs[i].size {
				s.cursor = c
			}
		}
	}
	// The last segment may end in a torn record; it is cut off.
	last := &s.segs[len(s.segs)-1]
	end, lastTS, err := s.scan(last.seq)
	if err != nil {
		return err
	}
	path := s.segPath(last.seq)
	tail, err := os.OpenFile(path, os.O_CREATE|os.O_WRONLY, 0o640)
	if err != nil {
		return fmt.Errorf("open spool segment: %w", err)
	}
	if end != last.size {
		s.log.Warn("cutting a torn record off the spool", logSegment, path, logBytes, last.size-end)
		if err := tail.Truncate(end); err != nil {
			tail.Close()
			return fmt.Errorf("repair spool segment: %w", err)
		}
		last.size = end
		if s.cursor.seq == last.seq && s.cursor.off > end {
			s.cursor.off = end
		}
	}
	if _, err := tail.Seek(end, io.SeekStart); err != nil {
		tail.Close()
		return fmt.Errorf("open spool segment: %w", err)
	}
	s.tail, s.lastTS = tail, lastTS
	return nil
}

// scan reads a segment's records and says where the last whole one ends
// and its timestamp.
func (s *spool) scan(seq uint64) (end, lastTS int64, err error) {
	b, err := os.ReadFile(s.segPath(seq))
	if errors.Is(err, os.ErrNotExist) {
		return 0, 0, nil
	}
	if err != nil {
		return 0, 0, fmt.Errorf("read spool segment: %w", err)
	}
	for off := 0; len(b)-off >= recordHeader; {
		n := int(binary.LittleEndian.Uint32(b[off:]))
		if n > maxEventBytes || len(b)-off-recordHeader < n {
			break
		}
		lastTS = int64(binary.LittleEndian.Uint64(b[off+4:]))
		off += recordHeader + n
		end = int64(off)
	}
	return end, lastTS, nil
}

func (s *spool) segPath(seq uint64) string {
	return filepath.Join(s.dir, fmt.Sprintf("%020d%s", seq, segmentSuffix))
}

// index is the position of segment seq in s.segs, or -1.
func (s *spool) index(seq uint64) int {
	for i, g := range s.segs {
		if g.seq == seq {
			return i
		}
	}
	return -1
}

// backlog is how many bytes are not yet shipped. s.mu is held.
func (s *spool) backlog() int64 {
	var n int64
	for _, g := range s.segs {
		switch {
		case g.seq > s.cursor.seq:
			n += g.size
		case g.seq == s.cursor.seq:
			n += g.size - s.cursor.off
		}
	}
	return n
}

// append adds events in order; timestamps are raised to keep them in
// order. It returns how many it dropped: those beyond the bound, or lost
// to a failed write.
func (s *spool) append(evs []event) (dropped int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.tail == nil {
		return len(evs)
	}
	backlog := s.backlog()
	s.buf = s.buf[:0]
	inBuf := 0
	for i, ev := range evs {
		rec := int64(recordHeader + len(ev.msg))
		if backlog+rec > s.maxBytes {
			dropped++
			continue
		}
		if last := s.segs[len(s.segs)-1]; last.size+int64(len(s.buf))+rec > s.segBytes && last.size+int64(len(s.buf)) > 0 {
			dropped += s.write(inBuf)
			inBuf = 0
			if err := s.roll(); err != nil {
				s.noteFailure(err)
				return dropped + len(evs) - i
			}
		}
		ts := max(ev.ts, s.lastTS)
		s.lastTS = ts
		s.buf = binary.LittleEndian.AppendUint32(s.buf, uint32(len(ev.msg)))
		s.buf = binary.LittleEndian.AppendUint64(s.buf, uint64(ts))
		s.buf = append(s.buf, ev.msg...)
		inBuf++
		backlog += rec
	}
	dropped += s.write(inBuf)
	s.noteDrops(dropped)
	return dropped
}

// write appends the buffer, which holds n records, to the tail segment;
// on failure it cuts off what was written and returns n.
func (s *spool) write(n int) int {
	if len(s.buf) == 0 {
		return 0
	}
	last := &s.segs[len(s.segs)-1]
	w, err := s.tail.Write(s.buf)
	s.buf = s.buf[:0]
	if err != nil {
		if w > 0 {
			if terr := s.tail.Truncate(last.size); terr == nil {
				_, _ = s.tail.Seek(last.size, io.SeekStart)
			} else {
				last.size += int64(w) // the scan at the next open cuts the torn record
			}
		}
		s.noteFailure(err)
		return n
	}
	last.size += int64(w)
	if s.failing {
		s.log.Warn("awslogs spool writes work again")
		s.failing = false
	}
	return 0
}

func (s *spool) noteFailure(err error) {
	if !s.failing {
		s.log.Error("awslogs spool write failed; losing lines until it works again", logSpool, s.dir, logErr, err)
		s.failing = true
	}
}

// noteDrops logs the start and end of a run of drops at the bound.
func (s *spool) noteDrops(dropped int) {
	switch {
	case dropped > 0:
		if !s.full && !s.failing {
			s.log.Warn("awslogs spool is full: dropping lines until CloudWatch takes some", logSpool, s.dir, logMaxBytes, s.maxBytes)
			s.full = true
		}
		s.lost += int64(dropped)
	case s.full:
		s.log.Warn("awslogs spool has room again", logSpool, s.dir, logDropped, s.lost)
		s.full, s.lost = false, 0
	}
}

// roll starts a new tail segment. s.mu is held.
func (s *spool) roll() error {
	seq := s.segs[len(s.segs)-1].seq + 1
	f, err := os.OpenFile(s.segPath(seq), os.O_CREATE|os.O_WRONLY|os.O_TRUNC, 0o640)
	if err != nil {
		return fmt.Errorf("create spool segment: %w", err)
	}
	if err := s.tail.Close(); err != nil {
		s.log.Warn("close spool segment", logErr, err)
	}
	s.tail = f
	s.segs = append(s.segs, segment{seq: seq})
	return nil
}

// read fills a batch with the events after from and returns the position
// after them; an empty batch means nothing is waiting.
func (s *spool) read(from position) (batch, position, error) {
	s.mu.Lock()
	segs := slices.Clone(s.segs)
	s.mu.Unlock()

	var b batch
	pos := from
	for _, g := range segs {
		if g.seq < pos.seq {
			continue
		}
		if g.seq > pos.seq {
			pos = position{seq: g.seq}
		}
		for pos.off < g.size {
			n := min(g.size-pos.off, readChunk)
			chunk, err := s.readAt(g.seq, pos.off, int(n))
			if err != nil {
				return b, from, err
			}
			used, full, err := fillBatch(&b, chunk)
			if err != nil {
				s.log.Error("awslogs spool segment is corrupt; skipping the rest of it", logSegment, s.segPath(g.seq), logOffset, pos.off+int64(used), logErr, err)
				pos.off = g.size
				break
			}
			pos.off += int64(used)
			if full {
				return b, pos, nil
			}
			if used == 0 {
				break // cannot happen: a whole record always fits readChunk
			}
		}
	}
	return b, pos, nil
}

// fillBatch adds chunk's records to b until one does not fit (full) and
// returns how many bytes it used.
func fillBatch(b *batch, chunk []byte) (used int, full bool, err error) {
	for len(chunk)-used >= recordHeader {
		n := int(binary.LittleEndian.Uint32(chunk[used:]))
		if n > maxEventBytes {
			return used, false, fmt.Errorf("record of %d bytes", n)
		}
		if len(chunk)-used-recordHeader < n {
			return used, false, nil
		}
		ts := int64(binary.LittleEndian.Uint64(chunk[used+4:]))
		if !b.add(event{ts: ts, msg: chunk[used+recordHeader : used+recordHeader+n]}) {
			return used, true, nil
		}
		used += recordHeader + n
	}
	return used, false, nil
}

func (s *spool) readAt(seq uint64, off int64, n int) ([]byte, error) {
	if s.rd == nil || s.rdSeq != seq {
		if s.rd != nil {
			s.rd.Close()
			s.rd = nil
		}
		f, err := os.Open(s.segPath(seq))
		if err != nil {
			return nil, fmt.Errorf("read spool: %w", err)
		}
		s.rd, s.rdSeq = f, seq
	}
	if cap(s.rdBuf) < n {
		s.rdBuf = make([]byte, n)
	}
	buf := s.rdBuf[:n]
	if _, err := s.rd.ReadAt(buf, off); err != nil {
		return nil, fmt.Errorf("read spool: %w", err)
	}
	return buf, nil
}

// position is where shipping stands.
func (s *spool) position() position {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.cursor
}

// commit records that everything before pos was shipped and removes the
// segments that holds in full. The cursor is written first: a crash in
// between leaves shipped segments behind, never loses unshipped ones.
func (s *spool) commit(pos position) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	tmp := filepath.Join(s.dir, spoolCursorFile+".tmp")
	if err := os.WriteFile(tmp, fmt.Appendf(nil, "%d %d\n", pos.seq, pos.off), 0o640); err != nil {
		return fmt.Errorf("write spool cursor: %w", err)
	}
	if err := os.Rename(tmp, filepath.Join(s.dir, spoolCursorFile)); err != nil {
		return fmt.Errorf("write spool cursor: %w", err)
	}
	s.cursor = pos
	for len(s.segs) > 1 && s.segs[0].seq < pos.seq {
		if s.rd != nil && s.rdSeq == s.segs[0].seq {
			s.rd.Close()
			s.rd = nil
		}
		if err := os.Remove(s.segPath(s.segs[0].seq)); err != nil && !errors.Is(err, os.ErrNotExist) {
			return fmt.Errorf("remove shipped spool segment: %w", err)
		}
		s.segs = s.segs[1:]
	}
	return nil
}

// pending is how many bytes are not yet shipped.
func (s *spool) pending() int64 {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.backlog()
}

func (s *spool) close() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	var errs []error
	if s.tail != nil {
		errs = append(errs, s.tail.Close())
		s.tail = nil
	}
	if s.rd != nil {
		s.rd.Close()
		s.rd = nil
	}
	if s.lock != nil {
		errs = append(errs, s.lock.Close()) // releases the flock
		s.lock = nil
	}
	return errors.Join(errs...)
}
