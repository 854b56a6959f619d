package e2e

import (
	"context"
	"testing"
	"time"

	"github.com/ecsd-project/ecsd/controlplane/acsserver"
	"github.com/ecsd-project/ecsd/wire/acs"
)

// TestBadACSInputDoesNotEndTheSession: frames ecsd cannot use, sent by
// ecs-local's ACS server over the live session, are logged and skipped; a
// task that cannot be run is still acknowledged (and reported stopped);
// the session stays up on the same connection and the next task runs.
func TestBadACSInputDoesNotEndTheSession(t *testing.T) {
	w := newWorld(t)
	const cluster = "bad-input"
	w.registerHost(cluster)
	w.startEcsd(cluster)
	w.registerSleeper("after-bad-input")
	ctx := context.Background()
	before := w.awaitACS()

	for _, m := range []struct {
		typ string
		msg any
	}{
		{acs.TypePayloadMessage, "not an object"},
		{acs.TypeHeartbeatMessage, []int{1, 2}},
		{acs.TypeTaskManifestMessage, map[string]any{"timeline": "soon"}},
		{"NoSuchMessage", map[string]int{"x": 1}},
	} {
		if err := w.local.ACS.Send(ctx, w.arn, m.typ, m.msg); err != nil {
			t.Fatalf("send %s: %v", m.typ, err)
		}
	}
	// A task without an image: acknowledged, accepted as stopped.
	dctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	bad := acs.Task{ARN: "arn:aws:ecs:us-east-1:000000000000:task/bad-input/0000badtask", Family: "broken", Version: "1",
		DesiredStatus: "RUNNING", Containers: []acs.Container{{Name: "c"}}}
	if err := w.local.ACS.Deliver(dctx, w.arn, acs.PayloadMessage{Tasks: []acs.Task{bad}}); err != nil {
		t.Fatalf("a payload with an unrunnable task was not acknowledged: %v", err)
	}

	arn := w.runTask(cluster, "after-bad-input")
	w.awaitTask(cluster, arn, "RUNNING")
	after, ok := w.local.ACS.Info(w.arn)
	if !ok || !after.ConnectedAt.Equal(before.ConnectedAt) {
		t.Errorf("the ACS session was not kept: connected %v at %v, before at %v", ok, after.ConnectedAt, before.ConnectedAt)
	}
}

// awaitACS waits for ecsd's ACS session and describes it.
func (w *world) awaitACS() acsserver.Info {
	w.t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for {
		if info, ok := w.local.ACS.Info(w.arn); ok {
			return info
		}
		if time.Now().After(deadline) {
			w.t.Fatal("ecsd did not connect to ACS in 30s")
		}
		time.Sleep(20 * time.Millisecond)
	}
}
