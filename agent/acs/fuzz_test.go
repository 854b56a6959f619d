package acs

import (
	"context"
	"encoding/json"
	"testing"

	"github.com/ecsd-project/ecsd/wire/acs"

	"github.com/ecsd-project/ecsd/agent/wsclient"
)

// agentTypes are the frames the agent may send.
var agentTypes = map[string]bool{
	acs.TypeAckRequest:                   true,
	acs.TypeNackRequest:                  true,
	acs.TypeHeartbeatAckRequest:          true,
	acs.TypeIAMRoleCredentialsAckRequest: true,
	acs.TypeTaskStopVerificationMessage:  true,
}

// FuzzDecodeFrame feeds arbitrary bytes through the frame decoder and the
// dispatch with a fake handler: it must never panic, and whatever it sends
// back is a well-formed agent frame.
func FuzzDecodeFrame(f *testing.F) {
	for _, name := range []string{"payload.json", "heartbeat.json", "manifest.json", "stop_verification_ack.json"} {
		f.Add(readFixture(f, name))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		h := newFakeHandler()
		h.running["arn:...:task/default/orphan"] = acs.TaskIdentifier{TaskARN: "arn:...:task/default/orphan", DesiredStatus: "RUNNING"}
		s, err := New(Config{
			Endpoint: func(context.Context) (string, error) { return "", nil },
			Peer:     wsclient.Peer{Cluster: testCluster, ContainerInstanceARN: testInstance, Region: testRegion, Credentials: staticCreds(testCreds)},
			Handler:  h,
		})
		if err != nil {
			t.Fatal(err)
		}
		out := &frameRecorder{}
		_ = s.handleFrame(context.Background(), out, data)
		// A second frame after any first one is still handled.
		_ = s.handleFrame(context.Background(), out, data)
		for _, m := range out.frames {
			if !agentTypes[m.Type] {
				t.Fatalf("sent a %q frame", m.Type)
			}
			if !json.Valid(m.Message) {
				t.Fatalf("sent invalid JSON %q", m.Message)
			}
		}
	})
}
