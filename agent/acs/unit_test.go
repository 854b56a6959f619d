package acs

import (
	"context"
	"encoding/json"
	"errors"
	"reflect"
	"strings"
	"testing"

	"github.com/ecsd-project/ecsd/agent/wsclient"
	"github.com/ecsd-project/ecsd/wire/acs"
)

func testSession(t *testing.T, edit func(*Config)) *Session {
	t.Helper()
	cfg := Config{
		Endpoint: func(context.Context) (string, error) { return "", errors.New("unused") },
		Peer: wsclient.Peer{Cluster: "default", ContainerInstanceARN: "arn:aws:ecs:us-east-1:111122223333:container-instance/default/0123abcd",
			Region: testRegion, Credentials: staticCreds(testCreds), AgentVersion: "1.105.1", AgentHash: "abc1234"},
		Handler: newFakeHandler(),
	}
	if edit != nil {
		edit(&cfg)
	}
	s, err := New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func TestPollURL(t *testing.T) {
	s := testSession(t, nil)
	const query = "agentHash=abc1234&agentVersion=1.105.1&clusterArn=default" +
		"&containerInstanceArn=arn%3Aaws%3Aecs%3Aus-east-1%3A111122223333%3Acontainer-instance%2Fdefault%2F0123abcd" +
		"&dockerVersion=containerd&protocolVersion=2"
	for _, tc := range []struct {
		endpoint string
		sendCred bool
		want     string
	}{
		{"https://ecs-a-1.us-east-1.amazonaws.com/", true,
			"https://ecs-a-1.us-east-1.amazonaws.com/ws?" + query + "&sendCredentials=true&seqNum=1"},
		{"https://ecs-a-1.us-east-1.amazonaws.com", false,
			"https://ecs-a-1.us-east-1.amazonaws.com/ws?" + query + "&sendCredentials=false&seqNum=1"},
		{"ecs-a-1.us-east-1.amazonaws.com", true,
			"https://ecs-a-1.us-east-1.amazonaws.com/ws?" + query + "&sendCredentials=true&seqNum=1"},
		{"http://127.0.0.1:8080/acs", true,
			"http://127.0.0.1:8080/acs/ws?" + query + "&sendCredentials=true&seqNum=1"},
	} {
		u, err := s.pollURL(tc.endpoint, tc.sendCred)
		if err != nil {
			t.Errorf("%s: %v", tc.endpoint, err)
			continue
		}
		if u.String() != tc.want {
			t.Errorf("%s:\n got %s\nwant %s", tc.endpoint, u, tc.want)
		}
	}
	for _, bad := range []string{"ftp://example.com", "https://", "https://%zz"} {
		if _, err := s.pollURL(bad, true); err == nil {
			t.Errorf("%q accepted", bad)
		}
	}
}

func TestNewListsEveryMissingField(t *testing.T) {
	_, err := New(Config{})
	if err == nil {
		t.Fatal("empty config accepted")
	}
	for _, f := range []string{"Endpoint", "Cluster", "ContainerInstanceARN", "Region", "Credentials", "Handler"} {
		if !strings.Contains(err.Error(), "no "+f) {
			t.Errorf("error does not name %s: %v", f, err)
		}
	}
}

func TestStopCandidates(t *testing.T) {
	running := func(arn string) acs.TaskIdentifier {
		return acs.TaskIdentifier{TaskARN: arn, TaskClusterARN: "c", DesiredStatus: acs.DesiredStatusRunning}
	}
	stop := func(arn string) acs.TaskIdentifier {
		return acs.TaskIdentifier{TaskARN: arn, TaskClusterARN: "c", DesiredStatus: acs.DesiredStatusStopped}
	}
	for _, tc := range []struct {
		name            string
		local, manifest []acs.TaskIdentifier
		want            []acs.TaskIdentifier
	}{
		{"nothing local", nil, []acs.TaskIdentifier{running("a")}, nil},
		{"all listed", []acs.TaskIdentifier{running("a"), running("b")}, []acs.TaskIdentifier{running("b"), running("a")}, nil},
		{"one missing", []acs.TaskIdentifier{running("a"), running("b")}, []acs.TaskIdentifier{running("a")}, []acs.TaskIdentifier{stop("b")}},
		{"listed as stopped", []acs.TaskIdentifier{running("a")}, []acs.TaskIdentifier{stop("a")}, []acs.TaskIdentifier{stop("a")}},
		{"empty manifest", []acs.TaskIdentifier{running("a")}, nil, []acs.TaskIdentifier{stop("a")}},
	} {
		if got := stopCandidates(tc.local, tc.manifest); !reflect.DeepEqual(got, tc.want) {
			t.Errorf("%s: got %+v, want %+v", tc.name, got, tc.want)
		}
	}
}

func TestHandshakeErrorDecode(t *testing.T) {
	for _, tc := range []struct {
		body string
		want *ServerError
		kind error
	}{
		{`{"InvalidClusterException":"Invalid cluster"}`, &ServerError{Type: "InvalidClusterException", Message: "Invalid cluster", StatusCode: 400}, ErrInvalidCluster},
		{`{"type":"InactiveInstanceException","message":{"message":"gone"}}`, &ServerError{Type: "InactiveInstanceException", Message: "gone", StatusCode: 400}, ErrInactiveInstance},
		{`{"type":"AccessDeniedException","message":"nope"}`, &ServerError{Type: "AccessDeniedException", Message: "nope", StatusCode: 400}, ErrAccessDenied},
		{`{"type":"SomethingNewException","message":{"message":"?"}}`, &ServerError{Type: "SomethingNewException", Message: "?", StatusCode: 400}, nil},
		{`Bad Request`, nil, nil},
	} {
		got := handshakeError(400, []byte(tc.body))
		if !reflect.DeepEqual(got, tc.want) {
			t.Errorf("%s: got %+v, want %+v", tc.body, got, tc.want)
			continue
		}
		if tc.kind != nil && !errors.Is(got, tc.kind) {
			t.Errorf("%s: not %v", tc.body, tc.kind)
		}
		if got != nil && tc.kind == nil {
			for _, k := range exceptionKinds {
				if errors.Is(got, k) {
					t.Errorf("%s: matches %v", tc.body, k)
				}
			}
		}
	}
}

// frameRecorder stands in for the connection: it keeps what the session
// sends.
type frameRecorder struct{ frames []acs.Message }

func (r *frameRecorder) send(msgType string, body any) error {
	inner, err := json.Marshal(body)
	if err != nil {
		return err
	}
	r.frames = append(r.frames, acs.Message{Type: msgType, Message: inner})
	return nil
}

func TestDispatchWithoutNetwork(t *testing.T) {
	h := newFakeHandler()
	h.running["arn:...:task/default/orphan"] = acs.TaskIdentifier{TaskARN: "arn:...:task/default/orphan", TaskClusterARN: "...", DesiredStatus: "RUNNING"}
	s := testSession(t, func(c *Config) { c.Handler = h })
	out := &frameRecorder{}
	for _, f := range []string{"heartbeat.json", "manifest.json", "stop_verification_ack.json", "payload.json"} {
		if err := s.handleFrame(t.Context(), out, readFixture(t, f)); err != nil {
			t.Fatalf("%s: %v", f, err)
		}
	}
	golden := []string{"heartbeat_ack.json", "manifest_ack.json", "stop_verification.json", "payload_ack.json", "payload_credentials_ack.json"}
	if len(out.frames) != len(golden) {
		t.Fatalf("sent %d frames, want %d: %+v", len(out.frames), len(golden), out.frames)
	}
	for i, g := range golden {
		assertGolden(t, out.frames[i], g)
	}
	if !h.stopped["arn:...:task/default/orphan"] {
		t.Error("orphan not stopped")
	}
	if h.seq != 43 {
		t.Errorf("seq = %d: the older payload (seqNum 42) must not lower it", h.seq)
	}
}
