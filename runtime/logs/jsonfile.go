package logs

import (
	"errors"
	"fmt"
	"log/slog"
	"os"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"
	"unicode/utf8"
)

const (
	logFileMode = 0o640
	logDirMode  = 0o750
)

// jsonFile is the json-file driver: Docker's format, one JSON object per
// line, rotated at max-size into max-file files in all.
type jsonFile struct {
	path     string
	maxSize  int64 // 0: unlimited
	maxFiles int
	log      *slog.Logger

	mu      sync.Mutex
	closed  bool
	f       *os.File // nil while it cannot be opened
	size    int64
	buf     []byte
	failing bool  // the last write failed
	lost    int64 // lines lost since the writes started failing
	drops   atomic.Int64
}

func newJSONFile(opts map[string]string, t Target) (*jsonFile, error) {
	if err := checkOptions(DriverJSONFile, opts, "max-file", "max-size"); err != nil {
		return nil, err
	}
	j := &jsonFile{maxFiles: 1}
	if v, ok := opts["max-size"]; ok {
		n, err := parseSize(v)
		if err != nil || n <= 0 {
			return nil, fmt.Errorf("max-size %q: want a positive size such as 10m or 100k", v)
		}
		j.maxSize = n
	}
	if v, ok := opts["max-file"]; ok {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 {
			return nil, fmt.Errorf("max-file %q: want a whole number of at least 1", v)
		}
		if n > 1 && j.maxSize == 0 {
			return nil, fmt.Errorf("max-file %d needs max-size", n)
		}
		j.maxFiles = n
	}
	if t.Dir == "" || t.ContainerName == "" {
		return nil, errors.New("json-file needs the container's log directory and name")
	}
	if err := os.MkdirAll(t.Dir, logDirMode); err != nil {
		return nil, fmt.Errorf("create log directory: %w", err)
	}
	j.path = JSONFilePath(t.Dir, t.ContainerName)
	j.log = t.Log.With(logPath, j.path)
	if err := j.open(); err != nil {
		return nil, err
	}
	return j, nil
}

// open opens (or creates) the current file for appending.
func (j *jsonFile) open() error {
	f, err := os.OpenFile(j.path, os.O_WRONLY|os.O_CREATE|os.O_APPEND, logFileMode)
	if err != nil {
		return fmt.Errorf("open log file: %w", err)
	}
	fi, err := f.Stat()
	if err == nil && fi.Mode().Perm() != logFileMode {
		err = f.Chmod(logFileMode) // whatever the umask
	}
	if err != nil {
		f.Close()
		return fmt.Errorf("open log file: %w", err)
	}
	j.f, j.size = f, fi.Size()
	return nil
}

func (j *jsonFile) accept(msgs []message) {
	j.mu.Lock()
	defer j.mu.Unlock()
	if j.closed {
		j.drops.Add(int64(len(msgs)))
		return
	}
	if j.f == nil {
		if err := j.open(); err != nil {
			j.lose(len(msgs), err)
			return
		}
	}
	j.buf = j.buf[:0]
	pending := 0 // messages in buf
	for _, m := range msgs {
		start := len(j.buf)
		j.buf = appendJSONLine(j.buf, m)
		if j.maxSize > 0 && j.size+int64(len(j.buf)) > j.maxSize && j.size+int64(start) > 0 {
			// This line would take the file past max-size: write what
			// comes before it, then start a new file.
			j.write(j.buf[:start], pending)
			j.rotate()
			j.buf = j.buf[:copy(j.buf, j.buf[start:])]
			pending = 0
		}
		pending++
	}
	j.write(j.buf, pending)
}

// write appends b, which holds n lines, to the current file.
func (j *jsonFile) write(b []byte, n int) {
	if len(b) == 0 {
		return
	}
	if j.f == nil {
		j.lose(n, errors.New("no log file open"))
		return
	}
	w, err := j.f.Write(b)
	j.size += int64(w)
	if err != nil {
		j.lose(n, err)
		return
	}
	if j.failing {
		j.log.Warn("json-file writes work again", logDropped, j.lost)
		j.failing, j.lost = false, 0
	}
}

func (j *jsonFile) lose(n int, err error) {
	j.drops.Add(int64(n))
	j.lost += int64(n)
	if !j.failing {
		j.log.Error("json-file write failed; losing lines until it works again", logErr, err)
		j.failing = true
	}
}

// rotate starts a new file: with max-file 1 it truncates the current one,
// otherwise it renames FILE.log.(N-2) … FILE.log.1 up by one and FILE.log to
// FILE.log.1, dropping the oldest.
func (j *jsonFile) rotate() {
	if err := j.f.Close(); err != nil {
		j.log.Warn("close log file for rotation", logErr, err)
	}
	j.f = nil
	if j.maxFiles <= 1 {
		if err := os.Truncate(j.path, 0); err != nil {
			j.log.Error("truncate log file", logErr, err)
		}
	} else {
		if err := os.Remove(rotated(j.path, j.maxFiles-1)); err != nil && !errors.Is(err, os.ErrNotExist) {
			j.log.Error("remove oldest log file", logErr, err)
		}
		for i := j.maxFiles - 2; i >= 1; i-- {
			if err := os.Rename(rotated(j.path, i), rotated(j.path, i+1)); err != nil && !errors.Is(err, os.ErrNotExist) {
				j.log.Error("rotate log file", logErr, err)
			}
		}
		if err := os.Rename(j.path, rotated(j.path, 1)); err != nil {
			j.log.Error("rotate log file", logErr, err)
		}
	}
	if err := j.open(); err != nil {
		j.log.Error("reopen log file after rotation", logErr, err)
	}
}

// rotated is the name of the i-th rotated file: PATH.i.
func rotated(path string, i int) string { return path + "." + strconv.Itoa(i) }

func (j *jsonFile) dropped() int64 { return j.drops.Load() }

func (j *jsonFile) close() error {
	j.mu.Lock()
	defer j.mu.Unlock()
	j.closed = true
	if j.f == nil {
		return nil
	}
	err := j.f.Close()
	j.f = nil
	if err != nil {
		return fmt.Errorf("close %s: %w", j.path, err)
	}
	return nil
}

// appendJSONLine appends m as Docker's json-file writes it:
// {"log":"LINE\n","stream":"stdout","time":"2006-01-02T15:04:05.999999999Z"}
// and a newline. A partial message has no newline in "log".
func appendJSONLine(b []byte, m message) []byte {
	b = append(b, `{"log":"`...)
	b = appendJSONString(b, m.line)
	if !m.partial {
		b = append(b, `\n`...)
	}
	b = append(b, `","stream":"`...)
	b = append(b, m.stream...)
	b = append(b, `","time":"`...)
	b = m.time.UTC().AppendFormat(b, time.RFC3339Nano)
	return append(b, "\"}\n"...)
}

const hexDigits = "0123456789abcdef"

// appendJSONString appends s escaped as encoding/json escapes a string
// (without the quotes): HTML characters and U+2028/U+2029 as \u escapes,
// invalid UTF-8 as U+FFFD.
func appendJSONString(b, s []byte) []byte {
	start := 0
	for i := 0; i < len(s); {
		if c := s[i]; c < utf8.RuneSelf {
			if c >= 0x20 && c != '"' && c != '\\' && c != '<' && c != '>' && c != '&' {
				i++
				continue
			}
			b = append(b, s[start:i]...)
			switch c {
			case '"', '\\':
				b = append(b, '\\', c)
			case '\n':
				b = append(b, '\\', 'n')
			case '\r':
				b = append(b, '\\', 'r')
			case '\t':
				b = append(b, '\\', 't')
			case '\b':
				b = append(b, '\\', 'b')
			case '\f':
				b = append(b, '\\', 'f')
			default:
				b = append(b, '\\', 'u', '0', '0', hexDigits[c>>4], hexDigits[c&0xf])
			}
			i++
			start = i
			continue
		}
		r, size := utf8.DecodeRune(s[i:])
		if r == utf8.RuneError && size == 1 {
			b = append(b, s[start:i]...)
			b = append(b, `\ufffd`...)
			i += size
			start = i
			continue
		}
		if r == '\u2028' || r == '\u2029' {
			b = append(b, s[start:i]...)
			b = append(b, '\\', 'u', '2', '0', '2', hexDigits[r&0xf])
			i += size
			start = i
			continue
		}
		i += size
	}
	return append(b, s[start:]...)
}

// parseSize reads a size as Docker's max-size takes it: a number of bytes
// with an optional k, m or g (powers of 1024), optionally followed by b,
// in either case: "10m", "100k", "1GB", "512".
func parseSize(s string) (int64, error) {
	num, mult := s, int64(1)
	lower := strings.ToLower(s)
	for _, suf := range []struct {
		s string
		m int64
	}{{"kib", 1 << 10}, {"mib", 1 << 20}, {"gib", 1 << 30}, {"kb", 1 << 10}, {"mb", 1 << 20}, {"gb", 1 << 30}, {"k", 1 << 10}, {"m", 1 << 20}, {"g", 1 << 30}, {"b", 1}} {
		if n := len(lower) - len(suf.s); n > 0 && lower[n:] == suf.s {
			num, mult = s[:n], suf.m
			break
		}
	}
	for _, c := range num {
		if (c < '0' || c > '9') && c != '.' {
			return 0, fmt.Errorf("bad size %q", s)
		}
	}
	v, err := strconv.ParseFloat(num, 64)
	if err != nil || v*float64(mult) > 1<<62 {
		return 0, fmt.Errorf("bad size %q", s)
	}
	return int64(v * float64(mult)), nil
}
