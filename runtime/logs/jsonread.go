package logs

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"time"
)

// followPoll is how often a follow looks for new lines and rotations.
const followPoll = 200 * time.Millisecond

// ReadJSONFile writes what a json-file log holds, the "log" field of each
// line, to stdout or stderr by stream (stderr nil: both to stdout), oldest
// first: PATH.N … PATH.1, then PATH. Lines that are not JSON (torn by a
// crash) are skipped.
//
// With follow it then waits for more, like tail -F: it reads on through
// rotations and truncations and waits for PATH to appear, until ctx ends,
// when it returns nil. Without follow a missing log is an error wrapping
// fs.ErrNotExist.
func ReadJSONFile(ctx context.Context, path string, follow bool, stdout, stderr io.Writer) error {
	if stderr == nil {
		stderr = stdout
	}
	r := &jsonReader{stdout: stdout, stderr: stderr}

	// Open every file first: a rotation while reading renames them, but
	// open files keep their contents.
	older, err := rotatedFiles(path)
	if err != nil {
		return err
	}
	var files []*os.File
	defer func() {
		for _, f := range files {
			f.Close()
		}
	}()
	for _, p := range older {
		f, err := os.Open(p)
		if errors.Is(err, os.ErrNotExist) {
			continue // rotated away meanwhile
		}
		if err != nil {
			return fmt.Errorf("read log: %w", err)
		}
		files = append(files, f)
	}
	cur, err := os.Open(path)
	if err != nil && (!errors.Is(err, os.ErrNotExist) || !follow && len(files) == 0) {
		return fmt.Errorf("read log: %w", err)
	}
	for _, f := range files {
		if err := r.drain(f); err != nil {
			return err
		}
		r.endFile()
	}
	if cur != nil {
		files = append(files, cur)
		if err := r.drain(cur); err != nil {
			return err
		}
	}
	if !follow {
		return nil
	}

	for {
		select {
		case <-ctx.Done():
			return nil
		case <-time.After(followPoll):
		}
		if cur != nil {
			if err := r.drain(cur); err != nil {
				return err
			}
		}
		next, state := checkFollowed(path, cur)
		switch state {
		case followSame:
		case followTruncated:
			if _, err := cur.Seek(0, io.SeekStart); err != nil {
				return fmt.Errorf("read log: %w", err)
			}
			r.endFile()
		case followNew:
			if cur != nil {
				// Lines written just before the rotation.
				if err := r.drain(cur); err != nil {
					return err
				}
				r.endFile()
			}
			cur = next
			files = append(files, cur)
			if err := r.drain(cur); err != nil {
				return err
			}
		}
	}
}

type followState int

const (
	followSame      followState = iota
	followTruncated             // cur is PATH, now shorter than what was read
	followNew                   // PATH is another file than cur, opened as next
)

// checkFollowed says what became of the followed file cur (nil: PATH did
// not exist yet).
func checkFollowed(path string, cur *os.File) (*os.File, followState) {
	fi, err := os.Stat(path)
	if err != nil {
		return nil, followSame // rotated, and the new file not created yet
	}
	if cur != nil {
		ci, err := cur.Stat()
		if err == nil && sameFile(fi, ci) {
			if off, err := cur.Seek(0, io.SeekCurrent); err == nil && fi.Size() < off {
				return nil, followTruncated
			}
			return nil, followSame
		}
	}
	next, err := os.Open(path)
	if err != nil {
		return nil, followSame
	}
	return next, followNew
}

func sameFile(a, b os.FileInfo) bool {
	as, ok1 := a.Sys().(*syscall.Stat_t)
	bs, ok2 := b.Sys().(*syscall.Stat_t)
	if !ok1 || !ok2 {
		return os.SameFile(a, b)
	}
	return as.Dev == bs.Dev && as.Ino == bs.Ino
}

// rotatedFiles lists PATH.N … PATH.1 that exist, oldest first.
func rotatedFiles(path string) ([]string, error) {
	entries, err := os.ReadDir(filepath.Dir(path))
	if errors.Is(err, os.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("read log: %w", err)
	}
	prefix := filepath.Base(path) + "."
	var nums []int
	for _, e := range entries {
		s, ok := strings.CutPrefix(e.Name(), prefix)
		if !ok {
			continue
		}
		if n, err := strconv.Atoi(s); err == nil && n > 0 && strconv.Itoa(n) == s {
			nums = append(nums, n)
		}
	}
	slices.Sort(nums)
	var paths []string
	for _, n := range slices.Backward(nums) {
		paths = append(paths, rotated(path, n))
	}
	return paths, nil
}

// jsonReader turns json-file lines into their "log" text.
type jsonReader struct {
	stdout, stderr io.Writer
	pending        []byte // an incomplete last line
	buf            []byte
}

// drain reads f to its end, writing each complete line and keeping an
// incomplete one for the next drain.
func (r *jsonReader) drain(f *os.File) error {
	if r.buf == nil {
		r.buf = make([]byte, 64<<10)
	}
	for {
		n, err := f.Read(r.buf)
		if n > 0 {
			if werr := r.feed(r.buf[:n]); werr != nil {
				return werr
			}
		}
		if err == io.EOF {
			return nil
		}
		if err != nil {
			return fmt.Errorf("read log: %w", err)
		}
	}
}

func (r *jsonReader) feed(b []byte) error {
	for len(b) > 0 {
		i := bytes.IndexByte(b, '\n')
		if i < 0 {
			r.pending = append(r.pending, b...)
			return nil
		}
		line := b[:i]
		if len(r.pending) > 0 {
			r.pending = append(r.pending, line...)
			line = r.pending
		}
		err := r.write(line)
		r.pending = r.pending[:0]
		if err != nil {
			return err
		}
		b = b[i+1:]
	}
	return nil
}

// endFile forgets an incomplete line at the end of a file that will not grow.
func (r *jsonReader) endFile() { r.pending = r.pending[:0] }

type jsonLine struct {
	Log    string `json:"log"`
	Stream string `json:"stream"`
}

func (r *jsonReader) write(line []byte) error {
	var l jsonLine
	if err := json.Unmarshal(line, &l); err != nil {
		return nil // torn or foreign line
	}
	w := r.stdout
	if l.Stream == streamStderr {
		w = r.stderr
	}
	if _, err := io.WriteString(w, l.Log); err != nil {
		return fmt.Errorf("write log: %w", err)
	}
	return nil
}
