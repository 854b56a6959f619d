package store

import (
	"bytes"
	"testing"

	"github.com/ecsd-project/ecsd/agent/task"
)

// FuzzDecodeTask feeds arbitrary bytes to the decoder of stored task
// values. It must never panic; a task it accepts must be usable by the
// task package and must encode to a value that decodes to itself.
// Seeds: testdata/fuzz/FuzzDecodeTask.
func FuzzDecodeTask(f *testing.F) {
	f.Fuzz(func(t *testing.T, b []byte) {
		tk, err := decodeTask(b)
		if err != nil {
			return
		}
		cp := tk.Clone()
		cp.NextChange()
		task.Plan(cp, nil, task.PlanOptions{})
		cp.Reconcile(clock0)

		v1, err := encodeTask(tk, nil)
		if err != nil {
			t.Fatalf("a decoded task does not encode: %v", err)
		}
		again, err := decodeTask(v1)
		if err != nil {
			t.Fatalf("an encoded task does not decode: %v\n%s", err, v1)
		}
		v2, err := encodeTask(again, nil)
		if err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(v1, v2) {
			t.Fatalf("encoding is not stable:\n%s\n%s", v1, v2)
		}
	})
}
