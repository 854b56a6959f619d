package task

import (
	"encoding/json"
	"testing"
	"time"

	"github.com/ecsd-project/ecsd/wire/acs"
)

// FuzzDecodePayload feeds arbitrary bytes through what a PayloadMessage
// meets on arrival: JSON decoding, FromACS, planning and reconciling. None
// of it may panic; bad input must come back as an error.
func FuzzDecodePayload(f *testing.F) {
	f.Add([]byte(`{"tasks":[{"arn":"a","desiredStatus":"RUNNING","containers":[{"name":"web","image":"busybox"}]}]}`))
	f.Fuzz(func(t *testing.T, data []byte) {
		var msg acs.PayloadMessage
		if err := json.Unmarshal(data, &msg); err != nil {
			return
		}
		for _, at := range msg.Tasks {
			tk, err := FromACS("cluster", at)
			if err != nil {
				continue
			}
			for range 3 {
				for _, s := range Plan(tk, nil, PlanOptions{}) {
					c := tk.Container(s.Container)
					switch s.Action {
					case Pull:
						c.Known = ContainerPulled
					case Create:
						c.Known = ContainerCreated
					case Start:
						c.Known = ContainerRunning
					default:
						c.Known = ContainerStopped
					}
				}
				tk.Reconcile(time.Unix(0, 0))
				tk.NextChange()
			}
			if _, err := json.Marshal(tk); err != nil {
				t.Fatalf("task does not encode: %v", err)
			}
		}
	})
}
